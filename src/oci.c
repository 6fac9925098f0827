/*
 * oci.c: a client for the OCI distribution API over libcurl's blocking easy
 * interface, for `ferry` child processes and CLI commands (not for
 * ferryd's event loop). One CURL handle per client keeps connections
 * alive between requests.
 *
 * Authentication: with credentials, Basic is sent preemptively until the
 * registry answers 401 with a Bearer challenge; from then on tokens are
 * fetched from the challenge's realm (Basic to the realm when there are
 * credentials), cached per scope until they expire, and the request is
 * retried once. Requests are retried with backoff on 429, 5xx and
 * connection errors (at most OCI_TRIES tries, honouring Retry-After up to
 * OCI_RETRY_MAX seconds), never on other 4xx. Registry error JSON becomes
 * a one-line cause: "registry: PUT /v2/x/manifests/1: 400
 * MANIFEST_INVALID: manifest invalid". Credentials and tokens are never
 * logged nor put into a cause.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "oci.h"
#include "oci_proto.h"
#include "util.h"
#include "xmalloc.h"

#define OCI_TRIES		4
#define OCI_RETRY_MAX		10		/* seconds */
#define OCI_BODY_MAX		(16 * 1024 * 1024)
#define OCI_MANIFEST_ACCEPT	"Accept: " OCI_PROTO_MANIFEST_ACCEPT

struct oci_token {
	char		*scope;		/* the scope it was asked for, or "" */
	char		*token;
	int64_t		 expires;	/* now_ms() deadline */
};

struct oci_client {
	char			*registry;	/* host[:port] */
	char			*base;		/* scheme://host[:port] */
	int			 insecure;
	int			 page;		/* tags page size, 0: default */
	char			*username;
	char			*password;
	char			*realm;		/* after a Bearer challenge */
	char			*service;
	struct oci_token	*tokens;
	size_t			 ntokens;
	CURL			*curl;
};

/* One request: method, absolute URL and what it needs. */
struct oci_req {
	const char		*method;
	const char		*url;
	const char		*scope;		/* "repository:x:pull", NULL */
	const char		*ctype;		/* Content-Type of the body */
	const char		*accept;	/* a full "Accept: ..." line */
	const char		*range;		/* Content-Range value */
	const void		*body;
	size_t			 bodylen;
	int			 has_body;
};

struct oci_resp {
	long		 status;
	struct buf	 body;
	char		*location;
	char		*digest;
	char		*ctype;
	char		*www_auth;
	char		*link;
	long		 retry_after;
};

static void	resp_init(struct oci_resp *);
static void	resp_clear(struct oci_resp *);
static int	oci_do(struct oci_client *, const struct oci_req *,
		    struct oci_resp *, char **);

/*
 * Repository names: components of [a-z0-9]+ joined by ".", "_", "__" or
 * runs of "-", separated by "/". At most 255 characters.
 */
int
oci_repo_is_valid(const char *s)
{
	const char	*p = s;
	size_t		 n;

	if (strlen(s) == 0 || strlen(s) > 255)
		return (0);
	for (;;) {
		/* One path component. */
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return (0);
		for (;;) {
			while (islower((unsigned char)*p) ||
			    isdigit((unsigned char)*p))
				p++;
			if (*p == '.')
				p++;
			else if (*p == '_')
				p += p[1] == '_' ? 2 : 1;
			else if (*p == '-') {
				n = strspn(p, "-");
				p += n;
			} else
				break;
			if (!islower((unsigned char)*p) &&
			    !isdigit((unsigned char)*p))
				return (0);
		}
		if (*p == '\0')
			return (1);
		if (*p++ != '/')
			return (0);
	}
}

int
oci_tag_is_valid(const char *s)
{
	size_t	len = strlen(s);

	if (len == 0 || len > 128)
		return (0);
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return (0);
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return (0);
	}
	return (1);
}

int
oci_digest_is_valid(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s + 7) != 64)
		return (0);
	return (strspn(s + 7, "0123456789abcdef") == 64);
}

