/*
 * yamledit.h: change one scalar of a YAML document in place, keeping every
 * other byte of the file, for the gitops deploy driver. A path is mapping
 * keys joined by dots, with [N] for a sequence index and a quoted key
 * ('a.b' or "a.b") for a key that holds dots:
 * "spec.source.targetRevision", "images[0].tag",
 * 'metadata.annotations."ferry.dev/version"'.
 */
#ifndef YAMLEDIT_H
#define YAMLEDIT_H

#include <stddef.h>

int	yamledit_set(const char *, size_t, const char *, const char *,
	    char **, size_t *, int *, char **);
int	yamledit_get(const char *, size_t, const char *, char **, char **);
int	yamledit_value_ok(const char *, char **);

#endif
