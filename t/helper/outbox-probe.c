/*
 * outbox-probe: drive the outbox (src/outbox.c) from a shell test.
 *
 *   outbox-probe DB add KIND URL BODY [--auth REF] [--dedupe KEY]
 *                [--method M] [--content-type T]
 *	Store a message and exit without delivering it; prints its id.
 *   outbox-probe DB run [--seconds N] [--until-empty] [--secret S]
 *                [--max-inflight N] [--max-attempts N] [--max-delay MS]
 *                [--max-age MS]
 *	Run a loop delivering messages for N seconds (default 30), or until
 *	no message is pending with --until-empty; then print the metrics.
 *   outbox-probe DB list [--state S]
 *	Print the messages as JSON lines, oldest first.
 *
 * The auth callback knows three references: "hmac" adds
 * "X-Ferry-Signature: sha256=<hex HMAC-SHA256 of the body with S>",
 * "bearer:XYZ" adds "Authorization: Bearer XYZ", and "bad" fails (so do
 * others). BODY "@FILE" reads the body from FILE.
 *
 * Exit 0 on success; 1 when add is refused or run ends (--until-empty)
 * with messages still pending; 2 on usage errors.
 */
#include "config.h"

#include <event2/event.h>
#include <jansson.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

static struct event_base	*base;
static struct store		*st;
static const char		*secret;
static int			 until_empty, emptied;

static void
probe_usage(void)
{
	fprintf(stderr, "usage: outbox-probe DB add KIND URL BODY [--auth REF] "
	    "[--dedupe KEY] [--method M] [--content-type T]\n"
	    "       outbox-probe DB run [--seconds N] [--until-empty] "
	    "[--secret S] [--max-inflight N] [--max-attempts N] "
	    "[--max-delay MS] [--max-age MS]\n"
	    "       outbox-probe DB list [--state S]\n");
	exit(2);
}

static int
probe_auth(const char *ref, const char *body, size_t len,
    struct strv *headers, char **cause, void *arg)
{
	unsigned char	mac[32];
	char		hex[65];

	(void)arg;
	if (strcmp(ref, "hmac") == 0) {
		if (secret == NULL) {
			*cause = xstrdup("no secret given");
			return (-1);
		}
		if (hmac_sha256(secret, strlen(secret), body, len, mac) != 0) {
			*cause = xstrdup("HMAC failed");
			return (-1);
		}
		hex_encode(mac, sizeof mac, hex);
		strv_addf(headers, "X-Ferry-Signature: sha256=%s", hex);
		return (0);
	}
	if (strncmp(ref, "bearer:", 7) == 0) {
		strv_addf(headers, "Authorization: Bearer %s", ref + 7);
		return (0);
	}
	xasprintf(cause, "unknown auth reference \"%.40s\"", ref);
	return (-1);
}

static void
probe_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopexit(base, NULL);
}

static void
probe_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	if (until_empty && store_outbox_count(st, "pending") == 0) {
		emptied = 1;
		event_base_loopexit(base, NULL);
	}
}

static int
probe_add(int argc, char **argv)
{
	struct outbox		*o;
	struct outbox_msg	 m;
	char			*body = NULL, *cause = NULL;
	int64_t			 id;
	int			 i;

	if (argc < 3)
		probe_usage();
	memset(&m, 0, sizeof m);
	m.kind = argv[0];
	m.url = argv[1];
	if (argv[2][0] == '@') {
		if ((body = read_file(argv[2] + 1, 1024 * 1024, NULL,
		    &cause)) == NULL)
			fatalx("%s", cause);
		m.body = body;
	} else
		m.body = argv[2];
	for (i = 3; i < argc; i += 2) {
		if (i + 1 >= argc)
			probe_usage();
		if (strcmp(argv[i], "--auth") == 0)
			m.auth = argv[i + 1];
		else if (strcmp(argv[i], "--dedupe") == 0)
			m.dedupe = argv[i + 1];
		else if (strcmp(argv[i], "--method") == 0)
			m.method = argv[i + 1];
		else if (strcmp(argv[i], "--content-type") == 0)
			m.content_type = argv[i + 1];
		else
			probe_usage();
	}
	/* No HTTP client: nothing can be sent before the probe exits. */
	o = outbox_new(base, NULL, st, probe_auth, NULL);
	id = outbox_add(o, &m);
	outbox_free(o);
	free(body);
	if (id == -1)
		return (1);
	printf("%lld\n", (long long)id);
	return (0);
}

