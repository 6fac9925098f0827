/*
 * httpd.h: a small HTTP/1.1 server on libevent bufferevents, built for
 * webhooks and a JSON API: bounded headers and bodies, a deadline on every
 * request, a cap on connections, keep-alive, and replies that may be sent
 * later than the callback (after a batched database commit).
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stddef.h>

#include "log.h"

struct event_base;
struct headers;
struct httpd;
struct httpd_req;
struct json_t;

struct httpd_limits {
	size_t	body_bytes;
	size_t	inflight_bytes;	/* all bodies being read or answered */
	int	connections;
	long	timeout_ms;	/* to read a whole request; also idle */
};

/* Called once per complete request; reply now or later, exactly once. */
typedef void (*httpd_cb)(struct httpd_req *, void *);
/* Called with each request head: 0, or an HTTP status and *msg (static). */
typedef int (*httpd_head_cb)(const struct httpd_req *, void *,
    const char **);

struct httpd	*httpd_new(struct event_base *, const struct httpd_limits *,
		     httpd_cb, void *);
void		 httpd_set_limits(struct httpd *, const struct httpd_limits *);
void		 httpd_set_head_cb(struct httpd *, httpd_head_cb);
void		 httpd_set_stopping(struct httpd *);
int		 httpd_listen_tcp(struct httpd *, const char *, char *, size_t,
		     char **);
int		 httpd_listen_unix(struct httpd *, const char *, char **);
void		 httpd_stop_listening(struct httpd *);
int		 httpd_pending(struct httpd *);
void		 httpd_free(struct httpd *);

const char	*httpd_req_method(const struct httpd_req *);
const char	*httpd_req_path(const struct httpd_req *);
const char	*httpd_req_query(const struct httpd_req *);
const struct headers *httpd_req_headers(const struct httpd_req *);
const char	*httpd_req_body(const struct httpd_req *, size_t *);
int		 httpd_req_trusted(const struct httpd_req *);
long long	 httpd_req_uid(const struct httpd_req *);
const char	*httpd_req_peer(const struct httpd_req *);
char		*httpd_query_get(const struct httpd_req *, const char *);

void		 httpd_reply(struct httpd_req *, int, const char *,
		     const char *, size_t);
void		 httpd_reply_json(struct httpd_req *, int, struct json_t *);
void		 httpd_reply_error(struct httpd_req *, int, const char *, ...)
		     printflike(3, 4);
int		 httpd_stream_begin(struct httpd_req *, int, const char *);
int		 httpd_stream_write(struct httpd_req *, const char *, size_t);
size_t		 httpd_stream_backlog(const struct httpd_req *);
void		 httpd_stream_end(struct httpd_req *);

#endif
