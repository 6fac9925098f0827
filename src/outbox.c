/*
 * The outbox (outbox.h): messages are written to the store by
 * outbox_add() and sent later from a timer on the loop, never from inside
 * outbox_add(), so a message added inside a transaction is only sent once
 * the caller has committed (or not at all if it rolled back).
 *
 * DESIGN: the store is the queue. Every pass (outbox_pump) reads the
 * soonest pending rows, starts those that are due up to max_inflight,
 * and sets the one timer for the next row that is not due yet. Which rows
 * are on the wire is known only here (the sends list); a row is updated
 * once, when its attempt ends. A crash in between leaves it pending, and
 * the next start sends it again: at least once, not exactly once (the
 * X-Ferry-Message header lets a receiver drop repeats).
 *
 * Bodies and auth headers are never logged: they may hold secrets or
 * personal data. Logs name the message by id, kind, host and status.
 */
#include "config.h"

#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "httpc.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define OUTBOX_STORE_RETRY_MS	5000	/* after the store failed a read */
#define OUTBOX_RETRY_AFTER_MAX	86400	/* seconds believed of Retry-After */

/* One message on the wire. */
struct outbox_send {
	struct outbox			*o;
	int64_t				 id;
	int				 attempts;	/* before this one */
	int64_t				 created_at;
	char				*kind;
	char				 host[256];
	struct httpc_req		*req;
	LIST_ENTRY(outbox_send)		 entry;
};

struct outbox {
	struct event_base		*base;
	struct httpc			*httpc;
	struct store			*store;
	outbox_auth_fn			 auth;
	void				*auth_arg;
	outbox_resolve_fn		 resolve;
	void				*resolve_arg;
	outbox_fill_fn			 fill;
	void				*fill_arg;
	struct event			*timer;
	LIST_HEAD(, outbox_send)	 sends;
	int				 ninflight;
	int				 max_inflight;
	int				 max_attempts;	/* 0: no cap */
	long long			 max_age;	/* ms since added */
	long				 max_delay;
	int				 stopping;
	int64_t				 hold_until;	/* store trouble */
	uint32_t			 rnd;
	unsigned long long		 sent;
	unsigned long long		 retries;
	unsigned long long		 dead;
};

static void	outbox_pump(struct outbox *);

/*
 * The delay before attempt attempts + 1, in ms: 1 s doubling with every
 * attempt made, a tenth either way of jitter from rnd (so that messages
 * that failed together do not come back together), at most max_delay; and
 * not before the server's Retry-After (retry_after ms, 0 when none), which
 * is believed up to max_delay too.
 */
long
outbox_backoff(int attempts, long retry_after, long max_delay, uint32_t rnd)
{
	long	d = OUTBOX_FIRST_DELAY_MS, j;
	int	i;

	if (max_delay < 0)
		max_delay = 0;
	for (i = 1; i < attempts && d < max_delay; i++)
		d *= 2;
	if (d > max_delay)
		d = max_delay;
	if ((j = d / 10) > 0)
		d = d - j + (long)(rnd % (uint32_t)(2 * j + 1));
	if (d > max_delay)
		d = max_delay;
	if (retry_after > d)
		d = retry_after < max_delay ? retry_after : max_delay;
	return (d);
}

/*
 * The first OUTBOX_SNIPPET bytes of an answer, fit for a log or a JSON
 * string: control characters become spaces, bytes that are not UTF-8
 * become '?', and a character cut at the end is dropped. out gets at most
 * size - 1 bytes and a NUL.
 */
void
outbox_snippet(const char *p, size_t len, char *out, size_t size)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i = 0, o = 0, n, want;
	int			 cut = len > OUTBOX_SNIPPET;

	if (size == 0)
		return;
	if (cut)
		len = OUTBOX_SNIPPET;
	while (i < len && o + 1 < size) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			out[o++] = ' ';
			i++;
			continue;
		}
		if ((n = utf8_seq_len(s + i, len - i)) == 0) {
			/* A character cut by the cap is dropped, not '?'. */
			want = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
			if (cut && s[i] >= 0xc2 && s[i] <= 0xf4 &&
			    len - i < want)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

/*
 * The host (and port) of url for logs, without any user:password@ part;
 * anything but printable ASCII becomes '?'.
 */
void
outbox_url_host(const char *url, char *out, size_t size)
{
	const char	*p, *end, *at;
	size_t		 n, i;

	if (size == 0)
		return;
	p = (p = strstr(url, "://")) != NULL ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	for (at = p; at < end; at++) {
		if (*at == '@')
			p = at + 1;
	}
	n = (size_t)(end - p);
	if (n > size - 1)
		n = size - 1;
	for (i = 0; i < n; i++)
		out[i] = p[i] > 0x20 && p[i] < 0x7f ? p[i] : '?';
	out[n] = '\0';
}

/* A small xorshift for the jitter; it needs spread, not secrecy. */
static uint32_t
outbox_random(struct outbox *o)
{
	uint32_t	x = o->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return (o->rnd = x);
}

static void
outbox_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	outbox_pump(arg);
}

