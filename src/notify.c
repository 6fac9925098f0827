/*
 * Notifications: what ferry tells people and git hosts. It listens to the
 * release manager (a release changed state) and the runner (a stage or a
 * run changed state) and turns those into messages in the durable outbox:
 * chat posts (Slack and Mattermost incoming webhooks, approval requests
 * with buttons), signed JSON webhooks, and commit statuses on the git
 * host. It sends nothing itself; the outbox does, at least once.
 *
 * Secrets stay out of the outbox's rows: a message names its credential
 * ("hmac:CHANNEL", "status:PROJECT") and notify_auth() adds the header
 * from the configuration when the message is sent.
 */
#include "config.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "conf.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "status.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

struct notify {
	struct store		*store;
	struct outbox		*outbox;
	const struct conf	*conf;
};

struct notify *
notify_new(struct store *st, struct outbox *ob, const struct conf *conf)
{
	struct notify	*n;

	n = xcalloc(1, sizeof *n);
	n->store = st;
	n->outbox = ob;
	n->conf = conf;
	return (n);
}

/* The outbox is made with notify_auth as its credentials: set it after. */
void
notify_set_outbox(struct notify *n, struct outbox *ob)
{
	n->outbox = ob;
}

void
notify_set_conf(struct notify *n, const struct conf *conf)
{
	n->conf = conf;
}

void
notify_free(struct notify *n)
{
	free(n);
}

/*
 * The token in a Mattermost approval button for a release: an HMAC of the
 * release id, so a button cannot be made for another release. Hex, 64.
 */
void
notify_button_token(const struct conf *conf, long long release,
    char out[SHA256_HEX_LEN + 1])
{
	unsigned char	mac[32];
	char		msg[64];

	out[0] = '\0';
	if (conf->mm_action_secret == NULL)
		return;
	snprintf(msg, sizeof msg, "ferry-approval:%lld", release);
	if (hmac_sha256(conf->mm_action_secret, conf->mm_action_secretlen, msg,
	    strlen(msg), mac) != 0)
		return;
	hex_encode(mac, sizeof mac, out);
}

/* Queue body for channel ch, once per dedupe key. */
static void
notify_post(struct notify *n, const struct conf_channel *ch, const char *body,
    const char *dedupe)
{
	struct outbox_msg	 m;
	char			*auth = NULL, *url = NULL;

	memset(&m, 0, sizeof m);
	m.kind = ch->type == CONF_CHANNEL_SLACK ? "slack" :
	    ch->type == CONF_CHANNEL_MATTERMOST ? "mattermost" : "webhook";
	m.body = body;
	m.dedupe = dedupe;
	/* A chat webhook's URL is its credential: stored by name only. */
	if (ch->type != CONF_CHANNEL_WEBHOOK) {
		xasprintf(&url, OUTBOX_URL_REF "%s", ch->name);
		m.url = url;
	} else
		m.url = ch->url;
	if (ch->type == CONF_CHANNEL_WEBHOOK) {
		xasprintf(&auth, "hmac:%s", ch->name);
		m.auth = auth;
	}
	if (outbox_add(n->outbox, &m) < 0)
		log_warnx("notify: cannot queue a message for %s", ch->name);
	free(auth);
	free(url);
}

/* Which event of an environment a release's new state is. */
static int
notify_release_event(const char *state)
{
	if (strcmp(state, "awaiting-approval") == 0)
		return (CONF_EV_APPROVAL);
	if (strcmp(state, "deploying") == 0)
		return (CONF_EV_DEPLOY_STARTED);
	if (strcmp(state, "deployed") == 0)
		return (CONF_EV_DEPLOY_SUCCEEDED);
	if (strcmp(state, "failed") == 0)
		return (CONF_EV_DEPLOY_FAILED);
	return (CONF_EV_RELEASE);
}

