/*
 * The generic source: any system that can POST JSON about a ref update
 * and sign the body with HMAC-SHA256. It is never detected from headers;
 * a project selects it and says, in its "generic" block, which header holds
 * the hex signature (after an optional prefix) and where the ref, commit,
 * previous commit, repository and sender sit in the payload, as RFC 6901
 * JSON pointers. A ref that is not a full "refs/..." name is a branch.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gitevent.h"
#include "handler.h"
#include "headers.h"
#include "jv.h"
#include "xmalloc.h"

static const struct conf_generic *
generic_conf(const struct handler_request *req, char **cause)
{
	if (req->project == NULL) {
		xasprintf(cause, "generic provider needs a project "
		    "configuration");
		return (NULL);
	}
	return (&req->project->generic);
}

static int
generic_verify(const struct handler_request *req, const char *secret,
    size_t secretlen, char **cause)
{
	const struct conf_generic	*g;
	const char			*prefix;

	if ((g = generic_conf(req, cause)) == NULL)
		return (-1);
	if (g->signature_header == NULL) {
		xasprintf(cause, "generic provider needs a signature_header");
		return (-1);
	}
	prefix = g->signature_prefix != NULL ? g->signature_prefix : "";
	return (handler_verify_hmac(g->signature_header,
	    headers_get(req->headers, g->signature_header), prefix,
	    secret, secretlen, req->body, req->bodylen, cause));
}

/*
 * Decode one reference token of len bytes ("~1" is "/", "~0" is "~") into
 * out, which holds len + 1. Returns 0, or -1 on a bad escape.
 */
static int
generic_token(const char *tok, size_t len, char *out)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		if (tok[i] != '~') {
			out[o++] = tok[i];
			continue;
		}
		if (i + 1 >= len || (tok[i + 1] != '0' && tok[i + 1] != '1'))
			return (-1);
		out[o++] = tok[i + 1] == '0' ? '~' : '/';
		i++;
	}
	out[o] = '\0';
	return (0);
}

/* Array index of a token: digits without a leading zero. Returns -1 if not. */
static long long
generic_index(const char *tok)
{
	long long	v = 0;
	size_t		i;

	if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
		return (-1);
	for (i = 0; tok[i] != '\0'; i++) {
		if (tok[i] < '0' || tok[i] > '9' || i >= 18)
			return (-1);
		v = v * 10 + (tok[i] - '0');
	}
	return (v);
}

/*
 * Resolve an RFC 6901 JSON pointer ("" is the whole document, "/a/0/b~1c"
 * walks objects by key and arrays by index). Returns the value, borrowed,
 * or NULL if it names nothing.
 */
static const struct jv *
generic_pointer(const struct jv *doc, const char *ptr)
{
	const char	*p, *end;
	char		*tok;
	size_t		 len;
	long long	 idx;

	if (*ptr != '\0' && *ptr != '/')
		return (NULL);
	p = ptr;
	while (doc != NULL && *p == '/') {
		p++;
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		tok = xmalloc(len + 1);
		if (generic_token(p, len, tok) != 0)
			doc = NULL;
		else if (jv_is_object(doc))
			doc = jv_get(doc, tok);
		else if (jv_is_array(doc) && (idx = generic_index(tok)) >= 0)
			doc = jv_at(doc, (size_t)idx);
		else
			doc = NULL;
		free(tok);
		p += len;
	}
	return (doc);
}

/* String at an optional pointer, borrowed; NULL if unset or not a string. */
static const char *
generic_str(const struct jv *doc, const char *ptr)
{
	if (ptr == NULL)
		return (NULL);
	return (jv_str(generic_pointer(doc, ptr)));
}

static int
generic_parse(const struct handler_request *req, struct gitevent_list *list,
    char **cause)
{
	const struct conf_generic	*g;
	struct gitevent			*ev;
	const char			*name = NULL, *ref, *sha, *s;
	char				*full;
	const struct jv				*root;

	if ((g = generic_conf(req, cause)) == NULL)
		return (-1);
	if (g->ref_pointer == NULL || g->sha_pointer == NULL) {
		xasprintf(cause, "generic provider needs ref_pointer and "
		    "sha_pointer");
		return (-1);
	}
	if ((root = handler_json(req, cause)) == NULL)
		return (-1);
	ref = generic_str(root, g->ref_pointer);
	sha = generic_str(root, g->sha_pointer);
	if (ref == NULL || *ref == '\0' || sha == NULL) {
		xasprintf(cause, "payload has no %s string at %s",
		    ref == NULL || *ref == '\0' ? "ref" : "commit",
		    ref == NULL || *ref == '\0' ? g->ref_pointer :
		    g->sha_pointer);
		jv_free(root);
		return (-1);
	}

	if (g->event_header != NULL)
		name = headers_get(req->headers, g->event_header);
	ev = gitevent_list_add(list, handler_generic.name,
	    name != NULL ? name : "generic");
	handler_delivery(req, g->delivery_header, &ev->delivery);
	if ((s = generic_str(root, g->repo_pointer)) != NULL)
		ev->repo = xstrdup(s);
	if ((s = generic_str(root, g->sender_pointer)) != NULL)
		ev->sender = xstrdup(s);
	if (strncmp(ref, "refs/", 5) == 0)
		full = xstrdup(ref);
	else
		xasprintf(&full, "refs/heads/%s", ref);
	gitevent_set_ref_update(ev, full, generic_str(root, g->before_pointer),
	    sha);
	free(full);
	jv_free(root);
	return (0);
}

const struct handler handler_generic = {
	.name = "generic",
	.detect = NULL,
	.verify = generic_verify,
	.parse = generic_parse,
};