struct oci_client *
oci_new(const char *registry, const struct oci_auth *auth, int insecure,
    char **cause)
{
	struct oci_client	*c;

	if (!oci_proto_registry_is_valid(registry)) {
		xasprintf(cause, "invalid registry \"%s\"", registry);
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	c->registry = xstrdup(registry);
	xasprintf(&c->base, "%s://%s", insecure ? "http" : "https", registry);
	c->insecure = insecure;
	if (auth != NULL && auth->username != NULL) {
		c->username = xstrdup(auth->username);
		c->password = xstrdup(auth->password != NULL ?
		    auth->password : "");
	} else if (auth != NULL && auth->docker_config != NULL) {
		if (oci_proto_docker_config(auth->docker_config, registry,
		    &c->username, &c->password, cause) == -1) {
			oci_free(c);
			return (NULL);
		}
	}
	if ((c->curl = curl_easy_init()) == NULL) {
		xasprintf(cause, "curl_easy_init failed");
		oci_free(c);
		return (NULL);
	}
	return (c);
}

void
oci_free(struct oci_client *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ntokens; i++) {
		free(c->tokens[i].scope);
		freezero_str(c->tokens[i].token);
	}
	free(c->tokens);
	if (c->username != NULL)
		freezero_str(c->username);
	if (c->password != NULL)
		freezero_str(c->password);
	free(c->realm);
	free(c->service);
	free(c->registry);
	free(c->base);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c);
}

void
oci_set_page_size(struct oci_client *c, int n)
{
	c->page = n > 0 ? n : 0;
}

static void
resp_init(struct oci_resp *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->body);
	r->retry_after = -1;
}

static void
resp_clear(struct oci_resp *r)
{
	buf_free(&r->body);
	free(r->location);
	free(r->digest);
	free(r->ctype);
	free(r->www_auth);
	free(r->link);
	resp_init(r);
}

static size_t
oci_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct oci_resp	*r = arg;

	if (r->body.len + size * n > OCI_BODY_MAX)
		return (0);
	buf_add(&r->body, p, size * n);
	return (size * n);
}

static void
oci_set_header(char **dst, const char *v, size_t len)
{
	free(*dst);
	*dst = xstrndup(v, len);
}

/* Keep the headers we use; a new status line (redirect) starts afresh. */
static size_t
oci_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct oci_resp	*r = arg;
	size_t		 len = size * n, nlen;
	const char	*v, *colon;
	char		*tmp;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		free(r->location);
		free(r->digest);
		free(r->ctype);
		free(r->www_auth);
		free(r->link);
		r->location = r->digest = r->ctype = NULL;
		r->www_auth = r->link = NULL;
		r->retry_after = -1;
		return (len);
	}
	if ((colon = memchr(p, ':', len)) == NULL)
		return (len);
	nlen = colon - p;
	v = colon + 1;
	while (v < p + len && (*v == ' ' || *v == '\t'))
		v++;
	len = p + len - v;
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' '))
		len--;
#define HDR(name) (nlen == sizeof(name) - 1 && strncasecmp(p, name, nlen) == 0)
	if (HDR("Location"))
		oci_set_header(&r->location, v, len);
	else if (HDR("Docker-Content-Digest"))
		oci_set_header(&r->digest, v, len);
	else if (HDR("Content-Type"))
		oci_set_header(&r->ctype, v, len);
	else if (HDR("WWW-Authenticate"))
		oci_set_header(&r->www_auth, v, len);
	else if (HDR("Link"))
		oci_set_header(&r->link, v, len);
	else if (HDR("Retry-After")) {
		tmp = xstrndup(v, len);
		r->retry_after = oci_proto_retry_after(tmp);
		free(tmp);
	}
#undef HDR
	return (size * n);
}

/* Remember the realm and service of a Bearer challenge; the scope out. */
static int
oci_parse_bearer(struct oci_client *c, const char *hdr, char **scope)
{
	struct oci_proto_challenge	ch;

	*scope = NULL;
	if (oci_proto_challenge_parse(hdr, &ch) == -1 ||
	    ch.scheme != OCI_PROTO_BEARER) {
		oci_proto_challenge_clear(&ch);
		return (-1);
	}
	free(c->realm);
	free(c->service);
	c->realm = ch.realm;
	c->service = ch.service;
	*scope = ch.scope;
	return (0);
}

static struct oci_token *
oci_token_find(struct oci_client *c, const char *scope)
{
	int64_t	now = now_ms();
	size_t	i;

	for (i = 0; i < c->ntokens; i++) {
		if (c->tokens[i].expires <= now)
			continue;
		if (scope == NULL || strcmp(c->tokens[i].scope, scope) == 0)
			return (&c->tokens[i]);
	}
	return (NULL);
}

