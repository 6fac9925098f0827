/*
 * ocia.c: the OCI distribution API on httpc, for the registry watch. Each
 * operation is a small state machine:
 *
 *   send ──▶ [QUEUED: over the registry's limit] ──▶ HTTP ──▶ response
 *     ▲  └─▶ [TOKEN: waiting for a token fetch] ─┘               │
 *     │                                                           │
 *     ├──── 401 with a challenge (once): token or Basic ◀────────┤
 *     ├──── BACKOFF timer: 429, 5xx, transport error ◀───────────┤
 *     └──── next page (tags, Link header) ◀──────────────────────┤
 *                                                                 ▼
 *                            DONE: the result, reported from a zero timer
 *
 * Results are always reported from their own timer event, never from
 * inside an ocia_* call or an httpc callback, so that a callback may do
 * anything but free its ocia. Tokens are cached per scope on the ocia;
 * operations needing a token that is being fetched wait for that fetch.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "httpc.h"
#include "log.h"
#include "oci_proto.h"
#include "ocia.h"
#include "util.h"
#include "xmalloc.h"

#define OCIA_RETRIES		3
#define OCIA_DELAY_MS		500
#define OCIA_MAX_DELAY_MS	10000
#define OCIA_CONNECT_MS		10000
#define OCIA_TIMEOUT_MS		60000

enum ocia_kind {
	OCIA_TAGS,
	OCIA_HEAD,
	OCIA_GET,
	OCIA_BLOB
};

enum ocia_state {
	OCIA_SENDING,		/* between states, inside ocia_send */
	OCIA_QUEUED,		/* on a->queue, over the limit */
	OCIA_TOKEN,		/* on a token's waiters */
	OCIA_HTTP,		/* op->req in flight */
	OCIA_BACKOFF,		/* op->timer set for a retry */
	OCIA_DONE		/* op->timer set to report */
};

struct ocia_token;

struct ocia_op {
	TAILQ_ENTRY(ocia_op)	 entry;		/* a->ops */
	TAILQ_ENTRY(ocia_op)	 wentry;	/* a->queue or t->waiters */
	struct ocia		*a;
	enum ocia_kind		 kind;
	enum ocia_state		 state;
	const char		*method;
	char			*repo;
	char			*ref;
	char			*etag;		/* If-None-Match, tags */
	char			*scope;
	char			*url;
	size_t			 max_bytes;
	int			 tries;		/* of the current request */
	int			 reauth;	/* challenge answered once */
	int			 page;		/* tags pages fetched */
	unsigned		 sent_gen;	/* token sent, 0: none */
	int			 in_cb;
	struct httpc_req	*req;
	struct ocia_token	*token;		/* the one waited for */
	struct event		*timer;
	struct ocia_result	 res;
	ocia_cb			 cb;
	void			*arg;
};

TAILQ_HEAD(ocia_ops, ocia_op);

struct ocia_token {
	TAILQ_ENTRY(ocia_token)	 entry;
	char			*key;		/* the scope it serves */
	char			*token;
	int64_t			 expires;
	unsigned		 gen;		/* counts tokens stored */
	struct httpc_req	*req;		/* a fetch in flight */
	struct ocia		*a;
	struct ocia_ops		 waiters;
};

struct ocia {
	struct httpc			*h;
	struct event_base		*base;
	char				*registry;
	char				*base_url;
	int				 insecure;
	char				*username;
	char				*password;
	char				*realm;
	char				*service;
	char				*cafile;
	int				 limit;
	int				 inflight;
	int				 page_size;
	int				 retries;
	long				 delay_ms;
	long				 max_delay_ms;
	long				 connect_ms;
	long				 timeout_ms;
	int				 dying;
	struct ocia_ops			 ops;
	struct ocia_ops			 queue;
	TAILQ_HEAD(, ocia_token)	 tokens;
};

static void	ocia_send(struct ocia_op *);
static void	ocia_kick(struct ocia *);

