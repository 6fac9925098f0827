/*
 * `ferry runs` and `ferry run show`: read runs from ferryd's API and print
 * them for a person (a table) or as JSON (--json).
 */
#include "config.h"

#include <curl/curl.h>
#include <jansson.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "util.h"
#include "xmalloc.h"

#define CLI_REPLY_MAX	(64u * 1024 * 1024)

static const char	*cli_duration(json_t *, json_t *, char *, size_t);
static const char	*cli_stage_duration(json_t *, char *, size_t);
static size_t		 cli_stdout_cb(char *, size_t, size_t, void *);
static void		 cli_print_stages(json_t *);

struct cli_buf {
	char	*data;
	size_t	 len;
};

static size_t
cli_write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct cli_buf	*b = arg;
	size_t		 add = size * n;

	if (b->len + add > CLI_REPLY_MAX)
		return (0);
	b->data = xreallocarray(b->data, b->len + add + 1, 1);
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = '\0';
	return (add);
}

/* The API socket: -s, $FERRY_SOCKET, the configuration, or the default. */
static char *
cli_socket(const struct cli_target *t)
{
	struct conf	*conf;
	char		*cause = NULL, *s;

	if (t->socket != NULL)
		return (xstrdup(t->socket));
	conf = conf_load(t->config != NULL ? t->config : CONF_DEFAULT_PATH,
	    &cause);
	if (conf == NULL) {
		if (t->config != NULL)
			fprintf(stderr, "ferry: %s\n", cause);
		free(cause);
		return (xstrdup("/var/lib/ferry/api.sock"));
	}
	s = xstrdup(conf->api_socket);
	conf_free(conf);
	return (s);
}

/*
 * A curl handle aimed at path of the API: over TCP with the bearer token,
 * or over the UNIX socket. The URL, headers and socket path it needs are
 * returned for the caller to free after the transfer.
 */
static CURL *
cli_curl(const struct cli_target *t, const char *path,
    struct curl_slist **hdrs, char **url, char **sock)
{
	CURL	*curl;
	char	*auth;

	*sock = NULL;
	if ((curl = curl_easy_init()) == NULL)
		return (NULL);
	if (t->url != NULL) {
		xasprintf(url, "%s%s", t->url, path);
		if (t->token != NULL) {
			xasprintf(&auth, "Authorization: Bearer %s", t->token);
			*hdrs = curl_slist_append(*hdrs, auth);
			free(auth);
		}
	} else {
		*sock = cli_socket(t);
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, *sock);
		xasprintf(url, "http://ferry%s", path);
	}
	curl_easy_setopt(curl, CURLOPT_URL, *url);
	return (curl);
}

/*
 * GET path from the API. Returns the parsed JSON reply of a 2xx answer;
 * otherwise prints the API's error and returns NULL.
 */
json_t *
cli_request(const struct cli_target *t, const char *method, const char *path,
    const char *body)
{
	struct curl_slist	*hdrs = NULL;
	struct cli_buf		 b = { NULL, 0 };
	CURL			*curl;
	CURLcode		 cc;
	json_t			*o = NULL, *err;
	char			*url, *sock = NULL, errbuf[CURL_ERROR_SIZE];
	long			 code = 0;

	if ((curl = cli_curl(t, path, &hdrs, &url, &sock)) == NULL)
		return (NULL);
	errbuf[0] = '\0';
	if (strcmp(method, "POST") == 0) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body != NULL ? body :
		    "");
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK)
		fprintf(stderr, "ferry: cannot reach ferryd at %s: %s\n",
		    sock != NULL ? sock : t->url, errbuf[0] ? errbuf :
		    curl_easy_strerror(cc));
	else if ((o = json_loadb(b.data != NULL ? b.data : "", b.len, 0,
	    NULL)) == NULL)
		fprintf(stderr, "ferry: malformed reply from ferryd (%ld)\n",
		    code);
	else if (code < 200 || code > 299) {
		err = json_object_get(o, "error");
		fprintf(stderr, "ferry: %s\n", json_is_string(err) ?
		    json_string_value(err) : "request failed");
		json_decref(o);
		o = NULL;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	free(b.data);
	free(url);
	free(sock);
	return (o);
}

