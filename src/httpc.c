/*
 * httpc.c: outbound HTTP on a libcurl multi handle driven by libevent.
 * libcurl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and
 * when to call it back (CURLMOPT_TIMERFUNCTION); we turn both into
 * libevent events and hand their firing to curl_multi_socket_action().
 *
 * Completed transfers are first collected from curl_multi_info_read()
 * into a list and only then reported one by one, so that a callback can
 * start requests (curl_multi_add_handle) or cancel others (which may be
 * running, or done and not yet reported) without upsetting the loop over
 * libcurl's message queue.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "httpc.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

/* A socket libcurl asked us to watch. */
struct httpc_sock {
	TAILQ_ENTRY(httpc_sock)	 entry;
	struct httpc		*h;
	curl_socket_t		 fd;
	struct event		*ev;
};

struct httpc_req {
	TAILQ_ENTRY(httpc_req)	 entry;
	struct httpc		*h;
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*reqbody;
	size_t			 max_bytes;
	int			 over;		/* body went over the cap */
	int			 done;		/* on h->done, not reported */
	int			 cancelled;
	CURLcode		 result;
	char			 errbuf[CURL_ERROR_SIZE];
	struct buf		 body;
	struct httpc_response	 resp;
	int64_t			 start;
	httpc_cb		 cb;
	void			*arg;
};

TAILQ_HEAD(httpc_reqs, httpc_req);

struct httpc {
	struct event_base		*base;
	CURLM				*multi;
	struct event			*timer;
	struct httpc_reqs		 running;
	struct httpc_reqs		 done;
	TAILQ_HEAD(, httpc_sock)	 socks;
	size_t				 n;
};

static void	httpc_check(struct httpc *);

static void
httpc_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc	*h = arg;
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	httpc_check(h);
}

static void
httpc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc	*h = arg;
	int		 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	httpc_check(h);
}

/* libcurl wants a socket watched for what, or no longer watched. */
static int
httpc_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct httpc		*h = userp;
	struct httpc_sock	*hs = socketp;
	short			 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			TAILQ_REMOVE(&h->socks, hs, entry);
			free(hs);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return (0);
	}
	if (hs == NULL) {
		hs = xcalloc(1, sizeof *hs);
		hs->h = h;
		hs->fd = fd;
		TAILQ_INSERT_TAIL(&h->socks, hs, entry);
		curl_multi_assign(h->multi, fd, hs);
	} else
		event_free(hs->ev);
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if ((hs->ev = event_new(h->base, fd, kind, httpc_event_cb, h)) ==
	    NULL || event_add(hs->ev, NULL) == -1)
		fatalx("httpc: cannot watch a socket");
	return (0);
}

/* libcurl wants to be called after timeout_ms (-1: never). */
static int
httpc_timer_set_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct httpc	*h = userp;
	struct timeval	 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return (0);
}

struct httpc *
httpc_new(struct event_base *base, char **cause)
{
	struct httpc	*h;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	TAILQ_INIT(&h->running);
	TAILQ_INIT(&h->done);
	TAILQ_INIT(&h->socks);
	if ((h->multi = curl_multi_init()) == NULL) {
		xasprintf(cause, "curl_multi_init failed");
		free(h);
		return (NULL);
	}
	if ((h->timer = evtimer_new(base, httpc_timer_cb, h)) == NULL) {
		xasprintf(cause, "evtimer_new failed");
		curl_multi_cleanup(h->multi);
		free(h);
		return (NULL);
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, httpc_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
	    httpc_timer_set_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return (h);
}

/* At most n connections to one host at a time (0: no limit). */
void
httpc_set_host_limit(struct httpc *h, long n)
{
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    n > 0 ? n : 0L);
}

struct event_base *
httpc_base(const struct httpc *h)
{
	return (h->base);
}

size_t
httpc_pending(const struct httpc *h)
{
	return (h->n);
}

static void
httpc_resp_clear(struct httpc_response *resp)
{
	size_t	i;

	for (i = 0; i < resp->nheaders; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->nheaders = 0;
	free(resp->error);
	free(resp->body);
	free(resp->url);
}

/* Forget a request: off its list, out of the multi handle, freed. */
static void
httpc_req_free(struct httpc_req *r)
{
	struct httpc	*h = r->h;

	TAILQ_REMOVE(r->done ? &h->done : &h->running, r, entry);
	h->n--;
	curl_multi_remove_handle(h->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->reqbody);
	buf_free(&r->body);
	httpc_resp_clear(&r->resp);
	free(r);
}

void
httpc_free(struct httpc *h)
{
	struct httpc_req	*r;
	struct httpc_sock	*hs;

	if (h == NULL)
		return;
	while ((r = TAILQ_FIRST(&h->running)) != NULL)
		httpc_req_free(r);
	while ((r = TAILQ_FIRST(&h->done)) != NULL)
		httpc_req_free(r);
	curl_multi_cleanup(h->multi);
	/* Sockets libcurl did not tell us to forget before it closed them. */
	while ((hs = TAILQ_FIRST(&h->socks)) != NULL) {
		TAILQ_REMOVE(&h->socks, hs, entry);
		event_free(hs->ev);
		free(hs);
	}
	event_free(h->timer);
	free(h);
}

static size_t
httpc_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_req	*r = arg;

	if (r->body.len + size * n > r->max_bytes) {
		r->over = 1;
		return (0);
	}
	buf_add(&r->body, p, size * n);
	return (size * n);
}