/* The release manager's observer: a release moved to another state. */
void
notify_release(void *arg, json_t *row)
{
	struct notify			*n = arg;
	const struct conf_environment	*env;
	const struct conf_channel	*ch;
	const char			*state, *reason, *tag, *digest, *repo;
	char				*text, *body, *artifact, dedupe[160];
	char				 deadline[64], token[SHA256_HEX_LEN + 1];
	long long			 id, dl;
	size_t				 i;
	int				 ev;
	json_t				*o;
	time_t				 t;
	struct tm			 tm;

	env = conf_environment_find(n->conf, json_string_value(
	    json_object_get(row, "env")));
	if (env == NULL || env->nnotify == 0)
		return;
	id = json_integer_value(json_object_get(row, "id"));
	state = json_string_value(json_object_get(row, "state"));
	reason = json_string_value(json_object_get(row, "reason"));
	tag = json_string_value(json_object_get(row, "tag"));
	digest = json_string_value(json_object_get(row, "digest"));
	repo = json_string_value(json_object_get(row, "repository"));
	ev = notify_release_event(state);
	xasprintf(&artifact, "%s:%s@%s", repo, tag, digest);
	switch (ev) {
	case CONF_EV_APPROVAL:
		xasprintf(&text, "Release %lld of %s is waiting for approval: "
		    "%s", id, env->name, artifact);
		break;
	case CONF_EV_DEPLOY_STARTED:
		xasprintf(&text, "Deploying release %lld to %s: %s", id,
		    env->name, artifact);
		break;
	case CONF_EV_DEPLOY_SUCCEEDED:
		xasprintf(&text, "Deployed release %lld to %s: %s", id,
		    env->name, artifact);
		break;
	case CONF_EV_DEPLOY_FAILED:
		xasprintf(&text, "Deploying release %lld to %s failed: %s "
		    "(%s)", id, env->name, reason != NULL ? reason : "failed",
		    artifact);
		break;
	default:
		xasprintf(&text, "Release %lld of %s is %s%s%s", id, env->name,
		    state, reason != NULL ? ": " : "", reason != NULL ?
		    reason : "");
		break;
	}
	deadline[0] = '\0';
	if ((dl = json_integer_value(json_object_get(row, "deadline"))) > 0) {
		t = (time_t)(dl / 1000);
		if (gmtime_r(&t, &tm) != NULL)
			strftime(deadline, sizeof deadline,
			    "%Y-%m-%d %H:%M UTC", &tm);
	}
	for (i = 0; i < env->nnotify; i++) {
		if ((env->notify[i].events & ev) == 0)
			continue;
		if ((ch = conf_channel_find(n->conf, env->notify[i].channel)) ==
		    NULL)
			continue;
		snprintf(dedupe, sizeof dedupe, "release:%lld:%s:%s", id, state,
		    ch->name);
		if (ch->type == CONF_CHANNEL_WEBHOOK) {
			o = json_pack("{s:s, s:s, s:O}", "event", "release",
			    "state", state, "release", row);
			body = json_dumps(o, JSON_COMPACT);
			json_decref(o);
		} else if (ev == CONF_EV_APPROVAL) {
			const char *platform = ch->type == CONF_CHANNEL_SLACK ?
			    "slack" : "mattermost";
			/* The token is put in when sent (notify_fill): the
			 * outbox keeps a marker, never the token. */
			snprintf(token, sizeof token, NOTIFY_BUTTON_MARK "%lld@@",
			    id);
			body = chat_approval_message(platform, id, env->name,
			    artifact, (int)json_integer_value(json_object_get(
			    row, "approvals_needed")), store_approvals_count(
			    n->store, id), deadline[0] != '\0' ? deadline :
			    NULL, ch->type == CONF_CHANNEL_MATTERMOST ?
			    n->conf->mm_action_url : NULL,
			    ch->type == CONF_CHANNEL_MATTERMOST ? token : NULL);
		} else
			body = chat_notice(ch->type == CONF_CHANNEL_SLACK ?
			    "slack" : "mattermost", text);
		if (body != NULL)
			notify_post(n, ch, body, dedupe);
		free(body);
	}
	free(text);
	free(artifact);
}

static int
notify_branch_matches(const struct conf_notify *cn, const char *ref)
{
	size_t	i;

	if (cn->nbranches == 0)
		return (1);
	if (strncmp(ref, "refs/heads/", 11) != 0)
		return (0);
	for (i = 0; i < cn->nbranches; i++)
		if (glob_match(cn->branches[i], ref + 11))
			return (1);
	return (0);
}

static enum status_state
notify_status_state(const char *state)
{
	if (strcmp(state, "running") == 0)
		return (STATUS_RUNNING);
	if (strcmp(state, "success") == 0)
		return (STATUS_SUCCESS);
	if (strcmp(state, "failed") == 0)
		return (STATUS_FAILURE);
	if (strcmp(state, "canceled") == 0 || strcmp(state, "superseded") == 0)
		return (STATUS_CANCELED);
	if (strcmp(state, "interrupted") == 0)
		return (STATUS_ERROR);
	return (STATUS_PENDING);
}

