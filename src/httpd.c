/*
 * The HTTP server. Each connection is a socket with two evbuffers and a
 * small state machine: read the head (at most HTTPD_HEAD_MAX bytes), read a body of
 * Content-Length bytes (refused with 413 before it is read when it is over
 * the limit), hand the request to the callback, wait for its reply, then
 * either read the next request (keep-alive) or close once the reply is
 * written. Reading stops while a request waits for its reply, so pipelined
 * requests queue in the socket. A deadline covers each request from its
 * first byte (slow clients); the same timer closes idle connections. When
 * the connection cap is reached, new connections get a 503 and are closed.
 * A connection closed right after a reply lingers half-closed for a moment
 * (see httpd_linger), so that the reply is not lost to a reset.
 *
 * A request may outlive its connection (the peer hangs up while the reply
 * waits for a commit); it is then orphaned and its reply is dropped.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "headers.h"
#include "httpd.h"
#include "util.h"
#include "xmalloc.h"

#define HTTPD_HEAD_MAX		16384
#define HTTPD_HEADERS_MAX	100
#define HTTPD_LINGER_MAX	64		/* sockets lingering at once */
#define HTTPD_LINGER_MS		2000		/* for at most this long */
#define HTTPD_LINGER_BYTES	(256 * 1024)	/* discarding at most this */

enum httpd_state {
	HTTPD_READ_HEAD,
	HTTPD_READ_BODY,
	HTTPD_WAIT_REPLY,
	HTTPD_CLOSING
};

struct httpd_listener {
	struct httpd			*httpd;
	struct evconnlistener		*lev;
	int				 trusted;	/* UNIX socket */
	char				*unix_path;
	LIST_ENTRY(httpd_listener)	 entry;
};

struct httpd_conn {
	struct httpd		*httpd;
	evutil_socket_t		 fd;
	struct evbuffer		*in;
	struct evbuffer		*out;
	struct event		*rev;		/* readable */
	struct event		*wev;		/* writable, while output waits */
	struct event		*closer;	/* frees the connection */
	int			 reading;	/* rev is added */
	struct event		*deadline;
	struct event		*resume;	/* next pipelined request */
	enum httpd_state	 state;
	int			 trusted;
	char			 peer[64];
	long long		 uid;		/* UNIX socket peer, or -1 */
	struct httpd_req	*req;		/* being read or answered */
	size_t			 content_length;
	LIST_ENTRY(httpd_conn)	 entry;
};

/* A socket closed for writing, whose input is read and thrown away. */
struct httpd_linger {
	struct httpd		*httpd;
	evutil_socket_t		 fd;
	struct event		*ev;
	long long		 until_ms;
	size_t			 discarded;
	LIST_ENTRY(httpd_linger) entry;
};

struct httpd_req {
	struct httpd		*httpd;
	struct httpd_conn	*conn;		/* NULL once orphaned */
	char			*method;
	char			*target;	/* path?query as sent */
	char			*path;
	char			*query;		/* NULL if none */
	struct headers		 headers;
	char			*body;
	size_t			 bodylen;
	int			 keepalive;
	int			 http11;
	int			 streaming;	/* chunked reply begun */
	int			 trusted;
	size_t			 charged;	/* body bytes counted in flight */
	char			 peer[64];
	long long		 uid;		/* UNIX socket peer, or -1 */
};

struct httpd {
	struct event_base		*base;
	struct httpd_limits		 limits;
	httpd_cb			 cb;
	void				*arg;
	int				 nconns;
	int				 nlinger;
	int				 pending;	/* awaiting replies */
	size_t				 inflight;	/* body bytes held */
	int				 stopping;	/* no more keep-alive */
	time_t				 last_refusal_log;
	httpd_head_cb			 head_cb;
	LIST_HEAD(, httpd_listener)	 listeners;
	LIST_HEAD(, httpd_conn)		 conns;
	LIST_HEAD(, httpd_linger)	 lingering;
};

static void	httpd_conn_free(struct httpd_conn *);
static void	httpd_conn_process(struct httpd_conn *);
static void	httpd_conn_next(struct httpd_conn *, int);
static void	httpd_conn_reading(struct httpd_conn *);
static void	httpd_send(struct httpd_conn *, int, const char *,
		    const char *, size_t, int, int);

