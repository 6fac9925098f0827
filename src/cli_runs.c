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

#include "cli.h"
#include "conf.h"
#include "xmalloc.h"

#define CLI_REPLY_MAX	(64u * 1024 * 1024)

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
 * GET path from the API. Returns the parsed JSON reply of a 2xx answer;
 * otherwise prints the API's error and returns NULL.
 */
static json_t *
cli_get(const struct cli_target *t, const char *path)
{
	struct curl_slist	*hdrs = NULL;
	struct cli_buf		 b = { NULL, 0 };
	CURL			*curl;
	CURLcode		 cc;
	json_t			*o = NULL, *err;
	char			*url, *sock = NULL, *auth, errbuf[CURL_ERROR_SIZE];
	long			 code = 0;

	if ((curl = curl_easy_init()) == NULL)
		return (NULL);
	if (t->url != NULL) {
		xasprintf(&url, "%s%s", t->url, path);
		if (t->token != NULL) {
			xasprintf(&auth, "Authorization: Bearer %s", t->token);
			hdrs = curl_slist_append(hdrs, auth);
			free(auth);
		}
	} else {
		sock = cli_socket(t);
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
		xasprintf(&url, "http://ferry%s", path);
	}
	errbuf[0] = '\0';
	curl_easy_setopt(curl, CURLOPT_URL, url);
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

static void
cli_print_json(json_t *o)
{
	char	*s;

	s = json_dumps(o, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
}

static void
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
static const char *
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
	CURL		*curl;

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
	curl = curl_easy_init();
	ep = curl_easy_escape(curl, project != NULL ? project : "", 0);
	es = curl_easy_escape(curl, state != NULL ? state : "", 0);
	xasprintf(&path, "/api/v1/runs?limit=%s%s%s%s%s", limit,
	    project != NULL ? "&project=" : "", project != NULL ? ep : "",
	    state != NULL ? "&state=" : "", state != NULL ? es : "");
	curl_free(ep);
	curl_free(es);
	curl_easy_cleanup(curl);
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
		}
	}
	json_decref(o);
	return (0);
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
	}
	json_decref(o);
	return (0);
}
