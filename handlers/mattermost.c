/*
 * Mattermost: slash commands and interactive message buttons (PROTOCOLS.md
 * 2.2). Neither is signed. A slash command carries the token Mattermost
 * generated for the command, in the token field and in "Authorization:
 * Token <token>". A button press is a JSON post of the context ferry put on
 * the button when it sent the message, so the token inside that context,
 * which users never see, is what proves the press came through Mattermost
 * from ferry's own message.
 *
 * Which of the two a request is, is decided once, by
 * chat_mattermost_is_action, and the caller then checks a command only
 * against the command token and a press only against its release's
 * token: were the two decided apart, a form body that also reads as JSON
 * could be checked against a button's token and run as a command.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "util.h"
#include "xmalloc.h"

/* Start req for a Mattermost request; -1 with *cause without a token. */
static int
mattermost_start(struct chat_request *req, const char *token, size_t tokenlen,
    char **cause)
{
	memset(req, 0, sizeof *req);
	req->platform = "mattermost";
	if (token == NULL || tokenlen == 0) {
		xasprintf(cause, "no Mattermost token configured");
		return (-1);
	}
	return (0);
}

/* Whether got (NULL if absent) is the configured token, in constant time. */
static int
mattermost_token_ok(const char *got, const char *token, size_t tokenlen)
{
	return (got != NULL && ct_equal(got, strlen(got), token, tokenlen));
}

/*
 * Whether a POST is a button press (JSON) rather than a slash command
 * (form): by its Content-Type, or by its first character when it has none.
 */
int
chat_mattermost_is_action(const struct headers *h, const char *body,
    size_t len)
{
	const char	*ctype = headers_get(h, "Content-Type");

	if (ctype != NULL)
		return (strncasecmp(ctype, "application/json", 16) == 0);
	while (len > 0 && strchr(" \t\r\n", *body) != NULL) {
		body++;
		len--;
	}
	return (len > 0 && *body == '{');
}

/*
 * Verify an interactive message action (a button press, JSON) against the
 * token of the release it is for (tokenlen bytes; an empty one refuses
 * everything) and parse it into req: context {action, release, token}.
 * Returns 0, or -1 with *cause set. The caller frees req with
 * chat_request_free whatever the result.
 */
int
chat_mattermost_action(const char *body, size_t len, const char *token,
    size_t tokenlen, struct chat_request *req, char **cause)
{
	const struct jv	*root, *ctx;
	int		 rc = -1;

	if (mattermost_start(req, token, tokenlen, cause) != 0)
		return (-1);
	if ((root = jv_parse(body, len, cause)) == NULL)
		return (-1);
	ctx = jv_get(root, "context");
	if (!jv_is_object(root) || !jv_is_object(ctx)) {
		xasprintf(cause, "action request without a context");
		goto out;
	}
	if (hjson_str(ctx, "token") == NULL) {
		xasprintf(cause, "action context without a token");
		goto out;
	}
	if (!mattermost_token_ok(hjson_str(ctx, "token"), token, tokenlen)) {
		xasprintf(cause, "action context token mismatch");
		goto out;
	}
	if (chat_set_ids(req, hjson_str(root, "team_id"),
	    hjson_str(root, "user_id"), hjson_str(root, "user_name"),
	    hjson_str(root, "channel_id"), hjson_str(root, "response_url"),
	    cause) != 0)
		goto out;
	chat_button(req, hjson_str(ctx, "action"), hjson_str(ctx, "release"));
	rc = 0;
out:
	jv_free(root);
	return (rc);
}

/*
 * Verify a slash command (a form; a GET command's query string may be
 * passed as the body) against the command's token (tokenlen bytes; an
 * empty one refuses everything) and parse it into req. The token may come
 * in the form, in the Authorization header or both; each one given must
 * match, and one must be given. Returns 0, or -1 with *cause set when the
 * request is not authentic or malformed; a wrong command is 0 with
 * CHAT_UNKNOWN. The caller frees req with chat_request_free whatever the
 * result.
 */
int
chat_mattermost_command(const struct headers *h, const char *body,
    size_t len, const char *token, size_t tokenlen, struct chat_request *req,
    char **cause)
{
	struct chat_form	 form;
	const char		*auth, *field;
	int			 rc = -1;

	if (mattermost_start(req, token, tokenlen, cause) != 0)
		return (-1);
	if (chat_form_parse(body, len, &form, cause) != 0)
		goto out;
	field = chat_form_get(&form, "token");
	auth = headers_get(h, "Authorization");
	if (auth != NULL) {
		if (strncasecmp(auth, "Token ", 6) != 0) {
			xasprintf(cause, "Authorization header is not a "
			    "token");
			goto out;
		}
		auth += 6;
	}
	if (field == NULL && auth == NULL) {
		xasprintf(cause, "slash command without a token");
		goto out;
	}
	if ((field != NULL && !mattermost_token_ok(field, token, tokenlen)) ||
	    (auth != NULL && !mattermost_token_ok(auth, token, tokenlen))) {
		xasprintf(cause, "slash command token mismatch");
		goto out;
	}
	if (chat_form_command(&form, req, cause) != 0)
		goto out;
	rc = 0;
out:
	chat_form_free(&form);
	return (rc);
}
