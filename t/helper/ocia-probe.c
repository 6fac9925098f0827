/*
 * ocia-probe [options] REGISTRY KIND ARG [KIND ARG]...
 *
 * Drive the asynchronous OCI client (src/ocia.c) from a shell test: run a
 * libevent loop, start the operations given, and print one JSON line per
 * finished operation, in the order they finish:
 *
 *   {"op":N,"kind":K,"status":S,"error":E|null,"digest":D,
 *    "media_type":M|null,"len":L,"tags":[...],"etag":T|null,
 *    "not_modified":0|1,"requests":R}
 *
 * KIND ARG is one of: tags REPO, head REPO:TAG|REPO@DIGEST, get (the
 * same), blob REPO@DIGEST. Operations start together (concurrently)
 * unless --sequential; --repeat N starts every one N times.
 *
 * Options: --insecure (plain http), --user U, --password P,
 * --docker-config FILE, --page N, --limit N (per registry), --host-limit N
 * (httpc), --retry N,DELAY_MS,MAX_MS, --timeout CONNECT_MS,TOTAL_MS,
 * --etag E (for tags), --max-bytes N (for blob), --save PREFIX (the body
 * of op N to PREFIX.N), --cancel-after MS (cancel everything still
 * pending after MS ms and print "cancelled N"), --cancel-one N (cancel op
 * N right after starting it), -v.
 *
 * Exit 0 when every operation that finished succeeded, 1 otherwise, 2 on
 * usage errors.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "httpc.h"
#include "log.h"
#include "oci.h"
#include "ocia.h"
#include "xmalloc.h"

struct probe_op {
	int		 n;
	const char	*kind;
	char		*repo;
	char		*ref;
	struct ocia_op	*op;
	int		 finished;
};

static struct event_base	*base;
static struct ocia		*oc;
static struct probe_op		*ops;
static int			 nops, nstarted, nfinished, failed, sequential;
static const char		*etag, *save;
static size_t			 max_bytes;

static void	probe_start(struct probe_op *);

static void
probe_usage(void)
{
	fprintf(stderr, "usage: ocia-probe [options] REGISTRY KIND ARG...\n");
	exit(2);
}

static void
probe_cb(struct ocia_result *res, void *arg)
{
	struct probe_op	*p = arg;
	json_t		*o, *tags;
	char		*s, path[4096];
	size_t		 i;
	FILE		*f;

	p->finished = 1;
	p->op = NULL;
	nfinished++;
	if (res->error != NULL)
		failed = 1;
	tags = json_array();
	for (i = 0; i < res->ntags; i++)
		json_array_append_new(tags, json_string(res->tags[i]));
	o = json_pack("{s:i, s:s, s:i, s:s?, s:s, s:s?, s:I, s:o, s:s?, "
	    "s:i, s:i}", "op", p->n, "kind", p->kind, "status",
	    (int)res->status, "error", res->error, "digest", res->digest,
	    "media_type", res->media_type, "len", (json_int_t)res->len,
	    "tags", tags, "etag", res->etag, "not_modified",
	    res->not_modified, "requests", res->requests);
	if (o == NULL)
		fatalx("json_pack");
	s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
	if (save != NULL && res->body != NULL) {
		snprintf(path, sizeof path, "%s.%d", save, p->n);
		if ((f = fopen(path, "wb")) == NULL ||
		    fwrite(res->body, 1, res->len, f) != res->len ||
		    fclose(f) != 0)
			fatal("%s", path);
	}
	if (sequential && nstarted < nops)
		probe_start(&ops[nstarted]);
	if (nfinished == nops)
		event_base_loopexit(base, NULL);
}

static void
probe_start(struct probe_op *p)
{
	nstarted++;
	if (strcmp(p->kind, "tags") == 0)
		p->op = ocia_tags_list(oc, p->repo, etag, probe_cb, p);
	else if (strcmp(p->kind, "head") == 0)
		p->op = ocia_manifest_head(oc, p->repo, p->ref, probe_cb, p);
	else if (strcmp(p->kind, "get") == 0)
		p->op = ocia_manifest_get(oc, p->repo, p->ref, probe_cb, p);
	else
		p->op = ocia_blob_get(oc, p->repo, p->ref, max_bytes,
		    probe_cb, p);
}

static void
probe_cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	int	i, n = 0;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < nops; i++) {
		if (ops[i].op != NULL && !ops[i].finished) {
			ocia_cancel(oc, ops[i].op);
			ops[i].op = NULL;
			n++;
		}
	}
	printf("cancelled %d pending %zu\n", n, ocia_pending(oc));
	fflush(stdout);
	event_base_loopexit(base, NULL);
}

/* Split REPO:TAG or REPO@DIGEST (or a bare REPO for tags). */
static void
probe_split(struct probe_op *p, const char *arg)
{
	const char	*at, *colon;

	if ((at = strchr(arg, '@')) != NULL) {
		p->repo = xstrndup(arg, at - arg);
		p->ref = xstrdup(at + 1);
	} else if (strcmp(p->kind, "tags") != 0 &&
	    (colon = strrchr(arg, ':')) != NULL) {
		p->repo = xstrndup(arg, colon - arg);
		p->ref = xstrdup(colon + 1);
	} else
		p->repo = xstrdup(arg);
}