/* s escaped for a URL's path segment or query value. Caller frees. */
char *
cli_escape(const char *s)
{
	CURL	*c;
	char	*e, *out;

	c = curl_easy_init();
	e = c != NULL ? curl_easy_escape(c, s, 0) : NULL;
	out = xstrdup(e != NULL ? e : "");
	curl_free(e);
	curl_easy_cleanup(c);
	return (out);
}

json_t *
cli_get(const struct cli_target *t, const char *path)
{
	return (cli_request(t, "GET", path, NULL));
}

void
cli_print_json(json_t *o)
{
	char	*s;

	s = json_dumps(o, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
}

void
cli_time(json_t *ms, char *buf, size_t len)
{
	time_t		 t = (time_t)(json_integer_value(ms) / 1000);
	struct tm	 tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/*
 * A field of o for the terminal: control characters (payload data may hold
 * escape sequences) become "?". Returns one of a few rotating static
 * buffers, so several calls may appear in one printf.
 */
const char *
cli_str(json_t *o, const char *key)
{
	static char	 bufs[8][256];
	static int	 next;
	const char	*s = json_string_value(json_object_get(o, key));
	char		*out = bufs[next++ % 8];
	size_t		 i;

	if (s == NULL)
		return ("-");
	for (i = 0; s[i] != '\0' && i < sizeof bufs[0] - 1; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	out[i] = '\0';
	return (out);
}

/* Under a run in the table: "  checkout success 0.4s | build running 3.1s" */
static void
cli_print_stage_line(json_t *stages)
{
	json_t	*st;
	size_t	 i;
	char	 dur[32];

	if (json_array_size(stages) == 0)
		return;
	printf("       ");
	json_array_foreach(stages, i, st) {
		printf("%s%s %s %s", i > 0 ? " | " : "", cli_str(st, "name"),
		    cli_str(st, "state"), cli_stage_duration(st, dur,
		    sizeof dur));
	}
	printf("\n");
}

int
cli_runs(const struct cli_target *t, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "project", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*project = NULL, *state = NULL, *limit = "50";
	char		*path, *ep, *es, when[32];
	json_t		*o, *runs, *r;
	size_t		 i;
	int		 ch, as_json = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:s:n:j", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			project = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'n':
			limit = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		default:
			fprintf(stderr, "usage: ferry runs [--project P] "
			    "[--state S] [--limit N] [--json]\n");
			return (2);
		}
	}
	ep = cli_escape(project != NULL ? project : "");
	es = cli_escape(state != NULL ? state : "");
	xasprintf(&path, "/api/v1/runs?limit=%s%s%s%s%s", limit,
	    project != NULL ? "&project=" : "", project != NULL ? ep : "",
	    state != NULL ? "&state=" : "", state != NULL ? es : "");
	free(ep);
	free(es);
	o = cli_get(t, path);
	free(path);
	if (o == NULL)
		return (1);
	runs = json_object_get(o, "runs");
	if (as_json)
		cli_print_json(runs);
	else {
		printf("%-6s %-11s %-16s %-30s %-12s %-6s %s\n", "ID", "STATE",
		    "PROJECT", "REF", "COMMIT", "KIND", "CREATED");
		json_array_foreach(runs, i, r) {
			cli_time(json_object_get(r, "created_at"), when,
			    sizeof when);
			printf("%-6lld %-11s %-16s %-30s %-12.12s %-6s %s\n",
			    json_integer_value(json_object_get(r, "id")),
			    cli_str(r, "state"), cli_str(r, "project"),
			    cli_str(r, "ref"), cli_str(r, "sha"),
			    cli_str(r, "kind"), when);
			cli_print_stage_line(json_object_get(r, "stages"));
		}
	}
	json_decref(o);
	return (0);
}

/* Milliseconds between two JSON timestamps as "12.3s", or "-". */
static const char *
cli_duration(json_t *from, json_t *to, char *buf, size_t len)
{
	long long	ms;

	if (!json_is_integer(from))
		return ("-");
	ms = (json_is_integer(to) ? json_integer_value(to) :
	    (long long)now_ms()) - json_integer_value(from);
	if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else
		snprintf(buf, len, "%lldm%02llds", ms / 60000, ms / 1000 % 60);
	return (buf);
}

/* A stage's duration; only a running stage's grows with the clock. */
static const char *
cli_stage_duration(json_t *st, char *buf, size_t len)
{
	json_t	*end = json_object_get(st, "finished_at");

	if (!json_is_integer(end) && strcmp(cli_str(st, "state"),
	    "running") != 0)
		return ("-");
	return (cli_duration(json_object_get(st, "started_at"), end, buf,
	    len));
}

/* The stages of a run, one line each: name, state, duration, exit. */
static void
cli_print_stages(json_t *stages)
{
	json_t	*st, *code;
	size_t	 i;
	char	 dur[32];

	if (json_array_size(stages) == 0)
		return;
	printf("stages:\n");
	json_array_foreach(stages, i, st) {
		code = json_object_get(st, "exit_code");
		printf("  %-20s %-11s %8s", cli_str(st, "name"),
		    cli_str(st, "state"), cli_stage_duration(st, dur,
		    sizeof dur));
		if (json_is_integer(code))
			printf("  exit %lld", json_integer_value(code));
		printf("\n");
	}
}

int
cli_run_show(const struct cli_target *t, int argc, char **argv)
{
	const char	*id = NULL;
	char		*path, when[32];
	json_t		*o, *ev;
	int		 i, as_json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (id == NULL)
			id = argv[i];
		else
			id = NULL, i = argc;
	}
	if (id == NULL || strspn(id, "0123456789") != strlen(id)) {
		fprintf(stderr, "usage: ferry run show ID [--json]\n");
		return (2);
	}
	xasprintf(&path, "/api/v1/runs/%s", id);
	o = cli_get(t, path);
	free(path);
	if (o == NULL)
		return (1);
	if (as_json)
		cli_print_json(o);
	else {
		ev = json_object_get(o, "event");
		cli_time(json_object_get(o, "created_at"), when, sizeof when);
		printf("run:       %lld\n", json_integer_value(
		    json_object_get(o, "id")));
		printf("project:   %s\n", cli_str(o, "project"));
		printf("state:     %s\n", cli_str(o, "state"));
		printf("kind:      %s\n", cli_str(o, "kind"));
		printf("ref:       %s\n", cli_str(o, "ref"));
		printf("commit:    %s\n", cli_str(o, "sha"));
		printf("created:   %s\n", when);
		printf("delivery:  %s\n", cli_str(o, "delivery"));
		printf("provider:  %s (%s)\n", cli_str(ev, "provider"),
		    cli_str(ev, "event"));
		printf("repo:      %s\n", cli_str(ev, "repo"));
		printf("sender:    %s\n", cli_str(ev, "sender"));
		if (json_integer_value(json_object_get(o, "superseded_by")))
			printf("superseded by run %lld\n", json_integer_value(
			    json_object_get(o, "superseded_by")));
		if (json_is_string(json_object_get(o, "error")))
			printf("error:     %s\n", cli_str(o, "error"));
		cli_print_stages(json_object_get(o, "stages"));
		if (json_object_size(json_object_get(o, "outputs")) > 0) {
			const char *k;
			json_t *v;
			printf("outputs:\n");
			json_object_foreach(json_object_get(o, "outputs"), k, v)
				printf("  %s=%s\n", k, json_string_value(v));
		}
	}
	json_decref(o);
	return (0);
}

