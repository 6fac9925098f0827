/*
 * kube.c: a client for the Kubernetes API over libcurl's blocking easy
 * interface (PROTOCOLS.md section 6), for `ferry` child processes and CLI
 * commands, never for ferryd's event loop. One CURL handle per client
 * keeps the connection alive between the requests of a wait loop.
 *
 * The bearer token is read from its file for every request, because the
 * kubelet rotates projected service account tokens (about hourly) and a
 * wait may outlive one. The token never goes into a cause or a log line.
 * Redirects are not followed, so the token cannot be carried to another
 * host, and plain http is accepted only to a loopback address (the tests'
 * stand-in; a port-forward). Connection errors, 429 and 502-504 are
 * retried a few times with a short backoff; every other answer is final.
 * A failure's cause names the method, the path, the HTTP status and the
 * API's Status object: "kubernetes: PATCH /apis/...: 403 Forbidden:
 * applications.argoproj.io \"web\" is forbidden: ...".
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "kube.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define KUBE_TRIES		3
#define KUBE_TIMEOUT		30000		/* ms, per request */
#define KUBE_CONNECT_TIMEOUT	10000		/* ms */
#define KUBE_MSG_MAX		512		/* bytes of a server message */

struct kube {
	char	*server;	/* scheme://host[:port][/prefix], no trailing / */
	char	*ca_file;	/* NULL: the system's CAs */
	char	*token_file;
	int	 insecure;
	long	 timeout;	/* ms */
	CURL	*curl;
};

struct kube_resp {
	struct buf	body;
	int		too_big;
};

/* Reason phrases for the statuses the API server gives. */
static const char *
kube_reason(long status)
{
	switch (status) {
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 409:
		return ("Conflict");
	case 415:
		return ("Unsupported Media Type");
	case 422:
		return ("Unprocessable Entity");
	case 429:
		return ("Too Many Requests");
	case 500:
		return ("Internal Server Error");
	case 502:
		return ("Bad Gateway");
	case 503:
		return ("Service Unavailable");
	case 504:
		return ("Gateway Timeout");
	default:
		return ("");
	}
}

/*
 * A DNS-1123 subdomain, as Kubernetes requires for object and namespace
 * names: lower-case alphanumerics, '-' and '.', alphanumeric at both ends,
 * at most 253 bytes. Such a name is safe in a URL path as it is.
 */
int
kube_name_is_valid(const char *s)
{
	size_t	len = strlen(s), i;

	if (len == 0 || len > 253)
		return (0);
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return (0);
	}
	return (isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[len -
	    1]));
}

/* A host part (name or IP literal) as it may appear in a URL. */
static int
kube_host_is_valid(const char *s)
{
	return (*s != '\0' && strlen(s) <= 253 && strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:")
	    == strlen(s));
}

/* The in-cluster server URL, from the service's environment. */
static char *
kube_incluster_server(char **cause)
{
	const char	*host, *port;
	char		*s;

	host = getenv("KUBERNETES_SERVICE_HOST");
	if ((port = getenv("KUBERNETES_SERVICE_PORT_HTTPS")) == NULL ||
	    *port == '\0')
		port = getenv("KUBERNETES_SERVICE_PORT");
	if (host == NULL || *host == '\0') {
		xasprintf(cause, "no --server given and not in a cluster "
		    "(KUBERNETES_SERVICE_HOST is not set)");
		return (NULL);
	}
	if (!kube_host_is_valid(host) || port == NULL || *port == '\0' ||
	    strlen(port) > 5 || strspn(port, "0123456789") != strlen(port)) {
		xasprintf(cause, "invalid KUBERNETES_SERVICE_HOST or _PORT");
		return (NULL);
	}
	/* An IPv6 address needs brackets in a URL. */
	if (strchr(host, ':') != NULL)
		xasprintf(&s, "https://[%s]:%s", host, port);
	else
		xasprintf(&s, "https://%s:%s", host, port);
	return (s);
}

/*
 * Check a server URL: https, or http to a loopback host only, since the
 * bearer token would otherwise cross the network in clear text.
 */
