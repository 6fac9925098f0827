/*
 * GitLab (gitlab.com and self-managed). Authenticated by X-Gitlab-Token,
 * the hook's secret token sent verbatim and compared in constant time.
 * Events: Push Hook and Tag Push Hook (the commit is checkout_sha, which
 * for an annotated tag is the tagged commit rather than the tag object),
 * Merge Request Hook with action "merge", and the same three kinds when
 * they arrive through an instance-wide System Hook.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "util.h"
#include "xmalloc.h"

static int
gitlab_detect(const struct headers *h)
{
	return (headers_get(h, "X-Gitlab-Event") != NULL);
}

/* The token is the secret itself: no HMAC, a constant-time compare. */
static int
gitlab_verify(const struct handler_request *req, const char *secret,
    size_t secretlen, char **cause)
{
	const char	*token;

	token = headers_get(req->headers, "X-Gitlab-Token");
	if (token == NULL) {
		xasprintf(cause, "missing X-Gitlab-Token header");
		return (-1);
	}
	if (!ct_equal(token, strlen(token), secret, secretlen)) {
		xasprintf(cause, "token mismatch");
		return (-1);
	}
	return (0);
}

/* Replace a string field of an event with a copy of s, if s is set. */
static void
gitlab_set(char **field, const char *s)
{
	if (s == NULL)
		return;
	free(*field);
	*field = xstrdup(s);
}

/* Repository, clone URL and sender, common to every event. */
static void
gitlab_common(struct gitevent *ev, const struct jv *root)
{
	const char	*s;

	gitlab_set(&ev->repo, hjson_str(root, "project.path_with_namespace"));
	if ((s = hjson_str(root, "project.git_http_url")) == NULL)
		s = hjson_str(root, "repository.git_http_url");
	gitlab_set(&ev->clone_url, s);
	if ((s = hjson_str(root, "user_username")) == NULL &&
	    (s = hjson_str(root, "user.username")) == NULL)
		s = hjson_str(root, "user_name");
	gitlab_set(&ev->sender, s);
}

/*
 * Push and tag push: build checkout_sha, falling back to after. A zero
 * after or a null checkout_sha means the ref was deleted.
 */
static int
gitlab_push(struct gitevent *ev, const struct jv *root, char **cause)
{
	const char	*ref, *before, *after, *checkout;
	const struct jv		*co;

	ref = hjson_str(root, "ref");
	before = hjson_str(root, "before");
	after = hjson_str(root, "after");
	if (ref == NULL || after == NULL) {
		xasprintf(cause, "push payload without %s",
		    ref == NULL ? "ref" : "after");
		return (-1);
	}
	co = jv_get(root, "checkout_sha");
	checkout = jv_str(co);
	if (sha_is_zero(after) || jv_is_null(co))
		ev->deleted = 1;
	gitevent_set_ref_update(ev, ref, before,
	    checkout != NULL ? checkout : after);
	return (0);
}

/* Merge request: only action "merge" starts a run, on the target branch. */
static int
gitlab_merge_request(struct gitevent *ev, const struct jv *root, char **cause)
{
	const struct jv		*attrs = jv_get(root, "object_attributes");
	const char	*action, *target, *sha;

	target = hjson_str(attrs, "target_branch");
	if (!jv_is_object(attrs) || target == NULL) {
		xasprintf(cause, "merge request payload without "
		    "object_attributes.target_branch");
		return (-1);
	}
	ev->target_branch = xstrdup(target);
	ev->pr_number = hjson_int(attrs, "iid");
	/* The target project; "project" is the same one in real deliveries. */
	gitlab_set(&ev->repo, hjson_str(attrs, "target.path_with_namespace"));
	gitlab_set(&ev->clone_url, hjson_str(attrs, "target.git_http_url"));

	if ((action = hjson_str(attrs, "action")) == NULL) {
		gitevent_ignore(ev, "merge request without action");
		return (0);
	}
	if (strcmp(action, "merge") != 0) {
		gitevent_ignore(ev, "merge request %s, not merged", action);
		return (0);
	}
	if ((sha = hjson_str(attrs, "merge_commit_sha")) == NULL &&
	    (sha = hjson_str(attrs, "last_commit.id")) == NULL) {
		xasprintf(cause, "merged merge request without "
		    "merge_commit_sha");
		return (-1);
	}
	xasprintf(&ev->ref, "refs/heads/%s", target);
	ev->sha = xstrdup(sha);
	ev->kind = GITEVENT_MERGE;
	return (0);
}

/*
 * Dispatch on the payload's own kind: object_kind, or event_name for system
 * hooks, which carry no object_kind for pushes; project hooks without
 * either are taken to be what their header says.
 */
static int
gitlab_dispatch(struct gitevent *ev, const struct jv *root, const char *name,
    char **cause)
{
	const char	*kind;

	if ((kind = hjson_str(root, "object_kind")) == NULL &&
	    (kind = hjson_str(root, "event_name")) == NULL) {
		if (strcmp(name, "Push Hook") == 0)
			kind = "push";
		else if (strcmp(name, "Tag Push Hook") == 0)
			kind = "tag_push";
		else if (strcmp(name, "Merge Request Hook") == 0)
			kind = "merge_request";
		else {
			gitevent_ignore(ev, "%s without object_kind", name);
			return (0);
		}
	}
	if (strcmp(kind, "push") == 0 || strcmp(kind, "tag_push") == 0)
		return (gitlab_push(ev, root, cause));
	if (strcmp(kind, "merge_request") == 0)
		return (gitlab_merge_request(ev, root, cause));
	gitevent_ignore(ev, "%s %s does not start runs", name, kind);
	return (0);
}

static int
gitlab_parse(const struct handler_request *req, struct gitevent_list *list,
    char **cause)
{
	struct gitevent	*ev;
	const char	*name, *id;
	const struct jv		*root;
	int		 rc;

	if ((name = headers_get(req->headers, "X-Gitlab-Event")) == NULL) {
		xasprintf(cause, "missing X-Gitlab-Event header");
		return (-1);
	}
	if ((root = handler_json(req, cause)) == NULL)
		return (-1);
	ev = gitevent_list_add(list, handler_gitlab.name, name);
	/* Idempotency-Key (17.4+) survives retries; older versions lack it. */
	id = headers_get(req->headers, "Idempotency-Key") != NULL ?
	    "Idempotency-Key" : "X-Gitlab-Event-UUID";
	handler_delivery(req, id, &ev->delivery);
	gitlab_common(ev, root);

	if (strcmp(name, "Push Hook") == 0 ||
	    strcmp(name, "Tag Push Hook") == 0 ||
	    strcmp(name, "Merge Request Hook") == 0 ||
	    strcmp(name, "System Hook") == 0)
		rc = gitlab_dispatch(ev, root, name, cause);
	else {
		gitevent_ignore(ev, "event %s does not start runs", name);
		rc = 0;
	}
	jv_free(root);
	return (rc);
}

const struct handler handler_gitlab = {
	.name = "gitlab",
	.detect = gitlab_detect,
	.verify = gitlab_verify,
	.parse = gitlab_parse,
};