/*
 * Ask the realm for a token for scope (space-separated scopes, or NULL)
 * and cache it under key (the scope when NULL). Basic credentials go to
 * the realm when we have them.
 */
static struct oci_token *
oci_token_fetch(struct oci_client *c, const char *scope, const char *key,
    char **cause)
{
	struct oci_req		 req;
	struct oci_resp		 resp;
	struct oci_token	*t = NULL;
	char			*url, *path, *tok = NULL;
	long long		 ttl;
	size_t			 i;

	url = oci_proto_token_url(c->realm, c->service, scope, c->insecure,
	    cause);
	if (url == NULL)
		return (NULL);
	memset(&req, 0, sizeof req);
	req.method = "TOKEN";		/* a GET without the registry's auth */
	req.url = url;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == -1)
		goto out;
	if (resp.status != 200) {
		path = oci_proto_url_path(c->realm);
		xasprintf(cause, "registry: token %s: %ld%s", path,
		    resp.status, resp.status == 401 || resp.status == 403 ?
		    (c->username != NULL ? " (credentials rejected)" :
		    " (no credentials given)") : "");
		free(path);
		goto out;
	}
	if (oci_proto_token_parse(resp.body.data, resp.body.len, &tok, &ttl,
	    cause) == -1)
		goto out;
	/* Replace an older token for this key. */
	if (key == NULL)
		key = scope != NULL ? scope : "";
	for (i = 0; i < c->ntokens; i++) {
		if (strcmp(c->tokens[i].scope, key) == 0)
			break;
	}
	if (i == c->ntokens) {
		c->tokens = xreallocarray(c->tokens, c->ntokens + 1,
		    sizeof *c->tokens);
		c->tokens[c->ntokens].scope = xstrdup(key);
		c->tokens[c->ntokens].token = NULL;
		c->ntokens++;
	}
	t = &c->tokens[i];
	if (t->token != NULL)
		freezero_str(t->token);
	t->token = tok;
	tok = NULL;
	t->expires = now_ms() + (ttl - OCI_PROTO_TOKEN_MARGIN) * 1000;
	log_debug("registry: token for %s, %lld s", scope != NULL ?
	    scope : "(no scope)", ttl);
out:
	if (tok != NULL)
		freezero_str(tok);
	resp_clear(&resp);
	free(url);
	return (t);
}

static int
oci_transient(CURLcode cc)
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

static void
oci_sleep_ms(long ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		;
}

/*
 * Perform one exchange on the client's handle. auth is a full
 * "Authorization: ..." line or NULL. Returns the curl code.
 */
static CURLcode
oci_perform(struct oci_client *c, const struct oci_req *req,
    const char *auth, struct oci_resp *resp, char *errbuf)
{
	struct curl_slist	*hdrs = NULL;
	CURL			*h = c->curl;
	char			*line;
	const char		*method = req->method;
	CURLcode		 cc;

	curl_easy_reset(h);
	resp_clear(resp);
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ferry/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, oci_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, oci_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (auth != NULL)
		hdrs = curl_slist_append(hdrs, auth);
	if (req->accept != NULL)
		hdrs = curl_slist_append(hdrs, req->accept);
	if (req->ctype != NULL) {
		xasprintf(&line, "Content-Type: %s", req->ctype);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (req->range != NULL) {
		xasprintf(&line, "Content-Range: %s", req->range);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (req->ctype == NULL && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "GET") != 0 && strcmp(method, "TOKEN") != 0)
		hdrs = curl_slist_append(hdrs, "Content-Type:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "TOKEN") == 0)
		method = "GET";
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		/* Blob redirects; curl drops Authorization on a new host. */
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	} else {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->bodylen : 0));
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return (cc);
}

/*
 * Run a request with authentication and retries. Returns 0 with the final
 * response in resp (any status), or -1 when no response could be had.
 */
static int
oci_do(struct oci_client *c, const struct oci_req *req,
    struct oci_resp *resp, char **cause)
{
	struct oci_token	*t, *fresh = NULL;
	char			 errbuf[CURL_ERROR_SIZE];
	char			*auth = NULL, *basic, *scope, *path;
	const char		*tscope;
	int			 tries = 0, reauth = 0, token_req;
	long			 delay;
	CURLcode		 cc;