struct ocia *
ocia_new(struct httpc *h, const char *registry, const struct oci_auth *auth,
    int insecure, char **cause)
{
	struct ocia	*a;

	if (!oci_proto_registry_is_valid(registry)) {
		xasprintf(cause, "invalid registry \"%s\"", registry);
		return (NULL);
	}
	a = xcalloc(1, sizeof *a);
	a->h = h;
	a->base = httpc_base(h);
	a->registry = xstrdup(registry);
	xasprintf(&a->base_url, "%s://%s", insecure ? "http" : "https",
	    registry);
	a->insecure = insecure;
	a->retries = OCIA_RETRIES;
	a->delay_ms = OCIA_DELAY_MS;
	a->max_delay_ms = OCIA_MAX_DELAY_MS;
	a->connect_ms = OCIA_CONNECT_MS;
	a->timeout_ms = OCIA_TIMEOUT_MS;
	TAILQ_INIT(&a->ops);
	TAILQ_INIT(&a->queue);
	TAILQ_INIT(&a->tokens);
	if (auth != NULL && auth->username != NULL) {
		a->username = xstrdup(auth->username);
		a->password = xstrdup(auth->password != NULL ?
		    auth->password : "");
	} else if (auth != NULL && auth->docker_config != NULL) {
		if (oci_proto_docker_config(auth->docker_config, registry,
		    &a->username, &a->password, cause) == -1) {
			ocia_free(a);
			return (NULL);
		}
	}
	return (a);
}

void
ocia_set_limit(struct ocia *a, int n)
{
	a->limit = n > 0 ? n : 0;
	ocia_kick(a);
}

void
ocia_set_page_size(struct ocia *a, int n)
{
	a->page_size = n > 0 ? n : 0;
}

void
ocia_set_retry(struct ocia *a, int retries, long delay_ms, long max_delay_ms)
{
	a->retries = retries >= 0 ? retries : 0;
	a->delay_ms = delay_ms > 0 ? delay_ms : 1;
	a->max_delay_ms = max_delay_ms > 0 ? max_delay_ms : 1;
}

void
ocia_set_timeout(struct ocia *a, long connect_ms, long total_ms)
{
	a->connect_ms = connect_ms > 0 ? connect_ms : OCIA_CONNECT_MS;
	a->timeout_ms = total_ms > 0 ? total_ms : OCIA_TIMEOUT_MS;
}

void
ocia_set_cafile(struct ocia *a, const char *path)
{
	free(a->cafile);
	a->cafile = path != NULL ? xstrdup(path) : NULL;
}

size_t
ocia_pending(const struct ocia *a)
{
	const struct ocia_op	*op;
	size_t			 n = 0;

	TAILQ_FOREACH(op, &a->ops, entry)
		n++;
	return (n);
}

static void
ocia_result_clear(struct ocia_result *res)
{
	free(res->error);
	free(res->media_type);
	free(res->body);
	oci_tags_free(res->tags, res->ntags);
	free(res->etag);
	memset(res, 0, sizeof *res);
}

/* Take op out of whatever it waits on; it holds nothing afterwards. */
static void
ocia_detach(struct ocia_op *op)
{
	struct ocia	*a = op->a;

	switch (op->state) {
	case OCIA_QUEUED:
		TAILQ_REMOVE(&a->queue, op, wentry);
		break;
	case OCIA_TOKEN:
		TAILQ_REMOVE(&op->token->waiters, op, wentry);
		op->token = NULL;
		break;
	case OCIA_HTTP:
		httpc_cancel(a->h, op->req);
		op->req = NULL;
		a->inflight--;
		break;
	case OCIA_BACKOFF:
	case OCIA_DONE:
		evtimer_del(op->timer);
		break;
	case OCIA_SENDING:
		break;
	}
	op->state = OCIA_SENDING;
}

static void
ocia_op_free(struct ocia_op *op)
{
	TAILQ_REMOVE(&op->a->ops, op, entry);
	event_free(op->timer);
	ocia_result_clear(&op->res);
	free(op->repo);
	free(op->ref);
	free(op->etag);
	free(op->scope);
	free(op->url);
	free(op);
}

void
ocia_cancel(struct ocia *a, struct ocia_op *op)
{
	if (op == NULL || op->in_cb)
		return;
	ocia_detach(op);
	ocia_op_free(op);
	ocia_kick(a);
}

