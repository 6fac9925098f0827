/*
 * Routing of every request ferryd receives, and the JSON API. Webhooks go
 * to ingest; the API reads the store. Over TCP the API needs a bearer token
 * from api.tokens_file (compared in constant time); over the UNIX socket
 * the socket's file mode is the access control.
 */
#include "config.h"

#include <event2/event.h>
#include <jansson.h>

#include <sys/queue.h>
#include <sys/types.h>

#include <ctype.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "api_deploy.h"
#include "chatops.h"
#include "outbox.h"
#include "conf.h"
#include "headers.h"
#include "httpd.h"
#include "ingest.h"
#include "runner.h"
#include "store.h"
#include "util.h"
#include "watch.h"
#include "xmalloc.h"

#define API_LIST_DEFAULT	50
#define API_LIST_MAX		10000

/* A client following a stage's log as it grows. */
struct api_follow {
	struct api		*api;
	struct httpd_req	*req;
	int64_t			 run;
	char			*stage;
	char			*path;
	off_t			 offset;
	struct event		*timer;
	LIST_ENTRY(api_follow)	 entry;
};

struct api {
	struct event_base		*base;
	struct store			*store;
	struct ingest			*ingest;
	struct runner			*runner;
	const struct conf		*conf;
	struct api_deploy		*deploy;	/* may be NULL */
	struct chatops			*chat;		/* may be NULL */
	struct outbox			*outbox;	/* may be NULL */
	struct watch			*watch;		/* may be NULL */
	LIST_HEAD(, api_follow)		 follows;
	int				 stopping;
};

struct api *
api_new(struct event_base *base, struct store *store, struct ingest *ingest,
    struct runner *runner, const struct conf *conf)
{
	struct api	*api;

	api = xcalloc(1, sizeof *api);
	api->base = base;
	api->store = store;
	api->ingest = ingest;
	api->runner = runner;
	api->conf = conf;
	LIST_INIT(&api->follows);
	return (api);
}

/* The chat endpoints. */
void
api_set_chat(struct api *api, struct chatops *c, struct outbox *ob)
{
	api->chat = c;
	api->outbox = ob;
}

/* The environments and releases part, and the watch's metrics. */
void
api_set_deploy(struct api *api, struct api_deploy *ad, struct watch *w)
{
	api->deploy = ad;
	api->watch = w;
}

void
api_set_conf(struct api *api, const struct conf *conf)
{
	api->conf = conf;
}

static void
api_follow_end(struct api_follow *f)
{
	LIST_REMOVE(f, entry);
	event_free(f->timer);
	httpd_stream_end(f->req);
	free(f->stage);
	free(f->path);
	free(f);
}

/* End every log stream (shutdown). */
void
api_shutdown(struct api *api)
{
	struct api_follow	*f;

	api->stopping = 1;
	while ((f = LIST_FIRST(&api->follows)) != NULL)
		api_follow_end(f);
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	api_shutdown(api);
	free(api);
}