static const char *
httpd_reason(int code)
{
	switch (code) {
	case 100: return ("Continue");
	case 200: return ("OK");
	case 202: return ("Accepted");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 411: return ("Length Required");
	case 413: return ("Content Too Large");
	case 415: return ("Unsupported Media Type");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 503: return ("Service Unavailable");
	case 505: return ("HTTP Version Not Supported");
	default: return ("Unknown");
	}
}

struct httpd *
httpd_new(struct event_base *base, const struct httpd_limits *limits,
    httpd_cb cb, void *arg)
{
	struct httpd	*h;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	h->limits = *limits;
	h->cb = cb;
	h->arg = arg;
	LIST_INIT(&h->listeners);
	LIST_INIT(&h->conns);
	LIST_INIT(&h->lingering);
	return (h);
}

/* New limits apply to requests that start after the call (reload). */
void
httpd_set_limits(struct httpd *h, const struct httpd_limits *limits)
{
	h->limits = *limits;
}

/*
 * Set a callback that sees each request once its head is read, before its
 * body is: it may refuse the request (unknown route, wrong method) so that
 * nothing of a body that would be thrown away is read or held.
 */
void
httpd_set_head_cb(struct httpd *h, httpd_head_cb cb)
{
	h->head_cb = cb;
}

/* Stop keep-alive: every reply from now on closes its connection. */
void
httpd_set_stopping(struct httpd *h)
{
	h->stopping = 1;
}

static void
httpd_req_free(struct httpd_req *req)
{
	if (req == NULL)
		return;
	req->httpd->inflight -= req->charged;
	free(req->method);
	free(req->target);
	free(req->path);
	free(req->query);
	headers_clear(&req->headers);
	free(req->body);
	free(req);
}

static void
httpd_arm_deadline(struct httpd_conn *c)
{
	struct timeval	tv;

	tv.tv_sec = c->httpd->limits.timeout_ms / 1000;
	tv.tv_usec = (c->httpd->limits.timeout_ms % 1000) * 1000;
	evtimer_add(c->deadline, &tv);
}

/* The request did not arrive in time: 408 if it had begun, else close. */
static void
httpd_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;
	struct evbuffer		*in = c->in;

	if (c->state == HTTPD_READ_HEAD && evbuffer_get_length(in) == 0 &&
	    c->req == NULL) {
		httpd_conn_free(c);
		return;
	}
	if (c->state == HTTPD_READ_HEAD || c->state == HTTPD_READ_BODY) {
		log_debug("httpd: %s: request timed out", c->peer);
		httpd_send(c, 408, "application/json",
		    "{\"error\":\"request not received in time\"}\n", 41, 0, 0);
	}
}

static void
httpd_linger_free(struct httpd_linger *lg)
{
	LIST_REMOVE(lg, entry);
	lg->httpd->nlinger--;
	event_free(lg->ev);
	evutil_closesocket(lg->fd);
	free(lg);
}

static void
httpd_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_linger	*lg = arg;
	struct timeval		 tv;
	char			 sink[4096];
	ssize_t			 n;
	long long		 left;

	if (what & EV_TIMEOUT) {
		httpd_linger_free(lg);
		return;
	}
	for (;;) {
		n = read(fd, sink, sizeof sink);
		if (n > 0) {
			lg->discarded += (size_t)n;
			if (lg->discarded > HTTPD_LINGER_BYTES)
				break;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			left = lg->until_ms - now_ms();
			if (left <= 0)
				break;
			tv.tv_sec = left / 1000;
			tv.tv_usec = (left % 1000) * 1000;
			event_add(lg->ev, &tv);
			return;
		}
		break;		/* end of file: the peer is done */
	}
	httpd_linger_free(lg);
}

/*
 * Close a socket after a reply (RFC 9112, 9.6). A close() while input is
 * unread makes the kernel send a reset, and a reset can make the peer drop
 * the reply before reading it: a 413 sent while the body still arrives, a
 * 503 at the connection cap sent before the request was read. So send FIN,
 * read and discard what still comes until the peer closes too, and close
 * then. Bounded in count, time and bytes; past the count, close at once.
 */
