/*
 * status.c: the request that sets a commit status on a git host.
 *
 * PROTOCOLS.md section 1 covers the hosts' webhooks only, not their status
 * APIs, so the facts below come from the hosts' own documentation (found
 * through the docs search); each is cited where it is used. UNCONFIRMED
 * marks what no primary source confirmed.
 *
 * GitHub:  POST {api}/repos/{owner}/{repo}/statuses/{sha}, JSON
 *   {state, target_url, description, context}, state one of pending,
 *   success, failure, error; 201 Created.
 *   Source: https://docs.github.com/rest/commits/statuses#create-a-commit-status
 *   (github/rest-api-description, ReposCreateCommitStatusRequest).
 *   The description limit, 140 characters, is the 422 GitHub answers
 *   ("description is too long (maximum is 140 characters)"), reported in
 *   github.com/zalando/zappr/issues/378 and many others; the docs do not
 *   state it. Auth "Authorization: Bearer TOKEN" (GitHub's REST docs,
 *   "Authenticating to the REST API").
 * GitLab:  POST {api}/projects/{id}/statuses/{sha}, id the URL-encoded full
 *   path; {state, name, target_url, description}, state one of pending,
 *   running, success, failed, canceled; 201 Created.
 *   Source: https://docs.gitlab.com/ee/api/commits.html#set-the-pipeline-status-of-a-commit
 *   (and gitlab-org/gitlab#23636 on the accepted states). Auth header
 *   "PRIVATE-TOKEN: TOKEN", 401 {"message":"401 Unauthorized"}
 *   (gitlabhq/gitlabhq:doc/api/README.md). target_url is limited to 255
 *   characters (gitlab-org/gitlab#501079). The description limit, 255, is
 *   UNCONFIRMED.
 * Gitea, Forgejo:  POST {api}/repos/{owner}/{repo}/statuses/{sha},
 *   CreateStatusOption {state, target_url, description, context}, state
 *   one of pending, success, error, failure, warning; 201.
 *   Source: Gitea's swagger (CreateStatusOption, CommitStatusState) and
 *   Forgejo's (forgejo.org/modules/structs). Auth "Authorization: token
 *   TOKEN": https://docs.gitea.com/development/api-usage. No description
 *   limit is documented; ferry cuts at 255 of its own accord.
 * Bitbucket Cloud:  POST {api}/repositories/{workspace}/{slug}/commit/{sha}/
 *   statuses/build, {key, state, name, url, description}, state one of
 *   INPROGRESS, SUCCESSFUL, FAILED, STOPPED; key and url required; 201.
 *   Source: https://developer.atlassian.com/cloud/bitbucket/rest/api-group-commit-statuses/
 *   Auth "Authorization: Bearer TOKEN" (same page). The key is at most 40
 *   characters: jira.atlassian.com/browse/BCLOUD-23984 and
 *   runatlantis/atlantis#2037 (the API docs do not say).
 * Bitbucket Server/Data Center:  POST {base}/rest/api/latest/projects/
 *   {KEY}/repos/{slug}/commits/{sha}/builds, {key, state, name, url,
 *   description}, state one of INPROGRESS, SUCCESSFUL, FAILED, CANCELLED,
 *   UNKNOWN; key, state and url required.
 *   Source: https://developer.atlassian.com/server/bitbucket/how-tos/updating-build-status-for-commits
 *   (this endpoint needs 7.4 or later; older servers only have
 *   /rest/build-status/1.0/commits/{sha}). Auth "Authorization: Bearer
 *   TOKEN" for HTTP access tokens. The answer, 204 No Content, and the key
 *   limit, 255, are UNCONFIRMED.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "status.h"
#include "util.h"
#include "xmalloc.h"

enum status_kind {
	KIND_GITHUB,
	KIND_GITLAB,
	KIND_GITEA,
	KIND_BITBUCKET,
	KIND_BITBUCKET_SERVER
};

struct status_provider {
	const char	*name;
	enum status_kind kind;
	const char	*auth;		/* header line up to the token */
	size_t		 desc_max;	/* characters (code points) */
	size_t		 key_max;	/* Bitbucket key, bytes; 0 for none */
	/* The provider's name for each enum status_state, in order. */
	const char	*states[6];
};