/* Whether the request may use the API. Answers it when it may not. */
/* Which API token the request carries: its index, or -1. */
static int
api_token_index(const struct conf *conf, const struct httpd_req *req)
{
	const char	*auth;
	size_t		 i, len;
	int		 found = -1;

	auth = headers_get(httpd_req_headers(req), "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return (-1);
	auth += 7;
	len = strlen(auth);
	/* Every token is compared, so timing tells nothing of which. */
	for (i = 0; i < conf->napi_tokens; i++) {
		if (ct_equal(auth, len, conf->api_tokens[i],
		    strlen(conf->api_tokens[i])) && found == -1)
			found = (int)i;
	}
	return (found);
}

/*
 * Who is asking, for the record of decisions: "unix:USER" over the UNIX
 * socket (the peer's uid), "token:NAME" over TCP (the token's name from
 * api.tokens_file, or "token:#N" for the N-th unnamed one). Caller frees.
 */
char *
api_identity(const struct conf *conf, const struct httpd_req *req)
{
	struct passwd	 pw, *res = NULL;
	char		 pwbuf[1024], *id;
	long long	 uid;
	int		 i;

	if (httpd_req_trusted(req)) {
		if ((uid = httpd_req_uid(req)) < 0)
			return (xstrdup("unix:?"));
		if (getpwuid_r((uid_t)uid, &pw, pwbuf, sizeof pwbuf,
		    &res) == 0 && res != NULL)
			xasprintf(&id, "unix:%s", res->pw_name);
		else
			xasprintf(&id, "unix:%lld", uid);
		return (id);
	}
	if ((i = api_token_index(conf, req)) < 0)
		return (xstrdup("anonymous"));
	if (conf->api_token_names != NULL && conf->api_token_names[i] != NULL)
		xasprintf(&id, "token:%s", conf->api_token_names[i]);
	else
		xasprintf(&id, "token:#%d", i + 1);
	return (id);
}

static int
api_authorized(struct api *api, struct httpd_req *req)
{
	const char	*auth;

	if (httpd_req_trusted(req))
		return (1);
	if (api->conf->napi_tokens == 0) {
		httpd_reply_error(req, 403, "the API over TCP is off: set "
		    "api.tokens_file, or use the UNIX socket");
		return (0);
	}
	auth = headers_get(httpd_req_headers(req), "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		httpd_reply_error(req, 401, "missing bearer token");
		return (0);
	}
	if (api_token_index(api->conf, req) >= 0)
		return (1);
	httpd_reply_error(req, 401, "invalid bearer token");
	return (0);
}

/* GET /api/v1/runs?project=&state=&limit= */
static void
api_runs_list(struct api *api, struct httpd_req *req)
{
	char	*project, *state, *limit, *end;
	long	 n = API_LIST_DEFAULT;
	json_t	*runs, *run;
	size_t	 i;

	project = httpd_query_get(req, "project");
	state = httpd_query_get(req, "state");
	limit = httpd_query_get(req, "limit");
	if (limit != NULL) {
		errno = 0;
		n = strtol(limit, &end, 10);
		if (errno != 0 || *limit == '\0' || *end != '\0' || n < 1 ||
		    n > API_LIST_MAX) {
			httpd_reply_error(req, 400, "limit: expected a number "
			    "from 1 to %d", API_LIST_MAX);
			goto out;
		}
	}
	if ((runs = store_runs_list(api->store, project, state, (int)n)) ==
	    NULL)
		httpd_reply_error(req, 503, "the store is unavailable");
	else {
		json_array_foreach(runs, i, run)
			json_object_set_new(run, "stages", store_stages_get(
			    api->store, json_integer_value(json_object_get(run,
			    "id"))));
		httpd_reply_json(req, 200, json_pack("{s:o}", "runs", runs));
	}
out:
	free(project);
	free(state);
	free(limit);
}

/* GET /api/v1/artifacts?project=&limit= */
static void
api_artifacts(struct api *api, struct httpd_req *req)
{
	char	*project, *limit, *end;
	long	 n = API_LIST_DEFAULT;
	json_t	*list;

	project = httpd_query_get(req, "project");
	limit = httpd_query_get(req, "limit");
	if (limit != NULL) {
		n = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || n < 1 ||
		    n > API_LIST_MAX) {
			httpd_reply_error(req, 400, "limit: expected a number "
			    "from 1 to %d", API_LIST_MAX);
			goto out;
		}
	}
	if ((list = store_artifacts_list(api->store, project, (int)n)) ==
	    NULL)
		httpd_reply_error(req, 503, "the store is unavailable");
	else
		httpd_reply_json(req, 200, json_pack("{s:o}", "artifacts",
		    list));
out:
	free(project);
	free(limit);
}

/* GET /api/v1/runs/<id> */
static void
api_run_get(struct api *api, struct httpd_req *req, const char *ids)
{
	char		*end;
	long long	 id;
	json_t		*run;

	errno = 0;
	id = strtoll(ids, &end, 10);
	if (errno != 0 || *ids == '\0' || *end != '\0' || id < 1) {
		httpd_reply_error(req, 400, "a run id is a positive number");
		return;
	}
	if ((run = store_run_get(api->store, id)) == NULL) {
		httpd_reply_error(req, 404, "no run %lld", id);
		return;
	}
	json_object_set_new(run, "stages", store_stages_get(api->store, id));
	json_object_set_new(run, "outputs", store_outputs_get(api->store, id));
	httpd_reply_json(req, 200, run);
}

