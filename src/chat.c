/*
 * Chatops: what Slack and Mattermost share. The form decoding and field
 * checks both handlers use, the /ferry command grammar, and the JSON of
 * every answer and message.
 *
 * Everything a chat user types is data. Values that reach the release
 * manager are checked against narrow grammars here (names, digits, OCI
 * tags); a reason is free text but refused with control characters, so it
 * cannot forge a log line. Errors never repeat what was typed beyond a word
 * of safe characters. Answers are built with buf_add_json_str after the
 * platform's own markup is neutralized: Slack's &, < and > (its control
 * characters: "<!channel>" would notify everyone), and Mattermost's group
 * mentions (@channel, @all, @here).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat.h"
#include "log.h"
#include "oci.h"
#include "util.h"
#include "xmalloc.h"

#define CHAT_FORM_MAX		64	/* fields in one form body */
#define CHAT_URL_MAX		2048
#define CHAT_USER_NAME_MAX	128
#define CHAT_WORD_MAX		32	/* of a typed word quoted back */

/*
 * Decode a application/x-www-form-urlencoded body into form. A name given
 * twice, a value holding NUL and bad %-escapes are refused: a signed body
 * should have none, and the first or last of two values would be a guess.
 * Returns 0, or -1 with *cause set; form is filled either way and freed by
 * chat_form_free.
 */
int
chat_form_parse(const char *body, size_t len, struct chat_form *form,
    char **cause)
{
	const char	*p = body, *end = body + len, *amp, *eq;
	char		*name, *value;
	size_t		 nlen, vlen, i;

	memset(form, 0, sizeof *form);
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (form->n >= CHAT_FORM_MAX) {
			xasprintf(cause, "form body with more than %d fields",
			    CHAT_FORM_MAX);
			return (-1);
		}
		name = url_decode(p, (size_t)(eq - p), &nlen);
		value = eq < amp ? url_decode(eq + 1, (size_t)(amp - eq - 1),
		    &vlen) : (vlen = 0, xstrdup(""));
		if (name == NULL || value == NULL) {
			free(name);
			free(value);
			xasprintf(cause, "malformed form encoding");
			return (-1);
		}
		if (strlen(name) != nlen || strlen(value) != vlen) {
			free(name);
			free(value);
			xasprintf(cause, "NUL byte in a form field");
			return (-1);
		}
		for (i = 0; i < form->n; i++) {
			if (strcmp(form->names[i], name) == 0)
				break;
		}
		if (i < form->n) {
			free(name);
			free(value);
			xasprintf(cause, "form field given twice");
			return (-1);
		}
		form->names = xreallocarray(form->names, form->n + 1,
		    sizeof *form->names);
		form->values = xreallocarray(form->values, form->n + 1,
		    sizeof *form->values);
		form->names[form->n] = name;
		form->values[form->n] = value;
		form->n++;
		p = amp + 1;
	}
	return (0);
}

/* The value of field name, borrowed; NULL if absent. */
const char *
chat_form_get(const struct chat_form *form, const char *name)
{
	size_t	i;

	for (i = 0; i < form->n; i++) {
		if (strcmp(form->names[i], name) == 0)
			return (form->values[i]);
	}
	return (NULL);
}

void
chat_form_free(struct chat_form *form)
{
	size_t	i;

	for (i = 0; i < form->n; i++) {
		free(form->names[i]);
		/* A token may be among the values. */
		freezero_str(form->values[i]);
	}
	free(form->names);
	free(form->values);
	memset(form, 0, sizeof *form);
}

/* Whether s is 1 to max of [A-Za-z0-9._-]. */
static int
chat_word_is_safe(const char *s, size_t max)
{
	size_t	len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	if (len == 0 || len > max)
		return (0);
	return (strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len);
}

/*
 * A team, user or channel id. Slack's are upper-case letters and digits
 * (T1DC2JH3J), Mattermost's 26 lower-case ones; the name grammar covers
 * both and nothing that could disturb a log line or a SQL LIKE.
 */
int
chat_id_is_valid(const char *s)
{
	return (chat_word_is_safe(s, CHAT_NAME_MAX));
}

