/*
 * ferry environments, releases, release show|log, approve, reject, deploy,
 * rollback, pause, resume, check: the deployment side of the API.
 */
#include "config.h"

#include <curl/curl.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"
#include "xmalloc.h"

#define CLI_WAIT_POLL_MS	200

static int
cli_is_id(const char *s)
{
	return (*s != '\0' && strspn(s, "0123456789") == strlen(s) &&
	    strlen(s) < 16);
}

static const char *
cli_short_digest(json_t *o)
{
	static char	 buf[24];
	const char	*d = json_string_value(json_object_get(o, "digest"));

	if (d == NULL || *d == '\0')
		return ("-");
	snprintf(buf, sizeof buf, "%.19s", d);
	return (buf);
}

static void
cli_release_line(json_t *r)
{
	printf("%-6lld %-12s %-24s %-19s %-18s %-8s %s\n",
	    json_integer_value(json_object_get(r, "id")), cli_str(r, "env"),
	    cli_str(r, "tag"), cli_short_digest(r), cli_str(r, "state"),
	    cli_str(r, "source"), json_is_string(json_object_get(r,
	    "reason")) ? cli_str(r, "reason") : "");
}

int
cli_environments(const struct cli_target *t, int argc, char **argv)
{
	json_t		*o, *list, *e, *cur, *w;
	size_t		 i;
	int		 as_json = 0;
	char		 pol[64];

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		as_json = 1;
	else if (argc != 1) {
		fprintf(stderr, "usage: ferry environments [--json]\n");
		return (2);
	}
	if ((o = cli_get(t, "/api/v1/environments")) == NULL)
		return (1);
	list = json_object_get(o, "environments");
	if (as_json) {
		cli_print_json(list);
		json_decref(o);
		return (0);
	}
	printf("%-12s %-7s %-20s %-24s %-8s %s\n", "NAME", "MODE", "POLICY",
	    "CURRENT", "PENDING", "WATCH");
	json_array_foreach(list, i, e) {
		json_t *p = json_object_get(e, "policy");
		const char *kind = json_string_value(json_object_get(p,
		    "kind"));
		const char *arg = json_string_value(json_object_get(p,
		    strcmp(kind, "semver") == 0 ? "semver" : strcmp(kind,
		    "digest") == 0 ? "tag" : "allow"));
		snprintf(pol, sizeof pol, "%s%s%s", kind, arg != NULL ? " " :
		    "", arg != NULL ? arg : "");
		cur = json_object_get(e, "current");
		w = json_object_get(e, "watch");
		printf("%-12s %-7s %-20.20s %-24s %-8zu %s%s\n",
		    cli_str(e, "name"), json_is_true(json_object_get(e,
		    "paused")) ? "paused" : cli_str(e, "mode"), pol,
		    json_is_object(cur) ? cli_str(cur, "tag") : "-",
		    json_array_size(json_object_get(e, "pending")),
		    json_is_string(json_object_get(w, "error")) ? "error: " :
		    json_is_object(w) ? "ok" : "not checked yet",
		    json_is_string(json_object_get(w, "error")) ?
		    cli_str(w, "error") : "");
	}
	json_decref(o);
	return (0);
}

int
cli_releases(const struct cli_target *t, int argc, char **argv)
{
	const char	*env = NULL;
	char		*path, *e;
	json_t		*o, *list, *r;
	size_t		 i;
	int		 k, as_json = 0;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			as_json = 1;
		else if (argv[k][0] != '-' && env == NULL)
			env = argv[k];
		else {
			fprintf(stderr, "usage: ferry releases [ENV] "
			    "[--json]\n");
			return (2);
		}
	}
	if (env != NULL) {
		e = cli_escape(env);
		xasprintf(&path, "/api/v1/releases?limit=100&env=%s", e);
		free(e);
	} else
		path = xstrdup("/api/v1/releases?limit=100");
	o = cli_get(t, path);
	free(path);
	if (o == NULL)
		return (1);
	list = json_object_get(o, "releases");
	if (as_json)
		cli_print_json(list);
	else {
		printf("%-6s %-12s %-24s %-19s %-18s %-8s %s\n", "ID", "ENV",
		    "TAG", "DIGEST", "STATE", "SOURCE", "REASON");
		json_array_foreach(list, i, r)
			cli_release_line(r);
	}
	json_decref(o);
	return (0);
}