static void
httpd_linger(struct httpd *h, evutil_socket_t fd)
{
	struct httpd_linger	*lg;
	struct timeval		 tv;

	if (h->nlinger >= HTTPD_LINGER_MAX || shutdown(fd, SHUT_WR) == -1) {
		evutil_closesocket(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	lg = xcalloc(1, sizeof *lg);
	lg->httpd = h;
	lg->fd = fd;
	lg->until_ms = now_ms() + HTTPD_LINGER_MS;
	if ((lg->ev = event_new(h->base, fd, EV_READ, httpd_linger_cb,
	    lg)) == NULL)
		fatalx("httpd: out of memory for a closing connection");
	LIST_INSERT_HEAD(&h->lingering, lg, entry);
	h->nlinger++;
	tv.tv_sec = HTTPD_LINGER_MS / 1000;
	tv.tv_usec = (HTTPD_LINGER_MS % 1000) * 1000;
	event_add(lg->ev, &tv);
}

static void
httpd_conn_free(struct httpd_conn *c)
{
	struct httpd	*h = c->httpd;

	if (c->req != NULL) {
		if (c->state == HTTPD_WAIT_REPLY)
			c->req->conn = NULL;	/* orphan; reply frees */
		else
			httpd_req_free(c->req);
	}
	LIST_REMOVE(c, entry);
	event_free(c->deadline);
	event_free(c->resume);
	event_free(c->closer);
	event_free(c->rev);
	event_free(c->wev);
	/* A reply written in full before the close: let the peer read it. */
	if (c->state == HTTPD_CLOSING && evbuffer_get_length(c->out) == 0)
		httpd_linger(h, c->fd);
	else
		evutil_closesocket(c->fd);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	h->nconns--;
	free(c);
}

/* Free the connection from the loop, never under a caller that uses it. */
static void
httpd_conn_closer_cb(evutil_socket_t fd, short what, void *arg)
{
	httpd_conn_free(arg);
}

/*
 * Write what the output holds at once: most replies fit the socket buffer,
 * and then no writable event is ever registered. What is left waits for
 * one, which also bounds a peer that stops reading (the timeout).
 */
static void
httpd_conn_flush(struct httpd_conn *c)
{
	struct timeval	tv;
	int		n;

	while (evbuffer_get_length(c->out) > 0) {
		n = evbuffer_write(c->out, c->fd);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			break;
		event_active(c->closer, 0, 0);	/* reset, broken pipe */
		return;
	}
	if (evbuffer_get_length(c->out) > 0) {
		tv.tv_sec = c->httpd->limits.timeout_ms / 1000;
		tv.tv_usec = (c->httpd->limits.timeout_ms % 1000) * 1000;
		event_add(c->wev, &tv);
		return;
	}
	event_del(c->wev);
	if (c->state == HTTPD_CLOSING)
		event_active(c->closer, 0, 0);
}

static void
httpd_conn_writable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;

	if (what & EV_TIMEOUT) {
		log_debug("httpd: %s: reply not taken in time", c->peer);
		httpd_conn_free(c);
		return;
	}
	httpd_conn_flush(c);
}

/* How much input the connection may hold in its current state. */
static size_t
httpd_conn_input_cap(struct httpd_conn *c)
{
	if (c->state == HTTPD_READ_BODY)
		return (c->content_length + HTTPD_HEAD_MAX + 1);
	return (HTTPD_HEAD_MAX + 1);
}

/* Watch the socket for input when there is room for it, else stop. */
static void
httpd_conn_reading(struct httpd_conn *c)
{
	int	want;

	want = c->state != HTTPD_CLOSING &&
	    evbuffer_get_length(c->in) < httpd_conn_input_cap(c);
	if (want && !c->reading)
		event_add(c->rev, NULL);
	else if (!want && c->reading)
		event_del(c->rev);
	c->reading = want;
}

/*
 * Input: one read of up to 64 KB straight into the buffer (no FIONREAD
 * probe, no 4 KB slices), then the state machine. End of file or an error
 * ends the connection; a request waiting for its reply is orphaned.
 */
static void
httpd_conn_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;
	struct evbuffer_iovec	 v;
	size_t			 room, len = evbuffer_get_length(c->in);
	ssize_t			 n;

	room = httpd_conn_input_cap(c);
	room = room > len ? room - len : 0;
	if (room > 65536)
		room = 65536;
	if (room == 0) {
		httpd_conn_reading(c);
		return;
	}
	if (evbuffer_reserve_space(c->in, (ev_ssize_t)room, &v, 1) < 1)
		return;
	n = read(c->fd, v.iov_base, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		httpd_conn_free(c);
		return;
	}
	v.iov_len = (size_t)n;
	evbuffer_commit_space(c->in, &v, 1);
	httpd_conn_process(c);
}

/*
 * Queue a complete response. With keep_open the connection goes on to the
 * next request; otherwise it closes once the response is written.
 */
