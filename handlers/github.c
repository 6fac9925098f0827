/*
 * GitHub (github.com and GHES). Authenticated by X-Hub-Signature-256,
 * "sha256=" and the hex HMAC-SHA256 of the raw body. Events: push (branches
 * and tags), pull_request closed with merged=true, ping; create carries no
 * commit and is ignored, since the push event for the same ref builds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "xmalloc.h"

static int
github_detect(const struct headers *h)
{
	return (headers_get(h, "X-GitHub-Event") != NULL);
}

static int
github_verify(const struct handler_request *req, const char *secret,
    size_t secretlen, char **cause)
{
	return (handler_verify_hmac("X-Hub-Signature-256",
	    headers_get(req->headers, "X-Hub-Signature-256"), "sha256=",
	    secret, secretlen, req->body, req->bodylen, cause));
}

/* Repository, clone URL and sender, common to every event. */
static void
github_common(struct gitevent *ev, const struct jv *root, const struct jv *repo)
{
	const char	*s;

	if ((s = hjson_str(repo, "full_name")) != NULL)
		ev->repo = xstrdup(s);
	if ((s = hjson_str(repo, "clone_url")) != NULL)
		ev->clone_url = xstrdup(s);
	if ((s = hjson_str(root, "sender.login")) != NULL ||
	    (s = hjson_str(root, "pusher.name")) != NULL)
		ev->sender = xstrdup(s);
}

static int
github_push(struct gitevent *ev, const struct jv *root, char **cause)
{
	const char	*ref, *before, *after;
	int		 b;

	ref = hjson_str(root, "ref");
	before = hjson_str(root, "before");
	after = hjson_str(root, "after");
	if (ref == NULL || after == NULL) {
		xasprintf(cause, "push payload without %s",
		    ref == NULL ? "ref" : "after");
		return (-1);
	}
	if ((b = hjson_bool(root, "created")) != -1)
		ev->created = b;
	if ((b = hjson_bool(root, "forced")) != -1)
		ev->forced = b;
	ev->deleted = hjson_bool(root, "deleted") == 1;
	gitevent_set_ref_update(ev, ref, before, after);
	return (0);
}

static int
github_parse(const struct handler_request *req, struct gitevent_list *list,
    char **cause)
{
	struct gitevent	*ev;
	const char	*name, *s;
	const struct jv		*root;
	int		 rc = 0;

	if ((name = headers_get(req->headers, "X-GitHub-Event")) == NULL) {
		xasprintf(cause, "missing X-GitHub-Event header");
		return (-1);
	}
	if ((root = handler_json(req, cause)) == NULL)
		return (-1);
	ev = gitevent_list_add(list, handler_github.name, name);
	handler_delivery(req, "X-GitHub-Delivery", &ev->delivery);
	github_common(ev, root, jv_get(root, "repository"));

	if (strcmp(name, "push") == 0)
		rc = github_push(ev, root, cause);
	else if (strcmp(name, "pull_request") == 0)
		rc = handler_pull_request(ev, root, cause);
	else if (strcmp(name, "ping") == 0)
		ev->kind = GITEVENT_PING;
	else if (strcmp(name, "create") == 0 || strcmp(name, "delete") == 0) {
		s = hjson_str(root, "ref");
		if (s != NULL)
			xasprintf(&ev->ref, "refs/%s/%s",
			    strcmp(hjson_str(root, "ref_type") != NULL ?
			    hjson_str(root, "ref_type") : "", "tag") == 0 ?
			    "tags" : "heads", s);
		if (name[0] == 'd') {
			ev->deleted = 1;
			gitevent_ignore(ev, "ref deleted");
		} else {
			ev->created = 1;
			gitevent_ignore(ev, "create events carry no commit; "
			    "the push event for the same ref starts the run");
		}
	} else
		gitevent_ignore(ev, "event %s does not start runs", name);
	jv_free(root);
	return (rc);
}

const struct handler handler_github = {
	.name = "github",
	.detect = github_detect,
	.verify = github_verify,
	.parse = github_parse,
};
