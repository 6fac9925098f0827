/*
 * hmac-sign SECRET FILE [PREFIX]: print PREFIX (default "sha256=") and the
 * hex HMAC-SHA256 of FILE's bytes under SECRET. Tests sign payloads with it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xmalloc.h"

int
main(int argc, char **argv)
{
	unsigned char	 mac[32];
	char		 hex[65], *body, *cause = NULL;
	size_t		 len;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: hmac-sign SECRET FILE [PREFIX]\n");
		return (2);
	}
	if ((body = read_file(argv[2], 1u << 30, &len, &cause)) == NULL) {
		fprintf(stderr, "hmac-sign: %s\n", cause);
		return (1);
	}
	if (hmac_sha256(argv[1], strlen(argv[1]), body, len, mac) != 0)
		return (1);
	hex_encode(mac, sizeof mac, hex);
	printf("%s%s\n", argc == 4 ? argv[3] : "sha256=", hex);
	free(body);
	return (0);
}