void
ocia_free(struct ocia *a)
{
	struct ocia_op		*op;
	struct ocia_token	*t;

	if (a == NULL)
		return;
	a->dying = 1;
	while ((op = TAILQ_FIRST(&a->ops)) != NULL) {
		ocia_detach(op);
		ocia_op_free(op);
	}
	while ((t = TAILQ_FIRST(&a->tokens)) != NULL) {
		TAILQ_REMOVE(&a->tokens, t, entry);
		if (t->req != NULL)
			httpc_cancel(a->h, t->req);
		free(t->key);
		if (t->token != NULL)
			freezero_str(t->token);
		free(t);
	}
	if (a->username != NULL)
		freezero_str(a->username);
	if (a->password != NULL)
		freezero_str(a->password);
	free(a->realm);
	free(a->service);
	free(a->cafile);
	free(a->registry);
	free(a->base_url);
	free(a);
}

/* Report from the op's timer: the callback runs on a clean stack. */
static void
ocia_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ocia_op	*op = arg;
	struct ocia	*a = op->a;

	(void)fd;
	(void)what;
	if (op->state == OCIA_BACKOFF) {
		op->state = OCIA_SENDING;
		ocia_send(op);
		return;
	}
	op->in_cb = 1;
	op->cb(&op->res, op->arg);
	ocia_op_free(op);
	ocia_kick(a);
}

/* Finish op: schedule its report. */
static void
ocia_done(struct ocia_op *op)
{
	struct timeval	tv = { 0, 0 };

	op->state = OCIA_DONE;
	evtimer_add(op->timer, &tv);
}

/* Finish op with an error; takes ownership of msg. */
static void
ocia_fail(struct ocia_op *op, long status, char *msg)
{
	char	*s;
	int	 requests = op->res.requests;

	if (op->tries > 1) {
		xasprintf(&s, "%s (after %d tries)", msg, op->tries);
		free(msg);
		msg = s;
	}
	ocia_result_clear(&op->res);		/* nothing half-done */
	op->res.requests = requests;
	op->res.error = msg;
	op->res.status = status;
	ocia_done(op);
}

/* Let queued operations go while there is room under the limit. */
static void
ocia_kick(struct ocia *a)
{
	struct ocia_op	*op;

	while (!a->dying && (a->limit == 0 || a->inflight < a->limit) &&
	    (op = TAILQ_FIRST(&a->queue)) != NULL) {
		TAILQ_REMOVE(&a->queue, op, wentry);
		op->state = OCIA_SENDING;
		ocia_send(op);
	}
}

static struct ocia_token *
ocia_token_get(struct ocia *a, const char *key)
{
	struct ocia_token	*t;

	TAILQ_FOREACH(t, &a->tokens, entry) {
		if (strcmp(t->key, key) == 0)
			return (t);
	}
	t = xcalloc(1, sizeof *t);
	t->a = a;
	t->key = xstrdup(key);
	TAILQ_INIT(&t->waiters);
	TAILQ_INSERT_TAIL(&a->tokens, t, entry);
	return (t);
}

static void
ocia_token_drop(struct ocia_token *t)
{
	if (t->token != NULL)
		freezero_str(t->token);
	t->token = NULL;
	t->expires = 0;
}

/* A token fetch is over: wake its waiters with the token or the error. */
static void
ocia_token_cb(struct httpc_response *resp, void *arg)
{
	struct ocia_token	*t = arg;
	struct ocia		*a = t->a;
	struct ocia_op		*op;
	char			*err = NULL, *path, *tok;
	long long		 ttl;

	t->req = NULL;
	path = oci_proto_url_path(a->realm != NULL ? a->realm : "");
	if (resp->status == 0)
		xasprintf(&err, "registry: token %s: %s", path, resp->error);
	else if (resp->status != 200)
		xasprintf(&err, "registry: token %s: %ld%s", path,
		    resp->status, resp->status == 401 || resp->status == 403 ?
		    (a->username != NULL ? " (credentials rejected)" :
		    " (no credentials given)") : "");
	else if (oci_proto_token_parse(resp->body, resp->len, &tok, &ttl,
	    &err) == 0) {
		ocia_token_drop(t);
		t->token = tok;
		t->gen++;
		t->expires = now_ms() + (ttl - OCI_PROTO_TOKEN_MARGIN) * 1000;
		log_debug("registry: %s: token for %s, %lld s", a->registry,
		    t->key, ttl);
	}
	free(path);
	while ((op = TAILQ_FIRST(&t->waiters)) != NULL) {
		TAILQ_REMOVE(&t->waiters, op, wentry);
		op->token = NULL;
		op->state = OCIA_SENDING;
		if (err != NULL)
			ocia_fail(op, resp->status, xstrdup(err));
		else
			ocia_send(op);
	}
	free(err);
}

