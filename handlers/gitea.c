/*
 * Gitea and its fork Forgejo, which share one payload schema. Authenticated
 * by X-Gitea-Signature (X-Forgejo-Signature for Forgejo): the bare hex
 * HMAC-SHA256 of the JSON payload, which for a form-encoded delivery is the
 * decoded "payload" field rather than the body. Events: push (branches and
 * tags), create for a tag (it carries the commit, as the push does; the core
 * makes one run of the two), delete, and pull_request closed with merged.
 * Branch creation and deletion arrive as create and delete, never builds.
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

#define GITEA_FORM	"application/x-www-form-urlencoded"

static int
gitea_detect(const struct headers *h)
{
	return (headers_get(h, "X-Gitea-Event") != NULL &&
	    headers_get(h, "X-Forgejo-Event") == NULL);
}

static int
forgejo_detect(const struct headers *h)
{
	return (headers_get(h, "X-Forgejo-Event") != NULL);
}

/*
 * Check the bare hex signature in header name over the JSON payload: the
 * body, or the URL-decoded payload field of a form body (handler_json reads
 * a body labelled as a form without that field as JSON, and so does this).
 */
static int
gitea_verify_header(const struct handler_request *req, const char *name,
    const char *secret, size_t secretlen, char **cause)
{
	const char	*ctype, *value;
	char		*json;
	size_t		 len;
	int		 rc;

	value = headers_get(req->headers, name);
	ctype = headers_get(req->headers, "Content-Type");
	if (ctype == NULL ||
	    strncasecmp(ctype, GITEA_FORM, strlen(GITEA_FORM)) != 0 ||
	    req->bodylen < 8 || strncmp(req->body, "payload=", 8) != 0)
		return (handler_verify_hmac(name, value, "", secret,
		    secretlen, req->body, req->bodylen, cause));

	if ((json = url_decode(req->body + 8, req->bodylen - 8,
	    &len)) == NULL) {
		xasprintf(cause, "malformed form encoding");
		return (-1);
	}
	rc = handler_verify_hmac(name, value, "", secret, secretlen, json,
	    len, cause);
	free(json);
	return (rc);
}

static int
gitea_verify(const struct handler_request *req, const char *secret,
    size_t secretlen, char **cause)
{
	return (gitea_verify_header(req, "X-Gitea-Signature", secret,
	    secretlen, cause));
}

static int
forgejo_verify(const struct handler_request *req, const char *secret,
    size_t secretlen, char **cause)
{
	return (gitea_verify_header(req, "X-Forgejo-Signature", secret,
	    secretlen, cause));
}

/* Repository, clone URL and sender, common to every event. */
static void
gitea_common(struct gitevent *ev, const struct jv *root)
{
	const char	*s;

	if ((s = hjson_str(root, "repository.full_name")) != NULL)
		ev->repo = xstrdup(s);
	if ((s = hjson_str(root, "repository.clone_url")) != NULL)
		ev->clone_url = xstrdup(s);
	if ((s = hjson_str(root, "sender.login")) != NULL ||
	    (s = hjson_str(root, "sender.username")) != NULL ||
	    (s = hjson_str(root, "pusher.login")) != NULL ||
	    (s = hjson_str(root, "pusher.username")) != NULL)
		ev->sender = xstrdup(s);
}

/* Push: no created, deleted or forced flags; zero names tell the first two. */
static int
gitea_push(struct gitevent *ev, const struct jv *root, char **cause)
{
	const char	*ref, *before, *after;

	ref = hjson_str(root, "ref");
	before = hjson_str(root, "before");
	after = hjson_str(root, "after");
	if (ref == NULL || after == NULL) {
		xasprintf(cause, "push payload without %s",
		    ref == NULL ? "ref" : "after");
		return (-1);
	}
	gitevent_set_ref_update(ev, ref, before, after);
	return (0);
}

/*
 * The full ref of a create or delete payload, whose ref is the short name
 * (a Forgejo-type hook may already send it in full). Caller frees.
 */