	token_req = strcmp(req->method, "TOKEN") == 0;
	for (;;) {
		if (auth != NULL) {
			freezero_str(auth);
			auth = NULL;
		}
		t = fresh;
		fresh = NULL;
		if (t == NULL && !token_req && c->realm != NULL) {
			if ((t = oci_token_find(c, req->scope)) == NULL &&
			    req->scope != NULL &&
			    (t = oci_token_fetch(c, req->scope, NULL,
			    cause)) == NULL)
				return (-1);
		}
		if (t != NULL)
			xasprintf(&auth, "Authorization: Bearer %s", t->token);
		else if (c->username != NULL && (token_req ||
		    c->realm == NULL)) {
			basic = oci_proto_basic(c->username, c->password);
			xasprintf(&auth, "Authorization: %s", basic);
			freezero_str(basic);
		}
		path = oci_proto_url_path(req->url);
		log_debug("registry: %s %s", token_req ? "GET" : req->method,
		    path);
		free(path);
		cc = oci_perform(c, req, auth, resp, errbuf);
		tries++;
		if (cc == CURLE_OK && resp->status == 401 && !token_req &&
		    !reauth && resp->www_auth != NULL &&
		    oci_parse_bearer(c, resp->www_auth, &scope) == 0) {
			/* The Bearer flow: get a token, retry once. */
			reauth = 1;
			tscope = scope != NULL ? scope : req->scope;
			fresh = oci_token_fetch(c, tscope, req->scope, cause);
			free(scope);
			if (fresh == NULL) {
				freezero_str(auth);
				return (-1);
			}
			tries--;
			continue;
		}
		if (cc == CURLE_OK && resp->status != 429 &&
		    resp->status < 500)
			break;
		if (cc != CURLE_OK && !oci_transient(cc))
			break;
		if (tries >= OCI_TRIES)
			break;
		delay = 500L << (tries - 1);
		if (cc == CURLE_OK && resp->retry_after >= 0)
			delay = resp->retry_after * 1000;
		if (delay > OCI_RETRY_MAX * 1000)
			delay = OCI_RETRY_MAX * 1000;
		path = oci_proto_url_path(req->url);
		if (cc != CURLE_OK)
			log_debug("registry: %s %s: %s; retrying in %ld ms",
			    req->method, path, errbuf[0] != '\0' ? errbuf :
			    curl_easy_strerror(cc), delay);
		else
			log_debug("registry: %s %s: %ld; retrying in %ld ms",
			    req->method, path, resp->status, delay);
		free(path);
		oci_sleep_ms(delay);
	}
	if (auth != NULL)
		freezero_str(auth);
	if (cc != CURLE_OK) {
		path = oci_proto_url_path(req->url);
		xasprintf(cause, "registry: %s %s: %s", token_req ? "GET" :
		    req->method, path, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
		free(path);
		return (-1);
	}
	return (0);
}

/* A cause for an unexpected status, with a hint for 401/403. */
static void
oci_fail(struct oci_client *c, const struct oci_req *req,
    const struct oci_resp *resp, char **cause)
{
	const char	*hint = NULL;

	if (resp->status == 401 || resp->status == 403)
		hint = c->username != NULL ? " (credentials rejected)" :
		    " (no credentials given)";
	*cause = oci_proto_error(req->method, req->url, resp->status,
	    resp->body.data, resp->body.len, hint);
}

int
oci_ping(struct oci_client *c, char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url;
	int		 rc = -1;

	xasprintf(&url, "%s/v2/", c->base);
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = url;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == 0) {
		if (resp.status == 200)
			rc = 0;
		else
			oci_fail(c, &req, &resp, cause);
	}
	resp_clear(&resp);
	free(url);
	return (rc);
}

/* Copy a Docker-Content-Digest into out when it is a valid digest. */
static int
oci_take_digest(const char *hdr, char out[OCI_DIGEST_LEN])
{
	if (hdr == NULL || !oci_digest_is_valid(hdr))
		return (-1);
	snprintf(out, OCI_DIGEST_LEN, "%s", hdr);
	return (0);
}

