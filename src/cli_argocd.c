/*
 * `ferry argocd sync`: the argocd deploy driver. It points an Argo CD
 * Application at a new revision through the Kubernetes API (no Argo CD API
 * server, no argocd CLI) and optionally waits until Argo CD reports it
 * synced and healthy there. ferryd runs it as a child process; users may
 * run it by hand. See PROTOCOLS.md 5.3 and 6.3.
 *
 * DESIGN: the Application is read first, to tell a single-source app
 * (spec.source) from a multi-source one (spec.sources): a merge patch of
 * spec.source on the latter would be accepted and silently ignored by
 * Argo CD. Single source: a JSON merge patch of
 * spec.source.targetRevision (plus the refresh annotation when asked).
 * Multi-source: a JSON patch that tests the chosen source's repoURL (the
 * list may have been reordered since the read) and sets its
 * targetRevision; the annotation then goes in a second, merge patch.
 *
 * Waiting: the Application is read every interval. It is done when sync
 * is Synced, health Healthy and the status is about our revision:
 * status.sync.revision (revisions[i] for multi-source) equals it, as for
 * Helm chart versions and commit ids, or status.sync.comparedTo's source
 * has it as targetRevision, as for a branch, a tag or a semver range that
 * Argo CD resolved. Degraded health, or a sync operation that failed, at
 * our revision ends the wait early; the same states for an older revision
 * are the past and are waited through. Errors that may pass (connection,
 * 429, 5xx) are waited through too; 4xx answers end it.
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "kube.h"
#include "util.h"
#include "xmalloc.h"

#define ARGOCD_REV_MAX		1024
#define ARGOCD_REFRESH_KEY	"argocd.argoproj.io/refresh"
#define ARGOCD_REQ_TIMEOUT	30000		/* ms, one request */

struct argocd_sync {
	const char	*app;
	const char	*ns;
	const char	*rev;
	const char	*refresh;	/* NULL, "normal" or "hard" */
	const char	*token_file;
	const char	*timeout_s;	/* as given, for messages */
	long		 index;		/* source index; -1: not given */
	int		 multi;		/* spec.sources */
	int64_t		 timeout;	/* ms */
	int64_t		 interval;	/* ms */
};

/* What one read of the Application says; the strings are borrowed. */
struct argocd_state {
	const char	*sync;
	const char	*health;
	const char	*revision;
	int		 ours;		/* the status is about our revision */
};

static void
argocd_usage(FILE *f)
{
	fprintf(f, "usage: ferry argocd sync --app NAME --revision REV "
	    "[--namespace NS]\n"
	    "           [--server URL] [--ca-file F] [--token-file F] "
	    "[--insecure]\n"
	    "           [--refresh normal|hard] [--source-index N] [--wait]\n"
	    "           [--timeout DURATION] [--interval DURATION]\n");
}

static int64_t
argocd_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
argocd_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		;
}

/*
 * A revision goes into a JSON string, so quotes and backslashes are safe;
 * control characters (a newline above all) are refused, because no chart
 * version, tag or commit id has them and they would garble logs and
 * output. Returns 0 or -1 with a cause.
 */
static int
argocd_rev_check(const char *rev, char **cause)
{
	json_t		*s;
	const char	*p;

	if (*rev == '\0' || strlen(rev) > ARGOCD_REV_MAX) {
		xasprintf(cause, "--revision must have 1 to %d bytes",
		    ARGOCD_REV_MAX);
		return (-1);
	}
	for (p = rev; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			xasprintf(cause, "--revision must not contain control "
			    "characters");
			return (-1);
		}
	}
	if ((s = json_string(rev)) == NULL) {
		xasprintf(cause, "--revision is not valid UTF-8");
		return (-1);
	}
	json_decref(s);
	return (0);
}

