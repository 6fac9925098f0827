/*
 * Bitbucket Cloud (bitbucket.org) and Bitbucket Server / Data Center. Both
 * send X-Event-Key and authenticate with X-Hub-Signature, "sha256=" and the
 * hex HMAC-SHA256 of the raw body (GitHub's legacy header name, SHA-256
 * value). One push reports several ref changes, and each becomes its own
 * event. Cloud: repo:push and pullrequest:fulfilled (its merge commit may be
 * a 12-digit abbreviation, kept as sent); the payload has no clone URL, so
 * one is derived from the full name. Server: repo:refs_changed, pr:merged
 * and the diagnostics:ping of the "Test connection" button.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "xmalloc.h"

/* Replace a string field of an event with a copy of s, if s is set. */
static void
bitbucket_set(char **field, const char *s)
{
	if (s == NULL)
		return;
	free(*field);
	*field = xstrdup(s);
}

static int
bitbucket_verify(const struct handler_request *req, const char *secret,
    size_t secretlen, char **cause)
{
	return (handler_verify_hmac("X-Hub-Signature",
	    headers_get(req->headers, "X-Hub-Signature"), "sha256=",
	    secret, secretlen, req->body, req->bodylen, cause));
}

/*
 * Server / Data Center: X-Request-Id without Cloud's X-Hook-UUID, or an
 * event key only the server uses.
 */
static int
bitbucket_server_detect(const struct headers *h)
{
	const char	*key;

	if ((key = headers_get(h, "X-Event-Key")) == NULL)
		return (0);
	if (strncmp(key, "repo:refs_changed", 17) == 0 ||
	    strncmp(key, "pr:", 3) == 0 ||
	    strncmp(key, "diagnostics:", 12) == 0)
		return (1);
	return (headers_get(h, "X-Request-Id") != NULL &&
	    headers_get(h, "X-Hook-UUID") == NULL);
}

static int
bitbucket_detect(const struct headers *h)
{
	if (headers_get(h, "X-Event-Key") == NULL || bitbucket_server_detect(h))
		return (0);
	return (headers_get(h, "X-Hook-UUID") != NULL ||
	    headers_get(h, "X-Request-UUID") != NULL);
}

/* Cloud: repository, derived clone URL and sender of every event. */
static void
bitbucket_common(struct gitevent *ev, const struct jv *root)
{
	const char	*s;

	if ((s = hjson_str(root, "repository.full_name")) != NULL) {
		ev->repo = xstrdup(s);
		xasprintf(&ev->clone_url, "https://bitbucket.org/%s.git", s);
	}
	if ((s = hjson_str(root, "actor.nickname")) != NULL ||
	    (s = hjson_str(root, "actor.username")) != NULL ||
	    (s = hjson_str(root, "actor.display_name")) != NULL)
		ev->sender = xstrdup(s);
}

/*
 * One entry of push.changes[]: old is null for a new ref, new is null for
 * a deleted one; either names the ref by type and short name.
 */
static int
bitbucket_change(struct gitevent *ev, const struct jv *change, char **cause)
{
	const struct jv		*old, *new, *side;
	const char	*type, *name, *before = NULL, *after = NULL;
	char		*ref;
	int		 b;

	old = jv_get(change, "old");
	new = jv_get(change, "new");
	side = jv_is_object(new) ? new : old;
	if (!jv_is_object(side)) {
		gitevent_ignore(ev, "ref change without old or new ref");
		return (0);
	}
	type = hjson_str(side, "type");
	if ((name = hjson_str(side, "name")) == NULL) {
		xasprintf(cause, "push change without a ref name");
		return (-1);
	}
	if (type != NULL && strcmp(type, "branch") == 0)
		xasprintf(&ref, "refs/heads/%s", name);
	else if (type != NULL && (strcmp(type, "tag") == 0 ||
	    strcmp(type, "annotated_tag") == 0))
		xasprintf(&ref, "refs/tags/%s", name);
	else {
		gitevent_ignore(ev, "ref %s of type %s is neither a branch nor "
		    "a tag", name, type != NULL ? type : "(none)");
		return (0);
	}
	if (jv_is_object(old))
		before = hjson_str(old, "target.hash");
	if (jv_is_object(new)) {
		if ((after = hjson_str(new, "target.hash")) == NULL) {
			free(ref);
			xasprintf(cause, "push change without new.target.hash");
			return (-1);
		}
	} else
		ev->deleted = 1;
	ev->created = !jv_is_object(old);
	if ((b = hjson_bool(change, "forced")) != -1)
		ev->forced = b;
	gitevent_set_ref_update(ev, ref, before, after);
	free(ref);
	return (0);
}