int
oci_manifest_head(struct oci_client *c, const char *repo, const char *ref,
    char digest[OCI_DIGEST_LEN], char **mediatype, char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url, *scope;
	int		 rc = -1;

	if (mediatype != NULL)
		*mediatype = NULL;
	if (oci_proto_ref_check(repo, ref, cause) == -1)
		return (-1);
	xasprintf(&url, "%s/v2/%s/manifests/%s", c->base, repo, ref);
	scope = oci_proto_scope(repo, "pull");
	memset(&req, 0, sizeof req);
	req.method = "HEAD";
	req.url = url;
	req.scope = scope;
	req.accept = OCI_MANIFEST_ACCEPT;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == -1)
		goto out;
	if (resp.status == 404) {
		rc = 1;
		goto out;
	}
	if (resp.status != 200) {
		oci_fail(c, &req, &resp, cause);
		goto out;
	}
	if (oci_take_digest(resp.digest, digest) == -1) {
		if (!oci_digest_is_valid(ref)) {
			xasprintf(cause, "registry: HEAD /v2/%s/manifests/%s: "
			    "no Docker-Content-Digest", repo, ref);
			goto out;
		}
		snprintf(digest, OCI_DIGEST_LEN, "%s", ref);
	}
	if (mediatype != NULL && resp.ctype != NULL)
		*mediatype = xstrdup(resp.ctype);
	rc = 0;
out:
	resp_clear(&resp);
	free(url);
	free(scope);
	return (rc);
}

/*
 * GET a manifest: its exact bytes, media type and digest. The digest is
 * computed from the bytes and checked against the reference when that is
 * a digest and against Docker-Content-Digest when given. Returns 1 on 404.
 */
int
oci_manifest_get(struct oci_client *c, const char *repo, const char *ref,
    char **body, size_t *len, char **mediatype, char digest[OCI_DIGEST_LEN],
    char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url, *scope;
	int		 rc = -1;

	*body = NULL;
	*len = 0;
	if (mediatype != NULL)
		*mediatype = NULL;
	if (oci_proto_ref_check(repo, ref, cause) == -1)
		return (-1);
	xasprintf(&url, "%s/v2/%s/manifests/%s", c->base, repo, ref);
	scope = oci_proto_scope(repo, "pull");
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = url;
	req.scope = scope;
	req.accept = OCI_MANIFEST_ACCEPT;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == -1)
		goto out;
	if (resp.status == 404) {
		rc = 1;
		goto out;
	}
	if (resp.status != 200) {
		oci_fail(c, &req, &resp, cause);
		goto out;
	}
	oci_proto_digest_of(resp.body.data != NULL ? resp.body.data : "",
	    resp.body.len, digest);
	if (oci_digest_is_valid(ref) && strcmp(ref, digest) != 0) {
		xasprintf(cause, "registry: GET /v2/%s/manifests/%s: body "
		    "has digest %s", repo, ref, digest);
		goto out;
	}
	if (resp.digest != NULL && strncmp(resp.digest, "sha256:", 7) == 0 &&
	    strcmp(resp.digest, digest) != 0) {
		xasprintf(cause, "registry: GET /v2/%s/manifests/%s: "
		    "Docker-Content-Digest %s but the body has %s", repo, ref,
		    resp.digest, digest);
		goto out;
	}
	*len = resp.body.len;
	*body = xmalloc(resp.body.len + 1);
	memcpy(*body, resp.body.data != NULL ? resp.body.data : "",
	    resp.body.len);
	(*body)[resp.body.len] = '\0';
	if (mediatype != NULL && resp.ctype != NULL)
		*mediatype = xstrdup(resp.ctype);
	rc = 0;
out:
	resp_clear(&resp);
	free(url);
	free(scope);
	return (rc);
}