/*
 * Ferry's states in each host's words. Where a host has no word for a
 * state, the nearest one: "running" is "pending" on the hosts without it;
 * an ERROR (ferry could not run the stage) is "failed" where the host has
 * no error state; a cancelled run is GitHub's and Gitea's "error" (it did
 * not fail on its merits).
 */
static const struct status_provider status_providers[] = {
	{ "github", KIND_GITHUB, "Authorization: Bearer ", 140, 0,
	  { "pending", "pending", "success", "failure", "error", "error" } },
	{ "gitlab", KIND_GITLAB, "PRIVATE-TOKEN: ", 255, 0,
	  { "pending", "running", "success", "failed", "failed",
	    "canceled" } },
	{ "gitea", KIND_GITEA, "Authorization: token ", 255, 0,
	  { "pending", "pending", "success", "failure", "error", "error" } },
	{ "forgejo", KIND_GITEA, "Authorization: token ", 255, 0,
	  { "pending", "pending", "success", "failure", "error", "error" } },
	{ "bitbucket", KIND_BITBUCKET, "Authorization: Bearer ", 255, 40,
	  { "INPROGRESS", "INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED",
	    "STOPPED" } },
	{ "bitbucket-server", KIND_BITBUCKET_SERVER,
	  "Authorization: Bearer ", 255, 255,
	  { "INPROGRESS", "INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED",
	    "CANCELLED" } },
};

#define STATUS_NPROVIDERS \
	(sizeof status_providers / sizeof status_providers[0])

/* GitLab's limit on target_url (gitlab-org/gitlab#501079). */
#define STATUS_GITLAB_URL_MAX	255
/* Bytes of the context kept in front of the hash in a shortened key. */
#define STATUS_KEY_HASH_HEX	12

static const struct status_provider *
status_provider_find(const char *name)
{
	size_t	i;

	if (name == NULL)
		return (NULL);
	for (i = 0; i < STATUS_NPROVIDERS; i++) {
		if (strcmp(status_providers[i].name, name) == 0)
			return (&status_providers[i]);
	}
	return (NULL);
}

/* Whether ferry can report statuses to the provider named. */
int
status_provider_known(const char *name)
{
	return (status_provider_find(name) != NULL);
}

/* Ferry's own name for a state, as the API and logs show it. */
const char *
status_state_name(enum status_state s)
{
	switch (s) {
	case STATUS_PENDING:
		return ("pending");
	case STATUS_RUNNING:
		return ("running");
	case STATUS_SUCCESS:
		return ("success");
	case STATUS_FAILURE:
		return ("failure");
	case STATUS_ERROR:
		return ("error");
	case STATUS_CANCELED:
		return ("canceled");
	}
	return ("unknown");
}

/*
 * Whether u is an http(s) URL of printable ASCII with a host. With
 * prefix set it is an API root: no query or fragment either, since paths
 * are appended to it.
 */
static int
status_url_ok(const char *u, int prefix)
{
	const char	*p;

	if (strncasecmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return (0);
	if (*p == '\0' || *p == '/')
		return (0);
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return (0);
		if (strchr("\"<>\\^`{|}", *p) != NULL)
			return (0);
		if (prefix && (*p == '?' || *p == '#'))
			return (0);
	}
	return (1);
}

/*
 * Whether repo is a repository path the host can have: segments of
 * letters, digits, '.', '_' and '-', not "." or "..", joined by single
 * slashes. GitLab allows subgroups (two or more segments), the others
 * exactly two. A Bitbucket Server personal project key starts with '~'.
 * Anything else could change the meaning of the URL built from it.
 */
static int
status_repo_ok(const char *repo, enum status_kind kind)
{
	const char	*p, *seg;
	size_t		 n, nseg = 0;

	if (repo == NULL || *repo == '\0' || strlen(repo) > 1024)
		return (0);
	p = repo;
	for (;;) {
		seg = p;
		if (kind == KIND_BITBUCKET_SERVER && nseg == 0 && *p == '~')
			p++;
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '_' ||
		    *p == '-')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.') ||
		    (n == 1 && seg[0] == '~'))
			return (0);
		nseg++;
		if (*p == '\0')
			break;
		if (*p != '/')
			return (0);
		p++;
	}
	if (kind == KIND_GITLAB)
		return (nseg >= 2);
	return (nseg == 2);
}