static int
cli_release_final(const char *state)
{
	return (strcmp(state, "deployed") == 0 || strcmp(state, "failed") ==
	    0 || strcmp(state, "rejected") == 0 || strcmp(state, "expired") ==
	    0 || strcmp(state, "superseded") == 0);
}

/* Wait until release id is in a final state; 0 when it was deployed. */
static int
cli_release_wait(const struct cli_target *t, long long id, int timeout_s)
{
	char		*path, *last = NULL;
	const char	*state;
	json_t		*o;
	time_t		 end = time(NULL) + timeout_s;
	int		 rc = 1;

	xasprintf(&path, "/api/v1/releases/%lld", id);
	for (;;) {
		if ((o = cli_get(t, path)) == NULL)
			break;
		state = json_string_value(json_object_get(o, "state"));
		if (state == NULL)
			state = "?";
		if (last == NULL || strcmp(last, state) != 0) {
			printf("release %lld: %s%s%s\n", id, state,
			    json_is_string(json_object_get(o, "reason")) ?
			    ": " : "", json_is_string(json_object_get(o,
			    "reason")) ? cli_str(o, "reason") : "");
			fflush(stdout);
			free(last);
			last = xstrdup(state);
		}
		if (cli_release_final(state)) {
			rc = strcmp(state, "deployed") == 0 ? 0 : 1;
			json_decref(o);
			break;
		}
		json_decref(o);
		if (time(NULL) >= end) {
			fprintf(stderr, "ferry: release %lld is still %s after "
			    "%d s\n", id, last, timeout_s);
			break;
		}
		usleep(CLI_WAIT_POLL_MS * 1000);
	}
	free(last);
	free(path);
	return (rc);
}

/* ferry release show ID [--json] | ferry release log ID */
int
cli_release_show(const struct cli_target *t, int argc, char **argv)
{
	char	*path;
	json_t	*o, *a, *ap;
	size_t	 i;
	int	 as_json = argc == 4 && strcmp(argv[3], "--json") == 0;

	if ((argc != 3 && !as_json) || !cli_is_id(argv[2]) ||
	    (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "log") != 0)) {
		fprintf(stderr, "usage: ferry release show ID [--json]\n"
		    "       ferry release log ID\n");
		return (2);
	}
	if (strcmp(argv[1], "log") == 0) {
		int rc;
		xasprintf(&path, "/api/v1/releases/%s/log", argv[2]);
		rc = cli_get_text(t, path, "that release has no log");
		free(path);
		return (rc);
	}
	xasprintf(&path, "/api/v1/releases/%s", argv[2]);
	o = cli_get(t, path);
	free(path);
	if (o == NULL)
		return (1);
	if (as_json)
		cli_print_json(o);
	else {
		printf("release %lld  %s  %s\n", json_integer_value(
		    json_object_get(o, "id")), cli_str(o, "env"),
		    cli_str(o, "state"));
		printf("artifact  %s:%s@%s\n", cli_str(o, "repository"),
		    cli_str(o, "tag"), cli_str(o, "digest"));
		printf("source    %s%s%s\n", cli_str(o, "source"),
		    json_is_string(json_object_get(o, "requested_by")) ?
		    " by " : "", json_is_string(json_object_get(o,
		    "requested_by")) ? cli_str(o, "requested_by") : "");
		if (json_is_string(json_object_get(o, "reason")))
			printf("reason    %s\n", cli_str(o, "reason"));
		a = json_object_get(o, "approvals");
		json_array_foreach(a, i, ap)
			printf("decision  %s by %s (%s)%s%s\n",
			    cli_str(ap, "decision"), cli_str(ap, "who"),
			    cli_str(ap, "via"), json_is_string(
			    json_object_get(ap, "reason")) ? ": " : "",
			    json_is_string(json_object_get(ap, "reason")) ?
			    cli_str(ap, "reason") : "");
	}
	json_decref(o);
	return (0);
}

/*
 * ferry approve|reject RELEASE [--reason TEXT]. ferryd records who: the
 * user on the UNIX socket, or the name of the API token.
 */