/* A commit status for a stage (or the run, stage NULL) of project pr. */
static void
notify_status(struct notify *n, const struct conf_project *pr, int64_t run,
    const char *sha, const char *stage, const char *state)
{
	struct status_target	 t;
	struct status_update	 u;
	struct outbox_msg	 m;
	json_t			*r;
	char			*method = NULL, *url = NULL, *body = NULL;
	char			*cause = NULL, *ctx, *desc, *link = NULL, *auth;
	char			 dedupe[160], fp[SHA256_HEX_LEN + 1];

	if ((r = store_run_get(n->store, run)) == NULL)
		return;
	memset(&t, 0, sizeof t);
	t.provider = pr->provider;
	t.api_url = pr->status->api_url;
	t.repo = json_string_value(json_object_get(json_object_get(r,
	    "event"), "repo"));
	t.sha = sha;
	if (t.repo == NULL || !status_provider_known(pr->provider)) {
		json_decref(r);
		return;
	}
	if (stage != NULL)
		xasprintf(&ctx, "%s/%s", pr->status->context, stage);
	else
		ctx = xstrdup(pr->status->context);
	xasprintf(&desc, "%s %s", stage != NULL ? stage : "run", state);
	if (n->conf->public_url != NULL)
		xasprintf(&link, "%s/api/v1/runs/%lld", n->conf->public_url,
		    (long long)run);
	memset(&u, 0, sizeof u);
	u.state = notify_status_state(state);
	u.context = ctx;
	u.description = desc;
	u.target_url = link;
	if (status_request(&t, &u, &method, &url, &body, &cause) != 0) {
		log_warnx("notify: run %lld: no commit status: %s",
		    (long long)run, cause);
		free(cause);
	} else {
		/*
		 * The API's address is in the stored URL, the token is
		 * looked up when sending: a fingerprint of the address ties
		 * them, so a reload that moves api_url never sends the new
		 * token to the old host.
		 */
		sha256_hex(pr->status->api_url, strlen(pr->status->api_url),
		    fp);
		xasprintf(&auth, "status:%.16s:%s", fp, pr->name);
		snprintf(dedupe, sizeof dedupe, "status:%lld:%s:%s",
		    (long long)run, stage != NULL ? stage : "-", state);
		memset(&m, 0, sizeof m);
		m.kind = "status";
		m.url = url;
		m.method = method;
		m.body = body;
		m.auth = auth;
		m.dedupe = dedupe;
		outbox_add(n->outbox, &m);
		free(auth);
	}
	free(method);
	free(url);
	free(body);
	free(ctx);
	free(desc);
	free(link);
	json_decref(r);
}

/* The runner's observer: a stage (or, stage NULL, the run) changed. */
void
notify_run(void *arg, int64_t run, const char *project, const char *ref,
    const char *sha, const char *stage, const char *state)
{
	struct notify			*n = arg;
	const struct conf_project	*pr;
	const struct conf_channel	*ch;
	char				*text, *body, dedupe[96];
	size_t				 i;
	json_t				*r, *o;

	if ((pr = conf_project_find(n->conf, project)) == NULL)
		return;
	if (pr->status != NULL && sha != NULL && *sha != '\0')
		notify_status(n, pr, run, sha, stage, state);
	if (stage != NULL || strcmp(state, "failed") != 0)
		return;
	for (i = 0; i < pr->nnotify; i++) {
		if ((pr->notify[i].events & CONF_EV_RUN_FAILED) == 0 ||
		    !notify_branch_matches(&pr->notify[i], ref))
			continue;
		if ((ch = conf_channel_find(n->conf, pr->notify[i].channel)) ==
		    NULL)
			continue;
		snprintf(dedupe, sizeof dedupe, "run:%lld:failed:%s",
		    (long long)run, ch->name);
		if (ch->type == CONF_CHANNEL_WEBHOOK) {
			r = store_run_get(n->store, run);
			o = json_pack("{s:s, s:o}", "event", "run_failed",
			    "run", r != NULL ? r : json_null());
			body = json_dumps(o, JSON_COMPACT);
			json_decref(o);
		} else {
			xasprintf(&text, "Run %lld of %s failed on %s at "
			    "%.12s", (long long)run, project, ref, sha);
			body = chat_notice(ch->type == CONF_CHANNEL_SLACK ?
			    "slack" : "mattermost", text);
			free(text);
		}
		if (body != NULL)
			notify_post(n, ch, body, dedupe);
		free(body);
	}
}

/*
 * The outbox's credentials, looked up when a message is sent: a signed
 * webhook's HMAC, a git host's token. Nothing secret is in the outbox.
 */