int
oci_manifest_put(struct oci_client *c, const char *repo, const char *ref,
    const char *mediatype, const char *body, size_t len,
    char digest[OCI_DIGEST_LEN], char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url, *scope;
	int		 rc = -1;

	if (oci_proto_ref_check(repo, ref, cause) == -1)
		return (-1);
	if (*mediatype == '\0' || strpbrk(mediatype, "\r\n,") != NULL) {
		xasprintf(cause, "invalid media type");
		return (-1);
	}
	oci_proto_digest_of(body, len, digest);
	if (oci_digest_is_valid(ref) && strcmp(ref, digest) != 0) {
		xasprintf(cause, "manifest has digest %s, not %s", digest,
		    ref);
		return (-1);
	}
	xasprintf(&url, "%s/v2/%s/manifests/%s", c->base, repo, ref);
	scope = oci_proto_scope(repo, "pull,push");
	memset(&req, 0, sizeof req);
	req.method = "PUT";
	req.url = url;
	req.scope = scope;
	req.ctype = mediatype;
	req.body = body;
	req.bodylen = len;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == -1)
		goto out;
	if (resp.status != 201) {
		oci_fail(c, &req, &resp, cause);
		goto out;
	}
	if (resp.digest != NULL && strcmp(resp.digest, digest) != 0) {
		xasprintf(cause, "registry: PUT /v2/%s/manifests/%s: "
		    "registry says %s, the body has %s", repo, ref,
		    resp.digest, digest);
		goto out;
	}
	rc = 0;
out:
	resp_clear(&resp);
	free(url);
	free(scope);
	return (rc);
}

/* HEAD a blob: 0 present, 1 absent, -1 error. */
int
oci_blob_exists(struct oci_client *c, const char *repo, const char *digest,
    char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url, *scope;
	int		 rc = -1;

	if (oci_proto_ref_check(repo, NULL, cause) == -1)
		return (-1);
	if (!oci_digest_is_valid(digest)) {
		xasprintf(cause, "invalid digest \"%s\"", digest);
		return (-1);
	}
	xasprintf(&url, "%s/v2/%s/blobs/%s", c->base, repo, digest);
	scope = oci_proto_scope(repo, "pull");
	memset(&req, 0, sizeof req);
	req.method = "HEAD";
	req.url = url;
	req.scope = scope;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == 0) {
		if (resp.status == 200 || resp.status == 307)
			rc = 0;
		else if (resp.status == 404)
			rc = 1;
		else
			oci_fail(c, &req, &resp, cause);
	}
	resp_clear(&resp);
	free(url);
	free(scope);
	return (rc);
}

/* POST an upload session open; its resolved Location in *loc. */
static int
oci_upload_open(struct oci_client *c, const char *repo, const char *scope,
    char **loc, char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url;
	int		 rc = -1;

	xasprintf(&url, "%s/v2/%s/blobs/uploads/", c->base, repo);
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = url;
	req.scope = scope;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == -1)
		goto out;
	if (resp.status != 202) {
		oci_fail(c, &req, &resp, cause);
		goto out;
	}
	if (resp.location == NULL ||
	    (*loc = oci_proto_resolve(url, resp.location, NULL)) == NULL) {
		xasprintf(cause, "registry: POST /v2/%s/blobs/uploads/: "
		    "no usable Location", repo);
		goto out;
	}
	rc = 0;
out:
	resp_clear(&resp);
	free(url);
	return (rc);
}

/* PUT <loc>?digest=... with the last bytes (maybe none): closes it. */
static int
oci_upload_close(struct oci_client *c, const char *loc, const char *scope,
    const void *data, size_t len, const char *digest, char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url, *q;
	int		 rc = -1;

	xasprintf(&q, "digest=%s", digest);
	url = oci_proto_resolve(loc, NULL, q);
	free(q);
	if (url == NULL) {
		xasprintf(cause, "registry: bad upload location");
		return (-1);
	}
	memset(&req, 0, sizeof req);
	req.method = "PUT";
	req.url = url;
	req.scope = scope;
	req.ctype = "application/octet-stream";
	req.body = data;
	req.bodylen = len;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == -1)
		goto out;
	if (resp.status != 201) {
		oci_fail(c, &req, &resp, cause);
		goto out;
	}
	if (resp.digest != NULL && strcmp(resp.digest, digest) != 0) {
		xasprintf(cause, "registry: blob stored as %s, not %s",
		    resp.digest, digest);
		goto out;
	}
	rc = 0;
out:
	resp_clear(&resp);
	free(url);
	return (rc);
}

/*
 * Upload a blob monolithically: POST for a session, then one PUT with the
 * bytes. Nothing is sent when the registry has the blob already.
 */