static int
kube_check_server(const char *url, char **cause)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL;
	int	 rc = -1;

	if (strpbrk(url, "?#") != NULL) {
		xasprintf(cause, "invalid server URL \"%s\": query or fragment",
		    url);
		return (-1);
	}
	if ((u = curl_url()) == NULL)
		fatalx("curl_url failed");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		xasprintf(cause, "invalid server URL \"%s\"", url);
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		rc = 0;
	else if (strcasecmp(scheme, "http") != 0)
		xasprintf(cause, "invalid server URL \"%s\": not https", url);
	else if (strcmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0 &&
	    strncmp(host, "127.", 4) != 0)
		xasprintf(cause, "refusing plain http to %s: the token would "
		    "travel in clear text (http is for loopback only)", host);
	else
		rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return (rc);
}

/*
 * A client for the API server that cfg names, with in-cluster defaults for
 * what it leaves out. The token file is read once here so that a missing
 * or empty file fails at once. Caller frees with kube_free.
 */
struct kube *
kube_new(const struct kube_config *cfg, char **cause)
{
	struct kube	*k;
	char		*server, *tok, *c;
	size_t		 len;
	int		 incluster = 0;

	if (cfg->server != NULL)
		server = xstrdup(cfg->server);
	else if ((server = kube_incluster_server(cause)) == NULL)
		return (NULL);
	else
		incluster = 1;
	len = strlen(server);
	while (len > 0 && server[len - 1] == '/')
		server[--len] = '\0';
	if (kube_check_server(server, cause) != 0) {
		free(server);
		return (NULL);
	}
	k = xcalloc(1, sizeof *k);
	k->server = server;
	k->insecure = cfg->insecure;
	k->timeout = KUBE_TIMEOUT;
	k->token_file = xstrdup(cfg->token_file != NULL ? cfg->token_file :
	    KUBE_SA_TOKEN);
	if (cfg->ca_file != NULL)
		k->ca_file = xstrdup(cfg->ca_file);
	else if (incluster)
		k->ca_file = xstrdup(KUBE_SA_CA);
	if ((tok = read_secret(k->token_file, &len, &c)) == NULL) {
		xasprintf(cause, "cannot read the bearer token: %s", c);
		free(c);
		kube_free(k);
		return (NULL);
	}
	freezero_str(tok);
	if ((k->curl = curl_easy_init()) == NULL) {
		xasprintf(cause, "curl_easy_init failed");
		kube_free(k);
		return (NULL);
	}
	return (k);
}

void
kube_free(struct kube *k)
{
	if (k == NULL)
		return;
	if (k->curl != NULL)
		curl_easy_cleanup(k->curl);
	free(k->server);
	free(k->ca_file);
	free(k->token_file);
	free(k);
}

/* The server URL in use (after in-cluster defaults). */
const char *
kube_server(const struct kube *k)
{
	return (k->server);
}

/* The time limit of each request from now on, in milliseconds. */
void
kube_set_timeout(struct kube *k, long ms)
{
	k->timeout = ms > 0 ? ms : 1;
}

static size_t
kube_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct kube_resp	*r = arg;

	if (r->body.len + size * n > KUBE_BODY_MAX) {
		r->too_big = 1;
		return (0);
	}
	buf_add(&r->body, p, size * n);
	return (size * n);
}

/*
 * Copy a message from the server for a cause or a terminal: control
 * characters become spaces (no escapes from the network reach a terminal)
 * and the length is capped. Caller frees.
 */
char *
kube_clean(const char *s)
{
	char	*out;
	size_t	 i, len;

	len = strnlen(s, KUBE_MSG_MAX);
	out = xstrndup(s, len);
	for (i = 0; i < len; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	}
	return (out);
}

/*
 * The cause for a non-2xx answer: the Status object's reason and message
 * when the body is one, the start of the body otherwise.
 */
static void
kube_status_cause(const char *method, const char *path, long status,
    const struct buf *body, char **cause)
{
	json_t		*root;
	const char	*reason = NULL, *msg = NULL;
	char		*r = NULL, *m = NULL;

	root = body->len > 0 ? json_loadb(body->data, body->len, 0, NULL) :
	    NULL;
	if (json_is_object(root) && json_is_string(json_object_get(root,
	    "kind")) && strcmp(json_string_value(json_object_get(root,
	    "kind")), "Status") == 0) {
		reason = json_string_value(json_object_get(root, "reason"));
		msg = json_string_value(json_object_get(root, "message"));
	} else if (root == NULL && body->len > 0)
		msg = body->data;
	if (reason == NULL || *reason == '\0')
		reason = kube_reason(status);
	r = kube_clean(reason);
	if (msg != NULL && *msg != '\0' && strcmp(msg, reason) != 0)
		m = kube_clean(msg);
	xasprintf(cause, "kubernetes: %s %s: %ld%s%s%s%s", method, path, status,
	    *r != '\0' ? " " : "", r, m != NULL ? ": " : "",
	    m != NULL ? m : "");
	free(r);
	free(m);
	json_decref(root);
}

