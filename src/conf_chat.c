/*
 * The configuration's chat and notification parts: the chat integrations
 * (Slack's signing secret, Mattermost's tokens), the channels messages are
 * posted to, the people behind git names and chat identities, and the
 * `notify:` lists and commit statuses of projects and environments.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_parse.h"
#include "status.h"
#include "util.h"
#include "xmalloc.h"

static int
conf_slack_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf	*conf = p->conf;

	if (strcmp(key, "signing_secret_file") == 0 ||
	    strcmp(key, "signing_secret_credential") == 0)
		return (conf_secret(p, v, key, &conf->slack_secret,
		    &conf->slack_secretlen));
	if (strcmp(key, "response_url_prefix") == 0) {
		free(conf->slack_response_prefix);
		return ((conf->slack_response_prefix = conf_string(p, v,
		    key)) == NULL ? -1 : 0);
	}
	conf_error(p, k, "unknown chat.slack key \"%s\" (expected "
	    "signing_secret_file or response_url_prefix)", key);
	return (-1);
}

static int
conf_mattermost_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf	*conf = p->conf;

	if (strcmp(key, "token_file") == 0 ||
	    strcmp(key, "token_credential") == 0)
		return (conf_secret(p, v, key, &conf->mm_token,
		    &conf->mm_tokenlen));
	if (strcmp(key, "action_secret_file") == 0 ||
	    strcmp(key, "action_secret_credential") == 0)
		return (conf_secret(p, v, key, &conf->mm_action_secret,
		    &conf->mm_action_secretlen));
	if (strcmp(key, "action_url") == 0) {
		free(conf->mm_action_url);
		return ((conf->mm_action_url = conf_string(p, v, key)) ==
		    NULL ? -1 : 0);
	}
	conf_error(p, k, "unknown chat.mattermost key \"%s\" (expected "
	    "token_file, action_secret_file or action_url)", key);
	return (-1);
}

static int
conf_chat_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	if (strcmp(key, "slack") == 0)
		return (conf_mapping(p, v, key, conf_slack_pair, NULL));
	if (strcmp(key, "mattermost") == 0)
		return (conf_mapping(p, v, key, conf_mattermost_pair, NULL));
	conf_error(p, k, "unknown chat key \"%s\" (expected slack or "
	    "mattermost)", key);
	return (-1);
}

int
conf_chat(struct conf_parse *p, yaml_node_t *v)
{
	return (conf_mapping(p, v, "chat", conf_chat_pair, NULL));
}

static int
conf_channel_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_channel	*ch = arg;
	const char		*s;
	size_t			 len;

	if (strcmp(key, "name") == 0) {
		free(ch->name);
		return ((ch->name = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "type") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (strcmp(s, "slack") == 0)
			ch->type = CONF_CHANNEL_SLACK;
		else if (strcmp(s, "mattermost") == 0)
			ch->type = CONF_CHANNEL_MATTERMOST;
		else if (strcmp(s, "webhook") == 0)
			ch->type = CONF_CHANNEL_WEBHOOK;
		else {
			conf_error(p, v, "type: expected slack, mattermost or "
			    "webhook, found \"%s\"", s);
			return (-1);
		}
		return (0);
	}
	/* An incoming webhook's URL is its credential: from a file. */
	if (strcmp(key, "url_file") == 0 ||
	    strcmp(key, "url_credential") == 0)
		return (conf_secret(p, v, key, &ch->url, &len));
	if (strcmp(key, "url") == 0) {
		freezero_str(ch->url);
		return ((ch->url = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "secret_file") == 0 ||
	    strcmp(key, "secret_credential") == 0)
		return (conf_secret(p, v, key, &ch->secret,
		    &ch->secretlen));
	conf_error(p, k, "unknown channel key \"%s\" (expected name, type, "
	    "url_file, url or secret_file)", key);
	return (-1);
}

static void
conf_channel_clear(struct conf_channel *ch)
{
	free(ch->name);
	freezero_str(ch->url);
	freezero_str(ch->secret);
	memset(ch, 0, sizeof *ch);
}

