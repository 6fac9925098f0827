/*
 * registry_hook.h: registry push notifications (handlers/registry.c) as
 * notes for the watch: which repository, and the tag and digest the
 * registry says were pushed (hints only; the watch checks the registry).
 */
#ifndef REGISTRY_HOOK_H
#define REGISTRY_HOOK_H

#include <stddef.h>

struct registry_note {
	char	*host;		/* as the registry saw itself; may be NULL */
	char	*repository;	/* path, e.g. shop/bundle */
	char	*tag;		/* NULL when pushed by digest */
	char	*digest;	/* NULL when not given */
};

/* Notes kept from one body; a registry sends one or a few events. */
#define REGISTRY_NOTES_MAX	64

struct registry_notes {
	const char		*format;	/* distribution, harbor, dockerhub */
	size_t			 events;	/* events in the body */
	size_t			 skipped;	/* malformed, or over the cap */
	struct registry_note	*v;		/* pushed manifests */
	size_t			 n;
};

int	registry_hook_parse(const char *, size_t, struct registry_notes *,
	    char **);
void	registry_notes_free(struct registry_notes *);

#endif