int
oci_blob_upload(struct oci_client *c, const char *repo, const void *data,
    size_t len, char digest[OCI_DIGEST_LEN], char **cause)
{
	char	*scope, *loc = NULL;
	int	 rc;

	if (oci_proto_ref_check(repo, NULL, cause) == -1)
		return (-1);
	oci_proto_digest_of(data, len, digest);
	scope = oci_proto_scope(repo, "pull,push");
	rc = oci_blob_exists(c, repo, digest, cause);
	if (rc == 0) {
		log_debug("registry: %s has %s", repo, digest);
		goto out;
	}
	if (rc == -1)
		goto out;
	rc = -1;
	if (oci_upload_open(c, repo, scope, &loc, cause) == -1)
		goto out;
	rc = oci_upload_close(c, loc, scope, data, len, digest, cause);
out:
	free(loc);
	free(scope);
	return (rc);
}

/*
 * Upload a blob in chunks of chunk bytes: PATCH each with Content-Range,
 * following the Location every answer gives, then PUT ?digest= to close.
 */
int
oci_blob_upload_chunked(struct oci_client *c, const char *repo,
    const void *data, size_t len, size_t chunk, char digest[OCI_DIGEST_LEN],
    char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*scope, *loc = NULL, *next, range[64];
	size_t		 off, n;
	int		 rc;

	if (oci_proto_ref_check(repo, NULL, cause) == -1)
		return (-1);
	if (chunk == 0)
		chunk = 5 * 1024 * 1024;
	oci_proto_digest_of(data, len, digest);
	scope = oci_proto_scope(repo, "pull,push");
	resp_init(&resp);
	rc = oci_blob_exists(c, repo, digest, cause);
	if (rc == 0 || rc == -1)
		goto out;
	rc = -1;
	if (oci_upload_open(c, repo, scope, &loc, cause) == -1)
		goto out;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		snprintf(range, sizeof range, "%zu-%zu", off, off + n - 1);
		memset(&req, 0, sizeof req);
		req.method = "PATCH";
		req.url = loc;
		req.scope = scope;
		req.ctype = "application/octet-stream";
		req.range = range;
		req.body = (const char *)data + off;
		req.bodylen = n;
		if (oci_do(c, &req, &resp, cause) == -1)
			goto out;
		if (resp.status != 202) {
			oci_fail(c, &req, &resp, cause);
			goto out;
		}
		if (resp.location != NULL) {
			if ((next = oci_proto_resolve(loc, resp.location, NULL)) ==
			    NULL) {
				xasprintf(cause, "registry: bad Location");
				goto out;
			}
			free(loc);
			loc = next;
		}
	}
	rc = oci_upload_close(c, loc, scope, NULL, 0, digest, cause);
out:
	resp_clear(&resp);
	free(loc);
	free(scope);
	return (rc);
}

/*
 * Mount a blob from another repository of the same registry: 0 mounted,
 * 1 not (the registry opened an upload instead; the caller uploads), -1.
 */
int
oci_blob_mount(struct oci_client *c, const char *repo, const char *digest,
    const char *from, char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	char		*url, *scope, *tscope;
	int		 rc = -1;

	if (oci_proto_ref_check(repo, NULL, cause) == -1 ||
	    oci_proto_ref_check(from, NULL, cause) == -1)
		return (-1);
	if (!oci_digest_is_valid(digest)) {
		xasprintf(cause, "invalid digest \"%s\"", digest);
		return (-1);
	}
	xasprintf(&url, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", c->base,
	    repo, digest, from);
	scope = oci_proto_scope(repo, "pull,push");
	xasprintf(&tscope, "%s repository:%s:pull", scope, from);
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = url;
	req.scope = tscope;
	resp_init(&resp);
	if (oci_do(c, &req, &resp, cause) == 0) {
		if (resp.status == 201)
			rc = 0;
		else if (resp.status == 202)
			rc = 1;
		else
			oci_fail(c, &req, &resp, cause);
	}
	resp_clear(&resp);
	free(url);
	free(scope);
	free(tscope);
	return (rc);
}

void
oci_tags_free(char **tags, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
}

