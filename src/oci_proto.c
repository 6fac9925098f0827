/*
 * oci_proto.c: parsing and formatting for the OCI distribution API that
 * both registry clients need (oci.c blocks, ocia.c runs on the loop).
 * Everything here works on strings; nothing talks to the network.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "oci_proto.h"
#include "util.h"
#include "xmalloc.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decode base64, ignoring padding; NULL if malformed. */
static char *
oci_proto_b64_decode(const char *in, size_t *outlen)
{
	char		*out;
	const char	*q;
	size_t		 n = 0;
	uint32_t	 v = 0;
	int		 bits = 0;

	out = xmalloc(strlen(in) + 1);
	for (; *in != '\0' && *in != '='; in++) {
		if ((q = strchr(b64, *in)) == NULL) {
			freezero_str(out);
			return (NULL);
		}
		v = (v << 6) | (uint32_t)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((v >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	*outlen = n;
	return (out);
}

/* "Basic base64(user:password)" for an Authorization value. Caller frees. */
char *
oci_proto_basic(const char *user, const char *password)
{
	char	*up, *enc, *out;

	xasprintf(&up, "%s:%s", user, password != NULL ? password : "");
	enc = base64_encode(up, strlen(up));
	freezero_str(up);
	xasprintf(&out, "Basic %s", enc);
	freezero_str(enc);
	return (out);
}

/* A registry is host[:port] (or [v6]:port), nothing else. */
int
oci_proto_registry_is_valid(const char *registry)
{
	return (*registry != '\0' && strlen(registry) <= 255 &&
	    strspn(registry, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(registry));
}

/* Check a repository name and, when given, a tag or digest. */
int
oci_proto_ref_check(const char *repo, const char *ref, char **cause)
{
	if (!oci_repo_is_valid(repo)) {
		xasprintf(cause, "invalid repository name \"%s\"", repo);
		return (-1);
	}
	if (ref != NULL && !oci_tag_is_valid(ref) &&
	    !oci_digest_is_valid(ref)) {
		xasprintf(cause, "invalid tag or digest \"%s\"", ref);
		return (-1);
	}
	return (0);
}

void
oci_proto_digest_of(const void *data, size_t len, char out[OCI_DIGEST_LEN])
{
	char	hex[SHA256_HEX_LEN + 1];

	sha256_hex(data != NULL ? data : "", len, hex);
	snprintf(out, OCI_DIGEST_LEN, "sha256:%s", hex);
}

/* "repository:REPO:ACTIONS". Caller frees. */
char *
oci_proto_scope(const char *repo, const char *actions)
{
	char	*s;

	xasprintf(&s, "repository:%s:%s", repo, actions);
	return (s);
}

/*
 * Find the user and password of registry in a Docker config.json: the
 * auths key may be the bare host[:port] or a URL naming it. Returns 0 with
 * both set, or both NULL when the file has no entry; -1 on a bad file.
 */
int
oci_proto_docker_config(const char *path, const char *registry,
    char **user, char **password, char **cause)
{
	json_t		*root, *auths, *v, *a;
	json_error_t	 jerr;
	const char	*key, *k, *enc;
	char		*text, *dec, *colon;
	size_t		 len, klen;
	int		 rc = -1;

	*user = *password = NULL;
	if ((text = read_file(path, OCI_PROTO_CONFIG_MAX, &len, cause)) ==
	    NULL)
		return (-1);
	root = json_loadb(text, len, 0, &jerr);
	freezero_str(text);
	if (root == NULL) {
		xasprintf(cause, "%s: line %d: %s", path, jerr.line,
		    jerr.text);
		return (-1);
	}
	auths = json_object_get(root, "auths");
	json_object_foreach(auths, key, v) {
		k = key;
		if (strncmp(k, "https://", 8) == 0)
			k += 8;
		else if (strncmp(k, "http://", 7) == 0)
			k += 7;
		klen = strcspn(k, "/");
		if (klen != strlen(registry) ||
		    strncmp(k, registry, klen) != 0)
			continue;
		a = json_object_get(v, "auth");
		if ((enc = json_string_value(a)) == NULL)
			continue;
		if ((dec = oci_proto_b64_decode(enc, &len)) == NULL ||
		    (colon = strchr(dec, ':')) == NULL ||
		    strlen(dec) != len) {
			if (dec != NULL)
				freezero_str(dec);
			xasprintf(cause, "%s: malformed auth for %s", path,
			    key);
			goto out;
		}
		*colon = '\0';
		*user = xstrdup(dec);
		*password = xstrdup(colon + 1);
		freezero_str(dec);
		break;
	}
	if (*user == NULL)
		log_debug("%s: no credentials for %s, anonymous", path,
		    registry);
	rc = 0;
out:
	json_decref(root);
	return (rc);
}

/*
 * Resolve ref (a Location or Link target, maybe relative) against base and
 * optionally append a query parameter, keeping any existing ones. NULL if
 * either is not a URL.
 */
char *
oci_proto_resolve(const char *base, const char *ref, const char *query)
{
	CURLU	*u;
	char	*s = NULL, *out = NULL;

	if ((u = curl_url()) == NULL)
		return (NULL);
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    (ref != NULL && curl_url_set(u, CURLUPART_URL, ref, 0) !=
	    CURLUE_OK) ||
	    (query != NULL && curl_url_set(u, CURLUPART_QUERY, query,
	    CURLU_APPENDQUERY) != CURLUE_OK) ||
	    curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
		goto out;
	out = xstrdup(s);
	curl_free(s);
out:
	curl_url_cleanup(u);
	return (out);
}

/* The path of a URL, without its query, for messages. */
char *
oci_proto_url_path(const char *url)
{
	CURLU	*u;
	char	*s = NULL, *out;

	if ((u = curl_url()) != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &s, 0) == CURLUE_OK) {
		out = xstrdup(s);
		curl_free(s);
	} else
		out = xstrdup("?");
	curl_url_cleanup(u);
	return (out);
}

/* The "scheme://host:port" of a URL, or NULL. */
static char *
oci_proto_origin(const char *url)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *port = NULL, *out = NULL;

	if ((u = curl_url()) == NULL)
		return (NULL);
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		xasprintf(&out, "%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return (out);
}

/* Whether two URLs have the same scheme, host and port. */
int
oci_proto_same_origin(const char *a, const char *b)
{
	char	*oa, *ob;
	int	 same;

	oa = oci_proto_origin(a);
	ob = oci_proto_origin(b);
	same = oa != NULL && ob != NULL && strcasecmp(oa, ob) == 0;
	free(oa);
	free(ob);
	return (same);
}

/*
 * Parse one auth-param from a WWW-Authenticate challenge at *pp: name=value
 * or name="quoted, value". Returns 0 and advances, -1 at the end.
 */
static int
oci_proto_auth_param(const char **pp, char **name, char **value)
{
	const char	*p = *pp, *s;
	struct buf	 b;

	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	if (*p == '\0')
		return (-1);
	s = p;
	while (*p != '\0' && *p != '=' && *p != ',' && *p != ' ')
		p++;
	if (*p != '=')
		return (-1);
	*name = xstrndup(s, p - s);
	p++;
	buf_init(&b);
	buf_add(&b, "", 0);
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf_add(&b, p, 1);
		}
		if (*p == '"')
			p++;
	} else {
		s = p;
		while (*p != '\0' && *p != ',' && *p != ' ')
			p++;
		buf_add(&b, s, p - s);
	}
	*value = b.data;
	*pp = p;
	return (0);
}

/*
 * Parse a WWW-Authenticate value: the scheme, and for Bearer the realm,
 * service and scope. Returns 0, or -1 for a Bearer challenge without a
 * realm (unusable) or an empty header. Clear ch afterwards either way.
 */
int
oci_proto_challenge_parse(const char *hdr, struct oci_proto_challenge *ch)
{
	const char	*p;
	char		*name, *value;

	memset(ch, 0, sizeof *ch);
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	if (strncasecmp(hdr, "Basic", 5) == 0 &&
	    (hdr[5] == '\0' || hdr[5] == ' ')) {
		ch->scheme = OCI_PROTO_BASIC;
		return (0);
	}
	if (strncasecmp(hdr, "Bearer ", 7) != 0) {
		ch->scheme = OCI_PROTO_OTHER;
		return (*hdr == '\0' ? -1 : 0);
	}
	ch->scheme = OCI_PROTO_BEARER;
	p = hdr + 7;
	while (oci_proto_auth_param(&p, &name, &value) == 0) {
		if (strcasecmp(name, "realm") == 0 && ch->realm == NULL)
			ch->realm = value;
		else if (strcasecmp(name, "service") == 0 &&
		    ch->service == NULL)
			ch->service = value;
		else if (strcasecmp(name, "scope") == 0 && ch->scope == NULL)
			ch->scope = value;
		else
			free(value);
		free(name);
	}
	return (ch->realm == NULL ? -1 : 0);
}

void
oci_proto_challenge_clear(struct oci_proto_challenge *ch)
{
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	memset(ch, 0, sizeof *ch);
}

/*
 * The token request URL: realm?service=S&scope=A&scope=B for the
 * space-separated scopes. The realm must be https, or http when insecure.
 */
char *
oci_proto_token_url(const char *realm, const char *service,
    const char *scope, int insecure, char **cause)
{
	const char	*s, *e;
	char		*url, *q, *esc, *next;

	if (strncmp(realm, "https://", 8) != 0 &&
	    !(insecure && strncmp(realm, "http://", 7) == 0)) {
		xasprintf(cause, "registry: token realm is not https: %s",
		    realm);
		return (NULL);
	}
	url = xstrdup(realm);
	if (service != NULL) {
		esc = curl_easy_escape(NULL, service, 0);
		xasprintf(&q, "service=%s", esc);
		curl_free(esc);
		next = oci_proto_resolve(url, NULL, q);
		free(q);
		free(url);
		url = next;
	}
	for (s = scope; url != NULL && s != NULL && *s != '\0'; s = e) {
		while (*s == ' ')
			s++;
		if ((e = strchr(s, ' ')) == NULL)
			e = s + strlen(s);
		if (e == s)
			break;
		esc = curl_easy_escape(NULL, s, e - s);
		xasprintf(&q, "scope=%s", esc);
		curl_free(esc);
		next = oci_proto_resolve(url, NULL, q);
		free(q);
		free(url);
		url = next;
	}
	if (url == NULL)
		xasprintf(cause, "registry: bad token realm %s", realm);
	return (url);
}

/*
 * A token response: "token" (or "access_token") and "expires_in", which
 * defaults to and is at least OCI_PROTO_TOKEN_TTL, at most a day.
 */
int
oci_proto_token_parse(const char *body, size_t len, char **token,
    long long *ttl, char **cause)
{
	json_t		*root;
	const char	*tok;
	int		 rc = -1;

	*token = NULL;
	*ttl = OCI_PROTO_TOKEN_TTL;
	root = json_loadb(body != NULL ? body : "", len, 0, NULL);
	tok = json_string_value(json_object_get(root, "token"));
	if (tok == NULL || *tok == '\0')
		tok = json_string_value(json_object_get(root,
		    "access_token"));
	if (tok == NULL || *tok == '\0' || strpbrk(tok, "\r\n") != NULL) {
		xasprintf(cause, "registry: token response has no token");
		goto out;
	}
	if (json_is_integer(json_object_get(root, "expires_in")))
		*ttl = json_integer_value(json_object_get(root, "expires_in"));
	if (*ttl < OCI_PROTO_TOKEN_TTL)
		*ttl = OCI_PROTO_TOKEN_TTL;
	if (*ttl > OCI_PROTO_TOKEN_TTL_MAX)
		*ttl = OCI_PROTO_TOKEN_TTL_MAX;
	*token = xstrdup(tok);
	rc = 0;
out:
	json_decref(root);
	return (rc);
}

/*
 * The cause for an unexpected response: "registry: METHOD PATH: STATUS
 * CODE: message (detail)HINT" from the first entry of the registry's error
 * JSON if there is one, else the status alone.
 */
char *
oci_proto_error(const char *method, const char *url, long status,
    const char *body, size_t len, const char *hint)
{
	json_t		*root = NULL, *e, *d;
	const char	*code = NULL, *msg = NULL;
	char		*path, *detail = NULL, *dj, *out;

	if (body != NULL && len > 0)
		root = json_loadb(body, len, 0, NULL);
	e = json_array_get(json_object_get(root, "errors"), 0);
	code = json_string_value(json_object_get(e, "code"));
	msg = json_string_value(json_object_get(e, "message"));
	d = json_object_get(e, "detail");
	if (json_is_string(d) && *json_string_value(d) != '\0')
		xasprintf(&detail, " (%s)", json_string_value(d));
	else if (d != NULL && !json_is_null(d) && (json_is_object(d) ?
	    json_object_size(d) > 0 : json_is_array(d) ?
	    json_array_size(d) > 0 : 1)) {
		dj = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
		if (dj != NULL && strlen(dj) <= 200)
			xasprintf(&detail, " (%s)", dj);
		free(dj);
	}
	path = oci_proto_url_path(url);
	xasprintf(&out, "registry: %s %s: %ld%s%s%s%s%s%s", method,
	    path, status, code != NULL ? " " : "",
	    code != NULL ? code : "", msg != NULL ? ": " : "",
	    msg != NULL ? msg : "", detail != NULL ? detail : "",
	    hint != NULL ? hint : "");
	free(path);
	free(detail);
	json_decref(root);
	return (out);
}

/* The target of a `Link: <url>; rel="next"` header, resolved, or NULL. */
char *
oci_proto_link_next(const char *base, const char *link)
{
	const char	*s, *e;
	char		*target, *out;

	if ((s = strchr(link, '<')) == NULL ||
	    (e = strchr(s, '>')) == NULL)
		return (NULL);
	if (strstr(e, "rel=\"next\"") == NULL && strstr(e, "rel=next") == NULL)
		return (NULL);
	target = xstrndup(s + 1, e - s - 1);
	out = oci_proto_resolve(base, target, NULL);
	free(target);
	return (out);
}

/* Retry-After in seconds (the HTTP-date form is not used by registries). */
long
oci_proto_retry_after(const char *v)
{
	size_t	len;

	if (v == NULL)
		return (-1);
	len = strlen(v);
	if (len == 0 || len >= 10 || strspn(v, "0123456789") != len)
		return (-1);
	return (strtol(v, NULL, 10));
}
