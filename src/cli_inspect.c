/*
 * `ferry webhook inspect`: run a delivery through the same handler code as
 * ferryd, without a daemon, and print the normalized events. Headers come
 * from -H, the body from standard input. With a secret the signature is
 * checked too; with -c and --project the project's provider, secret and
 * trigger rules apply, exactly as ferryd would apply them.
 */
#include "config.h"

#include <jansson.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "util.h"
#include "xmalloc.h"

#define INSPECT_BODY_MAX	(100u * 1024 * 1024)

static int inspect_fail(const char *, ...) printflike(1, 2);

/* Print a one-line error; returns the exit code for bad input. */
static int
inspect_fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "ferry: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return (1);
}

/* Read standard input whole, up to INSPECT_BODY_MAX bytes. */
static char *
inspect_read_stdin(size_t *lenp)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > INSPECT_BODY_MAX + 1)
				cap = INSPECT_BODY_MAX + 1;
			buf = xreallocarray(buf, cap + 1, 1);
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0) {
			free(buf);
			return (NULL);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > INSPECT_BODY_MAX) {
			free(buf);
			return (NULL);
		}
	}
	buf[len] = '\0';
	*lenp = len;
	return (buf);
}

int
cli_webhook_inspect(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "header", required_argument, NULL, 'H' },
		{ "provider", required_argument, NULL, 'p' },
		{ "secret", required_argument, NULL, 'S' },
		{ "secret-file", required_argument, NULL, 'F' },
		{ "config", required_argument, NULL, 'c' },
		{ "project", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct headers			 headers;
	struct handler_request		 req;
	struct gitevent_list		 events = { NULL, 0 };
	const struct handler		*h = NULL;
	const struct conf_project	*pr = NULL;
	struct conf			*conf = NULL;
	const char			*provider = NULL, *config = NULL;
	const char			*project = NULL, *why;
	char				*secret = NULL, *body = NULL;
	char				*cause = NULL, *out;
	size_t				 secretlen = 0, bodylen, i;
	json_t				*arr;
	int				 ch, rc = 1;

	headers_init(&headers);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "H:c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			if (headers_add_line(&headers, optarg) != 0) {
				inspect_fail("malformed header \"%s\" "
				    "(expected 'Name: value')", optarg);
				goto out;
			}
			break;
		case 'p':
			provider = optarg;
			break;
		case 'S':
			freezero_str(secret);
			secret = xstrdup(optarg);
			secretlen = strlen(secret);
			break;
		case 'F':
			freezero_str(secret);
			if ((secret = read_secret(optarg, &secretlen,
			    &cause)) == NULL) {
				inspect_fail("%s", cause);
				goto out;
			}
			break;
		case 'c':
			config = optarg;
			break;
		case 'P':
			project = optarg;
			break;
		default:
			fprintf(stderr, "usage: ferry webhook inspect "
			    "-H 'Name: value'... [--provider P] [--secret S] "
			    "[--secret-file F] [-c config --project NAME] "
			    "< body\n");
			goto out;
		}
	}
	if (project != NULL) {
		if ((conf = conf_load(config != NULL ? config :
		    CONF_DEFAULT_PATH, &cause)) == NULL) {
			inspect_fail("%s", cause);
			goto out;
		}
		if ((pr = conf_project_find(conf, project)) == NULL) {
			inspect_fail("no project named \"%s\"", project);
			goto out;
		}
		h = pr->handler;
		if (secret == NULL) {
			secret = xmalloc(pr->secretlen + 1);
			memcpy(secret, pr->secret, pr->secretlen + 1);
			secretlen = pr->secretlen;
		}
	}
	if (provider != NULL && (h = handler_find(provider)) == NULL) {
		inspect_fail("unknown provider \"%s\"", provider);
		goto out;
	}
	if (h == NULL && (h = handler_detect(&headers)) == NULL) {
		inspect_fail("%s", "cannot tell the provider from the headers; "
		    "pass --provider");
		goto out;
	}
	if (h == &handler_generic && pr == NULL) {
		inspect_fail("%s", "the generic provider needs -c config "
		    "--project NAME for its settings");
		goto out;
	}
	if ((body = inspect_read_stdin(&bodylen)) == NULL) {
		inspect_fail("%s", "cannot read the body from standard input "
		    "(at most 100 MB)");
		goto out;
	}
	req.headers = &headers;
	req.body = body;
	req.bodylen = bodylen;
	req.project = pr;
	if (secret != NULL && h->verify(&req, secret, secretlen,
	    &cause) != 0) {
		inspect_fail("signature check failed: %s", cause);
		goto out;
	}
	if (h->parse(&req, &events, &cause) != 0) {
		inspect_fail("%s", cause);
		goto out;
	}
	for (i = 0; i < events.n; i++) {
		if (events.v[i].delivery == NULL)
			handler_delivery(&req, NULL, &events.v[i].delivery);
		if (gitevent_check(&events.v[i], &cause) != 0) {
			inspect_fail("%s", cause);
			goto out;
		}
		if (pr != NULL && !conf_project_triggers(pr,
		    events.v[i].kind, events.v[i].ref, &why) &&
		    events.v[i].kind != GITEVENT_PING &&
		    events.v[i].kind != GITEVENT_IGNORE)
			gitevent_ignore(&events.v[i], "%s", why);
	}
	arr = gitevent_list_to_json(&events);
	out = json_dumps(arr, JSON_INDENT(2));
	json_decref(arr);
	printf("%s\n", out);
	free(out);
	rc = 0;
out:
	free(cause);
	free(body);
	freezero_str(secret);
	gitevent_list_free(&events);
	headers_clear(&headers);
	conf_free(conf);
	return (rc);
}

/*
 * `ferry webhook sign (--secret S | --secret-file F) [--prefix P] < body`:
 * print the signature header value a forge would send ("sha256=<hex>" by
 * default; --prefix '' for Gitea's bare hex), to test hooks by hand.
 */
int
cli_webhook_sign(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "secret", required_argument, NULL, 'S' },
		{ "secret-file", required_argument, NULL, 'F' },
		{ "prefix", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*prefix = "sha256=";
	char		*secret = NULL, *body = NULL, *cause = NULL;
	char		 hex[65];
	unsigned char	 mac[32];
	size_t		 secretlen = 0, bodylen;
	int		 ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			freezero_str(secret);
			secret = xstrdup(optarg);
			secretlen = strlen(secret);
			break;
		case 'F':
			freezero_str(secret);
			if ((secret = read_secret(optarg, &secretlen,
			    &cause)) == NULL) {
				inspect_fail("%s", cause);
				goto out;
			}
			break;
		case 'p':
			prefix = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (secret == NULL || optind != argc)
		goto usage;
	if ((body = inspect_read_stdin(&bodylen)) == NULL) {
		inspect_fail("%s", "cannot read the body from standard input");
		goto out;
	}
	if (hmac_sha256(secret, secretlen, body, bodylen, mac) != 0) {
		inspect_fail("%s", "cannot compute HMAC");
		goto out;
	}
	hex_encode(mac, sizeof mac, hex);
	printf("%s%s\n", prefix, hex);
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: ferry webhook sign (--secret S | "
	    "--secret-file F) [--prefix P] < body\n");
out:
	free(cause);
	free(body);
	freezero_str(secret);
	return (rc);
}
