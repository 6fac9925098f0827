/*
 * The normalized event: what a handler makes of one delivery. Handlers fill
 * the fields from their payloads; the helpers here hold the rules every
 * provider shares (deletions, branch versus tag, what a valid ref and commit
 * look like) and the JSON form that the API and `ferry webhook inspect` print.
 */
#include "config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitevent.h"
#include "util.h"
#include "xmalloc.h"

static const char *gitevent_kinds[] = {
	[GITEVENT_PUSH] = "push",
	[GITEVENT_TAG] = "tag",
	[GITEVENT_MERGE] = "merge",
	[GITEVENT_PING] = "ping",
	[GITEVENT_IGNORE] = "ignore",
};

const char *
gitevent_kind_name(enum gitevent_kind kind)
{
	return (gitevent_kinds[kind]);
}

/* Kind by name, or -1. */
int
gitevent_kind_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof gitevent_kinds / sizeof gitevent_kinds[0]; i++) {
		if (strcmp(gitevent_kinds[i], name) == 0)
			return ((int)i);
	}
	return (-1);
}

/*
 * Append a blank event for provider (static string) and event name (copied)
 * and return it; it starts as "ignore" with unknown flags.
 */
struct gitevent *
gitevent_list_add(struct gitevent_list *list, const char *provider,
    const char *event)
{
	struct gitevent	*ev;

	list->v = xreallocarray(list->v, list->n + 1, sizeof *list->v);
	ev = &list->v[list->n++];
	memset(ev, 0, sizeof *ev);
	ev->provider = provider;
	ev->event = xstrdup(event != NULL ? event : "");
	ev->kind = GITEVENT_IGNORE;
	ev->created = -1;
	ev->forced = -1;
	return (ev);
}

static void
gitevent_free(struct gitevent *ev)
{
	free(ev->event);
	free(ev->delivery);
	free(ev->repo);
	free(ev->clone_url);
	free(ev->ref);
	free(ev->before);
	free(ev->sha);
	free(ev->target_branch);
	free(ev->sender);
	free(ev->reason);
}

void
gitevent_list_free(struct gitevent_list *list)
{
	size_t	i;

	for (i = 0; i < list->n; i++)
		gitevent_free(&list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

/* Mark an event as one that starts nothing, and say why. */
void
gitevent_ignore(struct gitevent *ev, const char *fmt, ...)
{
	va_list	ap;

	ev->kind = GITEVENT_IGNORE;
	free(ev->reason);
	va_start(ap, fmt);
	if (vasprintf(&ev->reason, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
}

/*
 * Fill an event from a ref update (ref, old and new object names, any of
 * them NULL): a new name of zeros is a deletion, an old one of zeros a
 * creation; refs/tags/ is a tag, refs/heads/ a branch push, anything else
 * (notes, pull request refs) is ignored.
 */
void
gitevent_set_ref_update(struct gitevent *ev, const char *ref,
    const char *before, const char *after)
{
	int	is_tag;

	free(ev->ref);
	free(ev->before);
	free(ev->sha);
	ev->ref = ref != NULL ? xstrdup(ref) : NULL;
	ev->before = before != NULL ? xstrdup(before) : NULL;
	ev->sha = NULL;
	if (ref == NULL) {
		gitevent_ignore(ev, "no ref in payload");
		return;
	}
	is_tag = strncmp(ref, "refs/tags/", 10) == 0;
	if (ev->created == -1 && before != NULL)
		ev->created = sha_is_zero(before);
	if (after == NULL || sha_is_zero(after) || ev->deleted) {
		ev->deleted = 1;
		gitevent_ignore(ev, "%s deleted", is_tag ? "tag" : "branch");
		return;
	}
	ev->sha = xstrdup(after);
	if (is_tag)
		ev->kind = GITEVENT_TAG;
	else if (strncmp(ref, "refs/heads/", 11) == 0)
		ev->kind = GITEVENT_PUSH;
	else
		gitevent_ignore(ev, "ref %s is neither a branch nor a tag",
		    ref);
}

/*
 * Check what a run would be built from: a valid full ref and a commit name.
 * Only events that can start a run are checked. Returns 0 or -1 with
 * *cause set.
 */
int
gitevent_check(const struct gitevent *ev, char **cause)
{
	if (ev->kind != GITEVENT_PUSH && ev->kind != GITEVENT_TAG &&
	    ev->kind != GITEVENT_MERGE)
		return (0);
	if (ev->ref == NULL || !ref_is_valid(ev->ref)) {
		xasprintf(cause, "invalid ref name");
		return (-1);
	}
	if (ev->sha == NULL || !sha_is_valid(ev->sha)) {
		xasprintf(cause, "invalid commit id");
		return (-1);
	}
	if (ev->before != NULL && *ev->before != '\0' &&
	    !sha_is_valid(ev->before)) {
		xasprintf(cause, "invalid previous commit id");
		return (-1);
	}
	return (0);
}

/* Branch name of a push or merge ("main" of refs/heads/main), or NULL. */
const char *
gitevent_branch(const struct gitevent *ev)
{
	if (ev->ref != NULL && strncmp(ev->ref, "refs/heads/", 11) == 0)
		return (ev->ref + 11);
	return (NULL);
}

static json_t *
gitevent_str(const char *s)
{
	return (s != NULL ? json_string(s) : json_null());
}

static json_t *
gitevent_tristate(int v)
{
	return (v == -1 ? json_null() : json_boolean(v));
}

/* The event as a JSON object; caller owns the reference. */
json_t *
gitevent_to_json(const struct gitevent *ev)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "provider", json_string(ev->provider));
	json_object_set_new(o, "event", json_string(ev->event));
	json_object_set_new(o, "kind", json_string(gitevent_kind_name(ev->kind)));
	json_object_set_new(o, "delivery", gitevent_str(ev->delivery));
	json_object_set_new(o, "repo", gitevent_str(ev->repo));
	json_object_set_new(o, "clone_url", gitevent_str(ev->clone_url));
	json_object_set_new(o, "ref", gitevent_str(ev->ref));
	json_object_set_new(o, "before", gitevent_str(ev->before));
	json_object_set_new(o, "sha", gitevent_str(ev->sha));
	json_object_set_new(o, "created", gitevent_tristate(ev->created));
	json_object_set_new(o, "deleted", json_boolean(ev->deleted));
	json_object_set_new(o, "forced", gitevent_tristate(ev->forced));
	json_object_set_new(o, "target_branch", gitevent_str(ev->target_branch));
	json_object_set_new(o, "pr_number", ev->pr_number != 0 ?
	    json_integer(ev->pr_number) : json_null());
	json_object_set_new(o, "sender", gitevent_str(ev->sender));
	if (ev->kind == GITEVENT_IGNORE)
		json_object_set_new(o, "reason", gitevent_str(ev->reason));
	return (o);
}

json_t *
gitevent_list_to_json(const struct gitevent_list *list)
{
	json_t	*a;
	size_t	 i;

	a = json_array();
	for (i = 0; i < list->n; i++)
		json_array_append_new(a, gitevent_to_json(&list->v[i]));
	return (a);
}