/* A positive run id from text, or -1. */
/* A positive decimal id in s[0..len), or -1 (runs, releases). */
long long
api_parse_id(const char *s, size_t len)
{
	long long	id = 0;
	size_t		i;

	if (len == 0 || len > 18)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		id = id * 10 + (s[i] - '0');
	}
	return (id > 0 ? id : -1);
}

/* Stage names are [A-Za-z0-9._-]+; anything else never names a file. */
static int
api_stage_name_ok(const char *s)
{
	size_t	i;

	if (*s == '\0' || *s == '.' || strlen(s) > 64)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return (0);
	}
	return (1);
}

/*
 * Send what the log has beyond the offset; end the stream when the stage
 * can write no more and everything was sent, or the client is gone.
 */
static void
api_follow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_follow	*f = arg;
	struct timeval		 tv = { 0, 100000 };
	char			 buf[65536];
	ssize_t			 n = 0;
	int			 lfd, open_;

	open_ = runner_stage_open(f->api->runner, f->run, f->stage);
	if (httpd_stream_backlog(f->req) < (1u << 20) &&
	    (lfd = open(f->path, O_RDONLY | O_CLOEXEC)) != -1) {
		while ((n = pread(lfd, buf, sizeof buf, f->offset)) > 0) {
			if (httpd_stream_write(f->req, buf, (size_t)n) != 0) {
				close(lfd);
				api_follow_end(f);
				return;
			}
			f->offset += n;
			if (httpd_stream_backlog(f->req) >= (1u << 20))
				break;
		}
		close(lfd);
	}
	if (!open_ && n <= 0 && httpd_stream_backlog(f->req) < (1u << 20)) {
		api_follow_end(f);
		return;
	}
	if (httpd_stream_write(f->req, "", 0) != 0 || (!open_ && n < 0)) {
		api_follow_end(f);
		return;
	}
	evtimer_add(f->timer, &tv);
}

/* GET /api/v1/runs/<id>/logs/<stage>[?follow=1] */
static void
api_run_log(struct api *api, struct httpd_req *req, long long id,
    const char *stage)
{
	struct api_follow	*f;
	json_t			*run;
	char			*path, *follow, *text, *cause = NULL;
	size_t			 len;

	if (!api_stage_name_ok(stage)) {
		httpd_reply_error(req, 400, "invalid stage name");
		return;
	}
	if ((run = store_run_get(api->store, id)) == NULL) {
		httpd_reply_error(req, 404, "no run %lld", id);
		return;
	}
	json_decref(run);
	path = runner_log_path(api->conf, id, stage);
	follow = httpd_query_get(req, "follow");
	if (follow != NULL && strcmp(follow, "0") != 0 &&
	    strcmp(follow, "false") != 0) {
		free(follow);
		if (api->stopping) {
			free(path);
			httpd_reply_error(req, 503, "ferryd is stopping");
			return;
		}
		if (httpd_stream_begin(req, 200, "text/plain; charset=utf-8") !=
		    0) {
			httpd_stream_end(req);
			free(path);
			return;
		}
		f = xcalloc(1, sizeof *f);
		f->api = api;
		f->req = req;
		f->run = id;
		f->stage = xstrdup(stage);
		f->path = path;
		f->timer = evtimer_new(api->base, api_follow_cb, f);
		LIST_INSERT_HEAD(&api->follows, f, entry);
		api_follow_cb(-1, 0, f);
		return;
	}
	free(follow);
	/* A log never grows past its cap and the one note after it. */
	text = read_file(path, api->conf->exec_log_bytes + 4096, &len,
	    &cause);
	free(path);
	if (text == NULL) {
		httpd_reply_error(req, 404, "no log for stage %s of run %lld "
		    "(yet)", stage, id);
		free(cause);
		return;
	}
	httpd_reply(req, 200, "text/plain; charset=utf-8", text, len);
	free(text);
}

/* The status for a refused run action, from its cause. */
static int
api_action_status(const char *cause)
{
	if (strncmp(cause, "no run", 6) == 0)
		return (404);
	if (strstr(cause, "stopping") != NULL)
		return (503);
	return (409);
}