static void
httpd_send(struct httpd_conn *c, int code, const char *ctype,
    const char *body, size_t len, int keep_open, int http10)
{
	struct evbuffer	*out = c->out;

	if (c->httpd->stopping)
		keep_open = 0;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s\r\n", code, httpd_reason(code), ctype, len,
	    !keep_open ? "Connection: close\r\n" :
	    http10 ? "Connection: keep-alive\r\n" : "");
	evbuffer_add(out, body, len);
	httpd_conn_next(c, keep_open);
}

/*
 * A response is queued: go on to the next request (keep-alive), or close
 * once the response is written; then write what can be written now.
 */
static void
httpd_conn_next(struct httpd_conn *c, int keep_open)
{
	if (keep_open && !c->httpd->stopping) {
		c->state = HTTPD_READ_HEAD;
		httpd_arm_deadline(c);
		/*
		 * A pipelined request may already be buffered. It is read
		 * from the loop, not from here: a recursive call per buffered
		 * request would let a client exhaust the stack.
		 */
		if (evbuffer_get_length(c->in) > 0)
			event_active(c->resume, 0, 0);
	} else {
		c->state = HTTPD_CLOSING;
		evtimer_del(c->deadline);
	}
	httpd_conn_reading(c);
	httpd_conn_flush(c);
}

/* An error found while reading a request: answer it and close. */
static void
httpd_fail(struct httpd_conn *c, int code, const char *msg)
{
	struct buf	b;

	buf_init(&b);
	buf_addstr(&b, "{\"error\":");
	buf_add_json_str(&b, msg);
	buf_addstr(&b, "}\n");
	if (c->req != NULL) {
		httpd_req_free(c->req);
		c->req = NULL;
	}
	log_debug("httpd: %s: %d %s", c->peer, code, msg);
	httpd_send(c, code, "application/json", b.data, b.len, 0, 0);
	buf_free(&b);
}

/* Whether the comma-separated header value list holds token. */
static int
httpd_has_token(const char *list, const char *token)
{
	const char	*p = list, *end;
	size_t		 tlen = strlen(token), n;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(p, token, tlen) == 0)
			return (1);
		p = end;
	}
	return (0);
}

/* Split the request target into path and query. */
static int
httpd_parse_target(struct httpd_req *req)
{
	const char	*q;

	if (req->target[0] != '/')
		return (-1);
	if ((q = strchr(req->target, '?')) != NULL) {
		req->path = xstrndup(req->target, (size_t)(q - req->target));
		req->query = xstrdup(q + 1);
	} else
		req->path = xstrdup(req->target);
	return (0);
}

/*
 * Parse the request head in buf (len bytes, ending with the blank line).
 * Returns 0, or an HTTP status with *msg set (static) on a bad request.
 */
