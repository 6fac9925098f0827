/*
 * notify.h: notifications and commit statuses, as messages in the outbox
 * (outbox.h), from the release manager's and the runner's observers.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct conf;
struct json_t;
struct notify;
struct outbox;
struct store;
struct strv;

struct notify	*notify_new(struct store *, struct outbox *,
		    const struct conf *);
void		 notify_set_outbox(struct notify *, struct outbox *);
void		 notify_set_conf(struct notify *, const struct conf *);
void		 notify_free(struct notify *);
void		 notify_release(void *, struct json_t *);
void		 notify_run(void *, int64_t, const char *, const char *,
		    const char *, const char *, const char *);
int		 notify_auth(const char *, const char *, size_t, struct strv *,
		    char **, void *);
/* Where a Mattermost button's token goes until it is sent. */
#define NOTIFY_BUTTON_MARK	"@@ferry-button:"

char		*notify_resolve_url(const char *, char **, void *);
char		*notify_fill(const char *, size_t, void *);
void		 notify_button_token(const struct conf *, long long,
		    char [SHA256_HEX_LEN + 1]);

#endif