/* POST /api/v1/runs/<id>/cancel and /retry */
static void
api_run_action(struct api *api, struct httpd_req *req, long long id,
    const char *action)
{
	char	*cause = NULL;
	int64_t	 nid;

	if (strcmp(httpd_req_method(req), "POST") != 0) {
		httpd_reply_error(req, 405, "%s is a POST", action);
		return;
	}
	if (strcmp(action, "cancel") == 0) {
		if (runner_cancel(api->runner, id, &cause) != 0) {
			httpd_reply_error(req, api_action_status(cause), "%s",
			    cause);
			free(cause);
			return;
		}
		httpd_reply_json(req, 202, json_pack("{s:I, s:s}", "run",
		    (json_int_t)id, "status", "cancel requested"));
		return;
	}
	if ((nid = runner_retry(api->runner, id, &cause)) == -1) {
		httpd_reply_error(req, api_action_status(cause), "%s", cause);
		free(cause);
		return;
	}
	httpd_reply_json(req, 202, json_pack("{s:I, s:I}", "run",
	    (json_int_t)nid, "retry_of", (json_int_t)id));
}

/* POST /api/v1/projects/<name>/runs {"ref": "main"} */
static void
api_trigger(struct api *api, struct httpd_req *req, const char *project)
{
	const char	*body, *ref;
	size_t		 len;
	json_error_t	 err;
	json_t		*o;
	char		*cause = NULL;
	int64_t		 id;

	if (strcmp(httpd_req_method(req), "POST") != 0) {
		httpd_reply_error(req, 405, "a run is started with POST");
		return;
	}
	body = httpd_req_body(req, &len);
	if ((o = json_loadb(body, len, 0, &err)) == NULL ||
	    (ref = json_string_value(json_object_get(o, "ref"))) == NULL) {
		httpd_reply_error(req, 400, "expected a JSON body "
		    "{\"ref\": \"main\"}");
		json_decref(o);
		return;
	}
	/*
	 * Only branches and tags are mirrored: any other ref (refs/pull/...,
	 * refs/remotes/...) would queue a run that can only fail.
	 */
	if (strncmp(ref, "refs/", 5) == 0 && strncmp(ref, "refs/heads/", 11) !=
	    0 && strncmp(ref, "refs/tags/", 10) != 0) {
		httpd_reply_error(req, 400, "invalid ref name: only branches "
		    "(refs/heads/) and tags (refs/tags/) can be run");
		json_decref(o);
		return;
	}
	if ((id = runner_trigger(api->runner, project, ref, &cause)) == -1) {
		httpd_reply_error(req, strncmp(cause, "no project", 10) == 0 ?
		    404 : api_action_status(cause) == 503 ? 503 : 400, "%s",
		    cause);
		free(cause);
	} else
		httpd_reply_json(req, 202, json_pack("{s:I}", "run",
		    (json_int_t)id));
	json_decref(o);
}

static void
api_v1(struct api *api, struct httpd_req *req, const char *rest)
{
	const char	*method = httpd_req_method(req);

	if (!api_authorized(api, req))
		return;
	if (strcmp(rest, "runs") == 0) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "runs are listed with GET");
		else
			api_runs_list(api, req);
		return;
	}
	if (strncmp(rest, "runs/", 5) == 0 && strchr(rest + 5, '/') == NULL) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "a run is read with GET");
		else
			api_run_get(api, req, rest + 5);
		return;
	}
	if (strncmp(rest, "runs/", 5) == 0) {
		const char *id_end = strchr(rest + 5, '/');
		long long id = api_parse_id(rest + 5, (size_t)(id_end - rest - 5));
		if (id == -1) {
			httpd_reply_error(req, 400, "a run id is a positive "
			    "number");
			return;
		}
		if (strncmp(id_end, "/logs/", 6) == 0 &&
		    strchr(id_end + 6, '/') == NULL) {
			if (strcmp(method, "GET") != 0)
				httpd_reply_error(req, 405, "logs are read "
				    "with GET");
			else
				api_run_log(api, req, id, id_end + 6);
			return;
		}
		if (strcmp(id_end, "/cancel") == 0 ||
		    strcmp(id_end, "/retry") == 0) {
			api_run_action(api, req, id, id_end + 1);
			return;
		}
	}
	if (strcmp(rest, "artifacts") == 0) {
		if (strcmp(method, "GET") != 0)
			httpd_reply_error(req, 405, "artifacts are listed with "
			    "GET");
		else
			api_artifacts(api, req);
		return;
	}
	if (strncmp(rest, "projects/", 9) == 0) {
		const char *slash = strchr(rest + 9, '/');
		if (slash != NULL && strcmp(slash, "/runs") == 0) {
			char *name = xstrndup(rest + 9,
			    (size_t)(slash - rest - 9));
			api_trigger(api, req, name);
			free(name);
			return;
		}
	}
	if (api->deploy != NULL && api_deploy_route(api->deploy, req, rest))
		return;
	httpd_reply_error(req, 404, "no API endpoint %.100s", rest);
}