static int
httpd_parse_head(struct httpd_conn *c, char *buf, size_t len,
    const char **msg)
{
	struct httpd_req	*req;
	char			*line, *next, *end = buf + len, *sp1, *sp2;
	char			*colon, *ep;
	const char		*v, *conn;
	unsigned long long	 cl;
	int			 http11, i;

	req = xcalloc(1, sizeof *req);
	headers_init(&req->headers);
	c->req = req;
	req->conn = c;
	req->httpd = c->httpd;
	req->trusted = c->trusted;
	req->uid = c->uid;
	memcpy(req->peer, c->peer, sizeof req->peer);

	/*
	 * Lines end in CRLF, and nothing else in the head is a control
	 * character but a tab: a bare LF or CR, or a NUL, would let another
	 * parser on the way see other message boundaries than ours.
	 */
	for (i = 0; i < (int)len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch == '\r') {
			if (i + 1 >= (int)len || buf[i + 1] != '\n')
				return (*msg = "bare CR in request head", 400);
			i++;
		} else if (ch == '\n')
			return (*msg = "bare LF in request head", 400);
		else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return (*msg = "control character in request head",
			    400);
	}

	/* Request line: METHOD SP target SP HTTP/1.x */
	if ((next = memchr(buf, '\n', len)) == NULL)
		return (*msg = "malformed request line", 400);
	*next = '\0';
	if (next > buf && next[-1] == '\r')
		next[-1] = '\0';
	line = buf;
	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return (*msg = "malformed request line", 400);
	*sp1 = *sp2 = '\0';
	if (*line == '\0')
		return (*msg = "malformed method", 400);
	for (i = 0; line[i] != '\0'; i++) {
		if (!isupper((unsigned char)line[i]))
			return (*msg = "malformed method", 400);
	}
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		http11 = 1;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		http11 = 0;
	else
		return (*msg = "only HTTP/1.0 and HTTP/1.1 are spoken", 505);
	req->method = xstrdup(line);
	req->http11 = http11;
	req->target = xstrdup(sp1 + 1);
	if (httpd_parse_target(req) != 0)
		return (*msg = "malformed request target", 400);

	/* Header lines. */
	for (line = next + 1; line < end; line = next + 1) {
		if ((next = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
		*next = '\0';
		if (next > line && next[-1] == '\r')
			next[-1] = '\0';
		if (*line == '\0')
			break;
		if (*line == ' ' || *line == '\t')
			return (*msg = "folded header lines are not allowed",
			    400);
		if ((colon = strchr(line, ':')) == NULL || colon == line)
			return (*msg = "malformed header line", 400);
		for (v = line; v < colon; v++) {
			if (*v <= ' ' || *v >= 0x7f)
				return (*msg = "malformed header name", 400);
		}
		if (req->headers.n >= HTTPD_HEADERS_MAX)
			return (*msg = "too many header lines", 431);
		headers_add(&req->headers, line, (size_t)(colon - line),
		    colon + 1, strlen(colon + 1));
	}

	conn = headers_get(&req->headers, "Connection");
	if (http11)
		req->keepalive = !httpd_has_token(conn, "close");
	else
		req->keepalive = httpd_has_token(conn, "keep-alive") &&
		    !httpd_has_token(conn, "close");

	if (headers_get(&req->headers, "Transfer-Encoding") != NULL)
		return (*msg = "chunked bodies are not accepted; send "
		    "Content-Length", 411);
	c->content_length = 0;
	if ((v = headers_get(&req->headers, "Content-Length")) != NULL) {
		errno = 0;
		cl = strtoull(v, &ep, 10);
		if (*v == '\0' || *ep != '\0' || errno != 0 ||
		    !isdigit((unsigned char)*v))
			return (*msg = "malformed Content-Length", 400);
		for (i = 0; i < (int)req->headers.n; i++) {
			if (strcasecmp(req->headers.v[i].name,
			    "Content-Length") == 0 &&
			    strcmp(req->headers.v[i].value, v) != 0)
				return (*msg = "conflicting Content-Length",
				    400);
		}
		if (cl > c->httpd->limits.body_bytes)
			return (*msg = "request body is over the size limit",
			    413);
		c->content_length = (size_t)cl;
	}
	return (0);
}

/* The request is complete: hand it over and wait for the reply. */
static void
httpd_dispatch(struct httpd_conn *c)
{
	struct httpd_req	*req = c->req;

	c->state = HTTPD_WAIT_REPLY;
	evtimer_del(c->deadline);
	httpd_conn_reading(c);
	c->httpd->pending++;
	c->httpd->cb(req, c->httpd->arg);
}

/* Advance the state machine over what the input holds. */
static void
httpd_conn_process(struct httpd_conn *c)
{
	struct evbuffer		*in = c->in;
	struct evbuffer_ptr	 p;
	const char		*msg = NULL, *expect;
	char			*head;
	size_t			 headlen;
	int			 code;

	if (c->state == HTTPD_READ_HEAD) {
		p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (p.pos == -1) {
			if (evbuffer_get_length(in) > HTTPD_HEAD_MAX)
				httpd_fail(c, 431, "request head too large");
			return;
		}
		headlen = (size_t)p.pos + 4;
		if (headlen > HTTPD_HEAD_MAX) {
			httpd_fail(c, 431, "request head too large");
			return;
		}
		head = xmalloc(headlen + 1);
		evbuffer_remove(in, head, headlen);
		head[headlen] = '\0';
		code = httpd_parse_head(c, head, headlen, &msg);
		free(head);
		if (code == 0 && c->httpd->head_cb != NULL)
			code = c->httpd->head_cb(c->req, c->httpd->arg,
			    &msg);
		if (code == 0 && c->httpd->inflight + c->content_length >
		    c->httpd->limits.inflight_bytes) {
			code = 503;
			msg = "too many request bodies in flight; try again";
		}
		if (code != 0) {
			httpd_fail(c, code, msg);
			return;
		}
		c->req->charged = c->content_length;
		c->httpd->inflight += c->content_length;
		expect = headers_get(&c->req->headers, "Expect");
		if (c->req->http11 && expect != NULL &&
		    strcasecmp(expect, "100-continue") == 0 &&
		    c->content_length > evbuffer_get_length(in))
			evbuffer_add_printf(c->out,
			    "HTTP/1.1 100 Continue\r\n\r\n");
		c->state = HTTPD_READ_BODY;
		httpd_conn_reading(c);
		if (evbuffer_get_length(c->out) > 0)
			httpd_conn_flush(c);
	}
	if (c->state == HTTPD_READ_BODY) {
		if (evbuffer_get_length(in) < c->content_length)
			return;
		c->req->body = xmalloc(c->content_length + 1);
		evbuffer_remove(in, c->req->body, c->content_length);
		c->req->body[c->content_length] = '\0';
		c->req->bodylen = c->content_length;
		httpd_dispatch(c);
	}
}

static void
httpd_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;

	if (c->state == HTTPD_READ_HEAD)
		httpd_conn_process(c);
}