static int
probe_run(int argc, char **argv)
{
	struct outbox	*o;
	struct httpc	*h;
	struct event	*stop, *poll, *sigterm;
	struct timeval	 tv = { 30, 0 }, ptv = { 0, 50000 };
	struct buf	 b;
	char		*cause = NULL;
	int		 i, inflight = 0, attempts = 0;
	long		 max_delay = -1;
	long long	 max_age = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--until-empty") == 0) {
			until_empty = 1;
			continue;
		}
		if (i + 1 >= argc)
			probe_usage();
		if (strcmp(argv[i], "--seconds") == 0)
			tv.tv_sec = atoi(argv[++i]);
		else if (strcmp(argv[i], "--secret") == 0)
			secret = argv[++i];
		else if (strcmp(argv[i], "--max-inflight") == 0)
			inflight = atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-attempts") == 0)
			attempts = atoi(argv[++i]);
		else if (strcmp(argv[i], "--max-delay") == 0)
			max_delay = atol(argv[++i]);
		else if (strcmp(argv[i], "--max-age") == 0)
			max_age = atoll(argv[++i]);
		else
			probe_usage();
	}
	if ((h = httpc_new(base, &cause)) == NULL)
		fatalx("%s", cause);
	o = outbox_new(base, h, st, probe_auth, NULL);
	outbox_set_limits(o, inflight, attempts, max_delay);
	outbox_set_max_age(o, max_age);
	stop = evtimer_new(base, probe_stop_cb, NULL);
	evtimer_add(stop, &tv);
	poll = event_new(base, -1, EV_PERSIST, probe_poll_cb, NULL);
	evtimer_add(poll, &ptv);
	sigterm = evsignal_new(base, SIGTERM, probe_stop_cb, NULL);
	evsignal_add(sigterm, NULL);

	event_base_dispatch(base);

	outbox_shutdown(o);
	buf_init(&b);
	outbox_metrics(o, &b);
	if (b.len > 0)
		fputs(b.data, stdout);
	buf_free(&b);
	outbox_free(o);
	httpc_free(h);
	event_free(stop);
	event_free(poll);
	event_free(sigterm);
	return (until_empty && !emptied ? 1 : 0);
}

static int
probe_list(int argc, char **argv)
{
	const char	*state = NULL;
	json_t		*rows;
	size_t		 i;
	char		*s;

	if (argc == 2 && strcmp(argv[0], "--state") == 0)
		state = argv[1];
	else if (argc != 0)
		probe_usage();
	if ((rows = store_outbox_list(st, state, 100000)) == NULL)
		return (1);
	for (i = json_array_size(rows); i > 0; i--) {
		s = json_dumps(json_array_get(rows, i - 1), JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	}
	json_decref(rows);
	return (0);
}

int
main(int argc, char **argv)
{
	char	*cause = NULL;
	int	 rc;

	log_init("outbox-probe", 0);
	if (getenv("OUTBOX_PROBE_VERBOSE") != NULL)
		log_set_verbose(1);
	if (argc < 3)
		probe_usage();
	if (strcmp(argv[2], "add") != 0 && strcmp(argv[2], "run") != 0 &&
	    strcmp(argv[2], "list") != 0)
		probe_usage();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((st = store_open(argv[1], 0, &cause)) == NULL)
		fatalx("%s", cause);
	if (strcmp(argv[2], "add") == 0)
		rc = probe_add(argc - 3, argv + 3);
	else if (strcmp(argv[2], "run") == 0)
		rc = probe_run(argc - 3, argv + 3);
	else
		rc = probe_list(argc - 3, argv + 3);
	store_close(st);
	event_base_free(base);
	return (rc);
}