/*
 * GET path of the API (a plain text body) to stdout. Returns 0, or 1 after
 * saying why not; a 404 prints missing instead of the API's message.
 */
int
cli_get_text(const struct cli_target *t, const char *path,
    const char *missing)
{
	struct curl_slist	*hdrs = NULL;
	CURL			*curl;
	CURLcode		 cc;
	char			*url, *sock = NULL;
	char			 errbuf[CURL_ERROR_SIZE];
	long			 code = 0;

	if ((curl = cli_curl(t, path, &hdrs, &url, &sock)) == NULL)
		return (1);
	errbuf[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_stdout_cb);
	cc = curl_easy_perform(curl);	/* the body goes to stdout */
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		if (code == 404)
			fprintf(stderr, "ferry: %s\n", missing);
		else
			fprintf(stderr, "ferry: %s\n", errbuf[0] ? errbuf :
			    curl_easy_strerror(cc));
	}
	fflush(stdout);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	free(url);
	free(sock);
	return (cc == CURLE_OK ? 0 : 1);
}

/*
 * The body to stdout as it arrives: a followed log piped into another
 * program (grep, tee) must not wait in stdio's buffer for the stage's end.
 */
static size_t
cli_stdout_cb(char *ptr, size_t size, size_t n, void *arg)
{
	size_t	len = size * n;

	(void)arg;
	if (fwrite(ptr, 1, len, stdout) != len || fflush(stdout) != 0)
		return (0);
	return (len);
}