/* A lower-case copy of sha if it is 40 or 64 hex digits, else NULL. */
static char *
status_sha(const char *sha)
{
	char	*s;
	size_t	 i, n;

	if (sha == NULL)
		return (NULL);
	n = strlen(sha);
	if (n != 40 && n != 64)
		return (NULL);
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)sha[i]))
			return (NULL);
	}
	s = xstrdup(sha);
	for (i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return (s);
}

/*
 * A valid UTF-8 copy of s of at most max characters (code points; 0 for
 * no limit). Bytes that are not UTF-8 become U+FFFD, which jansson would
 * otherwise refuse. With oneline, control characters become spaces. A
 * text that is cut ends in U+2026 so a reader sees it was cut; the cut
 * falls between characters, never inside one.
 */
static char *
status_text(const char *s, size_t max, int oneline)
{
	struct buf		 b;
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 left = strlen(s), n, chars = 0, total = 0;
	size_t			 i;

	/* Count the characters first: the cut needs to know. */
	for (i = 0; i < left; i += n) {
		if ((n = utf8_seq_len(p + i, left - i)) == 0)
			n = 1;
		total++;
	}
	buf_init(&b);
	buf_add(&b, "", 0);
	while (left > 0) {
		if (max != 0 && total > max && chars == max - 1) {
			buf_add(&b, "\xe2\x80\xa6", 3);
			break;
		}
		if ((n = utf8_seq_len(p, left)) == 0) {
			buf_add(&b, "\xef\xbf\xbd", 3);
			n = 1;
		} else if (oneline && n == 1 && (*p < 0x20 || *p == 0x7f))
			buf_add(&b, " ", 1);
		else
			buf_add(&b, p, n);
		chars++;
		p += n;
		left -= n;
	}
	return (b.data);
}

/*
 * The Bitbucket key for a context: the context itself when it fits in max
 * bytes, else its head and the first hex digits of its SHA-256, so that
 * two long contexts sharing a head still get different keys and the same
 * context always gets the same key.
 */
static char *
status_key(const char *context, size_t max)
{
	char	 hex[SHA256_HEX_LEN + 1], *key;
	size_t	 len = strlen(context), head, n;

	if (max == 0 || len <= max)
		return (xstrdup(context));
	sha256_hex(context, len, hex);
	head = max - 1 - STATUS_KEY_HASH_HEX;
	/* Back off to a character boundary (context is valid UTF-8). */
	for (n = head; n > 0 && ((unsigned char)context[n] & 0xc0) == 0x80; n--)
		;
	xasprintf(&key, "%.*s-%.*s", (int)n, context, STATUS_KEY_HASH_HEX, hex);
	return (key);
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static char *
status_path_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	struct buf		 b;
	char			 esc[3];

	buf_init(&b);
	buf_add(&b, "", 0);
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			buf_add(&b, s, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[(unsigned char)*s >> 4];
			esc[2] = hex[(unsigned char)*s & 0xf];
			buf_add(&b, esc, 3);
		}
	}
	return (b.data);
}