/* List a repository's tags, following Link pagination to the end. */
int
oci_tags_list(struct oci_client *c, const char *repo, char ***tagsp,
    size_t *np, char **cause)
{
	struct oci_req	 req;
	struct oci_resp	 resp;
	json_t		*root = NULL, *arr, *v;
	char		*url, *scope, *next, **tags = NULL;
	size_t		 n = 0, i, pages = 0;
	int		 rc = -1;

	*tagsp = NULL;
	*np = 0;
	if (oci_proto_ref_check(repo, NULL, cause) == -1)
		return (-1);
	if (c->page > 0)
		xasprintf(&url, "%s/v2/%s/tags/list?n=%d", c->base, repo,
		    c->page);
	else
		xasprintf(&url, "%s/v2/%s/tags/list", c->base, repo);
	scope = oci_proto_scope(repo, "pull");
	resp_init(&resp);
	while (url != NULL) {
		if (++pages > 10000) {
			xasprintf(cause, "registry: too many tag pages");
			goto out;
		}
		memset(&req, 0, sizeof req);
		req.method = "GET";
		req.url = url;
		req.scope = scope;
		if (oci_do(c, &req, &resp, cause) == -1)
			goto out;
		if (resp.status != 200) {
			oci_fail(c, &req, &resp, cause);
			goto out;
		}
		root = json_loadb(resp.body.data != NULL ? resp.body.data :
		    "", resp.body.len, 0, NULL);
		if (!json_is_object(root)) {
			xasprintf(cause, "registry: GET /v2/%s/tags/list: "
			    "not a JSON object", repo);
			goto out;
		}
		arr = json_object_get(root, "tags");
		if (arr != NULL && !json_is_null(arr) && !json_is_array(arr)) {
			xasprintf(cause, "registry: GET /v2/%s/tags/list: "
			    "tags is not a list", repo);
			goto out;
		}
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v))
				continue;
			tags = xreallocarray(tags, n + 1, sizeof *tags);
			tags[n++] = xstrdup(json_string_value(v));
		}
		json_decref(root);
		root = NULL;
		next = resp.link != NULL ? oci_proto_link_next(url, resp.link) :
		    NULL;
		free(url);
		url = next;
	}
	*tagsp = tags;
	*np = n;
	tags = NULL;
	n = 0;
	rc = 0;
out:
	json_decref(root);
	oci_tags_free(tags, n);
	resp_clear(&resp);
	free(url);
	free(scope);
	return (rc);
}

/*
 * Split "host[:port]/path:tag@sha256:<hex>" (a stage's image.<name> or
 * bundle output) into the repository with its host, the tag and the
 * digest, each checked. Returns 0 with three strings the caller frees, or
 * -1.
 */
int
oci_artifact_parse(const char *s, char **repository, char **tag,
    char **digest)
{
	const char	*at, *colon, *slash, *p;
	char		*repo, *path;
	int		 ok;

	if ((at = strrchr(s, '@')) == NULL || !oci_digest_is_valid(at + 1))
		return (-1);
	slash = strchr(s, '/');
	colon = NULL;
	for (p = s; p < at; p++) {
		if (*p == ':' && (slash == NULL || p > slash))
			colon = p;
	}
	if (slash == NULL || slash > at || colon == NULL || colon == s)
		return (-1);
	repo = xstrndup(s, (size_t)(colon - s));
	path = xstrndup(slash + 1, (size_t)(colon - slash - 1));
	*tag = xstrndup(colon + 1, (size_t)(at - colon - 1));
	ok = slash > s && oci_repo_is_valid(path) && oci_tag_is_valid(*tag);
	free(path);
	if (!ok) {
		free(repo);
		free(*tag);
		return (-1);
	}
	*repository = repo;
	*digest = xstrdup(at + 1);
	return (0);
}

/*
 * In a stage: the registry settings ferryd gives it. Without credentials
 * of its own, a command uses the auth file of $FERRY_REGISTRY_AUTH (the
 * server's registries: section), and plain http for a host listed in
 * $FERRY_REGISTRY_INSECURE.
 */
void
oci_auth_from_env(const char *host, struct oci_auth *auth, int *insecure)
{
	const char	*list, *p;
	size_t		 len = strlen(host), n;

	if (auth->username == NULL && auth->docker_config == NULL &&
	    (p = getenv("FERRY_REGISTRY_AUTH")) != NULL)
		auth->docker_config = p;
	if ((list = getenv("FERRY_REGISTRY_INSECURE")) == NULL)
		return;
	for (p = list; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (n == len && strncmp(p, host, len) == 0)
			*insecure = 1;
	}
}
