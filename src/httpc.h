/*
 * httpc.h: the daemon's asynchronous HTTP client: a libcurl multi handle
 * driven by a libevent loop. One struct httpc per daemon; every outbound
 * request (registries, chat, Kubernetes API) goes through it so that
 * ferryd never blocks on the network.
 */
#ifndef HTTPC_H
#define HTTPC_H

#include <stddef.h>

struct event_base;
struct httpc;
struct httpc_req;

/* Defaults for the zero values of struct httpc_request. */
#define HTTPC_CONNECT_TIMEOUT_MS	10000
#define HTTPC_TIMEOUT_MS		300000
#define HTTPC_MAX_BYTES			(16 * 1024 * 1024)
#define HTTPC_MAX_REDIRS		3

/*
 * What to send. Everything is copied by httpc_start(); the caller may free
 * it as soon as that returns. Zero values mean the defaults above. Only
 * http:// and https:// URLs are accepted. insecure skips TLS certificate
 * and host name verification for https (plain http is always allowed);
 * cafile replaces the system CA bundle. With follow, redirects are followed
 * (at most HTTPC_MAX_REDIRS); a custom Authorization header is not sent to
 * another host (libcurl's rule since 7.58).
 */
struct httpc_request {
	const char		*method;	/* GET HEAD POST PUT PATCH DELETE */
	const char		*url;
	const char *const	*headers;	/* "Name: value", NULL-ended */
	const void		*body;		/* sent when method is not GET/HEAD */
	size_t			 bodylen;
	long			 connect_timeout_ms;
	long			 timeout_ms;	/* the whole exchange */
	size_t			 max_bytes;	/* response body cap */
	int			 insecure;
	const char		*cafile;
	int			 follow;
};

struct httpc_header {
	char	*name;
	char	*value;		/* trimmed */
};

/*
 * What came back. status is 0 when there was no HTTP response (transport
 * error, timeout, body over the cap); error is then a one-line message
 * (libcurl's, or "response body over N bytes"), and NULL otherwise: any
 * HTTP status, 4xx and 5xx included, is a successful exchange. transient
 * is 1 when the error is worth retrying (no connection, timeout, reset,
 * empty reply), 0 for the rest (TLS failure, body over the cap). body is
 * NUL-terminated (never NULL). headers are those of the final response
 * (after redirects and interim 1xx responses), in order.
 */
struct httpc_response {
	long			 status;
	char			*error;
	int			 transient;
	char			*body;
	size_t			 len;
	struct httpc_header	*headers;
	size_t			 nheaders;
	char			*url;		/* the effective URL */
	long			 elapsed_ms;
};

/*
 * Called once when a request is done. The response belongs to httpc and
 * is freed when the callback returns; the callback may take the body by
 * setting body to NULL (it must then free it). The callback may start new
 * requests and cancel other pending ones; it must not call httpc_free().
 */
typedef void (*httpc_cb)(struct httpc_response *, void *);

struct httpc	*httpc_new(struct event_base *, char **);
void		 httpc_free(struct httpc *);
void		 httpc_set_host_limit(struct httpc *, long);
struct httpc_req *httpc_start(struct httpc *, const struct httpc_request *,
		    httpc_cb, void *, char **);
void		 httpc_cancel(struct httpc *, struct httpc_req *);
size_t		 httpc_pending(const struct httpc *);
struct event_base *httpc_base(const struct httpc *);
const char	*httpc_header(const struct httpc_response *, const char *);

#endif
