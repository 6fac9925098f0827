/*
 * The handler table and what handlers share: lookup by name, detection of
 * the source from its headers, HMAC signature checks, the JSON body (also
 * when a forge posts it form-encoded) and the delivery id.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "util.h"
#include "xmalloc.h"

/*
 * Detection order matters: Gitea and Forgejo also send GitHub's headers,
 * and Forgejo also sends Gitea's (PROTOCOLS.md 1.7).
 */
static const struct handler *handlers[] = {
	&handler_forgejo,
	&handler_gitea,
	&handler_github,
	&handler_gitlab,
	&handler_bitbucket_server,
	&handler_bitbucket,
	&handler_generic,
	NULL
};

/* Handler by provider name, or NULL. */
const struct handler *
handler_find(const char *name)
{
	size_t	i;

	for (i = 0; handlers[i] != NULL; i++) {
		if (strcmp(handlers[i]->name, name) == 0)
			return (handlers[i]);
	}
	return (NULL);
}

/* The handler whose headers a request carries, or NULL. */
const struct handler *
handler_detect(const struct headers *h)
{
	size_t	i;

	for (i = 0; handlers[i] != NULL; i++) {
		if (handlers[i]->detect != NULL && handlers[i]->detect(h))
			return (handlers[i]);
	}
	return (NULL);
}

/*
 * Check a hex HMAC-SHA256 signature found in header name (value, NULL when
 * missing) after prefix (e.g. "sha256=", or "" for bare hex) over the body.
 * Returns 0 if it matches; otherwise -1 with *cause set.
 */
int
handler_verify_hmac(const char *name, const char *value, const char *prefix,
    const char *secret, size_t secretlen, const void *body, size_t bodylen,
    char **cause)
{
	unsigned char	 want[32], got[32];
	size_t		 plen = strlen(prefix);

	if (value == NULL || *value == '\0') {
		xasprintf(cause, "missing signature header %s", name);
		return (-1);
	}
	if (strncasecmp(value, prefix, plen) != 0 ||
	    hex_decode(value + plen, strlen(value + plen), got,
	    sizeof got) != 0) {
		xasprintf(cause, "malformed signature in %s", name);
		return (-1);
	}
	if (hmac_sha256(secret, secretlen, body, bodylen, want) != 0) {
		xasprintf(cause, "cannot compute HMAC");
		return (-1);
	}
	if (!ct_equal(want, sizeof want, got, sizeof got)) {
		xasprintf(cause, "signature mismatch in %s", name);
		return (-1);
	}
	return (0);
}

/*
 * Parse the request's JSON payload: the body, or the urlencoded "payload"
 * field of a form body. The top level must be an object. Returns the
 * document, which the caller releases with jv_free, or NULL with *cause
 * set.
 */
struct jv *
handler_json(const struct handler_request *req, char **cause)
{
	const char	*ctype, *body = req->body;
	char		*decoded = NULL;
	size_t		 len = req->bodylen;
	struct jv	*root;

	ctype = headers_get(req->headers, "Content-Type");
	/*
	 * A form body carries the JSON in its payload field. A body labelled
	 * as a form that is not one (curl's default label) is read as JSON.
	 */
	if (ctype != NULL && strncasecmp(ctype,
	    "application/x-www-form-urlencoded", 33) == 0 &&
	    len >= 8 && strncmp(body, "payload=", 8) == 0) {
		decoded = url_decode(body + 8, len - 8, &len);
		if (decoded == NULL) {
			xasprintf(cause, "malformed form encoding");
			return (NULL);
		}
		body = decoded;
	}
	root = jv_parse(body, len, cause);
	free(decoded);
	if (root == NULL)
		return (NULL);
	if (!jv_is_object(root)) {
		jv_free(root);
		xasprintf(cause, "JSON payload is not an object");
		return (NULL);
	}
	return (root);
}

/*
 * The delivery id from header name: printable ASCII of at most 200
 * characters. Without one, the SHA-256 of the body stands in, so that
 * a redelivery of the same bytes is still seen as a duplicate. Returns a
 * string the caller frees through *storage.
 */
