/*
 * Slack: slash commands and button presses (PROTOCOLS.md 2.1). Both arrive
 * form-encoded and signed: X-Slack-Signature is "v0=" and the hex
 * HMAC-SHA256, under the app's signing secret, of "v0:", the
 * X-Slack-Request-Timestamp value, ":" and the raw body; a timestamp more
 * than five minutes from now is a replay. A slash command is the form
 * itself; a button press is one field, payload, holding the JSON of a
 * block_actions interaction.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "util.h"
#include "xmalloc.h"

#define SLACK_TS_DIGITS	12	/* far beyond any plausible Unix time */

/*
 * Check the request's signature under secret at time now (Unix seconds).
 * Returns 0 if it is authentic and fresh; otherwise -1 with *cause set.
 */
int
chat_slack_verify(const struct headers *h, const char *body, size_t len,
    const char *secret, size_t secretlen, long long now, char **cause)
{
	const char	*ts, *sig;
	char		*base;
	size_t		 tslen, baselen;
	long long	 t;
	int		 rc;

	ts = headers_get(h, "X-Slack-Request-Timestamp");
	sig = headers_get(h, "X-Slack-Signature");
	if (ts == NULL || *ts == '\0') {
		xasprintf(cause, "missing X-Slack-Request-Timestamp header");
		return (-1);
	}
	if (sig == NULL || *sig == '\0') {
		xasprintf(cause, "missing X-Slack-Signature header");
		return (-1);
	}
	if (secretlen == 0) {
		xasprintf(cause, "no Slack signing secret configured");
		return (-1);
	}
	tslen = strlen(ts);
	if (tslen > SLACK_TS_DIGITS || strspn(ts, "0123456789") != tslen) {
		xasprintf(cause, "malformed X-Slack-Request-Timestamp");
		return (-1);
	}
	t = strtoll(ts, NULL, 10);
	if (t < now - CHAT_SLACK_WINDOW || t > now + CHAT_SLACK_WINDOW) {
		xasprintf(cause, "X-Slack-Request-Timestamp %lld s from now, "
		    "more than %d", t - now, CHAT_SLACK_WINDOW);
		return (-1);
	}
	/* Slack writes "v0=" in lower case; anything else is not Slack. */
	if (strncmp(sig, "v0=", 3) != 0) {
		xasprintf(cause, "malformed signature in X-Slack-Signature");
		return (-1);
	}

	baselen = 3 + tslen + 1 + len;
	base = xmalloc(baselen + 1);
	memcpy(base, "v0:", 3);
	memcpy(base + 3, ts, tslen);
	base[3 + tslen] = ':';
	if (len > 0)
		memcpy(base + 4 + tslen, body, len);
	base[baselen] = '\0';
	rc = handler_verify_hmac("X-Slack-Signature", sig, "v0=", secret,
	    secretlen, base, baselen, cause);
	free(base);
	return (rc);
}

/* A block_actions interaction: one ferry_approve or ferry_reject button. */
static int
slack_interaction(const char *json, struct chat_request *req, char **cause)
{
	const struct jv	*root, *action;
	const char	*type, *team, *id, *channel;
	int		 rc = -1;

	if ((root = jv_parse(json, strlen(json), cause)) == NULL)
		return (-1);
	if (!jv_is_object(root)) {
		xasprintf(cause, "interaction payload is not an object");
		goto out;
	}
	type = hjson_str(root, "type");
	if (type == NULL || strcmp(type, "block_actions") != 0) {
		xasprintf(cause, "interaction payload of an unsupported type");
		goto out;
	}
	/* An org-wide install may send "team": null; the user has one. */
	if ((team = hjson_str(root, "team.id")) == NULL)
		team = hjson_str(root, "user.team_id");
	if ((channel = hjson_str(root, "channel.id")) == NULL)
		channel = hjson_str(root, "container.channel_id");
	if (chat_set_ids(req, team, hjson_str(root, "user.id"),
	    hjson_str(root, "user.username"), channel,
	    hjson_str(root, "response_url"), cause) != 0)
		goto out;

	action = jv_at(hjson_get(root, "actions"), 0);
	if (!jv_is_object(action)) {
		xasprintf(cause, "interaction payload without actions");
		goto out;
	}
	id = hjson_str(action, "action_id");
	if (id != NULL && strcmp(id, "ferry_approve") == 0)
		chat_button(req, "approve", hjson_str(action, "value"));
	else if (id != NULL && strcmp(id, "ferry_reject") == 0)
		chat_button(req, "reject", hjson_str(action, "value"));
	else
		chat_button(req, NULL, NULL);
	rc = 0;
out:
	jv_free(root);
	return (rc);
}

/*
 * Parse a verified Slack body into req: a slash command, a button press,
 * or (ping set) the ssl_check Slack sends when the URL is configured.
 * Returns 0, or -1 with *cause set when the request itself is malformed;
 * a wrong command is 0 with CHAT_UNKNOWN. The caller frees req with
 * chat_request_free whatever the result.
 */
int
chat_slack_parse(const char *body, size_t len, struct chat_request *req,
    char **cause)
{
	struct chat_form	 form;
	const char		*s;
	int			 rc = -1;

	memset(req, 0, sizeof *req);
	req->platform = "slack";
	if (chat_form_parse(body, len, &form, cause) != 0)
		goto out;

	if ((s = chat_form_get(&form, "ssl_check")) != NULL &&
	    strcmp(s, "1") == 0) {
		req->ping = 1;
		rc = 0;
		goto out;
	}
	if ((s = chat_form_get(&form, "payload")) != NULL) {
		rc = slack_interaction(s, req, cause);
		goto out;
	}
	if (chat_form_get(&form, "command") == NULL) {
		xasprintf(cause, "neither a slash command nor an interaction");
		goto out;
	}
	if (chat_form_command(&form, req, cause) != 0)
		goto out;
	rc = 0;
out:
	chat_form_free(&form);
	return (rc);
}