/* Print a stage's log; with follow, stream it until the stage ends. */
static int
cli_log(const struct cli_target *t, long long run, const char *stage,
    int follow)
{
	char	*path, *missing;
	int	 rc;

	xasprintf(&path, "/api/v1/runs/%lld/logs/%s%s", run, stage,
	    follow ? "?follow=1" : "");
	xasprintf(&missing, "no log for stage %s of run %lld (yet)", stage,
	    run);
	rc = cli_get_text(t, path, missing);
	free(path);
	free(missing);
	return (rc);
}

/* Whether a run's state is final. */
static int
cli_run_ended(const char *state)
{
	return (strcmp(state, "queued") != 0 && strcmp(state, "running") != 0);
}

/*
 * Every stage's log in order. With follow, stages that have not started
 * yet are waited for, and each is followed until it ends, until the run
 * itself has ended.
 */
static int
cli_logs_all(const struct cli_target *t, long long run, int follow)
{
	const char	*name, *st_state;
	char		*path, **shown = NULL;
	size_t		 nshown = 0, k, j;
	json_t		*o, *st;
	int		 rc = 0, progress, ended, waiting;

	xasprintf(&path, "/api/v1/runs/%lld", run);
	for (;;) {
		if ((o = cli_get(t, path)) == NULL) {
			rc = 1;
			break;
		}
		ended = cli_run_ended(cli_str(o, "state"));
		progress = waiting = 0;
		json_array_foreach(json_object_get(o, "stages"), k, st) {
			name = json_string_value(json_object_get(st, "name"));
			st_state = cli_str(st, "state");
			for (j = 0; j < nshown && name != NULL; j++) {
				if (strcmp(shown[j], name) == 0)
					break;
			}
			if (name == NULL || j < nshown ||
			    strcmp(st_state, "skipped") == 0)
				continue;
			if (strcmp(st_state, "pending") == 0) {
				waiting = 1;
				break;		/* stages run in order */
			}
			printf("==> %s (%s)\n", name, st_state);
			fflush(stdout);
			if (cli_log(t, run, name, follow &&
			    strcmp(st_state, "running") == 0) != 0)
				rc = 1;
			shown = xreallocarray(shown, nshown + 1,
			    sizeof *shown);
			shown[nshown++] = xstrdup(name);
			progress = 1;
			if (follow)
				break;		/* refetch: states moved on */
		}
		json_decref(o);
		if (!follow || (ended && !progress && !waiting))
			break;
		if (!progress)
			usleep(200 * 1000);
	}
	for (j = 0; j < nshown; j++)
		free(shown[j]);
	free(shown);
	free(path);
	return (rc);
}

/* `ferry logs RUN [STAGE] [-f]`: one stage, or every stage in order. */
int
cli_logs(const struct cli_target *t, int argc, char **argv)
{
	const char	*stage = NULL;
	long long	 run = 0;
	int		 i, follow = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--follow") == 0)
			follow = 1;
		else if (run == 0 && strspn(argv[i], "0123456789") ==
		    strlen(argv[i]) && argv[i][0] != '\0')
			run = strtoll(argv[i], NULL, 10);
		else if (stage == NULL && run != 0)
			stage = argv[i];
		else
			run = -1;
	}
	if (run <= 0) {
		fprintf(stderr, "usage: ferry logs RUN [STAGE] [-f]\n");
		return (2);
	}
	if (stage != NULL)
		return (cli_log(t, run, stage, follow));
	return (cli_logs_all(t, run, follow));
}

