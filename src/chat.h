/*
 * chat.h: chatops requests from Slack and Mattermost, and the messages ferry
 * answers or posts to them. Pure and network-free: a request is verified
 * (signature or token), then parsed into a struct chat_request whose every
 * value has been checked; answers are JSON built with escaping throughout.
 */
#ifndef CHAT_H
#define CHAT_H

#include <stddef.h>

struct headers;

#define CHAT_SLACK_WINDOW	300	/* seconds either side of now */
#define CHAT_TEXT_MAX		1024	/* bytes of command text */
#define CHAT_REASON_MAX		200	/* bytes of a rejection reason */
#define CHAT_NAME_MAX		64	/* environment and project names */
#define CHAT_RELEASE_MAX	15	/* digits of a release id */

enum chat_action {
	CHAT_HELP,
	CHAT_STATUS,
	CHAT_APPROVE,
	CHAT_REJECT,
	CHAT_DEPLOY,
	CHAT_ROLLBACK,
	CHAT_RUNS,
	CHAT_UNKNOWN
};

/*
 * One parsed command or button press. Every string is owned (freed by
 * chat_request_free) and NULL when absent. team and user are the ids that
 * authorization must use; user_name is for display only. error is set
 * exactly when action is CHAT_UNKNOWN: a printable sentence for a private
 * answer, already free of anything the sender typed but safe words.
 */
struct chat_request {
	const char	 *platform;	/* "slack" or "mattermost" */
	char		 *team;		/* team_id (workspace) */
	char		 *user;		/* user_id */
	char		 *user_name;	/* display only, never for authorization */
	char		 *channel;	/* channel_id */
	enum chat_action  action;
	char		 *env;		/* status [ENV], deploy, rollback */
	char		 *release;	/* approve/reject RELEASE (digits) */
	char		 *version;	/* deploy ENV VERSION */
	char		 *project;	/* runs [PROJECT] */
	char		 *reason;	/* reject RELEASE [reason...] */
	char		 *response_url;	/* Slack; Mattermost's when sent */
	int		  button;	/* 1 from a button, 0 from a command */
	int		  ping;		/* Slack ssl_check: answer 200, no more */
	char		 *error;	/* CHAT_UNKNOWN: what is wrong */
};

int		 chat_slack_verify(const struct headers *, const char *, size_t,
		     const char *, size_t, long long, char **);
int		 chat_slack_parse(const char *, size_t, struct chat_request *,
		     char **);
int		 chat_mattermost_is_action(const struct headers *,
		     const char *, size_t);
int		 chat_mattermost_command(const struct headers *,
		     const char *, size_t, const char *, size_t,
		     struct chat_request *, char **);
int		 chat_mattermost_action(const char *, size_t, const char *,
		     size_t, struct chat_request *, char **);
void		 chat_request_free(struct chat_request *);
const char	*chat_action_name(enum chat_action);

char		*chat_reply(const char *, const char *, int);
char		*chat_help_text(void);
char		*chat_approval_message(const char *, long long, const char *,
		     const char *, int, int, const char *, const char *,
		     const char *);
char		*chat_notice(const char *, const char *);

/* Shared by handlers/slack.c and handlers/mattermost.c (chat.c). */
struct chat_form {
	char	**names;
	char	**values;
	size_t	  n;
};

int		 chat_form_parse(const char *, size_t, struct chat_form *,
		     char **);
const char	*chat_form_get(const struct chat_form *, const char *);
void		 chat_form_free(struct chat_form *);
int		 chat_id_is_valid(const char *);
int		 chat_name_is_valid(const char *);
int		 chat_release_is_valid(const char *);
int		 chat_text_is_clean(const char *, size_t);
int		 chat_url_is_valid(const char *);
int		 chat_set_ids(struct chat_request *, const char *, const char *,
		     const char *, const char *, const char *, char **);
void		 chat_parse_text(struct chat_request *, const char *);
int		 chat_form_command(const struct chat_form *,
		     struct chat_request *, char **);
void		 chat_button(struct chat_request *, const char *,
		     const char *);

#endif
