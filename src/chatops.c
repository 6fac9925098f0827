/*
 * Chatops: /ferry commands and approval buttons from Slack
 * (POST /chat/slack) and Mattermost (POST /chat/mattermost). The request is
 * verified before anything else (Slack's signature over the timestamp and
 * body, Mattermost's command token or the button's release token), then
 * the command runs against the release manager under the chat identity
 * "slack:TEAM:USER" or "mattermost:TEAM:USER", which environments list as
 * approvers and deployers. Every decision and refusal goes to the audit.
 * Everything answers at once (well within Slack's 3 seconds); the result of
 * a button press goes back through the message's response_url, by the
 * outbox.
 */
#include "config.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "chatops.h"
#include "conf.h"
#include "headers.h"
#include "httpd.h"
#include "jv.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "release.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

struct chatops {
	struct store		*store;
	struct release_mgr	*rel;
	struct outbox		*outbox;
	const struct conf	*conf;
};

struct chatops *
chatops_new(struct store *st, struct release_mgr *rel, struct outbox *ob,
    const struct conf *conf)
{
	struct chatops	*c;

	c = xcalloc(1, sizeof *c);
	c->store = st;
	c->rel = rel;
	c->outbox = ob;
	c->conf = conf;
	return (c);
}

void
chatops_set_conf(struct chatops *c, const struct conf *conf)
{
	c->conf = conf;
}

void
chatops_free(struct chatops *c)
{
	free(c);
}

/* Before the body: a platform that is not configured is 404. */
int
chatops_head(const struct conf *conf, const char *platform, const char **msg)
{
	if ((strcmp(platform, "slack") == 0 && conf->slack_secret != NULL) ||
	    (strcmp(platform, "mattermost") == 0 && conf->mm_token != NULL))
		return (0);
	*msg = "this chat platform is not configured";
	return (404);
}

/* Text of the environments, for /ferry status [ENV]. */
static char *
chatops_status(struct chatops *c, const char *only)
{
	struct buf	 b;
	json_t		*a, *e, *cur, *w;
	size_t		 i;
	char		 line[512];

	buf_init(&b);
	a = release_environments(c->rel);
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e,
		    "name"));
		if (only != NULL && strcmp(only, name) != 0)
			continue;
		cur = json_object_get(e, "current");
		w = json_object_get(e, "watch");
		snprintf(line, sizeof line, "%s%s: %s%s, %zu waiting%s%s\n",
		    name, json_is_true(json_object_get(e, "paused")) ?
		    " (paused)" : "", json_is_object(cur) ? "running " :
		    "nothing deployed yet", json_is_object(cur) ?
		    json_string_value(json_object_get(cur, "tag")) : "",
		    json_array_size(json_object_get(e, "pending")),
		    json_is_string(json_object_get(w, "error")) ?
		    "; watch error: " : "", json_is_string(json_object_get(w,
		    "error")) ? json_string_value(json_object_get(w,
		    "error")) : "");
		buf_addstr(&b, line);
	}
	json_decref(a);
	if (b.len == 0)
		buf_addstr(&b, only != NULL ? "no such environment" :
		    "no environments");
	buf_add(&b, "", 1);
	return (b.data);
}

/* Text of the last runs, for /ferry runs [PROJECT]. */
static char *
chatops_runs(struct chatops *c, const char *project)
{
	struct buf	 b;
	json_t		*a, *r;
	size_t		 i;
	char		 line[256];

	buf_init(&b);
	if ((a = store_runs_list(c->store, project, NULL, 5)) != NULL) {
		json_array_foreach(a, i, r) {
			snprintf(line, sizeof line, "run %lld %s %s %.12s: "
			    "%s\n", (long long)json_integer_value(
			    json_object_get(r, "id")), json_string_value(
			    json_object_get(r, "project")), json_string_value(
			    json_object_get(r, "ref")), json_string_value(
			    json_object_get(r, "sha")), json_string_value(
			    json_object_get(r, "state")));
			buf_addstr(&b, line);
		}
		json_decref(a);
	}
	if (b.len == 0)
		buf_addstr(&b, "no runs");
	buf_add(&b, "", 1);
	return (b.data);
}

/*
 * Run a verified request as identity who. Returns the answer's text
 * (caller frees) and whether it is for the channel or only the asker.
 */