static void
httpd_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct httpd_listener	*l = arg;
	struct httpd		*h = l->httpd;
	struct httpd_conn	*c;
	static const char	 busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nContent-Length: 33\r\n"
	    "Connection: close\r\n\r\n{\"error\":\"too many connections\"}\n";
	int			 one = 1;
	ssize_t			 n;

	/* The UNIX socket is the operator's way in: never locked out. */
	if (!l->trusted && h->nconns >= h->limits.connections) {
		/* Best effort: the socket buffer takes this at once. */
		n = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
		httpd_linger(h, fd);
		if (time(NULL) != h->last_refusal_log) {
			h->last_refusal_log = time(NULL);
			log_warnx("httpd: connections refused: limit of %d "
			    "reached", h->limits.connections);
		}
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->httpd = h;
	c->trusted = l->trusted;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a);
		snprintf(c->peer, sizeof c->peer, "%s:%u", a,
		    ntohs(sin->sin_port));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof a);
		snprintf(c->peer, sizeof c->peer, "[%s]:%u", a,
		    ntohs(sin6->sin6_port));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	} else {
		/* Who is on the other end of the UNIX socket (the API's
		 * record of who approved what). */
		struct ucred	cred;
		socklen_t	clen = sizeof cred;

		c->uid = -1;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			c->uid = (long long)cred.uid;
		snprintf(c->peer, sizeof c->peer, "unix");
	}
	c->fd = fd;
	evutil_make_socket_nonblocking(fd);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	c->rev = event_new(h->base, fd, EV_READ | EV_PERSIST,
	    httpd_conn_readable_cb, c);
	c->wev = event_new(h->base, fd, EV_WRITE | EV_PERSIST,
	    httpd_conn_writable_cb, c);
	c->deadline = evtimer_new(h->base, httpd_deadline_cb, c);
	c->resume = event_new(h->base, -1, 0, httpd_resume_cb, c);
	c->closer = event_new(h->base, -1, 0, httpd_conn_closer_cb, c);
	if (c->in == NULL || c->out == NULL || c->rev == NULL ||
	    c->wev == NULL || c->deadline == NULL || c->resume == NULL ||
	    c->closer == NULL)
		fatalx("httpd: out of memory for a connection");
	LIST_INSERT_HEAD(&h->conns, c, entry);
	h->nconns++;
	c->state = HTTPD_READ_HEAD;
	httpd_conn_reading(c);
	httpd_arm_deadline(c);
}

static void
httpd_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	/* EMFILE and the like: say so, and keep listening. */
	log_warn("httpd: accept");
}

static struct httpd_listener *
httpd_add_listener(struct httpd *h, evutil_socket_t fd, int trusted)
{
	struct httpd_listener	*l;

	l = xcalloc(1, sizeof *l);
	l->httpd = h;
	l->trusted = trusted;
	l->lev = evconnlistener_new(h->base, httpd_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l->lev == NULL) {
		free(l);
		return (NULL);
	}
	evconnlistener_set_error_cb(l->lev, httpd_accept_error_cb);
	LIST_INSERT_HEAD(&h->listeners, l, entry);
	return (l);
}

/*
 * Listen on TCP "host:port" ("[::1]:8080" for IPv6; port 0 picks a free
 * one). The address actually bound is written to bound. Returns 0, or -1
 * with *cause set.
 */