static char *
gitea_full_ref(const struct jv *root, int *is_tag)
{
	const char	*ref, *type;
	char		*full;

	ref = hjson_str(root, "ref");
	type = hjson_str(root, "ref_type");
	*is_tag = type != NULL && strcmp(type, "tag") == 0;
	if (ref == NULL)
		return (NULL);
	if (strncmp(ref, "refs/", 5) == 0) {
		*is_tag = strncmp(ref, "refs/tags/", 10) == 0;
		return (xstrdup(ref));
	}
	xasprintf(&full, "refs/%s/%s", *is_tag ? "tags" : "heads", ref);
	return (full);
}

/*
 * Create: a tag with its commit is a tag event (Gitea also sends a push for
 * it; one run results). A new branch is left to its push event.
 */
static int
gitea_create(struct gitevent *ev, const struct jv *root, char **cause)
{
	const char	*sha;
	char		*ref;
	int		 is_tag;

	if ((ref = gitea_full_ref(root, &is_tag)) == NULL) {
		xasprintf(cause, "create payload without ref");
		return (-1);
	}
	sha = hjson_str(root, "sha");
	ev->created = 1;
	if (is_tag && sha != NULL)
		gitevent_set_ref_update(ev, ref, NULL, sha);
	else {
		ev->ref = xstrdup(ref);
		if (sha != NULL)
			ev->sha = xstrdup(sha);
		if (is_tag)
			gitevent_ignore(ev, "tag creation without a commit; "
			    "the push event starts the run");
		else
			gitevent_ignore(ev, "branch creation; the push event "
			    "starts the run");
	}
	free(ref);
	return (0);
}

/* Delete: never builds. A branch deletion sends no push event at all. */
static void
gitea_delete(struct gitevent *ev, const struct jv *root)
{
	int	is_tag;

	ev->ref = gitea_full_ref(root, &is_tag);
	ev->deleted = 1;
	gitevent_ignore(ev, "%s deleted", is_tag ? "tag" : "branch");
}

/* Parse event name for provider h, its delivery id in header delivery. */
static int
gitea_parse_as(const struct handler *h, const char *name,
    const char *delivery, const struct handler_request *req,
    struct gitevent_list *list, char **cause)
{
	struct gitevent	*ev;
	const struct jv		*root;
	int		 rc = 0;

	if ((root = handler_json(req, cause)) == NULL)
		return (-1);
	ev = gitevent_list_add(list, h->name, name);
	handler_delivery(req, delivery, &ev->delivery);
	gitea_common(ev, root);

	if (strcmp(name, "push") == 0)
		rc = gitea_push(ev, root, cause);
	else if (strcmp(name, "create") == 0)
		rc = gitea_create(ev, root, cause);
	else if (strcmp(name, "delete") == 0)
		gitea_delete(ev, root);
	else if (strcmp(name, "pull_request") == 0)
		rc = handler_pull_request(ev, root, cause);
	else
		gitevent_ignore(ev, "event %s does not start runs", name);
	jv_free(root);
	return (rc);
}

static int
gitea_parse(const struct handler_request *req, struct gitevent_list *list,
    char **cause)
{
	const char	*name;

	if ((name = headers_get(req->headers, "X-Gitea-Event")) == NULL) {
		xasprintf(cause, "missing X-Gitea-Event header");
		return (-1);
	}
	return (gitea_parse_as(&handler_gitea, name, "X-Gitea-Delivery",
	    req, list, cause));
}

/* Forgejo sends Gitea's headers too; its own win. */
static int
forgejo_parse(const struct handler_request *req, struct gitevent_list *list,
    char **cause)
{
	const char	*name, *delivery = "X-Forgejo-Delivery";

	if ((name = headers_get(req->headers, "X-Forgejo-Event")) == NULL &&
	    (name = headers_get(req->headers, "X-Gitea-Event")) == NULL) {
		xasprintf(cause, "missing X-Forgejo-Event header");
		return (-1);
	}
	if (headers_get(req->headers, delivery) == NULL)
		delivery = "X-Gitea-Delivery";
	return (gitea_parse_as(&handler_forgejo, name, delivery, req, list,
	    cause));
}

const struct handler handler_gitea = {
	.name = "gitea",
	.detect = gitea_detect,
	.verify = gitea_verify,
	.parse = gitea_parse,
};

const struct handler handler_forgejo = {
	.name = "forgejo",
	.detect = forgejo_detect,
	.verify = forgejo_verify,
	.parse = forgejo_parse,
};