/*
 * Fetch a token for t (asking the realm for scope) unless a fetch is in
 * flight, and make op wait for it. Returns -1 with op failed.
 */
static int
ocia_token_wait(struct ocia_op *op, struct ocia_token *t, const char *scope)
{
	struct ocia		*a = op->a;
	struct httpc_request	 rq;
	const char		*hdrs[2] = { NULL, NULL };
	char			*url, *cause = NULL, *auth = NULL;

	if (t->req == NULL) {
		url = oci_proto_token_url(a->realm, a->service, scope,
		    a->insecure, &cause);
		if (url == NULL) {
			ocia_fail(op, 0, cause);
			return (-1);
		}
		if (a->username != NULL) {
			auth = oci_proto_basic(a->username, a->password);
			xasprintf((char **)&hdrs[0], "Authorization: %s",
			    auth);
			freezero_str(auth);
		}
		memset(&rq, 0, sizeof rq);
		rq.method = "GET";
		rq.url = url;
		rq.headers = hdrs;
		rq.connect_timeout_ms = a->connect_ms;
		rq.timeout_ms = a->timeout_ms;
		rq.max_bytes = 1024 * 1024;
		rq.insecure = a->insecure;
		rq.cafile = a->cafile;
		t->req = httpc_start(a->h, &rq, ocia_token_cb, t, &cause);
		free(url);
		if (hdrs[0] != NULL)
			freezero_str((char *)hdrs[0]);
		if (t->req == NULL) {
			ocia_fail(op, 0, cause);
			return (-1);
		}
		op->res.requests++;
	}
	op->token = t;
	op->state = OCIA_TOKEN;
	TAILQ_INSERT_TAIL(&t->waiters, op, wentry);
	return (0);
}

static void	ocia_http_cb(struct httpc_response *, void *);

/*
 * Send op's current request, or park it: waiting for a token, or queued
 * behind the registry's limit.
 */
static void
ocia_send(struct ocia_op *op)
{
	struct ocia		*a = op->a;
	struct ocia_token	*t = NULL;
	struct httpc_request	 rq;
	const char		*hdrs[4];
	char			*auth = NULL, *accept = NULL, *inm = NULL;
	char			*basic, *cause = NULL, *path;
	size_t			 n = 0;

	if (a->realm != NULL) {
		t = ocia_token_get(a, op->scope);
		if (t->req != NULL || t->token == NULL ||
		    t->expires <= now_ms()) {
			ocia_token_wait(op, t, op->scope);
			return;
		}
	}
	if (a->limit > 0 && a->inflight >= a->limit) {
		op->state = OCIA_QUEUED;
		TAILQ_INSERT_TAIL(&a->queue, op, wentry);
		return;
	}
	op->sent_gen = 0;
	if (t != NULL) {
		xasprintf(&auth, "Authorization: Bearer %s", t->token);
		op->sent_gen = t->gen;
	} else if (a->username != NULL) {
		basic = oci_proto_basic(a->username, a->password);
		xasprintf(&auth, "Authorization: %s", basic);
		freezero_str(basic);
	}
	if (auth != NULL)
		hdrs[n++] = auth;
	if (op->kind == OCIA_HEAD || op->kind == OCIA_GET) {
		accept = xstrdup("Accept: " OCI_PROTO_MANIFEST_ACCEPT);
		hdrs[n++] = accept;
	}
	if (op->kind == OCIA_TAGS && op->page == 0 && op->etag != NULL) {
		xasprintf(&inm, "If-None-Match: %s", op->etag);
		hdrs[n++] = inm;
	}
	hdrs[n] = NULL;

	memset(&rq, 0, sizeof rq);
	rq.method = op->method;
	rq.url = op->url;
	rq.headers = hdrs;
	rq.connect_timeout_ms = a->connect_ms;
	rq.timeout_ms = a->timeout_ms;
	rq.max_bytes = op->max_bytes;
	rq.insecure = a->insecure;
	rq.cafile = a->cafile;
	rq.follow = op->kind == OCIA_BLOB;
	path = oci_proto_url_path(op->url);
	log_debug("registry: %s: %s %s", a->registry, op->method, path);
	free(path);
	op->req = httpc_start(a->h, &rq, ocia_http_cb, op, &cause);
	if (auth != NULL)
		freezero_str(auth);
	free(accept);
	free(inm);
	if (op->req == NULL) {
		ocia_fail(op, 0, cause);
		return;
	}
	op->state = OCIA_HTTP;
	op->tries++;
	op->res.requests++;
	a->inflight++;
}

