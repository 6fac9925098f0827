/*
 * The deployment part of ferryd's HTTP surface: registry notifications
 * (POST /hooks/registry/<name>) and the API for environments and releases.
 * Routed from api.c, which has already checked API authorization.
 */
#include "config.h"

#include <jansson.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_deploy.h"
#include "conf.h"
#include "headers.h"
#include "httpd.h"
#include "log.h"
#include "registry_hook.h"
#include "release.h"
#include "store.h"
#include "util.h"
#include "watch.h"
#include "xmalloc.h"

#define API_DEPLOY_LIST_DEFAULT	50
#define API_DEPLOY_LIST_MAX	10000
#define API_DEPLOY_LOG_MAX	(4 * 1024 * 1024)

struct api_deploy {
	struct store		*store;
	struct release_mgr	*rel;
	struct watch		*watch;
	const struct conf	*conf;
};

struct api_deploy *
api_deploy_new(struct store *store, struct release_mgr *rel,
    struct watch *watch, const struct conf *conf)
{
	struct api_deploy	*ad;

	ad = xcalloc(1, sizeof *ad);
	ad->store = store;
	ad->rel = rel;
	ad->watch = watch;
	ad->conf = conf;
	return (ad);
}

void
api_deploy_set_conf(struct api_deploy *ad, const struct conf *conf)
{
	ad->conf = conf;
}

void
api_deploy_free(struct api_deploy *ad)
{
	free(ad);
}

/*
 * Is this notification from the registry? The configured header carries
 * the secret, bare or after "Bearer " (distribution's headers setting,
 * Harbor's auth header); Docker Hub sends no header, so the secret may come
 * as ?token= in the URL instead. Compared in constant time.
 */
static int
api_registry_authentic(const struct conf_registry_hook *h,
    const struct httpd_req *req)
{
	const char	*v;
	char		*tok;
	int		 ok = 0;

	v = headers_get(httpd_req_headers(req), h->header);
	if (v != NULL) {
		if (strncasecmp(v, "Bearer ", 7) == 0 &&
		    ct_equal(v + 7, strlen(v + 7), h->secret, h->secretlen))
			return (1);
		return (ct_equal(v, strlen(v), h->secret, h->secretlen));
	}
	if ((tok = httpd_query_get(req, "token")) != NULL) {
		ok = ct_equal(tok, strlen(tok), h->secret, h->secretlen);
		freezero_str(tok);
	}
	return (ok);
}

/*
 * Before the body: an unknown endpoint is 404 and a request without the
 * secret 401, so neither costs reading a body. Returns 0 to go on.
 */
int
api_deploy_head(struct api_deploy *ad, const struct httpd_req *req,
    const char *name, const char **msg)
{
	const struct conf_registry_hook	*h;

	if (strchr(name, '/') != NULL ||
	    (h = conf_registry_hook_find(ad->conf, name)) == NULL) {
		*msg = "no such registry hook";
		return (404);
	}
	if (!api_registry_authentic(h, req)) {
		*msg = "missing or wrong registry hook secret";
		return (401);
	}
	return (0);
}

/* POST /hooks/registry/<name>: check what the registry says changed. */
void
api_deploy_registry_hook(struct api_deploy *ad, struct httpd_req *req,
    const char *name)
{
	struct registry_notes	 rn;
	const char		*body, *msg = NULL;
	json_t			*pushed, *o;
	size_t			 len, i;
	char			*cause = NULL;
	int			 code, checks = 0;

	if ((code = api_deploy_head(ad, req, name, &msg)) != 0) {
		httpd_reply_error(req, code, "%s", msg);
		return;
	}
	body = httpd_req_body(req, &len);
	if (registry_hook_parse(body, len, &rn, &cause) != 0) {
		log_warnx("registry hook %s from %s: %s", name,
		    httpd_req_peer(req), cause);
		httpd_reply_error(req, 400, "%s", cause);
		free(cause);
		return;
	}
	pushed = json_array();
	for (i = 0; i < rn.n; i++) {
		checks += watch_notify(ad->watch, rn.v[i].host,
		    rn.v[i].repository, rn.v[i].tag);
		o = json_pack("{s:s}", "repository", rn.v[i].repository);
		json_object_set_new(o, "tag", rn.v[i].tag != NULL ?
		    json_string(rn.v[i].tag) : json_null());
		json_object_set_new(o, "digest", rn.v[i].digest != NULL ?
		    json_string(rn.v[i].digest) : json_null());
		json_object_set_new(o, "host", rn.v[i].host != NULL ?
		    json_string(rn.v[i].host) : json_null());
		json_array_append_new(pushed, o);
	}
	log_debug("registry hook %s: %s, %zu events, %zu pushes, %d checks",
	    name, rn.format, rn.events, rn.n, checks);
	/* What was understood, so a registry's operator can see it. */
	if (rn.skipped > 0)
		log_warnx("registry hook %s from %s: %zu events skipped "
		    "(malformed, or over %d in one body)", name,
		    httpd_req_peer(req), rn.skipped, REGISTRY_NOTES_MAX);
	httpd_reply_json(req, 200, json_pack("{s:s, s:I, s:I, s:I, s:i, s:o}",
	    "format", rn.format, "events", (json_int_t)rn.events, "pushes",
	    (json_int_t)rn.n, "skipped", (json_int_t)rn.skipped, "checks",
	    checks, "pushed", pushed));
	registry_notes_free(&rn);
}

