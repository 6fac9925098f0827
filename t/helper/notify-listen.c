/*
 * notify-listen PATH: stand in for systemd's notification socket. Bind an
 * AF_UNIX datagram socket at PATH and print every datagram received, one
 * per line (newlines inside shown as "|"), until "STOPPING=1" arrives or
 * 30 seconds pass.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { 30, 0 };
	char			buf[4096];
	ssize_t			n, i;
	int			fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof sun.sun_path) {
		fprintf(stderr, "usage: notify-listen PATH\n");
		return (2);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		perror("notify-listen");
		return (1);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	printf("listening\n");
	fflush(stdout);
	while ((n = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
		buf[n] = '\0';
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n')
				buf[i] = '|';
		}
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "STOPPING=1") != NULL)
			break;
	}
	close(fd);
	unlink(argv[1]);
	return (0);
}