static char *
chatops_run(struct chatops *c, struct chat_request *rq, const char *who,
    const char *origin, int *in_channel)
{
	const struct conf_environment	*env;
	char				*cause = NULL, *text = NULL;
	char				 target[96];
	long long			 id;
	int64_t				 nid;

	*in_channel = 0;
	switch (rq->action) {
	case CHAT_HELP:
		return (chat_help_text());
	case CHAT_STATUS:
		return (chatops_status(c, rq->env));
	case CHAT_RUNS:
		return (chatops_runs(c, rq->project));
	case CHAT_APPROVE:
	case CHAT_REJECT:
		id = strtoll(rq->release, NULL, 10);
		snprintf(target, sizeof target, "release %lld", id);
		if (release_decide(c->rel, id, who, rq->platform,
		    rq->action == CHAT_APPROVE, rq->reason, &cause) != 0) {
			store_audit_add(c->store, who, rq->platform,
			    chat_action_name(rq->action), target, "refused",
			    cause, origin);
			xasprintf(&text, "Refused: %s", cause);
			free(cause);
			return (text);
		}
		store_audit_add(c->store, who, rq->platform,
		    chat_action_name(rq->action), target, "ok", rq->reason,
		    origin);
		*in_channel = 1;
		xasprintf(&text, "Release %lld %s by %s%s%s", id,
		    rq->action == CHAT_APPROVE ? "approved" : "rejected",
		    rq->user_name != NULL ? rq->user_name : who,
		    rq->reason != NULL ? ": " : "", rq->reason != NULL ?
		    rq->reason : "");
		return (text);
	case CHAT_DEPLOY:
	case CHAT_ROLLBACK:
		env = conf_environment_find(c->conf, rq->env);
		if (env == NULL)
			xasprintf(&cause, "no environment \"%s\"", rq->env);
		else if (!conf_identity_in(c->conf, env->deployers,
		    env->ndeployers, who))
			xasprintf(&cause, "%s may not deploy to %s (not among "
			    "its deployers)", who, env->name);
		nid = -1;
		if (cause == NULL)
			nid = rq->action == CHAT_DEPLOY ? release_deploy(c->rel,
			    rq->env, rq->version, who, &cause) :
			    release_rollback(c->rel, rq->env, who, &cause);
		if (nid <= 0) {
			store_audit_add(c->store, who, rq->platform,
			    chat_action_name(rq->action), rq->env, "refused",
			    cause, origin);
			xasprintf(&text, "Refused: %s", cause);
			free(cause);
			return (text);
		}
		store_audit_add(c->store, who, rq->platform,
		    chat_action_name(rq->action), rq->env, "ok", rq->version,
		    origin);
		*in_channel = 1;
		if (rq->action == CHAT_DEPLOY)
			xasprintf(&text, "Release %lld: deploying %s to %s, as "
			    "asked by %s", (long long)nid, rq->version, rq->env,
			    rq->user_name != NULL ? rq->user_name : who);
		else
			xasprintf(&text, "Release %lld: rolling %s back, as "
			    "asked by %s", (long long)nid, rq->env,
			    rq->user_name != NULL ? rq->user_name : who);
		return (text);
	default:
		xasprintf(&text, "%s\n\n%s", rq->error != NULL ? rq->error :
		    "Unknown command.", "Try /ferry help.");
		return (text);
	}
}

/*
 * Where a request came from, for the audit: the peer's address and the
 * channel it was typed or pressed in, when the platform says. Caller frees.
 */
static char *
chatops_origin(struct httpd_req *req, const struct chat_request *rq)
{
	char	*origin;

	if (rq->channel != NULL)
		xasprintf(&origin, "%s channel %s", httpd_req_peer(req),
		    rq->channel);
	else
		origin = xstrdup(httpd_req_peer(req));
	return (origin);
}

/* Answer a button press through the message's response_url. */
static void
chatops_respond(struct chatops *c, struct chat_request *rq, const char *text,
    int in_channel)
{
	struct outbox_msg	 m;
	char			*body;
	const char		*prefix;

	if (rq->response_url == NULL)
		return;
	/* Only where Slack's answers go: no requests to other hosts. */
	prefix = c->conf->slack_response_prefix != NULL ?
	    c->conf->slack_response_prefix : "https://hooks.slack.com/";
	if (strcmp(rq->platform, "slack") == 0 &&
	    strncmp(rq->response_url, prefix, strlen(prefix)) != 0) {
		log_warnx("chat: a response_url outside %s is not used",
		    prefix);
		return;
	}
	body = chat_reply(rq->platform, text, in_channel);
	memset(&m, 0, sizeof m);
	m.kind = rq->platform;
	m.url = rq->response_url;
	m.body = body;
	outbox_add(c->outbox, &m);
	free(body);
}

