/*
 * status-probe PROVIDER API_URL REPO SHA STATE CONTEXT DESCRIPTION
 *     TARGET_URL [TOKEN]
 *
 * Print the commit-status request src/status.c builds, one item a line:
 * the method, the URL, the JSON body (compact, so one line) and, with
 * TOKEN, the auth header line. STATE is ferry's name (pending running
 * success failure error canceled); "-" stands for a NULL DESCRIPTION or
 * TARGET_URL. Exit 0, 1 with the cause on stderr when the request is
 * refused, 2 on usage errors.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

static const char *
arg(const char *s)
{
	return (strcmp(s, "-") == 0 ? NULL : s);
}

int
main(int argc, char **argv)
{
	struct status_target	 t;
	struct status_update	 u;
	char			*method, *url, *body, *cause, *h;
	int			 s;

	if (argc != 9 && argc != 10) {
		fprintf(stderr, "usage: status-probe PROVIDER API_URL REPO SHA "
		    "STATE CONTEXT DESCRIPTION TARGET_URL [TOKEN]\n");
		return (2);
	}
	for (s = STATUS_PENDING; s <= STATUS_CANCELED; s++) {
		if (strcmp(argv[5], status_state_name(s)) == 0)
			break;
	}
	if (s > STATUS_CANCELED) {
		fprintf(stderr, "status-probe: unknown state %s\n", argv[5]);
		return (2);
	}
	t.provider = argv[1];
	t.api_url = argv[2];
	t.repo = argv[3];
	t.sha = argv[4];
	u.state = (enum status_state)s;
	u.context = argv[6];
	u.description = arg(argv[7]);
	u.target_url = arg(argv[8]);
	if (status_request(&t, &u, &method, &url, &body, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return (1);
	}
	printf("%s\n%s\n%s\n", method, url, body);
	free(method);
	free(url);
	free(body);
	if (argc == 10) {
		if ((h = status_auth_header(argv[1], argv[9])) == NULL) {
			fprintf(stderr, "status-probe: no auth header\n");
			return (1);
		}
		printf("%s\n", h);
		free(h);
	}
	return (0);
}