int
notify_auth(const char *ref, const char *body, size_t len, struct strv *h,
    char **cause, void *arg)
{
	struct notify			*n = arg;
	const struct conf_channel	*ch;
	const struct conf_project	*pr;
	unsigned char			 mac[32];
	char				 hex[SHA256_HEX_LEN + 1], *line;

	if (strncmp(ref, "hmac:", 5) == 0) {
		if ((ch = conf_channel_find(n->conf, ref + 5)) == NULL ||
		    ch->secret == NULL) {
			xasprintf(cause, "channel %s is gone from the "
			    "configuration", ref + 5);
			return (-1);
		}
		if (hmac_sha256(ch->secret, ch->secretlen, body, len,
		    mac) != 0) {
			xasprintf(cause, "cannot sign");
			return (-1);
		}
		hex_encode(mac, sizeof mac, hex);
		strv_addf(h, "X-Ferry-Signature: sha256=%s", hex);
		return (0);
	}
	if (strncmp(ref, "status:", 7) == 0 && strlen(ref) > 24 &&
	    ref[23] == ':') {
		if ((pr = conf_project_find(n->conf, ref + 24)) == NULL ||
		    pr->status == NULL) {
			xasprintf(cause, "project %s has no status settings "
			    "any more", ref + 24);
			return (-1);
		}
		sha256_hex(pr->status->api_url, strlen(pr->status->api_url),
		    hex);
		if (strncmp(hex, ref + 7, 16) != 0) {
			xasprintf(cause, "project %s's status api_url changed "
			    "since the message was made", ref + 24);
			return (-1);
		}
		if ((line = status_auth_header(pr->provider,
		    pr->status->token)) == NULL) {
			xasprintf(cause, "no token header for %s",
			    pr->provider);
			return (-1);
		}
		strv_add(h, line);
		freezero_str(line);
		return (0);
	}
	xasprintf(cause, "unknown credential reference");
	return (-1);
}

/* The outbox's resolver: the URL of the channel a message names. */
char *
notify_resolve_url(const char *ref, char **cause, void *arg)
{
	struct notify			*n = arg;
	const struct conf_channel	*ch;

	ref += strlen(OUTBOX_URL_REF);
	if ((ch = conf_channel_find(n->conf, ref)) == NULL) {
		xasprintf(cause, "channel %s is gone from the configuration",
		    ref);
		return (NULL);
	}
	return (xstrdup(ch->url));
}

/*
 * Fill one Mattermost button: its integration.context's token becomes the
 * release's real token when it is exactly the marker for the release that
 * its sibling context.release names, and is left alone otherwise. 1 when
 * filled.
 */
static int
notify_fill_button(struct notify *n, json_t *button)
{
	json_t		*ctx;
	const char	*tok, *rel;
	char		 mark[64], real[SHA256_HEX_LEN + 1];
	long long	 id;
	int		 filled;

	ctx = json_object_get(json_object_get(button, "integration"),
	    "context");
	tok = json_string_value(json_object_get(ctx, "token"));
	rel = json_string_value(json_object_get(ctx, "release"));
	if (tok == NULL || rel == NULL || !chat_release_is_valid(rel))
		return (0);
	id = strtoll(rel, NULL, 10);
	snprintf(mark, sizeof mark, NOTIFY_BUTTON_MARK "%lld@@", id);
	if (strcmp(tok, mark) != 0)
		return (0);
	notify_button_token(n->conf, id, real);
	filled = real[0] != '\0' && json_object_set_new(ctx, "token",
	    json_string(real)) == 0;
	explicit_bzero(real, sizeof real);
	return (filled);
}

/*
 * The outbox's filler: a Mattermost approval button's token replaces its
 * marker ("@@ferry-button:ID@@") when the message is sent. Only at the
 * one place ferry puts it, attachments[].actions[].integration.context
 * .token beside that context's release ID: the same text anywhere else
 * (say a rejection's reason quoted in a notice) is what someone typed and
 * stays as typed, or it would post a release's token in the clear. NULL
 * when nothing is filled.
 */
char *
notify_fill(const char *body, size_t len, void *arg)
{
	struct notify	*n = arg;
	json_t		*root, *att, *act;
	size_t		 i, j;
	char		*out = NULL;
	int		 filled = 0;

	if (strstr(body, NOTIFY_BUTTON_MARK) == NULL)
		return (NULL);
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL)
		return (NULL);
	json_array_foreach(json_object_get(root, "attachments"), i, att) {
		json_array_foreach(json_object_get(att, "actions"), j, act)
			filled += notify_fill_button(n, act);
	}
	if (filled > 0)
		out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return (out);
}