/* A refusal from the release manager (RELEASE_E_*) as an HTTP status. */
static int
api_deploy_status(int64_t rc)
{
	switch (rc) {
	case RELEASE_E_NOTFOUND:
		return (404);
	case RELEASE_E_FORBIDDEN:
		return (403);
	case RELEASE_E_INVALID:
		return (400);
	default:
		return (409);
	}
}

/* The JSON body of a POST, or an empty object; NULL after a 400. */
static json_t *
api_deploy_body(struct httpd_req *req)
{
	const char	*body;
	size_t		 len;
	json_t		*o;

	body = httpd_req_body(req, &len);
	if (len == 0)
		return (json_object());
	if ((o = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		httpd_reply_error(req, 400, "expected a JSON object");
		return (NULL);
	}
	return (o);
}

static void
api_deploy_env_action(struct api_deploy *ad, struct httpd_req *req,
    const char *env, const char *action)
{
	const char	*version = NULL, *state;
	char		*cause = NULL, *who, *detail = NULL;
	int64_t		 id = 0, rc = 0;
	json_t		*o, *rel;

	if (strcmp(httpd_req_method(req), "POST") != 0) {
		httpd_reply_error(req, 405, "use POST");
		return;
	}
	if (conf_environment_find(ad->conf, env) == NULL) {
		httpd_reply_error(req, 404, "no environment \"%.100s\"", env);
		return;
	}
	if ((o = api_deploy_body(req)) == NULL)
		return;
	who = api_identity(ad->conf, req);
	if (strcmp(action, "deploy") == 0) {
		version = json_string_value(json_object_get(o, "version"));
		if (version == NULL) {
			httpd_reply_error(req, 400, "expected {\"version\": "
			    "\"TAG\"}");
			json_decref(o);
			free(who);
			return;
		}
		id = release_deploy(ad->rel, env, version, who, &cause);
		rc = id > 0 ? 0 : id;
	} else if (strcmp(action, "rollback") == 0) {
		id = release_rollback(ad->rel, env, who, &cause);
		rc = id > 0 ? 0 : id;
	} else if (strcmp(action, "pause") == 0 ||
	    strcmp(action, "resume") == 0)
		rc = release_pause(ad->rel, env, strcmp(action, "pause") == 0,
		    &cause);
	else if (strcmp(action, "check") == 0) {
		if (watch_check(ad->watch, env) != 0) {
			rc = RELEASE_E_CONFLICT;
			cause = xstrdup("the environment is not watched (see "
			    "ferryd's log)");
		}
	} else {
		httpd_reply_error(req, 404, "no environment action "
		    "\"%.40s\" (deploy, rollback, pause, resume, check)",
		    action);
		json_decref(o);
		free(who);
		return;
	}
	if (rc == 0 && (strcmp(action, "pause") == 0 ||
	    strcmp(action, "resume") == 0))
		log_info("environment %s: %s by %s", env, action, who);
	/*
	 * Accepted is not done: the state says whether the release is on
	 * its way or waits (for approvals, acceptance, its digest).
	 */
	rel = id > 0 ? store_release_get(ad->store, id) : NULL;
	state = json_string_value(json_object_get(rel, "state"));
	if (state != NULL && strcmp(state, "awaiting-approval") == 0)
		xasprintf(&detail, "%s (awaiting-approval)", version != NULL ?
		    version : json_is_string(json_object_get(rel, "tag")) ?
		    json_string_value(json_object_get(rel, "tag")) : "?");
	if (strcmp(action, "check") != 0)
		store_audit_add(ad->store, who, "api", action, env, rc == 0 ?
		    "ok" : "refused", rc != 0 ? cause : detail != NULL ?
		    detail : version, httpd_req_peer(req));
	free(detail);
	free(who);
	json_decref(o);
	if (rc != 0) {
		httpd_reply_error(req, api_deploy_status(rc), "%s", cause);
		free(cause);
		return;
	}
	if (id > 0) {
		httpd_reply_json(req, 202, json_pack("{s:I, s:s, s:O}",
		    "release", (json_int_t)id, "state", state != NULL ? state :
		    "detected", "reason", json_is_string(json_object_get(rel,
		    "reason")) ? json_object_get(rel, "reason") : json_null()));
		json_decref(rel);
	} else
		httpd_reply_json(req, 200, json_pack("{s:s, s:s}",
		    "environment", env, "done", action));
}

static void
api_deploy_release_action(struct api_deploy *ad, struct httpd_req *req,
    long long id, const char *action)
{
	json_t	*o;
	char	*cause = NULL, *who, target[48];
	int	 approve, rc;

	if (strcmp(httpd_req_method(req), "POST") != 0) {
		httpd_reply_error(req, 405, "use POST");
		return;
	}
	approve = strcmp(action, "approve") == 0;
	if ((o = api_deploy_body(req)) == NULL)
		return;
	who = api_identity(ad->conf, req);
	snprintf(target, sizeof target, "release %lld", id);
	if ((rc = release_decide(ad->rel, id, who, "api", approve,
	    json_string_value(json_object_get(o, "reason")), &cause)) != 0) {
		store_audit_add(ad->store, who, "api", action, target,
		    "refused", cause, httpd_req_peer(req));
		httpd_reply_error(req, api_deploy_status(rc), "%s", cause);
		free(cause);
	} else {
		store_audit_add(ad->store, who, "api", action, target, "ok",
		    json_string_value(json_object_get(o, "reason")),
		    httpd_req_peer(req));
		httpd_reply_json(req, 200, store_release_get(ad->store, id));
	}
	free(who);
	json_decref(o);
}

static void
api_deploy_release_log(struct api_deploy *ad, struct httpd_req *req,
    long long id)
{
	char	*path, *buf, *cause = NULL;
	size_t	 len;

	path = release_log_path(ad->conf, id);
	buf = read_file(path, API_DEPLOY_LOG_MAX, &len, &cause);
	free(path);
	if (buf == NULL) {
		httpd_reply_error(req, 404, "release %lld has no log", id);
		free(cause);
		return;
	}
	httpd_reply(req, 200, "text/plain; charset=utf-8", buf, len);
	free(buf);
}

static void
api_deploy_releases(struct api_deploy *ad, struct httpd_req *req)
{
	char		*env, *lim;
	long		 limit = API_DEPLOY_LIST_DEFAULT;
	json_t		*a;

	env = httpd_query_get(req, "env");
	if ((lim = httpd_query_get(req, "limit")) != NULL) {
		limit = strtol(lim, NULL, 10);
		if (limit < 1 || limit > API_DEPLOY_LIST_MAX)
			limit = API_DEPLOY_LIST_DEFAULT;
		free(lim);
	}
	a = store_releases_list(ad->store, env, (int)limit);
	free(env);
	if (a == NULL)
		httpd_reply_error(req, 500, "cannot read the releases");
	else
		httpd_reply_json(req, 200, json_pack("{s:o}", "releases", a));
}

/*
 * Routes under /api/v1/ for environments and releases. Returns 1 when the
 * request was answered, 0 when rest is not one of ours.
 */
int
api_deploy_route(struct api_deploy *ad, struct httpd_req *req,
    const char *rest)
{
	const char	*method = httpd_req_method(req), *slash;
	long long	 id;
	char		*name;
	json_t		*o;

	if (strcmp(rest, "environments") == 0) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "use GET");
		else
			httpd_reply_json(req, 200, json_pack("{s:o}",
			    "environments", release_environments(ad->rel)));
		return (1);
	}
	if (strncmp(rest, "environments/", 13) == 0 &&
	    (slash = strchr(rest + 13, '/')) != NULL &&
	    strchr(slash + 1, '/') == NULL) {
		name = xstrndup(rest + 13, (size_t)(slash - rest - 13));
		api_deploy_env_action(ad, req, name, slash + 1);
		free(name);
		return (1);
	}
	if (strcmp(rest, "outbox") == 0) {
		char	*state = httpd_query_get(req, "state");
		json_t	*a;

		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "use GET");
		else if ((a = store_outbox_list(ad->store, state, 500)) == NULL)
			httpd_reply_error(req, 500, "cannot read the outbox");
		else
			httpd_reply_json(req, 200, json_pack("{s:o}", "outbox",
			    a));
		free(state);
		return (1);
	}
	if (strcmp(rest, "audit") == 0) {
		json_t *a;
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "use GET");
		else if ((a = store_audit_list(ad->store, 500)) == NULL)
			httpd_reply_error(req, 500, "cannot read the audit");
		else
			httpd_reply_json(req, 200, json_pack("{s:o}", "audit",
			    a));
		return (1);
	}
	if (strcmp(rest, "releases") == 0) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "use GET");
		else
			api_deploy_releases(ad, req);
		return (1);
	}
	if (strncmp(rest, "releases/", 9) != 0)
		return (0);
	slash = strchr(rest + 9, '/');
	id = api_parse_id(rest + 9, slash != NULL ? (size_t)(slash - rest -
	    9) : strlen(rest + 9));
	if (id == -1) {
		httpd_reply_error(req, 400, "a release id is a positive "
		    "number");
		return (1);
	}
	if (slash == NULL) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "use GET");
		else if ((o = store_release_get(ad->store, id)) == NULL)
			httpd_reply_error(req, 404, "no release %lld", id);
		else
			httpd_reply_json(req, 200, o);
		return (1);
	}
	if (strcmp(slash, "/approve") == 0 || strcmp(slash, "/reject") == 0) {
		api_deploy_release_action(ad, req, id, slash + 1);
		return (1);
	}
	if (strcmp(slash, "/log") == 0) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "use GET");
		else
			api_deploy_release_log(ad, req, id);
		return (1);
	}
	return (0);
}