int
main(int argc, char **argv)
{
	struct httpc	*h;
	struct oci_auth	 auth;
	struct event	*cancel_ev = NULL;
	struct timeval	 tv;
	const char	*registry;
	char		*cause = NULL;
	int		 insecure = 0, limit = 0, page = 0, repeat = 1;
	int		 retries = -1, cancel_one = 0, i, j, k;
	long		 delay = 0, maxdelay = 0, cto = 0, tto = 0, host_limit = 0;
	long		 cancel_after = -1;

	memset(&auth, 0, sizeof auth);
	log_init("ocia-probe", 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			log_set_verbose(1);
			continue;
		}
		if (strcmp(argv[i], "--insecure") == 0) {
			insecure = 1;
			continue;
		}
		if (strcmp(argv[i], "--sequential") == 0) {
			sequential = 1;
			continue;
		}
		if (i + 1 >= argc)
			probe_usage();
		if (strcmp(argv[i], "--user") == 0)
			auth.username = argv[++i];
		else if (strcmp(argv[i], "--password") == 0)
			auth.password = argv[++i];
		else if (strcmp(argv[i], "--docker-config") == 0)
			auth.docker_config = argv[++i];
		else if (strcmp(argv[i], "--page") == 0)
			page = atoi(argv[++i]);
		else if (strcmp(argv[i], "--limit") == 0)
			limit = atoi(argv[++i]);
		else if (strcmp(argv[i], "--host-limit") == 0)
			host_limit = atol(argv[++i]);
		else if (strcmp(argv[i], "--repeat") == 0)
			repeat = atoi(argv[++i]);
		else if (strcmp(argv[i], "--etag") == 0)
			etag = argv[++i];
		else if (strcmp(argv[i], "--max-bytes") == 0)
			max_bytes = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--save") == 0)
			save = argv[++i];
		else if (strcmp(argv[i], "--cancel-after") == 0)
			cancel_after = atol(argv[++i]);
		else if (strcmp(argv[i], "--cancel-one") == 0)
			cancel_one = atoi(argv[++i]);
		else if (strcmp(argv[i], "--retry") == 0) {
			if (sscanf(argv[++i], "%d,%ld,%ld", &retries, &delay,
			    &maxdelay) != 3)
				probe_usage();
		} else if (strcmp(argv[i], "--timeout") == 0) {
			if (sscanf(argv[++i], "%ld,%ld", &cto, &tto) != 2)
				probe_usage();
		} else
			probe_usage();
	}
	if (argc - i < 3 || (argc - i - 1) % 2 != 0 || repeat < 1)
		probe_usage();
	registry = argv[i++];
	nops = (argc - i) / 2 * repeat;
	ops = xcalloc(nops, sizeof *ops);
	for (k = 0, j = 0; j < repeat; j++) {
		for (int a = i; a < argc; a += 2, k++) {
			if (strcmp(argv[a], "tags") != 0 &&
			    strcmp(argv[a], "head") != 0 &&
			    strcmp(argv[a], "get") != 0 &&
			    strcmp(argv[a], "blob") != 0)
				probe_usage();
			ops[k].n = k + 1;
			ops[k].kind = argv[a];
			probe_split(&ops[k], argv[a + 1]);
		}
	}

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((h = httpc_new(base, &cause)) == NULL)
		fatalx("%s", cause);
	if (host_limit > 0)
		httpc_set_host_limit(h, host_limit);
	if ((oc = ocia_new(h, registry, &auth, insecure, &cause)) == NULL) {
		fprintf(stderr, "ocia-probe: %s\n", cause);
		return (1);
	}
	if (limit > 0)
		ocia_set_limit(oc, limit);
	if (page > 0)
		ocia_set_page_size(oc, page);
	if (retries >= 0)
		ocia_set_retry(oc, retries, delay, maxdelay);
	if (cto > 0 || tto > 0)
		ocia_set_timeout(oc, cto, tto);

	for (k = 0; k < (sequential ? 1 : nops); k++)
		probe_start(&ops[k]);
	if (cancel_one > 0 && cancel_one <= nops &&
	    ops[cancel_one - 1].op != NULL) {
		ocia_cancel(oc, ops[cancel_one - 1].op);
		ops[cancel_one - 1].op = NULL;
		ops[cancel_one - 1].finished = 1;
		nfinished++;
		printf("cancelled op %d\n", cancel_one);
	}
	if (cancel_after >= 0) {
		cancel_ev = evtimer_new(base, probe_cancel_cb, NULL);
		tv.tv_sec = cancel_after / 1000;
		tv.tv_usec = (cancel_after % 1000) * 1000;
		evtimer_add(cancel_ev, &tv);
	}
	if (nfinished < nops)
		event_base_dispatch(base);

	if (cancel_ev != NULL)
		event_free(cancel_ev);
	ocia_free(oc);
	httpc_free(h);
	event_base_free(base);
	for (k = 0; k < nops; k++) {
		free(ops[k].repo);
		free(ops[k].ref);
	}
	free(ops);
	return (failed ? 1 : 0);
}