int
conf_channels(struct conf_parse *p, yaml_node_t *v)
{
	struct conf		*conf = p->conf;
	struct conf_channel	*ch;
	yaml_node_item_t	*it;
	yaml_node_t		*cn;
	size_t			 i;
	int			 rc = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		conf_error(p, v, "channels: expected a list");
		return (-1);
	}
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		cn = yaml_document_get_node(p->doc, *it);
		conf->channels = xreallocarray(conf->channels,
		    conf->nchannels + 1, sizeof *conf->channels);
		ch = &conf->channels[conf->nchannels++];
		memset(ch, 0, sizeof *ch);
		if (conf_mapping(p, cn, "channel", conf_channel_pair, ch) !=
		    0 || ch->name == NULL || ch->type == 0 || ch->url == NULL) {
			if (ch->name == NULL || ch->type == 0 ||
			    ch->url == NULL)
				conf_error(p, cn, "channel: needs name, type "
				    "and url_file (or url)");
			/* A broken entry is dropped: nothing looks it up. */
			conf_channel_clear(ch);
			conf->nchannels--;
			rc = -1;
			continue;
		}
		if (strncmp(ch->url, "https://", 8) != 0 &&
		    strncmp(ch->url, "http://", 7) != 0) {
			conf_error(p, cn, "channel %s: the URL must be http:// "
			    "or https://", ch->name);
			rc = -1;
		}
		if (ch->type == CONF_CHANNEL_WEBHOOK && ch->secret == NULL) {
			conf_error(p, cn, "channel %s: a webhook channel "
			    "needs secret_file (its posts are signed)",
			    ch->name);
			rc = -1;
		}
		for (i = 0; i + 1 < conf->nchannels; i++)
			if (strcmp(conf->channels[i].name, ch->name) == 0) {
				conf_error(p, cn, "channel %s: defined twice",
				    ch->name);
				rc = -1;
			}
	}
	return (rc);
}

static int
conf_person_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_person	*pe = arg;

	if (strcmp(key, "name") == 0) {
		free(pe->name);
		return ((pe->name = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "git") == 0)
		return (conf_strings(p, v, key, &pe->git, &pe->ngit));
	if (strcmp(key, "ids") == 0)
		return (conf_strings(p, v, key, &pe->ids, &pe->nids));
	conf_error(p, k, "unknown person key \"%s\" (expected name, git or "
	    "ids)", key);
	return (-1);
}

int
conf_people(struct conf_parse *p, yaml_node_t *v)
{
	struct conf		*conf = p->conf;
	struct conf_person	*pe;
	yaml_node_item_t	*it;
	yaml_node_t		*pn;
	int			 rc = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		conf_error(p, v, "people: expected a list");
		return (-1);
	}
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		pn = yaml_document_get_node(p->doc, *it);
		conf->people = xreallocarray(conf->people, conf->npeople + 1,
		    sizeof *conf->people);
		pe = &conf->people[conf->npeople++];
		memset(pe, 0, sizeof *pe);
		if (conf_mapping(p, pn, "person", conf_person_pair, pe) != 0 ||
		    pe->name == NULL) {
			if (pe->name == NULL)
				conf_error(p, pn, "person: needs name");
			free(pe->name);
			conf_strings_free(pe->git, pe->ngit, 0);
			conf_strings_free(pe->ids, pe->nids, 0);
			conf->npeople--;
			rc = -1;
		}
	}
	return (rc);
}

struct conf_notify_parse {
	struct conf_notify	*n;
};

static int
conf_notify_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_notify	*n = arg;
	static const struct {
		const char	*name;
		int		 bit;
	} evs[] = {
		{ "approval", CONF_EV_APPROVAL },
		{ "deploy_started", CONF_EV_DEPLOY_STARTED },
		{ "deploy_succeeded", CONF_EV_DEPLOY_SUCCEEDED },
		{ "deploy_failed", CONF_EV_DEPLOY_FAILED },
		{ "deploy", CONF_EV_DEPLOY_STARTED | CONF_EV_DEPLOY_SUCCEEDED |
		    CONF_EV_DEPLOY_FAILED },
		{ "release", CONF_EV_RELEASE },
		{ "run_failed", CONF_EV_RUN_FAILED },
	};
	char	**list = NULL;
	size_t	  nlist = 0, i, j;
	int	  rc = 0;

	if (strcmp(key, "channel") == 0) {
		free(n->channel);
		return ((n->channel = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "branches") == 0)
		return (conf_strings(p, v, key, &n->branches, &n->nbranches));
	if (strcmp(key, "events") == 0) {
		if (conf_strings(p, v, key, &list, &nlist) != 0) {
			conf_strings_free(list, nlist, 0);
			return (-1);
		}
		for (i = 0; i < nlist; i++) {
			for (j = 0; j < sizeof evs / sizeof evs[0]; j++)
				if (strcmp(list[i], evs[j].name) == 0)
					break;
			if (j == sizeof evs / sizeof evs[0]) {
				conf_error(p, v, "events: unknown event \"%s\" "
				    "(expected approval, deploy, "
				    "deploy_started, deploy_succeeded, "
				    "deploy_failed, release or run_failed)",
				    list[i]);
				rc = -1;
			} else
				n->events |= evs[j].bit;
		}
		conf_strings_free(list, nlist, 0);
		return (rc);
	}
	conf_error(p, k, "unknown notify key \"%s\" (expected channel, "
	    "events or branches)", key);
	return (-1);
}