/* Retry op after a backoff if it has tries left; 0 if it will. */
static int
ocia_retry(struct ocia_op *op, long retry_after)
{
	struct ocia	*a = op->a;
	struct timeval	 tv;
	long		 delay;
	int		 shift;

	if (op->tries > a->retries)
		return (-1);
	shift = op->tries - 1 < 20 ? op->tries - 1 : 20;
	delay = a->delay_ms << shift;
	if (retry_after >= 0)
		delay = retry_after * 1000;
	if (delay > a->max_delay_ms)
		delay = a->max_delay_ms;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	op->state = OCIA_BACKOFF;
	evtimer_add(op->timer, &tv);
	log_debug("registry: %s: retrying %s in %ld ms", a->registry,
	    op->url, delay);
	return (0);
}

/* Answer a 401 challenge once: 0 when op goes on (re-sent or waiting). */
static int
ocia_challenge(struct ocia_op *op, const char *hdr)
{
	struct ocia			*a = op->a;
	struct oci_proto_challenge	 ch;
	struct ocia_token		*t;
	int				 rc = -1;

	if (op->reauth || hdr == NULL)
		return (-1);
	if (oci_proto_challenge_parse(hdr, &ch) == -1) {
		oci_proto_challenge_clear(&ch);
		return (-1);
	}
	op->reauth = 1;
	if (ch.scheme == OCI_PROTO_BEARER) {
		free(a->realm);
		free(a->service);
		a->realm = ch.realm;
		a->service = ch.service;
		ch.realm = ch.service = NULL;
		t = ocia_token_get(a, op->scope);
		op->tries--;			/* the auth round is free */
		if (t->req == NULL && t->token != NULL &&
		    t->expires > now_ms() && t->gen != op->sent_gen) {
			/* Sent before another operation got a token. */
			ocia_send(op);
		} else {
			if (t->req == NULL)
				ocia_token_drop(t);	/* it was rejected */
			ocia_token_wait(op, t, ch.scope != NULL ? ch.scope :
			    op->scope);
		}
		rc = 0;
	} else if (ch.scheme == OCI_PROTO_BASIC && a->username != NULL &&
	    a->realm != NULL) {
		free(a->realm);
		a->realm = NULL;
		op->tries--;
		ocia_send(op);
		rc = 0;
	}
	oci_proto_challenge_clear(&ch);
	return (rc);
}

/* A page of tags: append them; the next page's URL or NULL. */
static int
ocia_tags_page(struct ocia_op *op, struct httpc_response *resp, char **next,
    char **cause)
{
	json_t		*root, *arr, *v;
	const char	*link;
	size_t		 i;

	*next = NULL;
	root = json_loadb(resp->body, resp->len, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		xasprintf(cause, "registry: GET /v2/%s/tags/list: not a JSON "
		    "object", op->repo);
		return (-1);
	}
	arr = json_object_get(root, "tags");
	if (arr != NULL && !json_is_null(arr) && !json_is_array(arr)) {
		json_decref(root);
		xasprintf(cause, "registry: GET /v2/%s/tags/list: tags is "
		    "not a list", op->repo);
		return (-1);
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		op->res.tags = xreallocarray(op->res.tags, op->res.ntags + 1,
		    sizeof *op->res.tags);
		op->res.tags[op->res.ntags++] = xstrdup(json_string_value(v));
	}
	json_decref(root);
	if ((link = httpc_header(resp, "Link")) == NULL)
		return (0);
	if ((*next = oci_proto_link_next(op->url, link)) == NULL)
		return (0);
	if (!oci_proto_same_origin(*next, op->a->base_url)) {
		free(*next);
		*next = NULL;
		xasprintf(cause, "registry: GET /v2/%s/tags/list: Link to "
		    "another host", op->repo);
		return (-1);
	}
	return (0);
}

