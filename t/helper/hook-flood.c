/*
 * hook-flood HOST PORT PATH SECRET TEMPLATE COUNT CONCURRENCY OUT [PID:AT]
 *
 * A concurrent webhook client for the durability test. CONCURRENCY
 * processes share COUNT GitHub push deliveries over keep-alive connections.
 * Delivery n has id "flood-n" and the commit "@SHA@" in TEMPLATE replaced
 * by a 40-hex name derived from n, so each makes its own run; each body is
 * signed with SECRET. For every request one line "n status" is appended to
 * OUT (status 0 when the connection failed), so the test knows which
 * deliveries were answered 202 before ferryd was killed. With PID:AT, the
 * worker that receives the AT-th answer sends SIGKILL to PID at once, while
 * the other workers still have requests in flight: the crash lands in the
 * middle of the load, whatever the speed of the machine.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "xmalloc.h"

static int
flood_connect(const char *host, int port)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { 30, 0 };	/* generous: sanitized, loaded */
	int			fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
flood_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Read one response; returns its status, or 0 on a broken connection. */
static int
flood_read_reply(int fd)
{
	char	 buf[65536], *end, *cl;
	size_t	 len = 0, want;
	ssize_t	 n;
	int	 code;

	for (;;) {
		if (len == sizeof buf - 1)
			return (0);
		if ((n = read(fd, buf + len, sizeof buf - 1 - len)) <= 0)
			return (0);
		len += (size_t)n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if (sscanf(buf, "HTTP/1.1 %d", &code) != 1)
			return (0);
		cl = strcasestr(buf, "Content-Length:");
		want = (size_t)(end + 4 - buf) + (cl != NULL ?
		    strtoul(cl + 15, NULL, 10) : 0);
		while (len < want) {
			if (want >= sizeof buf)
				return (0);
			if ((n = read(fd, buf + len, want - len)) <= 0)
				return (0);
			len += (size_t)n;
		}
		return (code);
	}
}

int
main(int argc, char **argv)
{
	const char	*host, *path, *secret;
	char		*tmpl, *cause = NULL, *at, *body, *req, sha[41], hex[65];
	char		 line[64];
	unsigned char	 mac[32];
	size_t		 tlen, blen;
	int		 port, count, conc, out, w, n, fd = -1, code, status;
	int		 kill_at = 0, *answered;
	pid_t		 pid, kill_pid = 0;

	if (argc == 10 && sscanf(argv[9], "%d:%d", &kill_pid, &kill_at) == 2)
		argc--;
	if (argc != 9) {
		fprintf(stderr, "usage: hook-flood HOST PORT PATH SECRET "
		    "TEMPLATE COUNT CONCURRENCY OUT\n");
		return (2);
	}
	host = argv[1];
	port = atoi(argv[2]);
	path = argv[3];
	secret = argv[4];
	if ((tmpl = read_file(argv[5], 1 << 20, &tlen, &cause)) == NULL ||
	    (at = strstr(tmpl, "@SHA@")) == NULL) {
		fprintf(stderr, "hook-flood: template without @SHA@\n");
		return (1);
	}
	count = atoi(argv[6]);
	conc = atoi(argv[7]);
	if ((out = open(argv[8], O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		return (1);
	*at = '\0';
	answered = mmap(NULL, sizeof *answered, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (answered == MAP_FAILED)
		return (1);
	*answered = 0;
	for (w = 0; w < conc; w++) {
		if ((pid = fork()) == -1)
			return (1);
		if (pid != 0)
			continue;
		for (n = w; n < count; n += conc) {
			snprintf(sha, sizeof sha, "%08x%032x", 0xf100d000u,
			    (unsigned)n);
			blen = (size_t)xasprintf(&body, "%s%s%s", tmpl, sha,
			    at + 5);
			hmac_sha256(secret, strlen(secret), body, blen, mac);
			hex_encode(mac, sizeof mac, hex);
			xasprintf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\n"
			    "Content-Type: application/json\r\n"
			    "X-GitHub-Event: push\r\n"
			    "X-GitHub-Delivery: flood-%d\r\n"
			    "X-Hub-Signature-256: sha256=%s\r\n"
			    "Content-Length: %zu\r\n\r\n%s", path, host, n,
			    hex, blen, body);
			code = 0;
			if (fd == -1)
				fd = flood_connect(host, port);
			if (fd != -1 && flood_write_all(fd, req,
			    strlen(req)) == 0)
				code = flood_read_reply(fd);
			if (code != 0 && kill_at > 0 &&
			    __atomic_add_fetch(answered, 1, __ATOMIC_SEQ_CST) ==
			    kill_at)
				kill(kill_pid, SIGKILL);
			if (code == 0 && fd != -1) {
				close(fd);
				fd = -1;
			}
			snprintf(line, sizeof line, "%d %d %s\n", n, code,
			    sha);
			if (write(out, line, strlen(line)) < 0)
				_exit(1);
			free(body);
			free(req);
		}
		_exit(0);
	}
	while (wait(&status) > 0)
		;
	free(tmpl);
	return (0);
}