int
httpd_listen_tcp(struct httpd *h, const char *addr, char *bound,
    size_t boundlen, char **cause)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	char			*host, *port, *copy, a[INET6_ADDRSTRLEN];
	int			 fd = -1, one = 1, rc;

	copy = xstrdup(addr);
	if (copy[0] == '[') {
		host = copy + 1;
		if ((port = strstr(host, "]:")) == NULL) {
			xasprintf(cause, "listen %s: expected [address]:port",
			    addr);
			free(copy);
			return (-1);
		}
		*port = '\0';
		port += 2;
	} else {
		host = copy;
		if ((port = strrchr(copy, ':')) == NULL) {
			xasprintf(cause, "listen %s: expected host:port", addr);
			free(copy);
			return (-1);
		}
		*port++ = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host != '\0' ? host : NULL, port, &hints,
	    &res)) != 0) {
		xasprintf(cause, "listen %s: %s", addr, gai_strerror(rc));
		free(copy);
		return (-1);
	}
	free(copy);
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 1024) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		xasprintf(cause, "listen %s: %s", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return (-1);
	}
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		snprintf(bound, boundlen, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		snprintf(bound, boundlen, "%s:%u", a, ntohs(s4->sin_port));
	}
	if (httpd_add_listener(h, fd, 0) == NULL) {
		close(fd);
		xasprintf(cause, "listen %s: cannot create listener", addr);
		return (-1);
	}
	return (0);
}

/*
 * Listen on a UNIX socket at path, mode 0660: requests that arrive there
 * are trusted (the file mode is the access control). A stale socket file
 * left by a crash is replaced; a live one is an error.
 */
int
httpd_listen_unix(struct httpd *h, const char *path, char **cause)
{
	struct httpd_listener	*l;
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd, probe;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "%s: socket path too long", path);
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0) {
			close(probe);
			xasprintf(cause, "%s: another ferryd is listening",
			    path);
			return (-1);
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "%s: socket: %s", path, strerror(errno));
		return (-1);
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		xasprintf(cause, "%s: bind: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	umask(old);
	if (chmod(path, 0660) == -1 || listen(fd, 128) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	if ((l = httpd_add_listener(h, fd, 1)) == NULL) {
		close(fd);
		xasprintf(cause, "%s: cannot create listener", path);
		return (-1);
	}
	l->unix_path = xstrdup(path);
	return (0);
}

/* Close every listener (shutdown); open connections carry on. */
void
httpd_stop_listening(struct httpd *h)
{
	struct httpd_listener	*l;

	while ((l = LIST_FIRST(&h->listeners)) != NULL) {
		LIST_REMOVE(l, entry);
		evconnlistener_free(l->lev);
		if (l->unix_path != NULL) {
			unlink(l->unix_path);
			free(l->unix_path);
		}
		free(l);
	}
}

/*
 * Whether anything is still owed to a client: requests handed over whose
 * replies have not been sent, or replies not yet written out.
 */
int
httpd_pending(struct httpd *h)
{
	struct httpd_conn	*c;

	if (h->pending > 0)
		return (1);
	LIST_FOREACH(c, &h->conns, entry) {
		if (c->state == HTTPD_CLOSING || c->state == HTTPD_READ_BODY ||
		    evbuffer_get_length(c->in) > 0 ||
		    evbuffer_get_length(c->out) > 0)
			return (1);
	}
	return (0);
}

void
httpd_free(struct httpd *h)
{
	struct httpd_conn	*c;

	if (h == NULL)
		return;
	httpd_stop_listening(h);
	while ((c = LIST_FIRST(&h->conns)) != NULL)
		httpd_conn_free(c);
	while (LIST_FIRST(&h->lingering) != NULL)
		httpd_linger_free(LIST_FIRST(&h->lingering));
	free(h);
}

const char *
httpd_req_method(const struct httpd_req *req)
{
	return (req->method);
}

const char *
httpd_req_path(const struct httpd_req *req)
{
	return (req->path);
}

const char *
httpd_req_query(const struct httpd_req *req)
{
	return (req->query);
}

const struct headers *
httpd_req_headers(const struct httpd_req *req)
{
	return (&req->headers);
}

const char *
httpd_req_body(const struct httpd_req *req, size_t *len)
{
	*len = req->bodylen;
	return (req->body != NULL ? req->body : "");
}

/* The uid of the process on the other end of the UNIX socket, or -1. */
long long
httpd_req_uid(const struct httpd_req *req)
{
	return (req->trusted ? req->uid : -1);
}

int
httpd_req_trusted(const struct httpd_req *req)
{
	return (req->trusted);
}

const char *
httpd_req_peer(const struct httpd_req *req)
{
	return (req->peer);
}

/* The decoded value of query parameter name, or NULL. Caller frees. */
char *
httpd_query_get(const struct httpd_req *req, const char *name)
{
	const char	*p, *amp, *eq;
	size_t		 nlen = strlen(name), len;

	for (p = req->query; p != NULL && *p != '\0'; p = amp + 1) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    strncmp(p, name, nlen) == 0)
			return (url_decode(eq + 1, (size_t)(amp - eq - 1),
			    &len));
		if (eq == NULL && (size_t)(amp - p) == nlen &&
		    strncmp(p, name, nlen) == 0)
			return (xstrdup(""));
		if (*amp == '\0')
			break;
	}
	return (NULL);
}