/* A 200 for op: fill in its result. -1 with cause when it is unusable. */
static int
ocia_success(struct ocia_op *op, struct httpc_response *resp, char **cause)
{
	const char	*hdr, *path;
	char		 digest[OCI_DIGEST_LEN];

	path = op->kind == OCIA_BLOB ? "blobs" : "manifests";
	if ((hdr = httpc_header(resp, "Content-Type")) != NULL &&
	    op->kind != OCIA_BLOB)
		op->res.media_type = xstrdup(hdr);
	hdr = httpc_header(resp, "Docker-Content-Digest");
	if (op->kind == OCIA_HEAD) {
		if (hdr != NULL && oci_digest_is_valid(hdr))
			snprintf(op->res.digest, OCI_DIGEST_LEN, "%s", hdr);
		else if (oci_digest_is_valid(op->ref))
			snprintf(op->res.digest, OCI_DIGEST_LEN, "%s",
			    op->ref);
		else {
			xasprintf(cause, "registry: HEAD /v2/%s/manifests/%s: "
			    "no Docker-Content-Digest", op->repo, op->ref);
			return (-1);
		}
		return (0);
	}
	oci_proto_digest_of(resp->body, resp->len, digest);
	if (oci_digest_is_valid(op->ref) && strcmp(op->ref, digest) != 0) {
		xasprintf(cause, "registry: GET /v2/%s/%s/%s: body has digest "
		    "%s", op->repo, path, op->ref, digest);
		return (-1);
	}
	if (op->kind == OCIA_GET && hdr != NULL &&
	    strncmp(hdr, "sha256:", 7) == 0 && strcmp(hdr, digest) != 0) {
		xasprintf(cause, "registry: GET /v2/%s/manifests/%s: "
		    "Docker-Content-Digest %s but the body has %s", op->repo,
		    op->ref, hdr, digest);
		return (-1);
	}
	snprintf(op->res.digest, OCI_DIGEST_LEN, "%s", digest);
	op->res.body = resp->body;
	op->res.len = resp->len;
	resp->body = NULL;
	return (0);
}

static void
ocia_http_cb(struct httpc_response *resp, void *arg)
{
	struct ocia_op	*op = arg;
	struct ocia	*a = op->a;
	const char	*hint = NULL, *etag;
	char		*cause = NULL, *next, *path;

	op->req = NULL;
	op->state = OCIA_SENDING;
	a->inflight--;

	if (resp->status == 0) {
		if (!resp->transient || ocia_retry(op, -1) == -1) {
			path = oci_proto_url_path(op->url);
			xasprintf(&cause, "registry: %s %s: %s", op->method,
			    path, resp->error);
			free(path);
			ocia_fail(op, 0, cause);
		}
		goto out;
	}
	if (resp->status == 401 && ocia_challenge(op,
	    httpc_header(resp, "WWW-Authenticate")) == 0)
		goto out;
	if ((resp->status == 429 || resp->status >= 500) &&
	    ocia_retry(op, oci_proto_retry_after(httpc_header(resp,
	    "Retry-After"))) == 0)
		goto out;

	if (op->kind == OCIA_TAGS && resp->status == 304 && op->page == 0 &&
	    op->etag != NULL) {
		op->res.status = 304;
		op->res.not_modified = 1;
		op->res.etag = xstrdup(op->etag);
		ocia_done(op);
		goto out;
	}
	if (resp->status != 200) {
		if (resp->status == 401 || resp->status == 403)
			hint = a->username != NULL ? " (credentials rejected)" :
			    " (no credentials given)";
		else if (resp->status == 404 && resp->len == 0)
			hint = " (not found)";
		ocia_fail(op, resp->status, oci_proto_error(op->method,
		    op->url, resp->status, resp->body, resp->len, hint));
		goto out;
	}
	op->res.status = 200;
	if (op->kind != OCIA_TAGS) {
		if (ocia_success(op, resp, &cause) == -1)
			ocia_fail(op, 200, cause);
		else
			ocia_done(op);
		goto out;
	}
	if (ocia_tags_page(op, resp, &next, &cause) == -1) {
		ocia_fail(op, 200, cause);
		goto out;
	}
	etag = httpc_header(resp, "ETag");
	if (next == NULL) {
		/* An ETag is only sound for a list that fits in one page. */
		if (op->page == 0 && etag != NULL)
			op->res.etag = xstrdup(etag);
		ocia_done(op);
		goto out;
	}
	if (++op->page >= OCIA_TAGS_PAGES_MAX) {
		free(next);
		ocia_fail(op, 200, xstrdup("registry: too many tag pages"));
		goto out;
	}
	free(op->url);
	op->url = next;
	op->tries = 0;
	op->reauth = 0;
	ocia_send(op);
out:
	ocia_kick(a);
}