/* Look at the store again in ms milliseconds (0: on the next loop turn). */
static void
outbox_schedule(struct outbox *o, int64_t ms)
{
	struct timeval	tv;

	if (o->stopping)
		return;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(o->timer, &tv);
}

struct outbox *
outbox_new(struct event_base *base, struct httpc *httpc, struct store *st,
    outbox_auth_fn auth, void *arg)
{
	struct outbox	*o;

	o = xcalloc(1, sizeof *o);
	o->base = base;
	o->httpc = httpc;
	o->store = st;
	o->auth = auth;
	o->auth_arg = arg;
	o->max_inflight = OUTBOX_MAX_INFLIGHT;
	o->max_age = OUTBOX_MAX_AGE_MS;
	o->max_delay = OUTBOX_MAX_DELAY_MS;
	o->rnd = (uint32_t)now_ms() ^ ((uint32_t)getpid() << 16) ^ 0x9e3779b9;
	if (o->rnd == 0)
		o->rnd = 1;
	LIST_INIT(&o->sends);
	o->timer = evtimer_new(base, outbox_timer_cb, o);
	/* Sent messages are kept a week for `GET /api/v1/outbox`, no more. */
	if (store_outbox_prune(st, now_ms() - OUTBOX_KEEP_MS) != 0)
		log_warnx("outbox: cannot remove old sent messages");
	/* Whatever was pending when ferryd stopped goes out now. */
	outbox_schedule(o, 0);
	return (o);
}

/*
 * Messages whose URL is OUTBOX_URL_REF "NAME" get their real URL from fn
 * when they are sent, so that a URL that is a credential (a chat incoming
 * webhook's) is never stored.
 */
void
outbox_set_resolver(struct outbox *o, outbox_resolve_fn fn, void *arg)
{
	o->resolve = fn;
	o->resolve_arg = arg;
}

void
outbox_set_filler(struct outbox *o, outbox_fill_fn fn, void *arg)
{
	o->fill = fn;
	o->fill_arg = arg;
}

/*
 * max_inflight messages on the wire at once, max_attempts attempts before
 * a message is dead (none by default: the age limit decides), backoff
 * capped at max_delay ms. Values below 1 (below 0 for max_delay) keep the
 * current setting.
 */
void
outbox_set_limits(struct outbox *o, int max_inflight, int max_attempts,
    long max_delay)
{
	if (max_inflight >= 1)
		o->max_inflight = max_inflight;
	if (max_attempts >= 1)
		o->max_attempts = max_attempts;
	if (max_delay >= 0)
		o->max_delay = max_delay;
	outbox_schedule(o, 0);
}

/*
 * How long after it was added a message is still retried, in ms. By time,
 * not by count: a receiver that is down for an hour (a chat server being
 * upgraded) still gets its messages, and one that is gone for a day does
 * not keep the outbox busy for ever.
 */
void
outbox_set_max_age(struct outbox *o, long long max_age)
{
	if (max_age >= 1)
		o->max_age = max_age;
}

/* Whether s is valid UTF-8 (what the store's JSON rows need). */
static int
outbox_utf8_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len = strlen(s), i, n;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq_len(p + i, len - i)) == 0)
			return (0);
	}
	return (1);
}