int
cli_release_decide(const struct cli_target *t, int argc, char **argv)
{
	const char	*reason = NULL;
	char		*path, *body;
	json_t		*o, *req;
	int		 k;

	for (k = 2; k < argc; k++) {
		if (strcmp(argv[k], "--reason") == 0 && k + 1 < argc)
			reason = argv[++k];
		else
			break;
	}
	if (argc < 2 || !cli_is_id(argv[1]) || k != argc) {
		fprintf(stderr, "usage: ferry %s RELEASE [--reason TEXT]\n",
		    argv[0]);
		return (2);
	}
	req = json_object();
	if (reason != NULL)
		json_object_set_new(req, "reason", json_string(reason));
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	xasprintf(&path, "/api/v1/releases/%s/%s", argv[1], argv[0]);
	o = cli_request(t, "POST", path, body);
	free(path);
	free(body);
	if (o == NULL)
		return (1);
	printf("release %s: %s%s%s\n", argv[1], cli_str(o, "state"),
	    json_is_string(json_object_get(o, "reason")) ? ": " : "",
	    json_is_string(json_object_get(o, "reason")) ? cli_str(o,
	    "reason") : "");
	json_decref(o);
	return (0);
}

/*
 * ferry deploy ENV VERSION [--wait] | rollback ENV [--wait] | pause ENV |
 * resume ENV | check ENV
 */
int
cli_env_action(const struct cli_target *t, int argc, char **argv)
{
	const char	*action = argv[0], *version = NULL;
	char		*path, *body, *e;
	json_t		*o, *req;
	int		 k, wait = 0, timeout = 900, nargs;
	long long	 id;

	nargs = strcmp(action, "deploy") == 0 ? 2 : 1;
	for (k = 1; k < argc && argv[k][0] != '-'; k++)
		;
	if (k - 1 != nargs) {
		k = -1;
		goto usage;
	}
	for (; k < argc; k++) {
		if (strcmp(argv[k], "--wait") == 0)
			wait = 1;
		else if (strcmp(argv[k], "--timeout") == 0 && k + 1 < argc) {
			int64_t ms;
			if (parse_duration(argv[++k], &ms) != 0 || ms < 1000)
				goto usage;
			timeout = (int)(ms / 1000);
		} else
			goto usage;
	}
	if (nargs == 2)
		version = argv[2];
	req = json_object();
	if (version != NULL)
		json_object_set_new(req, "version", json_string(version));
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	e = cli_escape(argv[1]);
	xasprintf(&path, "/api/v1/environments/%s/%s", e, action);
	free(e);
	o = cli_request(t, "POST", path, body);
	free(path);
	free(body);
	if (o == NULL)
		return (1);
	if ((id = json_integer_value(json_object_get(o, "release"))) > 0) {
		/* In a manual environment it may wait for approvals. */
		printf("release %lld: %s of %s requested", id, action,
		    argv[1]);
		if (json_is_string(json_object_get(o, "state")))
			printf(": %s", cli_str(o, "state"));
		if (json_is_string(json_object_get(o, "reason")))
			printf(": %s", cli_str(o, "reason"));
		printf("\n");
		json_decref(o);
		return (wait ? cli_release_wait(t, id, timeout) : 0);
	}
	printf("%s: %s\n", argv[1], strcmp(action, "pause") == 0 ?
	    "automatic deployment paused" : strcmp(action, "resume") == 0 ?
	    "automatic deployment resumed" : "check started");
	json_decref(o);
	return (0);
usage:
	fprintf(stderr, "usage: ferry deploy ENV VERSION [--wait] [--timeout "
	    "D]\n       ferry rollback ENV [--wait] [--timeout D]\n"
	    "       ferry pause|resume|check ENV\n");
	return (2);
}

/* ferry audit [--json]: who decided what, newest first. */
int
cli_audit(const struct cli_target *t, int argc, char **argv)
{
	json_t	*o, *list, *a;
	size_t	 i;
	char	 when[32];

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
		fprintf(stderr, "usage: ferry audit [--json]\n");
		return (2);
	}
	if ((o = cli_get(t, "/api/v1/audit")) == NULL)
		return (1);
	list = json_object_get(o, "audit");
	if (argc == 2)
		cli_print_json(list);
	else {
		printf("%-19s %-28s %-10s %-9s %-14s %-8s %s\n", "WHEN", "WHO",
		    "VIA", "ACTION", "TARGET", "RESULT", "DETAIL");
		json_array_foreach(list, i, a) {
			cli_time(json_object_get(a, "at"), when, sizeof when);
			printf("%-19s %-28s %-10s %-9s %-14s %-8s %s\n", when,
			    cli_str(a, "who"), cli_str(a, "via"),
			    cli_str(a, "action"), cli_str(a, "target"),
			    cli_str(a, "result"), json_is_string(
			    json_object_get(a, "detail")) ? cli_str(a,
			    "detail") : "");
		}
	}
	json_decref(o);
	return (0);
}
