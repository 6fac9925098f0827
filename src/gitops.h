/*
 * gitops.h: the gitops deploy driver's git work: set one YAML scalar in a
 * file of a branch of a GitOps repository and push the commit. Runs in a
 * child process of ferryd (`ferry gitops set`), since libgit2 blocks.
 */
#ifndef GITOPS_H
#define GITOPS_H

#include "repo.h"

#define GITOPS_ATTEMPTS		5		/* pushes before giving up */
#define GITOPS_FILE_MAX		(4 * 1024 * 1024)	/* bytes */

/* One change to make. Everything is borrowed; NULL picks the default. */
struct gitops_change {
	const char		*url;		/* the GitOps repository */
	const char		*file;		/* path in its tree */
	const char		*key;		/* yamledit path */
	const char		*value;
	const char		*branch;	/* NULL: the remote's HEAD */
	const char		*message;	/* NULL: "ferry: set ..." */
	const char		*author;	/* "Name <email>" */
	const char		*work_dir;	/* NULL: a temporary one */
	struct repo_auth	 auth;
};

int	gitops_set(const struct gitops_change *, int *,
	    char [REPO_SHA_MAX + 1], char **);
int	gitops_parse_author(const char *, char **, char **, char **);

#endif