/* `ferry cancel RUN`, `ferry retry RUN`. */
int
cli_run_action(const struct cli_target *t, int argc, char **argv)
{
	char	*path;
	json_t	*o;

	if (argc != 2 || strspn(argv[1], "0123456789") != strlen(argv[1]) ||
	    argv[1][0] == '\0') {
		fprintf(stderr, "usage: ferry %s RUN\n", argv[0]);
		return (2);
	}
	xasprintf(&path, "/api/v1/runs/%s/%s", argv[1], argv[0]);
	o = cli_request(t, "POST", path, "{}");
	free(path);
	if (o == NULL)
		return (1);
	if (strcmp(argv[0], "retry") == 0)
		printf("run %lld queued (retry of run %s)\n", json_integer_value(
		    json_object_get(o, "run")), argv[1]);
	else
		printf("run %s: cancel requested\n", argv[1]);
	json_decref(o);
	return (0);
}

/* `ferry trigger PROJECT REF`: start a run of REF's tip by hand. */
int
cli_trigger(const struct cli_target *t, int argc, char **argv)
{
	char	*path, *body, *ep;
	json_t	*o, *b;

	if (argc != 3) {
		fprintf(stderr, "usage: ferry trigger PROJECT REF\n");
		return (2);
	}
	ep = cli_escape(argv[1]);
	xasprintf(&path, "/api/v1/projects/%s/runs", ep);
	free(ep);
	b = json_pack("{s:s}", "ref", argv[2]);
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	o = body != NULL ? cli_request(t, "POST", path, body) : NULL;
	free(body);
	free(path);
	if (o == NULL)
		return (1);
	printf("run %lld queued\n", json_integer_value(json_object_get(o,
	    "run")));
	json_decref(o);
	return (0);
}

/* `ferry artifacts [--project P] [--json]`: what runs published. */
int
cli_artifacts(const struct cli_target *t, int argc, char **argv)
{
	const char	*project = NULL;
	char		*path, *ep, when[32];
	json_t		*o, *list, *a, *reused;
	size_t		 i;
	int		 k, as_json = 0;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			as_json = 1;
		else if (strcmp(argv[k], "--project") == 0 && k + 1 < argc)
			project = argv[++k];
		else {
			fprintf(stderr, "usage: ferry artifacts [--project P] "
			    "[--json]\n");
			return (2);
		}
	}
	ep = cli_escape(project != NULL ? project : "");
	xasprintf(&path, "/api/v1/artifacts?limit=100%s%s", project != NULL ?
	    "&project=" : "", project != NULL ? ep : "");
	free(ep);
	o = cli_get(t, path);
	free(path);
	if (o == NULL)
		return (1);
	list = json_object_get(o, "artifacts");
	if (as_json)
		cli_print_json(list);
	else {
		printf("%-6s %-7s %-12s %-12s %-10s %-7s %s\n", "RUN",
		    "KIND", "NAME", "COMMIT", "ACCEPT", "BUILD", "REFERENCE");
		json_array_foreach(list, i, a) {
			cli_time(json_object_get(a, "created_at"), when,
			    sizeof when);
			reused = json_object_get(a, "reused");
			printf("%-6lld %-7s %-12s %-12.12s %-10s %-7s "
			    "%s:%s@%s\n",
			    json_integer_value(json_object_get(a, "run")),
			    cli_str(a, "kind"), cli_str(a, "name"),
			    cli_str(a, "sha"), cli_str(a, "acceptance"),
			    json_is_true(reused) ? "reused" :
			    json_is_false(reused) ? "built" : "-",
			    cli_str(a, "repository"), cli_str(a, "tag"),
			    cli_str(a, "digest"));
		}
	}
	json_decref(o);
	return (0);
}