/* Keep every header; a new status line (redirect, 1xx) starts afresh. */
static size_t
httpc_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_req	*r = arg;
	struct httpc_response	*resp = &r->resp;
	struct httpc_header	*hdr;
	size_t			 len = size * n, nlen, i;
	const char		*v, *colon;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		for (i = 0; i < resp->nheaders; i++) {
			free(resp->headers[i].name);
			free(resp->headers[i].value);
		}
		resp->nheaders = 0;
		return (len);
	}
	if ((colon = memchr(p, ':', len)) == NULL || colon == p)
		return (len);
	nlen = colon - p;
	v = colon + 1;
	while (v < p + len && (*v == ' ' || *v == '\t'))
		v++;
	len = p + len - v;
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (resp->nheaders >= 200)		/* enough for any registry */
		return (size * n);
	resp->headers = xreallocarray(resp->headers, resp->nheaders + 1,
	    sizeof *resp->headers);
	hdr = &resp->headers[resp->nheaders++];
	hdr->name = xstrndup(p, nlen);
	hdr->value = xstrndup(v, len);
	return (size * n);
}

/* The first value of header name (any case), or NULL. */
const char *
httpc_header(const struct httpc_response *resp, const char *name)
{
	size_t	i;

	for (i = 0; i < resp->nheaders; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return (resp->headers[i].value);
	}
	return (NULL);
}

static int
httpc_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return (1);
	default:
		return (0);
	}
}

/* Fill in the response of a finished transfer. */
static void
httpc_finish(struct httpc_req *r)
{
	struct httpc_response	*resp = &r->resp;
	char			*url = NULL;

	resp->elapsed_ms = (long)(now_ms() - r->start);
	if (curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url) ==
	    CURLE_OK && url != NULL)
		resp->url = xstrdup(url);
	if (r->result == CURLE_OK) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
		    &resp->status);
	} else if (r->over) {
		resp->status = 0;
		xasprintf(&resp->error, "response body over %zu bytes",
		    r->max_bytes);
	} else {
		resp->status = 0;
		resp->transient = httpc_transient(r->result);
		resp->error = xstrdup(r->errbuf[0] != '\0' ? r->errbuf :
		    curl_easy_strerror(r->result));
	}
	buf_add(&r->body, "", 0);
	resp->body = r->body.data;
	resp->len = r->body.len;
	buf_init(&r->body);
}

/*
 * Report what libcurl has finished. Collect first, then call back: see the
 * comment at the top of the file.
 */
static void
httpc_check(struct httpc *h)
{
	struct httpc_req	*r;
	CURLMsg			*m;
	int			 left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r == NULL || r->done)
			continue;
		r->result = m->data.result;
		TAILQ_REMOVE(&h->running, r, entry);
		r->done = 1;
		TAILQ_INSERT_TAIL(&h->done, r, entry);
	}
	while ((r = TAILQ_FIRST(&h->done)) != NULL) {
		if (!r->cancelled) {
			httpc_finish(r);
			r->cancelled = 1;	/* cancel from the callback: no-op */
			r->cb(&r->resp, r->arg);
		}
		httpc_req_free(r);
	}
}

static int
httpc_method_ok(const char *m)
{
	return (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
	    strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0);
}

/*
 * Start a request. Returns its handle, or NULL with *cause (the callback
 * is then never called) for a bad method or URL.
 */
struct httpc_req *
httpc_start(struct httpc *h, const struct httpc_request *rq, httpc_cb cb,
    void *arg, char **cause)
{
	struct httpc_req	*r;
	const char *const	*hp;
	const char		*method = rq->method != NULL ? rq->method : "GET";
	int			 has_ctype = 0;
	CURL			*e;

	if (!httpc_method_ok(method)) {
		xasprintf(cause, "httpc: unsupported method %s", method);
		return (NULL);
	}
	if (rq->url == NULL || (strncasecmp(rq->url, "http://", 7) != 0 &&
	    strncasecmp(rq->url, "https://", 8) != 0)) {
		xasprintf(cause, "httpc: not an http(s) URL");
		return (NULL);
	}
	if ((e = curl_easy_init()) == NULL) {
		xasprintf(cause, "curl_easy_init failed");
		return (NULL);
	}
	r = xcalloc(1, sizeof *r);
	r->h = h;
	r->easy = e;
	r->cb = cb;
	r->arg = arg;
	r->max_bytes = rq->max_bytes > 0 ? rq->max_bytes : HTTPC_MAX_BYTES;
	r->start = now_ms();
	buf_init(&r->body);

	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms :
	    (long)HTTPC_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ?
	    rq->timeout_ms : (long)HTTPC_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ferry/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, httpc_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, httpc_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	if (rq->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (rq->cafile != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, rq->cafile);
	if (rq->follow) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)HTTPC_MAX_REDIRS);
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}

	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	for (hp = rq->headers; hp != NULL && *hp != NULL; hp++) {
		if (strncasecmp(*hp, "Content-Type:", 13) == 0)
			has_ctype = 1;
		r->hdrs = curl_slist_append(r->hdrs, *hp);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else {
		/* No default form Content-Type from libcurl. */
		if (!has_ctype)
			r->hdrs = curl_slist_append(r->hdrs, "Content-Type:");
		r->reqbody = xmalloc(rq->bodylen + 1);
		if (rq->bodylen > 0)
			memcpy(r->reqbody, rq->body, rq->bodylen);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->reqbody);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->bodylen);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);

	TAILQ_INSERT_TAIL(&h->running, r, entry);
	h->n++;
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		xasprintf(cause, "httpc: curl_multi_add_handle failed");
		httpc_req_free(r);
		return (NULL);
	}
	return (r);
}

/*
 * Cancel a pending request; its callback is not called. A no-op for the
 * request whose callback is running.
 */
void
httpc_cancel(struct httpc *h, struct httpc_req *r)
{
	(void)h;
	if (r == NULL || r->cancelled)
		return;
	if (r->done) {
		r->cancelled = 1;	/* httpc_check frees it */
		return;
	}
	httpc_req_free(r);
}