/* A string member of a JSON object, or NULL. */
static const char *
argocd_str(const json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/*
 * Decide from the Application which source to patch: sets s->multi, and
 * s->index for a multi-source app with a single source. Returns 0, or -1
 * with a cause when the app cannot be patched as asked.
 */
static int
argocd_pick_source(const json_t *app, struct argocd_sync *s, char **cause)
{
	const json_t	*spec, *sources;
	size_t		 n;

	spec = json_object_get(app, "spec");
	sources = json_object_get(spec, "sources");
	n = json_is_array(sources) ? json_array_size(sources) : 0;
	if (n == 0) {
		if (!json_is_object(json_object_get(spec, "source"))) {
			xasprintf(cause, "application %s/%s has neither "
			    "spec.source nor spec.sources", s->ns, s->app);
			return (-1);
		}
		if (s->index != -1) {
			xasprintf(cause, "--source-index given but application "
			    "%s/%s has a single source (spec.source)", s->ns,
			    s->app);
			return (-1);
		}
		s->multi = 0;
		return (0);
	}
	s->multi = 1;
	if (s->index == -1 && n == 1)
		s->index = 0;
	if (s->index == -1) {
		xasprintf(cause, "application %s/%s has %zu sources "
		    "(spec.sources): say which to change with --source-index "
		    "N (0 to %zu)", s->ns, s->app, n, n - 1);
		return (-1);
	}
	if ((size_t)s->index >= n) {
		xasprintf(cause, "--source-index %ld: application %s/%s has "
		    "only %zu sources", s->index, s->ns, s->app, n);
		return (-1);
	}
	return (0);
}

/* Explain the usual failures in the user's terms, then the API's words. */
static void
argocd_cause(const struct argocd_sync *s, long status, char **cause)
{
	char	*c = *cause;

	switch (status) {
	case 401:
		xasprintf(cause, "the API server rejected the token from %s: %s",
		    s->token_file != NULL ? s->token_file : KUBE_SA_TOKEN, c);
		break;
	case 403:
		xasprintf(cause, "not allowed: the account needs get and patch "
		    "on applications.argoproj.io in %s: %s", s->ns, c);
		break;
	case 404:
		xasprintf(cause, "application %s/%s not found: %s", s->ns,
		    s->app, c);
		break;
	default:
		return;
	}
	free(c);
}

/* The merge patch for a single-source app, or the annotation alone. */
static json_t *
argocd_merge_patch(const struct argocd_sync *s, int with_rev)
{
	json_t	*patch;

	patch = json_object();
	if (with_rev)
		json_object_set_new(patch, "spec", json_pack("{s:{s:s}}",
		    "source", "targetRevision", s->rev));
	if (s->refresh != NULL)
		json_object_set_new(patch, "metadata", json_pack("{s:{s:s}}",
		    "annotations", ARGOCD_REFRESH_KEY, s->refresh));
	return (patch);
}

/* The JSON patch (RFC 6902) for source s->index of a multi-source app. */
static json_t *
argocd_json_patch(const json_t *app, const struct argocd_sync *s)
{
	const json_t	*src;
	const char	*repo;
	json_t		*patch;
	char		*path;

	src = json_array_get(json_object_get(json_object_get(app, "spec"),
	    "sources"), s->index);
	patch = json_array();
	if ((repo = argocd_str(src, "repoURL")) != NULL) {
		xasprintf(&path, "/spec/sources/%ld/repoURL", s->index);
		json_array_append_new(patch, json_pack("{s:s,s:s,s:s}", "op",
		    "test", "path", path, "value", repo));
		free(path);
	}
	/* "add" sets a member whether or not it exists yet. */
	xasprintf(&path, "/spec/sources/%ld/targetRevision", s->index);
	json_array_append_new(patch, json_pack("{s:s,s:s,s:s}", "op", "add",
	    "path", path, "value", s->rev));
	free(path);
	return (patch);
}

/* Point the app at the revision. Returns 0 or -1 with a cause. */
static int
argocd_patch(struct kube *k, const char *path, const json_t *app,
    struct argocd_sync *s, char **cause)
{
	json_t	*patch, *out = NULL;
	long	 status;
	int	 rc;

	if (!s->multi) {
		patch = argocd_merge_patch(s, 1);
		rc = kube_request(k, "PATCH", path,
		    "application/merge-patch+json", patch, &status, &out,
		    cause);
	} else {
		patch = argocd_json_patch(app, s);
		rc = kube_request(k, "PATCH", path,
		    "application/json-patch+json", patch, &status, &out, cause);
		if (rc == 0 && s->refresh != NULL) {
			json_decref(patch);
			json_decref(out);
			out = NULL;
			patch = argocd_merge_patch(s, 0);
			rc = kube_request(k, "PATCH", path,
			    "application/merge-patch+json", patch, &status,
			    &out, cause);
		}
	}
	if (rc != 0)
		argocd_cause(s, status, cause);
	json_decref(patch);
	json_decref(out);
	return (rc);
}

/* Read sync and health state from the Application, for our source. */
static void
argocd_state(const json_t *app, const struct argocd_sync *s,
    struct argocd_state *st)
{
	const json_t	*status, *sync, *cmp;
	const char	*target;

	status = json_object_get(app, "status");
	sync = json_object_get(status, "sync");
	st->sync = argocd_str(sync, "status");
	st->health = argocd_str(json_object_get(status, "health"), "status");
	cmp = json_object_get(sync, "comparedTo");
	if (!s->multi) {
		st->revision = argocd_str(sync, "revision");
		target = argocd_str(json_object_get(cmp, "source"),
		    "targetRevision");
	} else {
		st->revision = json_string_value(json_array_get(
		    json_object_get(sync, "revisions"), s->index));
		target = argocd_str(json_array_get(json_object_get(cmp,
		    "sources"), s->index), "targetRevision");
	}
	st->ours = (st->revision != NULL && strcmp(st->revision, s->rev) ==
	    0) || (target != NULL && strcmp(target, s->rev) == 0);
}

/* Append one server message to a "; "-separated list. */
static void
argocd_add_msg(struct buf *b, const char *label, const char *msg)
{
	char	*m;

	if (msg == NULL || *msg == '\0')
		return;
	m = kube_clean(msg);
	if (b->len > 0)
		buf_addstr(b, "; ");
	if (label != NULL) {
		buf_addstr(b, label);
		buf_addstr(b, ": ");
	}
	buf_addstr(b, m);
	free(m);
}

/*
 * Why Argo CD says the app is failing: the health message, the
 * conditions and the operation's message, whichever are there. Caller
 * frees.
 */
static char *
argocd_why(const json_t *app)
{
	const json_t	*status, *conds, *c;
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	status = json_object_get(app, "status");
	argocd_add_msg(&b, NULL, argocd_str(json_object_get(status, "health"),
	    "message"));
	conds = json_object_get(status, "conditions");
	json_array_foreach(conds, i, c)
		argocd_add_msg(&b, argocd_str(c, "type"), argocd_str(c,
		    "message"));
	argocd_add_msg(&b, "operation", argocd_str(json_object_get(status,
	    "operationState"), "message"));
	if (b.len == 0)
		buf_addstr(&b, "no message from Argo CD");
	return (b.data);
}

/* A sync operation for our revision that ended in failure, if any. */
static const char *
argocd_op_failed(const json_t *app, const struct argocd_sync *s)
{
	const json_t	*op, *res;
	const char	*phase, *rev;

	op = json_object_get(json_object_get(app, "status"), "operationState");
	phase = argocd_str(op, "phase");
	if (phase == NULL || (strcmp(phase, "Failed") != 0 &&
	    strcmp(phase, "Error") != 0))
		return (NULL);
	res = json_object_get(op, "syncResult");
	if (!s->multi)
		rev = argocd_str(res, "revision");
	else
		rev = json_string_value(json_array_get(json_object_get(res,
		    "revisions"), s->index));
	if (rev == NULL || strcmp(rev, s->rev) != 0)
		return (NULL);
	return (phase);
}

#define ARGOCD_OR(x)	((x) != NULL ? (x) : "(none)")

/*
 * Poll until the app is synced and healthy at the revision, it fails
 * there, or the timeout passes. Returns 0, or -1 with a cause.
 */
static int
argocd_wait(struct kube *k, const char *path, const struct argocd_sync *s,
    char **cause)
{
	struct argocd_state	 st;
	json_t			*app;
	char			*err = NULL, *last = NULL, *why;
	const char		*phase;
	int64_t			 deadline, left;
	long			 status;

	deadline = argocd_mono_ms() + s->timeout;
	for (;;) {
		left = deadline - argocd_mono_ms();
		if (left <= 0)
			break;
		kube_set_timeout(k, left < ARGOCD_REQ_TIMEOUT ? (long)left :
		    ARGOCD_REQ_TIMEOUT);
		if (kube_request(k, "GET", path, NULL, NULL, &status, &app,
		    &err) != 0) {
			/* A 4xx other than 429 will not go away by waiting. */
			if (status >= 400 && status < 500 && status != 429) {
				argocd_cause(s, status, &err);
				*cause = err;
				free(last);
				return (-1);
			}
		} else {
			free(err);
			err = NULL;
			argocd_state(app, s, &st);
			free(last);
			xasprintf(&last, "sync %s, health %s, revision %s",
			    ARGOCD_OR(st.sync), ARGOCD_OR(st.health),
			    ARGOCD_OR(st.revision));
			if (st.ours && st.sync != NULL && st.health != NULL &&
			    strcmp(st.sync, "Synced") == 0 &&
			    strcmp(st.health, "Healthy") == 0) {
				json_decref(app);
				free(last);
				return (0);
			}
			phase = argocd_op_failed(app, s);
			if ((st.ours && st.health != NULL &&
			    strcmp(st.health, "Degraded") == 0) ||
			    phase != NULL) {
				why = argocd_why(app);
				xasprintf(cause, "%s/%s at %s: %s (%s): %s",
				    s->ns, s->app, s->rev, phase != NULL ?
				    "sync operation failed" : "Degraded", last,
				    why);
				free(why);
				free(last);
				json_decref(app);
				return (-1);
			}
			json_decref(app);
		}
		left = deadline - argocd_mono_ms();
		if (left <= 0)
			break;
		argocd_sleep_ms(left < s->interval ? left : s->interval);
	}
	xasprintf(cause, "timed out after %s waiting for %s/%s to be Synced "
	    "and Healthy at %s: last seen %s%s%s", s->timeout_s, s->ns, s->app,
	    s->rev, last != NULL ? last : "nothing", err != NULL ? "; last "
	    "error: " : "", err != NULL ? err : "");
	free(last);
	free(err);
	return (-1);
}

static int
argocd_sync(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "revision", required_argument, NULL, 'r' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "refresh", required_argument, NULL, 'R' },
		{ "source-index", required_argument, NULL, 'x' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct argocd_sync	 s;
	struct kube_config	 cfg;
	struct kube		*k = NULL;
	json_t			*app = NULL;
	const char		*interval_s = "2s";
	char			*path = NULL, *cause = NULL, *end;
	long			 status;
	int			 ch, wait = 0, rc = 1;

	memset(&s, 0, sizeof s);
	memset(&cfg, 0, sizeof cfg);
	s.ns = "argocd";
	s.index = -1;
	s.timeout_s = "5m";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			s.app = optarg;
			break;
		case 'r':
			s.rev = optarg;
			break;
		case 'n':
			s.ns = optarg;
			break;
		case 's':
			cfg.server = optarg;
			break;
		case 'C':
			cfg.ca_file = optarg;
			break;
		case 'T':
			cfg.token_file = s.token_file = optarg;
			break;
		case 'k':
			cfg.insecure = 1;
			break;
		case 'R':
			s.refresh = optarg;
			break;
		case 'x':
			s.index = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || s.index < 0 ||
			    s.index > 1000) {
				fprintf(stderr, "ferry: argocd: invalid "
				    "--source-index \"%s\"\n", optarg);
				return (2);
			}
			break;
		case 'w':
			wait = 1;
			break;
		case 't':
			s.timeout_s = optarg;
			break;
		case 'i':
			interval_s = optarg;
			break;
		case 'h':
			argocd_usage(stdout);
			return (0);
		default:
			argocd_usage(stderr);
			return (2);
		}
	}
	if (optind != argc || s.app == NULL || s.rev == NULL) {
		argocd_usage(stderr);
		return (2);
	}
	if (!kube_name_is_valid(s.app) || !kube_name_is_valid(s.ns)) {
		fprintf(stderr, "ferry: argocd: --app and --namespace must be "
		    "Kubernetes names (lower case, digits, '-' and '.')\n");
		return (2);
	}
	if (argocd_rev_check(s.rev, &cause) != 0) {
		fprintf(stderr, "ferry: argocd: %s\n", cause);
		free(cause);
		return (2);
	}
	if (s.refresh != NULL && strcmp(s.refresh, "normal") != 0 &&
	    strcmp(s.refresh, "hard") != 0) {
		fprintf(stderr, "ferry: argocd: --refresh is normal or hard\n");
		return (2);
	}
	if (parse_duration(s.timeout_s, &s.timeout) != 0 || s.timeout <= 0 ||
	    parse_duration(interval_s, &s.interval) != 0 || s.interval <= 0) {
		fprintf(stderr, "ferry: argocd: invalid --timeout or --interval "
		    "(e.g. 90s, 5m, 500ms)\n");
		return (2);
	}

	if ((k = kube_new(&cfg, &cause)) == NULL)
		goto out;
	xasprintf(&path, "/apis/argoproj.io/v1alpha1/namespaces/%s/"
	    "applications/%s", s.ns, s.app);
	if (kube_request(k, "GET", path, NULL, NULL, &status, &app,
	    &cause) != 0) {
		argocd_cause(&s, status, &cause);
		goto out;
	}
	if (argocd_pick_source(app, &s, &cause) != 0 ||
	    argocd_patch(k, path, app, &s, &cause) != 0)
		goto out;
	if (!wait)
		printf("patched %s to %s\n", s.app, s.rev);
	else {
		if (argocd_wait(k, path, &s, &cause) != 0)
			goto out;
		printf("synced %s at %s (Healthy)\n", s.app, s.rev);
	}
	rc = 0;
out:
	if (cause != NULL)
		fprintf(stderr, "ferry: argocd: %s\n", cause);
	free(cause);
	free(path);
	json_decref(app);
	kube_free(k);
	return (rc);
}

/* `ferry argocd SUBCOMMAND ...`; only sync so far. */
int
cli_argocd(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sync") == 0)
		return (argocd_sync(argc - 1, argv + 1));
	argocd_usage(stderr);
	return (2);
}
