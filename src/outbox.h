/*
 * outbox.h: the durable outbox of notifications. A message (a chat
 * incoming-webhook post, a signed JSON webhook, a commit-status API call)
 * is written to the store first and delivered afterwards over the loop's
 * HTTP client, with retries and backoff, at least once: a message that
 * was on the wire when ferryd stopped is simply sent again at the next
 * start. Secrets are not stored: a message names its credentials by a
 * reference that the auth callback turns into headers at send time.
 *
 *   pending -> sent		a 2xx answer
 *           -> dead		another 4xx (or 3xx), an auth failure, or
 *				retries for max_age since the message was
 *				added (a day) used up
 *   pending -> pending		408, 425, 429, 5xx or a transport error:
 *				again after a backoff
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct event_base;
struct httpc;
struct store;
struct strv;
struct outbox;

#define OUTBOX_MAX_INFLIGHT	4
#define OUTBOX_MAX_AGE_MS	(24 * 3600 * 1000LL)	/* retried this long */
#define OUTBOX_MAX_DELAY_MS	300000L
#define OUTBOX_FIRST_DELAY_MS	1000L
#define OUTBOX_CONNECT_MS	10000L
#define OUTBOX_TIMEOUT_MS	30000L
#define OUTBOX_MAX_BYTES	(64 * 1024)
#define OUTBOX_SNIPPET		200	/* bytes of an answer kept */
#define OUTBOX_KEEP_MS		(7 * 24 * 3600 * 1000LL)	/* sent, dead */

/*
 * Adds the headers a message needs at send time (secrets are never stored
 * in the database): e.g. "Authorization: Bearer ..." for a token, or an
 * HMAC signature of the body. ref is the message's auth string as given
 * to outbox_add. Returns 0, or -1 with *cause (the message then fails
 * permanently, "dead").
 */
typedef int (*outbox_auth_fn)(const char *ref, const char *body, size_t len,
    struct strv *headers, char **cause, void *arg);

/* A URL that names a secret URL, resolved when the message is sent. */
#define OUTBOX_URL_REF	"secret-url:"
typedef char *(*outbox_resolve_fn)(const char *ref, char **cause, void *arg);

/*
 * Called with every message's body just before it is sent; a new body
 * (caller frees) replaces it, NULL keeps it. For what must not be stored,
 * such as a button's token: the stored body holds a marker instead.
 */
typedef char *(*outbox_fill_fn)(const char *body, size_t len, void *arg);

/* A message to send; everything is borrowed (copied into the store). */
struct outbox_msg {
	const char	*kind;		/* for logs and metrics: slack,
					   mattermost, webhook, status */
	const char	*url;		/* http:// or https:// */
	const char	*method;	/* NULL: POST */
	const char	*content_type;	/* NULL: application/json */
	const char	*body;
	const char	*auth;		/* NULL, or a reference the auth
					   callback understands */
	const char	*dedupe;	/* NULL, or a key: a second message
					   with the same key is not added */
};

struct outbox	*outbox_new(struct event_base *, struct httpc *,
		    struct store *, outbox_auth_fn, void *);
int64_t		 outbox_add(struct outbox *, const struct outbox_msg *);
void		 outbox_set_limits(struct outbox *, int, int, long);
void		 outbox_set_max_age(struct outbox *, long long);
void		 outbox_set_resolver(struct outbox *, outbox_resolve_fn,
		     void *);
void		 outbox_set_filler(struct outbox *, outbox_fill_fn, void *);
void		 outbox_shutdown(struct outbox *);
void		 outbox_free(struct outbox *);
void		 outbox_metrics(struct outbox *, struct buf *);

/* Pure helpers, exposed for the unit tests and the store's listing. */
long		 outbox_backoff(int, long, long, uint32_t);
void		 outbox_snippet(const char *, size_t, char *, size_t);
void		 outbox_url_host(const char *, char *, size_t);

#endif