static void
status_set(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

/*
 * Build the request that reports u on the commit t: *method, *url and
 * *body (JSON) are set and the caller frees them. Returns 0, or -1 with
 * *cause for an unknown provider, a bad sha, a repository path that is
 * not one, an api_url or target_url that is not http(s), an empty
 * context, or a missing target_url where the host requires one.
 */
int
status_request(const struct status_target *t, const struct status_update *u,
    char **method, char **url, char **body, char **cause)
{
	const struct status_provider	*pv;
	json_t				*o = NULL;
	char				*api = NULL, *sha = NULL, *ctx = NULL;
	char				*desc = NULL, *key = NULL, *id = NULL;
	const char			*state, *slash;
	size_t				 n;
	int				 rc = -1;

	*method = *url = *body = NULL;
	if ((pv = status_provider_find(t->provider)) == NULL) {
		xasprintf(cause, "status: unknown provider \"%s\"",
		    t->provider != NULL ? t->provider : "");
		return (-1);
	}
	if ((unsigned)u->state > STATUS_CANCELED) {
		xasprintf(cause, "status: bad state %d", (int)u->state);
		return (-1);
	}
	if (t->api_url == NULL || !status_url_ok(t->api_url, 1)) {
		xasprintf(cause, "status: %s: api_url is not an http(s) URL",
		    pv->name);
		return (-1);
	}
	if ((sha = status_sha(t->sha)) == NULL) {
		xasprintf(cause, "status: %s: bad commit sha", pv->name);
		goto out;
	}
	if (!status_repo_ok(t->repo, pv->kind)) {
		xasprintf(cause, "status: %s: bad repository path", pv->name);
		goto out;
	}
	if (u->target_url != NULL && !status_url_ok(u->target_url, 0)) {
		xasprintf(cause, "status: %s: target_url is not an http(s) URL",
		    pv->name);
		goto out;
	}
	if (u->target_url == NULL && (pv->kind == KIND_BITBUCKET ||
	    pv->kind == KIND_BITBUCKET_SERVER)) {
		xasprintf(cause, "status: %s needs a target_url", pv->name);
		goto out;
	}
	if (u->target_url != NULL && pv->kind == KIND_GITLAB &&
	    strlen(u->target_url) > STATUS_GITLAB_URL_MAX) {
		xasprintf(cause, "status: gitlab: target_url longer than %d",
		    STATUS_GITLAB_URL_MAX);
		goto out;
	}
	if (u->context == NULL || *u->context == '\0') {
		xasprintf(cause, "status: %s: empty context", pv->name);
		goto out;
	}

	api = xstrdup(t->api_url);
	for (n = strlen(api); n > 0 && api[n - 1] == '/'; n--)
		api[n - 1] = '\0';
	ctx = status_text(u->context, 0, 0);
	if (u->description != NULL)
		desc = status_text(u->description, pv->desc_max, 1);
	state = pv->states[u->state];
	slash = strchr(t->repo, '/');

	o = json_object();
	switch (pv->kind) {
	case KIND_GITHUB:
	case KIND_GITEA:
		xasprintf(url, "%s/repos/%s/statuses/%s", api, t->repo, sha);
		status_set(o, "state", state);
		if (u->target_url != NULL)
			status_set(o, "target_url", u->target_url);
		if (desc != NULL)
			status_set(o, "description", desc);
		status_set(o, "context", ctx);
		break;
	case KIND_GITLAB:
		id = status_path_escape(t->repo);
		xasprintf(url, "%s/projects/%s/statuses/%s", api, id, sha);
		status_set(o, "state", state);
		status_set(o, "name", ctx);
		if (u->target_url != NULL)
			status_set(o, "target_url", u->target_url);
		if (desc != NULL)
			status_set(o, "description", desc);
		break;
	case KIND_BITBUCKET:
	case KIND_BITBUCKET_SERVER:
		if (pv->kind == KIND_BITBUCKET)
			xasprintf(url, "%s/repositories/%s/commit/%s/"
			    "statuses/build", api, t->repo, sha);
		else
			xasprintf(url, "%s/rest/api/latest/projects/%.*s/repos/"
			    "%s/commits/%s/builds", api, (int)(slash - t->repo),
			    t->repo, slash + 1, sha);
		key = status_key(ctx, pv->key_max);
		status_set(o, "key", key);
		status_set(o, "state", state);
		status_set(o, "name", ctx);
		status_set(o, "url", u->target_url);
		if (desc != NULL)
			status_set(o, "description", desc);
		break;
	}
	*body = json_dumps(o, JSON_COMPACT);
	if (*body == NULL) {
		free(*url);
		*url = NULL;
		xasprintf(cause, "status: %s: cannot encode the body", pv->name);
		goto out;
	}
	*method = xstrdup("POST");
	rc = 0;
out:
	json_decref(o);
	free(api);
	free(sha);
	free(ctx);
	free(desc);
	free(key);
	free(id);
	return (rc);
}

/*
 * The header line that carries token for provider ("Name: value", no line
 * end), newly allocated; NULL for an unknown provider, or for a token that
 * is empty or holds a control character or space (it would split or bend
 * the header).
 */
char *
status_auth_header(const char *provider, const char *token)
{
	const struct status_provider	*pv;
	const char			*p;
	char				*h;

	if ((pv = status_provider_find(provider)) == NULL || token == NULL ||
	    *token == '\0')
		return (NULL);
	for (p = token; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return (NULL);
	}
	xasprintf(&h, "%s%s", pv->auth, token);
	return (h);
}
