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

static void
gitevent_write_bool(struct buf *b, const char *key, int v)
{
	buf_addstr(b, key);
	buf_addstr(b, v == -1 ? "null" : v ? "true" : "false");
}

/*
 * Append the event as compact JSON to b. This is the one definition of
 * the event's JSON form: replies, the store and inspect all use it.
 */
void
gitevent_write(const struct gitevent *ev, struct buf *b)
{
	buf_addstr(b, "{\"provider\":");
	buf_add_json_str(b, ev->provider);
	buf_addstr(b, ",\"event\":");
	buf_add_json_str(b, ev->event);
	buf_addstr(b, ",\"kind\":");
	buf_add_json_str(b, gitevent_kind_name(ev->kind));
	buf_addstr(b, ",\"delivery\":");
	buf_add_json_str(b, ev->delivery);
	buf_addstr(b, ",\"repo\":");
	buf_add_json_str(b, ev->repo);
	buf_addstr(b, ",\"clone_url\":");
	buf_add_json_str(b, ev->clone_url);
	buf_addstr(b, ",\"ref\":");
	buf_add_json_str(b, ev->ref);
	buf_addstr(b, ",\"before\":");
	buf_add_json_str(b, ev->before);
	buf_addstr(b, ",\"sha\":");
	buf_add_json_str(b, ev->sha);
	gitevent_write_bool(b, ",\"created\":", ev->created);
	gitevent_write_bool(b, ",\"deleted\":", ev->deleted);
	gitevent_write_bool(b, ",\"forced\":", ev->forced);
	buf_addstr(b, ",\"target_branch\":");
	buf_add_json_str(b, ev->target_branch);
	buf_addstr(b, ",\"pr_number\":");
	if (ev->pr_number != 0)
		buf_add_int(b, ev->pr_number);
	else
		buf_addstr(b, "null");
	buf_addstr(b, ",\"sender\":");
	buf_add_json_str(b, ev->sender);
	if (ev->kind == GITEVENT_IGNORE) {
		buf_addstr(b, ",\"reason\":");
		buf_add_json_str(b, ev->reason);
	}
	buf_addstr(b, "}");
}

/* Append the events as a JSON array to b. */
void
gitevent_list_write(const struct gitevent_list *list, struct buf *b)
{
	size_t	i;

	buf_addstr(b, "[");
	for (i = 0; i < list->n; i++) {
		if (i > 0)
			buf_addstr(b, ",");
		gitevent_write(&list->v[i], b);
	}
	buf_addstr(b, "]");
}

/* The events as a jansson array (new reference), for pretty printing. */
json_t *
gitevent_list_to_json(const struct gitevent_list *list)
{
	struct buf	 b;
	json_t		*a;

	buf_init(&b);
	gitevent_list_write(list, &b);
	if ((a = json_loadb(b.data, b.len, 0, NULL)) == NULL)
		fatalx("gitevent: cannot read back own JSON");
	buf_free(&b);
	return (a);
}