/* repo:push: one event per ref change; none at all is one ignored event. */
static int
bitbucket_push(const struct handler_request *req, struct gitevent_list *list,
    const char *name, const struct jv *root, char **cause)
{
	struct gitevent	*ev;
	const struct jv		*changes;
	size_t		 i;

	changes = hjson_get(root, "push.changes");
	if (!jv_is_array(changes)) {
		xasprintf(cause, "push payload without push.changes");
		return (-1);
	}
	if (jv_size(changes) == 0) {
		ev = gitevent_list_add(list, handler_bitbucket.name, name);
		handler_delivery(req, "X-Request-UUID", &ev->delivery);
		bitbucket_common(ev, root);
		gitevent_ignore(ev, "push without ref changes");
		return (0);
	}
	for (i = 0; i < jv_size(changes); i++) {
		ev = gitevent_list_add(list, handler_bitbucket.name, name);
		handler_delivery(req, "X-Request-UUID", &ev->delivery);
		bitbucket_common(ev, root);
		if (bitbucket_change(ev, jv_at(changes, i),
		    cause) != 0)
			return (-1);
	}
	return (0);
}

/* pullrequest:*: only fulfilled (merged) starts a run. */
static int
bitbucket_pullrequest(struct gitevent *ev, const char *name, const struct jv *root,
    char **cause)
{
	const struct jv		*pr = jv_get(root, "pullrequest");
	const char	*target, *sha, *what;

	target = hjson_str(pr, "destination.branch.name");
	if (target != NULL)
		ev->target_branch = xstrdup(target);
	ev->pr_number = hjson_int(pr, "id");
	what = name + strlen("pullrequest:");
	if (strcmp(what, "fulfilled") != 0) {
		gitevent_ignore(ev, "pull request %s, not merged", what);
		return (0);
	}
	if (target == NULL) {
		xasprintf(cause, "merged pull request without "
		    "pullrequest.destination.branch.name");
		return (-1);
	}
	if ((sha = hjson_str(pr, "merge_commit.hash")) == NULL) {
		xasprintf(cause, "merged pull request without "
		    "pullrequest.merge_commit.hash");
		return (-1);
	}
	xasprintf(&ev->ref, "refs/heads/%s", target);
	ev->sha = xstrdup(sha);
	ev->kind = GITEVENT_MERGE;
	return (0);
}

static int
bitbucket_parse(const struct handler_request *req,
    struct gitevent_list *list, char **cause)
{
	struct gitevent	*ev;
	const char	*name;
	const struct jv		*root;
	int		 rc = 0;

	if ((name = headers_get(req->headers, "X-Event-Key")) == NULL) {
		xasprintf(cause, "missing X-Event-Key header");
		return (-1);
	}
	if ((root = handler_json(req, cause)) == NULL)
		return (-1);
	if (strcmp(name, "repo:push") == 0) {
		rc = bitbucket_push(req, list, name, root, cause);
		jv_free(root);
		return (rc);
	}
	ev = gitevent_list_add(list, handler_bitbucket.name, name);
	handler_delivery(req, "X-Request-UUID", &ev->delivery);
	bitbucket_common(ev, root);
	if (strncmp(name, "pullrequest:", 12) == 0)
		rc = bitbucket_pullrequest(ev, name, root, cause);
	else
		gitevent_ignore(ev, "event %s does not start runs", name);
	jv_free(root);
	return (rc);
}

/*
 * Server: "<project key>/<slug>" of a repository object and its http
 * clone link, which some versions leave out.
 */
static void
bitbucket_server_repo(struct gitevent *ev, const struct jv *repo)
{
	const struct jv		*clone, *link;
	const char	*key, *slug, *s;
	size_t		 i;

	key = hjson_str(repo, "project.key");
	slug = hjson_str(repo, "slug");
	if (key != NULL && slug != NULL) {
		free(ev->repo);
		xasprintf(&ev->repo, "%s/%s", key, slug);
	}
	clone = hjson_get(repo, "links.clone");
	for (i = 0; i < jv_size(clone); i++) {
		link = jv_at(clone, i);
		s = hjson_str(link, "name");
		if (s != NULL && strcmp(s, "http") == 0) {
			bitbucket_set(&ev->clone_url, hjson_str(link, "href"));
			break;
		}
	}
}

/* Server: repository and sender of every event. */
static void
bitbucket_server_common(struct gitevent *ev, const struct jv *root)
{
	bitbucket_server_repo(ev, jv_get(root, "repository"));
	bitbucket_set(&ev->sender, hjson_str(root, "actor.name"));
}

/* One entry of changes[]: type ADD, UPDATE or DELETE of a full ref. */
static int
bitbucket_server_change(struct gitevent *ev, const struct jv *change, char **cause)
{
	const char	*ref, *type, *from, *to;

	if ((ref = hjson_str(change, "ref.id")) == NULL &&
	    (ref = hjson_str(change, "refId")) == NULL) {
		xasprintf(cause, "refs_changed change without ref.id");
		return (-1);
	}
	type = hjson_str(change, "type");
	from = hjson_str(change, "fromHash");
	to = hjson_str(change, "toHash");
	if (type != NULL && strcmp(type, "ADD") == 0)
		ev->created = 1;
	else if (type != NULL && strcmp(type, "UPDATE") == 0)
		ev->created = 0;
	else if (type != NULL && strcmp(type, "DELETE") == 0)
		ev->deleted = 1;
	if (to == NULL && !ev->deleted) {
		xasprintf(cause, "refs_changed change without toHash");
		return (-1);
	}
	gitevent_set_ref_update(ev, ref, from, to);
	return (0);
}