const char *
handler_delivery(const struct handler_request *req, const char *name,
    char **storage)
{
	const char	*v = name != NULL ? headers_get(req->headers, name) : NULL;
	char		 hex[SHA256_HEX_LEN + 1];
	size_t		 i;

	if (v != NULL && *v != '\0' && strlen(v) <= 200) {
		for (i = 0; v[i] != '\0'; i++) {
			if (v[i] < 0x21 || v[i] > 0x7e)
				break;
		}
		if (v[i] == '\0') {
			*storage = xstrdup(v);
			return (*storage);
		}
	}
	sha256_hex(req->body, req->bodylen, hex);
	xasprintf(storage, "sha256:%s", hex);
	return (*storage);
}

/* Value at a dotted path ("pull_request.base.ref"), borrowed, or NULL. */
const struct jv *
hjson_get(const struct jv *o, const char *path)
{
	const char	*dot;
	char		 key[128];
	size_t		 len;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		len = (size_t)(dot - path);
		if (len >= sizeof key)
			return (NULL);
		memcpy(key, path, len);
		key[len] = '\0';
		o = jv_get(o, key);
		path = dot + 1;
	}
	return (o != NULL ? jv_get(o, path) : NULL);
}

/* String at a dotted path, borrowed; NULL if absent or not a string. */
const char *
hjson_str(const struct jv *o, const char *path)
{
	return (jv_str(hjson_get(o, path)));
}

/* Boolean at a dotted path: 1, 0, or -1 if absent or not a boolean. */
int
hjson_bool(const struct jv *o, const char *path)
{
	const struct jv	*v = hjson_get(o, path);

	return (jv_bool(v));
}

/* Integer at a dotted path, or 0. */
long long
hjson_int(const struct jv *o, const char *path)
{
	return (jv_int(hjson_get(o, path)));
}

/*
 * The GitHub-shaped pull_request event, which Gitea and Forgejo send too: a
 * merge when action is "closed" and pull_request.merged is true (a
 * merge_commit_sha alone proves nothing: it is set for unmerged pull
 * requests as well); the commit is merge_commit_sha on the base branch.
 * Anything else is ignored. Returns 0, or -1 with *cause set.
 */
int
handler_pull_request(struct gitevent *ev, const struct jv *root, char **cause)
{
	const struct jv		*pr = jv_get(root, "pull_request");
	const char	*action, *base, *sha, *s;

	action = hjson_str(root, "action");
	base = hjson_str(pr, "base.ref");
	if (!jv_is_object(pr) || action == NULL || base == NULL) {
		xasprintf(cause, "pull_request payload without %s",
		    action == NULL ? "action" : "pull_request.base.ref");
		return (-1);
	}
	ev->target_branch = xstrdup(base);
	if ((ev->pr_number = hjson_int(root, "number")) == 0)
		ev->pr_number = hjson_int(pr, "number");
	if ((s = hjson_str(pr, "base.repo.full_name")) != NULL) {
		free(ev->repo);
		ev->repo = xstrdup(s);
	}
	if ((s = hjson_str(pr, "base.repo.clone_url")) != NULL) {
		free(ev->clone_url);
		ev->clone_url = xstrdup(s);
	}
	if (strcmp(action, "closed") != 0) {
		gitevent_ignore(ev, "pull request %s, not merged", action);
		return (0);
	}
	if (hjson_bool(pr, "merged") != 1) {
		gitevent_ignore(ev, "pull request closed without merge");
		return (0);
	}
	if ((sha = hjson_str(pr, "merge_commit_sha")) == NULL) {
		xasprintf(cause, "merged pull request without merge_commit_sha");
		return (-1);
	}
	xasprintf(&ev->ref, "refs/heads/%s", base);
	ev->sha = xstrdup(sha);
	if ((s = hjson_str(pr, "merged_by.login")) != NULL) {
		free(ev->sender);
		ev->sender = xstrdup(s);
	}
	ev->kind = GITEVENT_MERGE;
	return (0);
}
