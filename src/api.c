/*
 * Routing of every request ferryd receives, and the JSON API. Webhooks go
 * to ingest; the API reads the store. Over TCP the API needs a bearer token
 * from api.tokens_file (compared in constant time); over the UNIX socket
 * the socket's file mode is the access control.
 */
#include "config.h"

#include <jansson.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "conf.h"
#include "headers.h"
#include "httpd.h"
#include "ingest.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define API_LIST_DEFAULT	50
#define API_LIST_MAX		10000

struct api {
	struct store		*store;
	struct ingest		*ingest;
	const struct conf	*conf;
};

struct api *
api_new(struct store *store, struct ingest *ingest, const struct conf *conf)
{
	struct api	*api;

	api = xcalloc(1, sizeof *api);
	api->store = store;
	api->ingest = ingest;
	api->conf = conf;
	return (api);
}

void
api_set_conf(struct api *api, const struct conf *conf)
{
	api->conf = conf;
}

void
api_free(struct api *api)
{
	free(api);
}

/* Whether the request may use the API. Answers it when it may not. */
static int
api_authorized(struct api *api, struct httpd_req *req)
{
	const char	*auth;
	size_t		 i, len;

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
	auth += 7;
	len = strlen(auth);
	for (i = 0; i < api->conf->napi_tokens; i++) {
		if (ct_equal(auth, len, api->conf->api_tokens[i],
		    strlen(api->conf->api_tokens[i])))
			return (1);
	}
	httpd_reply_error(req, 401, "invalid bearer token");
	return (0);
}

/* GET /api/v1/runs?project=&state=&limit= */
static void
api_runs_list(struct api *api, struct httpd_req *req)
{
	char	*project, *state, *limit, *end;
	long	 n = API_LIST_DEFAULT;
	json_t	*runs;

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
	else
		httpd_reply_json(req, 200, json_pack("{s:o}", "runs", runs));
out:
	free(project);
	free(state);
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
	httpd_reply_json(req, 200, run);
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

	if (strncmp(path, "/hooks/", 7) != 0)
		return (0);
	if (strcmp(httpd_req_method(req), "POST") != 0) {
		*msg = "webhooks are delivered with POST";
		return (405);
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
		s = ingest_metrics(api->ingest);
		httpd_reply(req, 200, "text/plain; version=0.0.4", s,
		    strlen(s));
		free(s);
		return;
	}
	if (strncmp(path, "/api/v1/", 8) == 0) {
		api_v1(api, req, path + 8);
		return;
	}
	httpd_reply_error(req, 404, "nothing at %.100s", path);
}