static int
outbox_method_ok(const char *m)
{
	static const char	*ok[] = { "POST", "PUT", "PATCH", "DELETE",
	    "GET" };
	size_t			 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (strcmp(m, ok[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Store a message; it is sent soon after (from a zero-delay timer, never
 * from inside this call). Returns its id (the earlier message's when the
 * dedupe key is taken), or -1 when the message is malformed (no kind, URL
 * or body; not an http(s) URL of printable ASCII; an unknown method; text
 * that is not UTF-8) or cannot be stored.
 */
int64_t
outbox_add(struct outbox *o, const struct outbox_msg *m)
{
	struct store_outbox_new	 n;
	const char		*u, *fields[7];
	int64_t			 id;
	size_t			 i;

	if (m->kind == NULL || m->url == NULL || m->body == NULL) {
		log_warnx("outbox: message without kind, URL or body");
		return (-1);
	}
	if (strncasecmp(m->url, "http://", 7) != 0 &&
	    strncasecmp(m->url, "https://", 8) != 0 &&
	    strncmp(m->url, OUTBOX_URL_REF, strlen(OUTBOX_URL_REF)) != 0) {
		log_warnx("outbox: %s message: not an http(s) URL", m->kind);
		return (-1);
	}
	for (u = m->url; *u != '\0'; u++) {
		if (*u <= 0x20 || *u >= 0x7f) {
			log_warnx("outbox: %s message: bad character in URL",
			    m->kind);
			return (-1);
		}
	}
	if (m->method != NULL && !outbox_method_ok(m->method)) {
		log_warnx("outbox: %s message: unsupported method",
		    m->kind);
		return (-1);
	}
	fields[0] = m->kind;
	fields[1] = m->url;
	fields[2] = m->method;
	fields[3] = m->content_type;
	fields[4] = m->body;
	fields[5] = m->auth;
	fields[6] = m->dedupe;
	for (i = 0; i < 7; i++) {
		if (fields[i] != NULL && !outbox_utf8_ok(fields[i])) {
			log_warnx("outbox: %s message: not UTF-8", m->kind);
			return (-1);
		}
	}
	if (m->content_type != NULL &&
	    strpbrk(m->content_type, "\r\n") != NULL) {
		log_warnx("outbox: %s message: bad content type", m->kind);
		return (-1);
	}

	n.kind = m->kind;
	n.url = m->url;
	n.method = m->method != NULL ? m->method : "POST";
	n.content_type = m->content_type != NULL ? m->content_type :
	    "application/json";
	n.body = m->body;
	n.auth = m->auth;
	n.dedupe = m->dedupe;
	if ((id = store_outbox_add(o->store, &n)) == -1) {
		log_warnx("outbox: %s message not stored", m->kind);
		return (-1);
	}
	outbox_schedule(o, 0);
	return (id);
}

static struct outbox_send *
outbox_send_find(struct outbox *o, int64_t id)
{
	struct outbox_send	*s;

	LIST_FOREACH(s, &o->sends, entry) {
		if (s->id == id)
			return (s);
	}
	return (NULL);
}

static void
outbox_send_free(struct outbox_send *s)
{
	LIST_REMOVE(s, entry);
	s->o->ninflight--;
	free(s->kind);
	free(s);
}

/* Seconds of a Retry-After header, in ms; 0 when absent or a date. */
static long
outbox_retry_after(const struct httpc_response *r)
{
	const char	*v;
	long		 secs = 0;

	if ((v = httpc_header(r, "Retry-After")) == NULL)
		return (0);
	for (; isdigit((unsigned char)*v); v++) {
		secs = secs * 10 + (*v - '0');
		if (secs > OUTBOX_RETRY_AFTER_MAX)
			secs = OUTBOX_RETRY_AFTER_MAX;
	}
	return (*v == '\0' ? secs * 1000 : 0);
}

/* An attempt ended with an answer (or none, status 0). */
static void
outbox_done_cb(struct httpc_response *r, void *arg)
{
	struct outbox_send	*s = arg;
	struct outbox		*o = s->o;
	const char		*state;
	char			 snip[OUTBOX_SNIPPET + 1], what[256];
	char			*error = NULL;
	int64_t			 next_at = 0;
	long			 delay = 0;
	int			 retry, attempts = s->attempts + 1;
	int64_t			 now = now_ms();

	if (r->status >= 200 && r->status <= 299) {
		state = "sent";
		o->sent++;
		log_info("outbox %lld (%s, %s): sent, HTTP %ld",
		    (long long)s->id, s->kind, s->host, r->status);
	} else {
		if (r->status == 0) {
			error = xstrdup(r->error != NULL ? r->error :
			    "no answer");
			retry = 1;
		} else {
			outbox_snippet(r->body, r->len, snip, sizeof snip);
			xasprintf(&error, "HTTP %ld: %s", r->status, snip);
			retry = r->status == 408 || r->status == 425 ||
			    r->status == 429 || (r->status >= 500 &&
			    r->status <= 599);
		}
		if (r->status != 0)
			snprintf(what, sizeof what, "HTTP %ld", r->status);
		else
			snprintf(what, sizeof what, "%s", error);
		if (retry) {
			delay = outbox_backoff(attempts, outbox_retry_after(r),
			    o->max_delay, outbox_random(o));
			next_at = now + delay;
			/* The last try falls on the deadline, not after it. */
			if (next_at > s->created_at + o->max_age)
				next_at = s->created_at + o->max_age;
			if (now >= s->created_at + o->max_age ||
			    (o->max_attempts > 0 && attempts >= o->max_attempts))
				retry = 0;
		}
		if (retry) {
			state = "pending";
			delay = (long)(next_at - now);
			o->retries++;
			log_warnx("outbox %lld (%s, %s): attempt %d failed: %s; "
			    "again in %ld ms", (long long)s->id, s->kind,
			    s->host, attempts, what, delay);
		} else {
			state = "dead";
			next_at = 0;
			o->dead++;
			log_warnx("outbox %lld (%s, %s): given up after %d "
			    "attempt%s in %lld s: %s", (long long)s->id, s->kind,
			    s->host, attempts, attempts == 1 ? "" : "s",
			    (long long)(now - s->created_at) / 1000, what);
		}
	}
	if (store_outbox_done(o->store, s->id, state, next_at, error) != 0) {
		/*
		 * The row is still pending and due: without a pause a store
		 * that cannot write (a full disk) would have it sent again
		 * and again at full speed.
		 */
		log_warnx("outbox %lld: result not stored; it will be sent "
		    "again", (long long)s->id);
		o->hold_until = now_ms() + OUTBOX_STORE_RETRY_MS;
	}
	free(error);
	outbox_send_free(s);
	outbox_schedule(o, 0);
}

/* Give a message up before it was sent. */
static void
outbox_kill(struct outbox *o, int64_t id, const char *kind, const char *host,
    const char *why)
{
	o->dead++;
	log_warnx("outbox %lld (%s, %s): not sent: %s", (long long)id, kind,
	    host, why);
	if (store_outbox_kill(o->store, id, why) != 0)
		log_warnx("outbox %lld: not marked dead", (long long)id);
}

/* Start sending one stored row. */
static int
outbox_start(struct outbox *o, json_t *row)
{
	struct outbox_send	*s;
	struct httpc_request	 rq;
	struct strv		 hdrs = { NULL, 0 };
	const char		*kind, *url, *method, *ctype, *body, *auth;
	char			 host[256], *cause = NULL, *why, *resolved = NULL;
	char			*filled = NULL;
	int64_t			 id;
	size_t			 len;

	id = json_integer_value(json_object_get(row, "id"));
	kind = json_string_value(json_object_get(row, "kind"));
	url = json_string_value(json_object_get(row, "url"));
	method = json_string_value(json_object_get(row, "method"));
	ctype = json_string_value(json_object_get(row, "content_type"));
	body = json_string_value(json_object_get(row, "body"));
	auth = json_string_value(json_object_get(row, "auth"));
	if (kind == NULL)
		kind = "?";
	if (url != NULL && strncmp(url, OUTBOX_URL_REF,
	    strlen(OUTBOX_URL_REF)) == 0) {
		/* A secret URL (a chat webhook's) is looked up now. */
		if (o->resolve == NULL ||
		    (resolved = o->resolve(url, &cause, o->resolve_arg)) ==
		    NULL) {
			xasprintf(&why, "url: %s", cause != NULL ? cause :
			    "no resolver");
			outbox_kill(o, id, kind, "?", why);
			free(why);
			free(cause);
			return (0);
		}
		url = resolved;
	}
	outbox_url_host(url != NULL ? url : "", host, sizeof host);
	if (url == NULL || method == NULL || body == NULL) {
		outbox_kill(o, id, kind, host, "unreadable row");
		free(resolved);
		return (0);
	}
	len = strlen(body);
	if (o->fill != NULL &&
	    (filled = o->fill(body, len, o->fill_arg)) != NULL) {
		body = filled;
		len = strlen(body);
	}

	strv_addf(&hdrs, "Content-Type: %s", ctype != NULL ? ctype :
	    "application/json");
	strv_addf(&hdrs, "X-Ferry-Message: %lld", (long long)id);
	if (auth != NULL) {
		if (o->auth == NULL)
			cause = xstrdup("no auth callback");
		else if (o->auth(auth, body, len, &hdrs, &cause,
		    o->auth_arg) != 0 && cause == NULL)
			cause = xstrdup("failed");
		if (cause != NULL) {
			xasprintf(&why, "auth: %s", cause);
			outbox_kill(o, id, kind, host, why);
			free(why);
			free(cause);
			strv_free(&hdrs);
			free(resolved);
			freezero_str(filled);
			return (0);
		}
	}

	s = xcalloc(1, sizeof *s);
	s->o = o;
	s->id = id;
	s->attempts = (int)json_integer_value(json_object_get(row,
	    "attempts"));
	s->created_at = json_integer_value(json_object_get(row,
	    "created_at"));
	s->kind = xstrdup(kind);
	memcpy(s->host, host, sizeof s->host);

	memset(&rq, 0, sizeof rq);
	rq.method = method;
	rq.url = url;
	rq.headers = (const char *const *)hdrs.v;
	rq.body = body;
	rq.bodylen = len;
	rq.connect_timeout_ms = OUTBOX_CONNECT_MS;
	rq.timeout_ms = OUTBOX_TIMEOUT_MS;
	rq.max_bytes = OUTBOX_MAX_BYTES;
	s->req = httpc_start(o->httpc, &rq, outbox_done_cb, s, &cause);
	strv_free(&hdrs);
	freezero_str(resolved);
	freezero_str(filled);
	if (s->req == NULL) {
		outbox_kill(o, id, kind, host, cause);
		free(cause);
		free(s->kind);
		free(s);
		return (0);
	}
	LIST_INSERT_HEAD(&o->sends, s, entry);
	o->ninflight++;
	log_debug("outbox %lld (%s, %s): attempt %d", (long long)id, kind,
	    host, s->attempts + 1);
	return (1);
}

/*
 * Start what is due, up to max_inflight on the wire, and set the timer
 * for the next row that is not due yet. The rows read are the soonest
 * ninflight + free: whatever is on the wire is among them at worst, so
 * the first row neither started nor on the wire is the next one due.
 */
static void
outbox_pump(struct outbox *o)
{
	json_t	*rows, *row;
	size_t	 i;
	int64_t	 now, at, id, next = -1;
	int	 free_slots, killed = 0;

	if (o->stopping)
		return;
	if ((now = now_ms()) < o->hold_until) {
		outbox_schedule(o, o->hold_until - now);
		return;
	}
	free_slots = o->max_inflight - o->ninflight;
	if (free_slots <= 0)
		return;		/* an attempt ending calls us again */
	if ((rows = store_outbox_next(o->store, o->ninflight +
	    free_slots)) == NULL) {
		outbox_schedule(o, OUTBOX_STORE_RETRY_MS);
		return;
	}
	json_array_foreach(rows, i, row) {
		id = json_integer_value(json_object_get(row, "id"));
		if (outbox_send_find(o, id) != NULL)
			continue;
		at = json_integer_value(json_object_get(row, "next_at"));
		if (at <= now && free_slots > 0) {
			/* A row ended without a request frees its slot. */
			if (outbox_start(o, row))
				free_slots--;
			else
				killed++;
			continue;
		}
		if (free_slots > 0)
			next = at;
		break;
	}
	json_decref(rows);
	if (killed > 0 && free_slots > 0)
		outbox_schedule(o, 0);	/* the rows behind them are due */
	else if (next != -1)
		outbox_schedule(o, next - now);
}

/* ferryd is stopping: start nothing more; pending rows wait for a start. */
void
outbox_shutdown(struct outbox *o)
{
	o->stopping = 1;
	evtimer_del(o->timer);
}

/*
 * Free the outbox. Messages still on the wire are cancelled and stay
 * pending. Call it before httpc_free().
 */
void
outbox_free(struct outbox *o)
{
	struct outbox_send	*s;

	if (o == NULL)
		return;
	while ((s = LIST_FIRST(&o->sends)) != NULL) {
		httpc_cancel(o->httpc, s->req);
		outbox_send_free(s);
	}
	event_free(o->timer);
	free(o);
}

/* Counters for /metrics, in Prometheus' text format. */
void
outbox_metrics(struct outbox *o, struct buf *b)
{
	char	line[512];
	int64_t	pending;

	pending = store_outbox_count(o->store, "pending");
	snprintf(line, sizeof line,
	    "# TYPE ferry_outbox_sent_total counter\n"
	    "ferry_outbox_sent_total %llu\n"
	    "# TYPE ferry_outbox_retries_total counter\n"
	    "ferry_outbox_retries_total %llu\n"
	    "# TYPE ferry_outbox_dead_total counter\n"
	    "ferry_outbox_dead_total %llu\n", o->sent, o->retries, o->dead);
	buf_addstr(b, line);
	if (pending >= 0) {
		snprintf(line, sizeof line,
		    "# TYPE ferry_outbox_pending gauge\n"
		    "ferry_outbox_pending %lld\n", (long long)pending);
		buf_addstr(b, line);
	}
}