/* notify: [{channel, events, branches}] of a project or environment. */
int
conf_notify_list(struct conf_parse *p, yaml_node_t *v, int defaults,
    struct conf_notify **out, size_t *nout)
{
	struct conf_notify	*n;
	yaml_node_item_t	*it;
	yaml_node_t		*nn;
	int			 rc = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		conf_error(p, v, "notify: expected a list of {channel, "
		    "events}");
		return (-1);
	}
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		nn = yaml_document_get_node(p->doc, *it);
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		n = &(*out)[(*nout)++];
		memset(n, 0, sizeof *n);
		if (nn->type == YAML_SCALAR_NODE) {
			if ((n->channel = conf_string(p, nn, "notify")) ==
			    NULL)
				rc = -1;
		} else if (conf_mapping(p, nn, "notify", conf_notify_pair,
		    n) != 0)
			rc = -1;
		if (n->channel == NULL) {
			conf_error(p, nn, "notify: needs channel");
			rc = -1;
		}
		if (n->events == 0)
			n->events = defaults;
	}
	return (rc);
}

void
conf_notify_free(struct conf_notify *n, size_t nn)
{
	size_t	i;

	for (i = 0; i < nn; i++) {
		free(n[i].channel);
		conf_strings_free(n[i].branches, n[i].nbranches, 0);
	}
	free(n);
}

static int
conf_status_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_status	*st = arg;
	size_t			 len;

	if (strcmp(key, "api_url") == 0) {
		free(st->api_url);
		return ((st->api_url = conf_string(p, v, key)) == NULL ? -1 :
		    0);
	}
	if (strcmp(key, "token_file") == 0 ||
	    strcmp(key, "token_credential") == 0)
		return (conf_secret(p, v, key, &st->token, &len));
	if (strcmp(key, "context") == 0) {
		free(st->context);
		return ((st->context = conf_string(p, v, key)) == NULL ? -1 :
		    0);
	}
	conf_error(p, k, "unknown status key \"%s\" (expected api_url, "
	    "token_file or context)", key);
	return (-1);
}

/* status: {api_url, token_file, context} of a project. */
int
conf_status(struct conf_parse *p, yaml_node_t *v, struct conf_status **out)
{
	struct conf_status	*st;

	if (*out == NULL)
		*out = xcalloc(1, sizeof **out);
	st = *out;
	if (conf_mapping(p, v, "status", conf_status_pair, st) != 0)
		return (-1);
	if (st->api_url == NULL || st->token == NULL) {
		conf_error(p, v, "status: needs api_url and token_file");
		return (-1);
	}
	if (st->context == NULL)
		st->context = xstrdup("ferry");
	return (0);
}

void
conf_status_free(struct conf_status *st)
{
	if (st == NULL)
		return;
	free(st->api_url);
	freezero_str(st->token);
	free(st->context);
	free(st);
}

/*
 * A project's status: block against its provider and public_url: a
 * provider without a commit-status API would make every status vanish
 * silently, and so would Bitbucket without the link it requires.
 */
static int
conf_chat_status_check(struct conf_parse *p, const struct conf_project *pr)
{
	const char	*prov = pr->provider;

	if (pr->status == NULL)
		return (0);
	if (!status_provider_known(prov)) {
		conf_error(p, NULL, "project %s: status: provider %s has no "
		    "commit status API (github, gitlab, gitea, forgejo, "
		    "bitbucket or bitbucket-server)", pr->name, prov);
		return (-1);
	}
	if (p->conf->public_url != NULL)
		return (0);
	if (strncmp(prov, "bitbucket", 9) == 0) {
		conf_error(p, NULL, "project %s: status: Bitbucket needs a "
		    "link for every status: set public_url", pr->name);
		return (-1);
	}
	conf_warning(p->conf, "project %s: status: without public_url the "
	    "statuses link to nothing", pr->name);
	return (0);
}