/*
 * Answer a request handed to the callback and free it. If its connection
 * went away meanwhile, the reply is dropped.
 */
void
httpd_reply(struct httpd_req *req, int code, const char *ctype,
    const char *body, size_t len)
{
	struct httpd_conn	*c = req->conn;

	req->httpd->pending--;
	if (c != NULL) {
		c->req = NULL;
		httpd_send(c, code, ctype, body, len, req->keepalive,
		    !req->http11);
	}
	httpd_req_free(req);
}

/* Answer with a JSON body; takes ownership of body. */
void
httpd_reply_json(struct httpd_req *req, int code, json_t *body)
{
	char	*s;
	size_t	 len;

	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL) {
		/* Only a bug can get here; the client still gets an answer. */
		log_warnx("httpd: reply not serializable");
		code = 500;
		s = xstrdup("{\"error\":\"internal error\"}");
	}
	len = strlen(s);
	s = xreallocarray(s, len + 2, 1);
	s[len++] = '\n';
	s[len] = '\0';
	httpd_reply(req, code, "application/json", s, len);
	free(s);
}

/* Answer with {"error": message}; any bytes are escaped safely. */
void
httpd_reply_error(struct httpd_req *req, int code, const char *fmt, ...)
{
	va_list		 ap;
	struct buf	 b;
	char		*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	buf_init(&b);
	buf_addstr(&b, "{\"error\":");
	buf_add_json_str(&b, msg);
	buf_addstr(&b, "}\n");
	free(msg);
	httpd_reply(req, code, "application/json", b.data, b.len);
	buf_free(&b);
}

/*
 * Begin a streamed reply: the head now, the body in pieces with
 * httpd_stream_write (chunked for HTTP/1.1; for HTTP/1.0 the connection's
 * end ends the body), finished by httpd_stream_end, which frees req.
 * Returns -1 when the client has gone away (then call httpd_stream_end).
 */
int
httpd_stream_begin(struct httpd_req *req, int code, const char *ctype)
{
	struct httpd_conn	*c = req->conn;

	req->streaming = 1;
	if (c == NULL)
		return (-1);
	if (!req->http11)
		req->keepalive = 0;
	evbuffer_add_printf(c->out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s\r\n", code, httpd_reason(code), ctype,
	    req->http11 ? "Transfer-Encoding: chunked\r\n" :
	    "Connection: close\r\n");
	httpd_conn_flush(c);
	return (0);
}

/* Send a piece of a streamed reply; -1 when the client has gone away. */
int
httpd_stream_write(struct httpd_req *req, const char *data, size_t len)
{
	struct httpd_conn	*c = req->conn;

	if (c == NULL)
		return (-1);
	if (len == 0)
		return (0);
	if (req->http11)
		evbuffer_add_printf(c->out, "%zx\r\n", len);
	evbuffer_add(c->out, data, len);
	if (req->http11)
		evbuffer_add(c->out, "\r\n", 2);
	httpd_conn_flush(c);
	return (0);
}

/* Bytes of a streamed reply not yet taken by the client (back-pressure). */
size_t
httpd_stream_backlog(const struct httpd_req *req)
{
	return (req->conn != NULL ? evbuffer_get_length(req->conn->out) : 0);
}

/* Finish a streamed reply and free req. */
void
httpd_stream_end(struct httpd_req *req)
{
	struct httpd_conn	*c = req->conn;

	req->httpd->pending--;
	if (c != NULL) {
		c->req = NULL;
		if (req->http11)
			evbuffer_add(c->out, "0\r\n\r\n", 5);
		httpd_conn_next(c, req->keepalive);
	}
	httpd_req_free(req);
}