/*
 * The httpd head callback: refuse a webhook for no project, or sent with
 * another method, before its body is read.
 */
int
api_head_cb(const struct httpd_req *req, void *arg, const char **msg)
{
	struct api	*api = arg;
	const char	*path = httpd_req_path(req);

	if (strcmp(path, "/chat/slack") == 0 ||
	    strcmp(path, "/chat/mattermost") == 0) {
		/* Mattermost's slash commands may be set to GET. */
		if (strcmp(httpd_req_method(req), "POST") != 0 &&
		    (strcmp(path, "/chat/mattermost") != 0 ||
		    strcmp(httpd_req_method(req), "GET") != 0)) {
			*msg = "chat requests come with POST";
			return (405);
		}
		return (chatops_head(api->conf, path + 6, msg));
	}
	if (strncmp(path, "/hooks/", 7) != 0)
		return (0);
	if (strcmp(httpd_req_method(req), "POST") != 0) {
		*msg = "webhooks are delivered with POST";
		return (405);
	}
	if (strncmp(path, "/hooks/registry/", 16) == 0) {
		if (api->deploy == NULL) {
			*msg = "no such registry hook";
			return (404);
		}
		return (api_deploy_head(api->deploy, req, path + 16, msg));
	}
	if (strchr(path + 7, '/') != NULL ||
	    conf_project_find(api->conf, path + 7) == NULL) {
		*msg = "no such project";
		return (404);
	}
	return (0);
}

/* The httpd callback: route one request. */
void
api_request_cb(struct httpd_req *req, void *arg)
{
	struct api	*api = arg;
	const char	*path = httpd_req_path(req);
	json_t		*o;
	char		*s;

	if (strcmp(path, "/chat/slack") == 0 && api->chat != NULL) {
		chatops_slack(api->chat, req);
		return;
	}
	if (strcmp(path, "/chat/mattermost") == 0 && api->chat != NULL) {
		chatops_mattermost(api->chat, req);
		return;
	}
	if (strncmp(path, "/hooks/registry/", 16) == 0 &&
	    api->deploy != NULL) {
		api_deploy_registry_hook(api->deploy, req, path + 16);
		return;
	}
	if (strncmp(path, "/hooks/", 7) == 0 && path[7] != '\0' &&
	    strchr(path + 7, '/') == NULL) {
		ingest_hook(api->ingest, req, path + 7);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		o = store_stats(api->store);
		json_object_set_new(o, "status", json_string("ok"));
		httpd_reply_json(req, 200, o);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		struct buf b;
		s = ingest_metrics(api->ingest);
		buf_init(&b);
		buf_addstr(&b, s);
		free(s);
		if (api->watch != NULL)
			watch_metrics(api->watch, &b);
		if (api->outbox != NULL)
			outbox_metrics(api->outbox, &b);
		httpd_reply(req, 200, "text/plain; version=0.0.4", b.data,
		    b.len);
		buf_free(&b);
		return;
	}
	if (strncmp(path, "/api/v1/", 8) == 0) {
		api_v1(api, req, path + 8);
		return;
	}
	httpd_reply_error(req, 404, "nothing at %.100s", path);
}