/*
 * A new operation. A bad argument fails it at once: its state is then
 * OCIA_DONE and the failure is reported from the loop.
 */
static struct ocia_op *
ocia_op_new(struct ocia *a, enum ocia_kind kind, const char *repo,
    const char *ref, ocia_cb cb, void *arg)
{
	struct ocia_op	*op;
	char		*cause = NULL;

	op = xcalloc(1, sizeof *op);
	op->a = a;
	op->kind = kind;
	op->cb = cb;
	op->arg = arg;
	op->state = OCIA_SENDING;
	op->repo = xstrdup(repo != NULL ? repo : "");
	op->ref = ref != NULL ? xstrdup(ref) : NULL;
	if ((op->timer = evtimer_new(a->base, ocia_timer_cb, op)) == NULL)
		fatalx("ocia: evtimer_new");
	TAILQ_INSERT_TAIL(&a->ops, op, entry);
	op->scope = oci_proto_scope(op->repo, "pull");
	if (kind == OCIA_BLOB) {
		if (oci_proto_ref_check(op->repo, NULL, &cause) == 0 &&
		    (op->ref == NULL || !oci_digest_is_valid(op->ref)))
			xasprintf(&cause, "invalid digest \"%s\"",
			    op->ref != NULL ? op->ref : "");
	} else if (kind != OCIA_TAGS && op->ref == NULL)
		xasprintf(&cause, "no tag or digest given");
	else
		oci_proto_ref_check(op->repo, op->ref, &cause);
	if (cause != NULL)
		ocia_fail(op, 0, cause);
	return (op);
}

struct ocia_op *
ocia_tags_list(struct ocia *a, const char *repo, const char *etag,
    ocia_cb cb, void *arg)
{
	struct ocia_op	*op;

	op = ocia_op_new(a, OCIA_TAGS, repo, NULL, cb, arg);
	if (op->state == OCIA_DONE)
		return (op);
	op->method = "GET";
	op->max_bytes = OCIA_TAGS_PAGE_MAX;
	if (etag != NULL && *etag != '\0' && strpbrk(etag, "\r\n") == NULL)
		op->etag = xstrdup(etag);
	if (a->page_size > 0)
		xasprintf(&op->url, "%s/v2/%s/tags/list?n=%d", a->base_url,
		    repo, a->page_size);
	else
		xasprintf(&op->url, "%s/v2/%s/tags/list", a->base_url, repo);
	ocia_send(op);
	return (op);
}

static struct ocia_op *
ocia_manifest(struct ocia *a, enum ocia_kind kind, const char *repo,
    const char *ref, ocia_cb cb, void *arg)
{
	struct ocia_op	*op;

	op = ocia_op_new(a, kind, repo, ref, cb, arg);
	if (op->state == OCIA_DONE)
		return (op);
	op->method = kind == OCIA_HEAD ? "HEAD" : "GET";
	op->max_bytes = OCIA_MANIFEST_MAX;
	xasprintf(&op->url, "%s/v2/%s/manifests/%s", a->base_url, repo, ref);
	ocia_send(op);
	return (op);
}

struct ocia_op *
ocia_manifest_head(struct ocia *a, const char *repo, const char *ref,
    ocia_cb cb, void *arg)
{
	return (ocia_manifest(a, OCIA_HEAD, repo, ref, cb, arg));
}

struct ocia_op *
ocia_manifest_get(struct ocia *a, const char *repo, const char *ref,
    ocia_cb cb, void *arg)
{
	return (ocia_manifest(a, OCIA_GET, repo, ref, cb, arg));
}

struct ocia_op *
ocia_blob_get(struct ocia *a, const char *repo, const char *digest,
    size_t max_bytes, ocia_cb cb, void *arg)
{
	struct ocia_op	*op;

	op = ocia_op_new(a, OCIA_BLOB, repo, digest, cb, arg);
	if (op->state == OCIA_DONE)
		return (op);
	op->method = "GET";
	op->max_bytes = max_bytes > 0 ? max_bytes : HTTPC_MAX_BYTES;
	xasprintf(&op->url, "%s/v2/%s/blobs/%s", a->base_url, repo, digest);
	ocia_send(op);
	return (op);
}