static int
kube_transient(CURLcode cc, long status)
{
	if (cc == CURLE_OK)
		return (status == 429 || status == 502 || status == 503 ||
		    status == 504);
	return (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
	    cc == CURLE_GOT_NOTHING || cc == CURLE_SEND_ERROR ||
	    cc == CURLE_RECV_ERROR);
}

static void
kube_sleep_ms(long ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		;
}

/* One exchange on the client's handle; returns the curl code. */
static CURLcode
kube_perform(struct kube *k, const char *method, const char *url,
    const char *ctype, const char *body, const char *auth,
    struct kube_resp *resp, long *status, char *errbuf)
{
	struct curl_slist	*hdrs = NULL;
	CURL			*h = k->curl;
	char			*line;
	CURLcode		 cc;

	curl_easy_reset(h);
	buf_free(&resp->body);
	resp->too_big = 0;
	errbuf[0] = '\0';
	*status = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
	    strncasecmp(url, "https:", 6) == 0 ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    k->timeout < KUBE_CONNECT_TIMEOUT ? k->timeout :
	    (long)KUBE_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->timeout);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ferry/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kube_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	if (k->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, k->ca_file);
	if (k->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, auth);
	if (body != NULL) {
		xasprintf(&line, "Content-Type: %s", ctype != NULL ? ctype :
		    "application/json");
		hdrs = curl_slist_append(hdrs, line);
		free(line);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	}
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return (cc);
}

/*
 * Send METHOD to PATH ("/apis/..."), with body (serialized compactly, sent
 * as ctype) when not NULL. Returns 0 on a 2xx answer whose body is a JSON
 * object, stored in *out for the caller to json_decref. Returns -1 with a
 * cause otherwise; *status is then the HTTP status, or 0 when no answer
 * came.
 */
int
kube_request(struct kube *k, const char *method, const char *path,
    const char *ctype, const struct json_t *body, long *status,
    struct json_t **out, char **cause)
{
	struct kube_resp	 resp;
	json_error_t		 jerr;
	json_t			*root;
	char			 errbuf[CURL_ERROR_SIZE];
	char			*url, *text = NULL, *tok, *auth;
	size_t			 len;
	int			 tries = 0, rc = -1;
	CURLcode		 cc;

	*out = NULL;
	*status = 0;
	memset(&resp, 0, sizeof resp);
	buf_init(&resp.body);
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("%s: json_dumps failed", __func__);
	xasprintf(&url, "%s%s", k->server, path);
	for (;;) {
		/* Re-read every time: the kubelet rotates the token. */
		if ((tok = read_secret(k->token_file, &len, cause)) == NULL)
			goto out;
		xasprintf(&auth, "Authorization: Bearer %s", tok);
		freezero_str(tok);
		log_debug("kubernetes: %s %s", method, path);
		cc = kube_perform(k, method, url, ctype, text, auth, &resp,
		    status, errbuf);
		freezero_str(auth);
		if (++tries >= KUBE_TRIES || !kube_transient(cc, *status))
			break;
		log_debug("kubernetes: %s %s: %s; retrying", method, path,
		    cc != CURLE_OK ? curl_easy_strerror(cc) : "busy");
		kube_sleep_ms(250L << (tries - 1));
	}
	if (resp.too_big) {
		xasprintf(cause, "kubernetes: %s %s: response larger than %d "
		    "bytes", method, path, KUBE_BODY_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		*status = 0;
		xasprintf(cause, "kubernetes: %s %s%s: %s", method, k->server,
		    path, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	if (*status < 200 || *status > 299) {
		kube_status_cause(method, path, *status, &resp.body, cause);
		goto out;
	}
	root = json_loadb(resp.body.data != NULL ? resp.body.data : "",
	    resp.body.len, 0, &jerr);
	if (!json_is_object(root)) {
		xasprintf(cause, "kubernetes: %s %s: %ld but the answer is not "
		    "a JSON object", method, path, *status);
		json_decref(root);
		goto out;
	}
	*out = root;
	rc = 0;
out:
	buf_free(&resp.body);
	free(url);
	free(text);
	return (rc);
}