/* Check what refers to channels once everything is read. */
int
conf_chat_finish(struct conf_parse *p)
{
	struct conf	*conf = p->conf;
	size_t		 i, j;
	int		 rc = 0;

	for (i = 0; i < conf->nenvironments; i++) {
		for (j = 0; j < conf->environments[i].nnotify; j++) {
			if (conf_channel_find(conf,
			    conf->environments[i].notify[j].channel) == NULL) {
				conf_error(p, NULL, "environment %s: notify: "
				    "no channel \"%s\"",
				    conf->environments[i].name,
				    conf->environments[i].notify[j].channel);
				rc = -1;
			}
		}
	}
	for (i = 0; i < conf->nprojects; i++) {
		for (j = 0; j < conf->projects[i].nnotify; j++) {
			if (conf_channel_find(conf,
			    conf->projects[i].notify[j].channel) == NULL) {
				conf_error(p, NULL, "project %s: notify: no "
				    "channel \"%s\"", conf->projects[i].name,
				    conf->projects[i].notify[j].channel);
				rc = -1;
			}
		}
	}
	for (i = 0; i < conf->nprojects; i++) {
		if (conf_chat_status_check(p, &conf->projects[i]) != 0)
			rc = -1;
	}
	for (i = 0; i < conf->nchannels; i++) {
		if (conf->channels[i].type == CONF_CHANNEL_MATTERMOST &&
		    (conf->mm_action_secret == NULL ||
		    conf->mm_action_url == NULL)) {
			conf_error(p, NULL, "channel %s: a Mattermost channel "
			    "needs chat.mattermost.action_secret_file and "
			    "action_url (for its approval buttons)",
			    conf->channels[i].name);
			rc = -1;
		}
	}
	if (conf->mm_token != NULL && conf->mm_action_secret == NULL) {
		conf_error(p, NULL, "chat.mattermost: action_secret_file is "
		    "needed too (it signs the approval buttons)");
		rc = -1;
	}
	return (rc);
}

void
conf_chat_free(struct conf *conf)
{
	size_t	i;

	free(conf->public_url);
	free(conf->slack_response_prefix);
	freezero_str(conf->slack_secret);
	freezero_str(conf->mm_token);
	freezero_str(conf->mm_action_secret);
	free(conf->mm_action_url);
	for (i = 0; i < conf->nchannels; i++) {
		free(conf->channels[i].name);
		freezero_str(conf->channels[i].url);
		freezero_str(conf->channels[i].secret);
	}
	free(conf->channels);
	for (i = 0; i < conf->npeople; i++) {
		free(conf->people[i].name);
		conf_strings_free(conf->people[i].git, conf->people[i].ngit, 0);
		conf_strings_free(conf->people[i].ids, conf->people[i].nids, 0);
	}
	free(conf->people);
}

const struct conf_channel *
conf_channel_find(const struct conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nchannels; i++)
		if (strcmp(conf->channels[i].name, name) == 0)
			return (&conf->channels[i]);
	return (NULL);
}

/* The person an identity (slack:T:U, token:NAME, ...) belongs to. */
const struct conf_person *
conf_person_of(const struct conf *conf, const char *id)
{
	size_t	i, j;

	for (i = 0; i < conf->npeople; i++)
		for (j = 0; j < conf->people[i].nids; j++)
			if (strcmp(conf->people[i].ids[j], id) == 0)
				return (&conf->people[i]);
	return (NULL);
}

/*
 * Is identity id in list? An entry is an identity, or "person:NAME" for
 * every identity of that person.
 */
int
conf_identity_in(const struct conf *conf, char **list, size_t n,
    const char *id)
{
	const struct conf_person	*pe;
	size_t				 i;

	pe = conf_person_of(conf, id);
	for (i = 0; i < n; i++) {
		if (strcmp(list[i], id) == 0)
			return (1);
		if (pe != NULL && strncmp(list[i], "person:", 7) == 0 &&
		    strcmp(list[i] + 7, pe->name) == 0)
			return (1);
	}
	return (0);
}