/* repo:refs_changed: one event per change; none is one ignored event. */
static int
bitbucket_server_refs_changed(const struct handler_request *req,
    struct gitevent_list *list, const char *name, const struct jv *root, char **cause)
{
	struct gitevent	*ev;
	const struct jv		*changes;
	size_t		 i;

	changes = jv_get(root, "changes");
	if (!jv_is_array(changes)) {
		xasprintf(cause, "refs_changed payload without changes");
		return (-1);
	}
	if (jv_size(changes) == 0) {
		ev = gitevent_list_add(list, handler_bitbucket_server.name,
		    name);
		handler_delivery(req, "X-Request-Id", &ev->delivery);
		bitbucket_server_common(ev, root);
		gitevent_ignore(ev, "push without ref changes");
		return (0);
	}
	for (i = 0; i < jv_size(changes); i++) {
		ev = gitevent_list_add(list, handler_bitbucket_server.name,
		    name);
		handler_delivery(req, "X-Request-Id", &ev->delivery);
		bitbucket_server_common(ev, root);
		if (bitbucket_server_change(ev, jv_at(changes, i),
		    cause) != 0)
			return (-1);
	}
	return (0);
}

/*
 * pr:*: the target is toRef, in toRef's repository (the payload has no
 * top-level one); only pr:merged starts a run.
 */
static int
bitbucket_server_pr(struct gitevent *ev, const char *name, const struct jv *root,
    char **cause)
{
	const struct jv		*pr = jv_get(root, "pullRequest");
	const char	*ref, *target, *sha;

	bitbucket_server_repo(ev, hjson_get(pr, "toRef.repository"));
	ref = hjson_str(pr, "toRef.id");
	if ((target = hjson_str(pr, "toRef.displayId")) == NULL &&
	    ref != NULL && strncmp(ref, "refs/heads/", 11) == 0)
		target = ref + 11;
	bitbucket_set(&ev->target_branch, target);
	ev->pr_number = hjson_int(pr, "id");
	if (strcmp(name, "pr:merged") != 0) {
		gitevent_ignore(ev, "pull request %s, not merged",
		    name + strlen("pr:"));
		return (0);
	}
	if (ref == NULL) {
		xasprintf(cause, "merged pull request without "
		    "pullRequest.toRef.id");
		return (-1);
	}
	if ((sha = hjson_str(pr, "properties.mergeCommit.id")) == NULL) {
		xasprintf(cause, "merged pull request without "
		    "pullRequest.properties.mergeCommit.id");
		return (-1);
	}
	ev->ref = xstrdup(ref);
	ev->sha = xstrdup(sha);
	ev->kind = GITEVENT_MERGE;
	return (0);
}

/* Whether a body is empty or blank, as a ping's may be. */
static int
bitbucket_server_blank(const struct handler_request *req)
{
	size_t	i;

	for (i = 0; i < req->bodylen; i++) {
		if (strchr(" \t\r\n", req->body[i]) == NULL)
			return (0);
	}
	return (1);
}

static int
bitbucket_server_parse(const struct handler_request *req,
    struct gitevent_list *list, char **cause)
{
	struct gitevent	*ev;
	const char	*name;
	const struct jv		*root;
	int		 rc = 0;

	if ((name = headers_get(req->headers, "X-Event-Key")) == NULL) {
		xasprintf(cause, "missing X-Event-Key header");
		return (-1);
	}
	if (strcmp(name, "diagnostics:ping") == 0 &&
	    bitbucket_server_blank(req)) {
		ev = gitevent_list_add(list, handler_bitbucket_server.name,
		    name);
		handler_delivery(req, "X-Request-Id", &ev->delivery);
		ev->kind = GITEVENT_PING;
		return (0);
	}
	if ((root = handler_json(req, cause)) == NULL)
		return (-1);
	if (strcmp(name, "repo:refs_changed") == 0) {
		rc = bitbucket_server_refs_changed(req, list, name, root,
		    cause);
		jv_free(root);
		return (rc);
	}
	ev = gitevent_list_add(list, handler_bitbucket_server.name, name);
	handler_delivery(req, "X-Request-Id", &ev->delivery);
	bitbucket_server_common(ev, root);
	if (strcmp(name, "diagnostics:ping") == 0)
		ev->kind = GITEVENT_PING;
	else if (strncmp(name, "pr:", 3) == 0)
		rc = bitbucket_server_pr(ev, name, root, cause);
	else
		gitevent_ignore(ev, "event %s does not start runs", name);
	jv_free(root);
	return (rc);
}

const struct handler handler_bitbucket = {
	.name = "bitbucket",
	.detect = bitbucket_detect,
	.verify = bitbucket_verify,
	.parse = bitbucket_parse,
};

const struct handler handler_bitbucket_server = {
	.name = "bitbucket-server",
	.detect = bitbucket_server_detect,
	.verify = bitbucket_verify,
	.parse = bitbucket_server_parse,
};