/* An environment or project name: [A-Za-z0-9._-]{1,64}. */
int
chat_name_is_valid(const char *s)
{
	return (chat_word_is_safe(s, CHAT_NAME_MAX));
}

/* A release id: 1 to 15 digits. */
int
chat_release_is_valid(const char *s)
{
	size_t	len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	return (len > 0 && len <= CHAT_RELEASE_MAX &&
	    strspn(s, "0123456789") == len);
}

/*
 * What is wrong with text s for a log line or a message, or NULL: longer
 * than max bytes, not UTF-8, or a control character (C0, DEL or C1; a tab
 * too unless tab is set).
 */
static const char *
chat_text_problem(const char *s, size_t max, int tab)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 left = strlen(s), n;

	if (left > max)
		return ("too long");
	while (left > 0) {
		if (*p < 0x20 || *p == 0x7f) {
			if (*p != '\t' || !tab)
				return ("control characters");
			n = 1;
		} else if (*p < 0x80)
			n = 1;
		else if ((n = utf8_seq_len(p, left)) == 0)
			return ("not valid UTF-8");
		else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return ("control characters");
		p += n;
		left -= n;
	}
	return (NULL);
}

/* Whether s is at most max bytes of UTF-8 without control characters. */
int
chat_text_is_clean(const char *s, size_t max)
{
	return (s != NULL && chat_text_problem(s, max, 0) == NULL);
}

/*
 * A response_url: http or https, a host, printable ASCII without spaces,
 * quotes or angle brackets. Which hosts ferry will post to is for the
 * caller to decide.
 */
int
chat_url_is_valid(const char *s)
{
	const char	*host;
	size_t		 i;

	if (s == NULL || strlen(s) > CHAT_URL_MAX)
		return (0);
	if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return (0);
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    strchr("\"<>\\^`{|}", s[i]) != NULL)
			return (0);
	}
	return (1);
}

/*
 * Check and copy who sent a request and where to answer it. team and user
 * are required; the others may be NULL or empty. No value is repeated in
 * *cause. Returns 0, or -1 with *cause set.
 */
int
chat_set_ids(struct chat_request *req, const char *team, const char *user,
    const char *user_name, const char *channel, const char *response_url,
    char **cause)
{
	if (team == NULL || *team == '\0' || user == NULL || *user == '\0') {
		xasprintf(cause, "request without %s",
		    team == NULL || *team == '\0' ? "team_id" : "user_id");
		return (-1);
	}
	if (!chat_id_is_valid(team) || !chat_id_is_valid(user)) {
		xasprintf(cause, "malformed %s",
		    chat_id_is_valid(team) ? "user_id" : "team_id");
		return (-1);
	}
	if (channel != NULL && *channel != '\0' && !chat_id_is_valid(channel)) {
		xasprintf(cause, "malformed channel_id");
		return (-1);
	}
	if (user_name != NULL && *user_name != '\0' &&
	    !chat_text_is_clean(user_name, CHAT_USER_NAME_MAX)) {
		xasprintf(cause, "malformed user_name");
		return (-1);
	}
	if (response_url != NULL && *response_url != '\0' &&
	    !chat_url_is_valid(response_url)) {
		xasprintf(cause, "malformed response_url");
		return (-1);
	}
	req->team = xstrdup(team);
	req->user = xstrdup(user);
	if (user_name != NULL && *user_name != '\0')
		req->user_name = xstrdup(user_name);
	if (channel != NULL && *channel != '\0')
		req->channel = xstrdup(channel);
	if (response_url != NULL && *response_url != '\0')
		req->response_url = xstrdup(response_url);
	return (0);
}