void
chatops_slack(struct chatops *c, struct httpd_req *req)
{
	struct chat_request	 rq;
	const char		*body;
	char			*cause = NULL, *who, *text, *reply, *origin;
	size_t			 len;
	int			 in_channel;

	body = httpd_req_body(req, &len);
	if (chat_slack_verify(httpd_req_headers(req), body, len,
	    c->conf->slack_secret, c->conf->slack_secretlen,
	    (long long)time(NULL), &cause) != 0) {
		log_warnx("chat: slack request from %s refused: %s",
		    httpd_req_peer(req), cause);
		httpd_reply_error(req, 401, "%s", cause);
		free(cause);
		return;
	}
	memset(&rq, 0, sizeof rq);
	if (chat_slack_parse(body, len, &rq, &cause) != 0) {
		httpd_reply_error(req, 400, "%s", cause);
		free(cause);
		chat_request_free(&rq);
		return;
	}
	if (rq.ping) {
		httpd_reply(req, 200, "text/plain", "", 0);
		chat_request_free(&rq);
		return;
	}
	xasprintf(&who, "slack:%s:%s", rq.team, rq.user);
	origin = chatops_origin(req, &rq);
	text = chatops_run(c, &rq, who, origin, &in_channel);
	if (rq.button) {
		/* Slack wants a quick empty 200; the answer goes after. */
		chatops_respond(c, &rq, text, in_channel);
		httpd_reply(req, 200, "text/plain", "", 0);
	} else {
		reply = chat_reply("slack", text, in_channel);
		httpd_reply(req, 200, "application/json", reply,
		    strlen(reply));
		free(reply);
	}
	free(text);
	free(origin);
	free(who);
	chat_request_free(&rq);
}

/*
 * The release a Mattermost button is for, from its context, so that its
 * token (an HMAC of the release id) can be checked. -1 when none.
 */
static long long
chatops_mm_release(const char *body, size_t len)
{
	struct jv	*root;
	const char	*s;
	long long	 id = -1;

	if ((root = jv_parse(body, len, NULL)) == NULL)
		return (-1);
	s = jv_str(jv_get(jv_get(root, "context"), "release"));
	if (s != NULL && *s != '\0' && strlen(s) <= 15 &&
	    strspn(s, "0123456789") == strlen(s))
		id = strtoll(s, NULL, 10);
	jv_free(root);
	return (id);
}

void
chatops_mattermost(struct chatops *c, struct httpd_req *req)
{
	struct chat_request	 rq;
	const char		*body;
	char			*cause = NULL, *who, *text, *reply, *origin;
	char			 btoken[SHA256_HEX_LEN + 1];
	size_t			 len;
	long long		 release = -1;
	int			 in_channel, action, rc;
	json_t			*o;

	/* A command sent with GET carries its form in the query string. */
	action = 0;
	if (strcmp(httpd_req_method(req), "GET") == 0) {
		body = httpd_req_query(req);
		if (body == NULL)
			body = "";
		len = strlen(body);
	} else {
		body = httpd_req_body(req, &len);
		action = chat_mattermost_is_action(httpd_req_headers(req),
		    body, len);
	}
	/*
	 * One decision, two tokens that never stand in for each other: a
	 * command answers to the command token only, a button press to its
	 * release's token only.
	 */
	if (action) {
		if ((release = chatops_mm_release(body, len)) < 0) {
			httpd_reply_error(req, 400, "a button press needs "
			    "context.release");
			return;
		}
		notify_button_token(c->conf, release, btoken);
		rc = chat_mattermost_action(body, len, btoken, strlen(btoken),
		    &rq, &cause);
		explicit_bzero(btoken, sizeof btoken);
		/* The id approved is the id whose token was checked. */
		if (rc == 0 && rq.release != NULL &&
		    strtoll(rq.release, NULL, 10) != release) {
			xasprintf(&cause, "action context release mismatch");
			rc = -1;
		}
	} else
		rc = chat_mattermost_command(httpd_req_headers(req), body, len,
		    c->conf->mm_token, c->conf->mm_tokenlen, &rq, &cause);
	if (rc != 0) {
		log_warnx("chat: mattermost request from %s refused: %s",
		    httpd_req_peer(req), cause);
		httpd_reply_error(req, strstr(cause, "token") != NULL ? 401 :
		    400, "%s", cause);
		free(cause);
		chat_request_free(&rq);
		return;
	}
	xasprintf(&who, "mattermost:%s:%s", rq.team, rq.user);
	origin = chatops_origin(req, &rq);
	text = chatops_run(c, &rq, who, origin, &in_channel);
	if (rq.button) {
		o = json_pack("{s:s}", "ephemeral_text", text);
		reply = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	} else
		reply = chat_reply("mattermost", text, in_channel);
	httpd_reply(req, 200, "application/json", reply, strlen(reply));
	free(reply);
	free(text);
	free(origin);
	free(who);
	chat_request_free(&rq);
}