/* Make req a CHAT_UNKNOWN with error fmt, dropping any arguments. */
static void
chat_refuse(struct chat_request *req, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
chat_refuse(struct chat_request *req, const char *fmt, ...)
{
	va_list	ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	req->action = CHAT_UNKNOWN;
	free(req->error);
	req->error = msg;
	free(req->env);
	free(req->release);
	free(req->version);
	free(req->project);
	free(req->reason);
	req->env = req->release = req->version = req->project = NULL;
	req->reason = NULL;
}

/* The words of a command, split on spaces and tabs. */
struct chat_words {
	char		*copy;
	char		*v[4];
	size_t		 n;		/* words found, up to 4 */
	const char	*rest[4];	/* the text from word i on */
};

static void
chat_split(struct chat_words *w, const char *text)
{
	char	*p;

	memset(w, 0, sizeof *w);
	w->copy = xstrdup(text);
	p = w->copy;
	while (w->n < 4) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		w->rest[w->n] = text + (p - w->copy);
		w->v[w->n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* Whether there is a word after word i. */
static int
chat_more(const struct chat_words *w, size_t i)
{
	return (w->n > i + 1);
}

static const struct {
	const char		*word;
	enum chat_action	 action;
	const char		*usage;
} chat_commands[] = {
	{ "help", CHAT_HELP, "help" },
	{ "status", CHAT_STATUS, "status [ENV]" },
	{ "approve", CHAT_APPROVE, "approve RELEASE" },
	{ "reject", CHAT_REJECT, "reject RELEASE [reason...]" },
	{ "deploy", CHAT_DEPLOY, "deploy ENV VERSION" },
	{ "rollback", CHAT_ROLLBACK, "rollback ENV" },
	{ "runs", CHAT_RUNS, "runs [PROJECT]" },
};
#define CHAT_NCOMMANDS	(sizeof chat_commands / sizeof chat_commands[0])

static int
chat_env_arg(struct chat_request *req, const char *s, const char *usage)
{
	if (!chat_name_is_valid(s)) {
		chat_refuse(req, "invalid environment name: use 1 to %d "
		    "letters, digits, '.', '_' or '-' (usage: %s)",
		    CHAT_NAME_MAX, usage);
		return (-1);
	}
	req->env = xstrdup(s);
	return (0);
}

static int
chat_release_arg(struct chat_request *req, const char *s, const char *usage)
{
	if (!chat_release_is_valid(s)) {
		chat_refuse(req, "invalid release id: use its number, 1 to "
		    "%d digits (usage: %s)", CHAT_RELEASE_MAX, usage);
		return (-1);
	}
	req->release = xstrdup(s);
	return (0);
}

/* The reason after "reject RELEASE": trimmed, checked, NULL if empty. */
static int
chat_reason_arg(struct chat_request *req, const char *rest)
{
	const char	*problem;
	size_t		 len;

	len = strlen(rest);
	while (len > 0 && (rest[len - 1] == ' ' || rest[len - 1] == '\t'))
		len--;
	if (len == 0)
		return (0);
	req->reason = xstrndup(rest, len);
	if ((problem = chat_text_problem(req->reason, CHAT_REASON_MAX,
	    0)) != NULL) {
		chat_refuse(req, "reason refused: %s (at most %d bytes of "
		    "text on one line)", problem, CHAT_REASON_MAX);
		return (-1);
	}
	return (0);
}

/*
 * Parse the text after /ferry into req: action and arguments, or
 * CHAT_UNKNOWN with error set. Empty text asks for help.
 */
void
chat_parse_text(struct chat_request *req, const char *text)
{
	struct chat_words	 w;
	const char		*problem, *usage;
	size_t			 i;

	req->action = CHAT_HELP;
	if (text == NULL)
		return;
	if ((problem = chat_text_problem(text, CHAT_TEXT_MAX, 1)) != NULL) {
		/* Nothing typed is repeated: it may be what is wrong. */
		chat_refuse(req, "command refused: %s; see /ferry help",
		    problem);
		return;
	}
	chat_split(&w, text);
	if (w.n == 0)
		goto out;
	for (i = 0; i < CHAT_NCOMMANDS; i++) {
		if (strcasecmp(w.v[0], chat_commands[i].word) == 0)
			break;
	}
	if (i == CHAT_NCOMMANDS) {
		if (chat_word_is_safe(w.v[0], CHAT_WORD_MAX))
			chat_refuse(req, "unknown command \"%s\"; see /ferry "
			    "help", w.v[0]);
		else
			chat_refuse(req, "unknown command; see /ferry help");
		goto out;
	}
	req->action = chat_commands[i].action;
	usage = chat_commands[i].usage;

	switch (req->action) {
	case CHAT_HELP:
		if (chat_more(&w, 0))
			chat_refuse(req, "too many words (usage: %s)", usage);
		break;
	case CHAT_STATUS:
	case CHAT_RUNS:
		if (chat_more(&w, 1)) {
			chat_refuse(req, "too many words (usage: %s)", usage);
			break;
		}
		if (w.n < 2)
			break;
		if (req->action == CHAT_STATUS)
			chat_env_arg(req, w.v[1], usage);
		else if (!chat_name_is_valid(w.v[1]))
			chat_refuse(req, "invalid project name: use 1 to %d "
			    "letters, digits, '.', '_' or '-' (usage: %s)",
			    CHAT_NAME_MAX, usage);
		else
			req->project = xstrdup(w.v[1]);
		break;
	case CHAT_APPROVE:
	case CHAT_ROLLBACK:
		if (w.n != 2) {
			chat_refuse(req, "%s (usage: %s)", w.n < 2 ?
			    "missing argument" : "too many words", usage);
			break;
		}
		if (req->action == CHAT_APPROVE)
			chat_release_arg(req, w.v[1], usage);
		else
			chat_env_arg(req, w.v[1], usage);
		break;
	case CHAT_REJECT:
		if (w.n < 2) {
			chat_refuse(req, "missing argument (usage: %s)", usage);
			break;
		}
		if (chat_release_arg(req, w.v[1], usage) == 0 && w.n > 2)
			chat_reason_arg(req, w.rest[2]);
		break;
	case CHAT_DEPLOY:
		if (w.n != 3) {
			chat_refuse(req, "%s (usage: %s)", w.n < 3 ?
			    "missing argument" : "too many words", usage);
			break;
		}
		if (chat_env_arg(req, w.v[1], usage) != 0)
			break;
		if (!oci_tag_is_valid(w.v[2])) {
			chat_refuse(req, "invalid version: use an OCI tag, 1 "
			    "to 128 letters, digits, '.', '_' or '-', not "
			    "starting with '.' or '-' (usage: %s)", usage);
			break;
		}
		req->version = xstrdup(w.v[2]);
		break;
	case CHAT_UNKNOWN:
		break;
	}
out:
	free(w.copy);
}

/*
 * A button press: verb "approve" or "reject" on release, or CHAT_UNKNOWN
 * with error set.
 */
void
chat_button(struct chat_request *req, const char *verb, const char *release)
{
	req->button = 1;
	if (verb != NULL && strcmp(verb, "approve") == 0)
		req->action = CHAT_APPROVE;
	else if (verb != NULL && strcmp(verb, "reject") == 0)
		req->action = CHAT_REJECT;
	else {
		chat_refuse(req, "unknown button");
		return;
	}
	if (!chat_release_is_valid(release)) {
		chat_refuse(req, "button without a valid release id");
		return;
	}
	req->release = xstrdup(release);
}

void
chat_request_free(struct chat_request *req)
{
	free(req->team);
	free(req->user);
	free(req->user_name);
	free(req->channel);
	free(req->env);
	free(req->release);
	free(req->version);
	free(req->project);
	free(req->reason);
	free(req->response_url);
	free(req->error);
	memset(req, 0, sizeof *req);
}

/*
 * The slash command in a form (Slack's and Mattermost's send the same
 * fields): the ids and the command text. 0, or -1 with *cause.
 */
int
chat_form_command(const struct chat_form *form, struct chat_request *req,
    char **cause)
{
	if (chat_set_ids(req, chat_form_get(form, "team_id"),
	    chat_form_get(form, "user_id"), chat_form_get(form, "user_name"),
	    chat_form_get(form, "channel_id"),
	    chat_form_get(form, "response_url"), cause) != 0)
		return (-1);
	chat_parse_text(req, chat_form_get(form, "text"));
	return (0);
}

const char *
chat_action_name(enum chat_action action)
{
	switch (action) {
	case CHAT_HELP:
		return ("help");
	case CHAT_STATUS:
		return ("status");
	case CHAT_APPROVE:
		return ("approve");
	case CHAT_REJECT:
		return ("reject");
	case CHAT_DEPLOY:
		return ("deploy");
	case CHAT_ROLLBACK:
		return ("rollback");
	case CHAT_RUNS:
		return ("runs");
	case CHAT_UNKNOWN:
		break;
	}
	return ("unknown");
}

/* 1 for Slack, 0 for Mattermost, -1 for anything else. */
static int
chat_is_slack(const char *platform)
{
	if (platform == NULL)
		return (-1);
	if (strcmp(platform, "slack") == 0)
		return (1);
	if (strcmp(platform, "mattermost") == 0)
		return (0);
	return (-1);
}

/*
 * Append plain text s as a JSON string whose markup on the platform shows s
 * as typed and notifies nobody: Slack's &, < and > become entities;
 * Mattermost's @channel, @all and @here get a zero-width space after the @
 * (a following '.' still mentions the group, so only a letter, digit, '_'
 * or '-' makes it another word).
 */
static void
chat_add_text(struct buf *b, int slack, const char *s)
{
	static const char	*groups[] = { "channel", "all", "here" };
	struct buf		 t;
	const char		*p;
	size_t			 i, glen;
	char			 next;

	buf_init(&t);
	buf_add(&t, "", 0);
	for (p = s != NULL ? s : ""; *p != '\0'; p++) {
		if (slack && *p == '&')
			buf_addstr(&t, "&amp;");
		else if (slack && *p == '<')
			buf_addstr(&t, "&lt;");
		else if (slack && *p == '>')
			buf_addstr(&t, "&gt;");
		else
			buf_add(&t, p, 1);
		if (slack || *p != '@')
			continue;
		for (i = 0; i < sizeof groups / sizeof groups[0]; i++) {
			glen = strlen(groups[i]);
			next = strncasecmp(p + 1, groups[i], glen) == 0 ?
			    p[1 + glen] : 'x';
			if (next == '\0' || strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			    next) == NULL) {
				buf_addstr(&t, "\xe2\x80\x8b");	/* U+200B */
				break;
			}
		}
	}
	buf_add_json_str(b, t.data);
	buf_free(&t);
}

/*
 * The answer to a command: {"response_type": "ephemeral" or "in_channel",
 * "text": text}, the same shape for both platforms. text is plain text.
 * NULL for an unknown platform. Caller frees.
 */
char *
chat_reply(const char *platform, const char *text, int in_channel)
{
	struct buf	b;
	int		slack;

	if ((slack = chat_is_slack(platform)) == -1)
		return (NULL);
	buf_init(&b);
	buf_addstr(&b, "{\"response_type\":");
	buf_addstr(&b, in_channel ? "\"in_channel\"" : "\"ephemeral\"");
	buf_addstr(&b, ",\"text\":");
	chat_add_text(&b, slack, text);
	buf_addstr(&b, "}");
	return (b.data);
}

/* The help text, plain. Caller frees. */
char *
chat_help_text(void)
{
	return (xstrdup("ferry commands:\n"
	    "/ferry status [ENV]: what is deployed, and what waits\n"
	    "/ferry approve RELEASE: approve a waiting release\n"
	    "/ferry reject RELEASE [reason]: reject a waiting release\n"
	    "/ferry deploy ENV VERSION: deploy the release tagged VERSION\n"
	    "/ferry rollback ENV: go back to the previous release\n"
	    "/ferry runs [PROJECT]: the latest pipeline runs\n"
	    "/ferry help: this text"));
}

/* The text of an approval request, plain. Caller frees. */
static char *
chat_approval_text(long long release, const char *env, const char *artifact,
    int needed, int have, const char *deadline)
{
	char	*text;

	xasprintf(&text, "Release %lld to %s is waiting for approval: %s\n"
	    "Approvals: %d of %d.%s%s", release, env != NULL ? env : "?",
	    artifact != NULL ? artifact : "?", have, needed,
	    deadline != NULL && *deadline != '\0' ? " Expires " : "",
	    deadline != NULL && *deadline != '\0' ? deadline : "");
	return (text);
}

/* A Slack button in an actions block. */
static void
chat_slack_button(struct buf *b, const char *label, const char *action_id,
    const char *value, const char *style)
{
	buf_addstr(b, "{\"type\":\"button\",\"text\":{\"type\":\"plain_text\","
	    "\"text\":");
	buf_add_json_str(b, label);
	buf_addstr(b, "},\"action_id\":");
	buf_add_json_str(b, action_id);
	buf_addstr(b, ",\"value\":");
	buf_add_json_str(b, value);
	buf_addstr(b, ",\"style\":");
	buf_add_json_str(b, style);
	buf_addstr(b, "}");
}

/* A Mattermost attachment button posting context to url. */
static void
chat_mattermost_button(struct buf *b, const char *id, const char *label,
    const char *style, const char *url, const char *verb, const char *value,
    const char *token)
{
	buf_addstr(b, "{\"id\":");
	buf_add_json_str(b, id);
	buf_addstr(b, ",\"name\":");
	buf_add_json_str(b, label);
	buf_addstr(b, ",\"type\":\"button\",\"style\":");
	buf_add_json_str(b, style);
	buf_addstr(b, ",\"integration\":{\"url\":");
	buf_add_json_str(b, url);
	buf_addstr(b, ",\"context\":{\"action\":");
	buf_add_json_str(b, verb);
	buf_addstr(b, ",\"release\":");
	buf_add_json_str(b, value);
	buf_addstr(b, ",\"token\":");
	buf_add_json_str(b, token);
	buf_addstr(b, "}}}");
}

/*
 * An approval request with Approve and Reject buttons. Slack: a section
 * and an actions block whose buttons are ferry_approve and ferry_reject
 * with the release id as value. Mattermost: an attachment whose buttons
 * post {action, release, token} to action_url. NULL for an unknown
 * platform, or for Mattermost without action_url or token. Caller frees.
 */
char *
chat_approval_message(const char *platform, long long release,
    const char *env, const char *artifact, int needed, int have,
    const char *deadline, const char *action_url, const char *token)
{
	struct buf	 b;
	char		*text, value[32];
	int		 slack;

	if ((slack = chat_is_slack(platform)) == -1)
		return (NULL);
	if (!slack && (action_url == NULL || *action_url == '\0' ||
	    token == NULL || *token == '\0'))
		return (NULL);
	(void)snprintf(value, sizeof value, "%lld", release);
	text = chat_approval_text(release, env, artifact, needed, have,
	    deadline);

	buf_init(&b);
	buf_addstr(&b, "{\"text\":");
	chat_add_text(&b, slack, text);
	if (slack) {
		buf_addstr(&b, ",\"blocks\":[{\"type\":\"section\",\"text\":"
		    "{\"type\":\"mrkdwn\",\"text\":");
		chat_add_text(&b, slack, text);
		buf_addstr(&b, "}},{\"type\":\"actions\",\"block_id\":");
		buf_add_json_str(&b, "ferry_release");
		buf_addstr(&b, ",\"elements\":[");
		chat_slack_button(&b, "Approve", "ferry_approve", value,
		    "primary");
		buf_addstr(&b, ",");
		chat_slack_button(&b, "Reject", "ferry_reject", value,
		    "danger");
		buf_addstr(&b, "]}]}");
	} else {
		buf_addstr(&b, ",\"username\":\"ferry\",\"attachments\":[{"
		    "\"fallback\":");
		chat_add_text(&b, slack, text);
		buf_addstr(&b, ",\"text\":");
		chat_add_text(&b, slack, text);
		buf_addstr(&b, ",\"actions\":[");
		chat_mattermost_button(&b, "approve", "Approve", "primary",
		    action_url, "approve", value, token);
		buf_addstr(&b, ",");
		chat_mattermost_button(&b, "reject", "Reject", "danger",
		    action_url, "reject", value, token);
		buf_addstr(&b, "]}]}");
	}
	free(text);
	return (b.data);
}

/*
 * A notification for an incoming webhook: {"text": text}, with "username":
 * "ferry" for Mattermost. NULL for an unknown platform. Caller frees.
 */
char *
chat_notice(const char *platform, const char *text)
{
	struct buf	b;
	int		slack;

	if ((slack = chat_is_slack(platform)) == -1)
		return (NULL);
	buf_init(&b);
	buf_addstr(&b, "{\"text\":");
	chat_add_text(&b, slack, text);
	if (!slack)
		buf_addstr(&b, ",\"username\":\"ferry\"");
	buf_addstr(&b, "}");
	return (b.data);
}
