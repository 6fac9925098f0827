/* semver.h: Semantic Versioning 2.0.0 versions, precedence and constraints. */
#ifndef SEMVER_H
#define SEMVER_H

#include <stdint.h>

/*
 * A parsed version. pre and build are owned (NULL when absent) and hold the
 * text after '-' and after '+' without the separator; semver_free releases
 * them.
 */
struct semver {
	uint64_t	 major;
	uint64_t	 minor;
	uint64_t	 patch;
	char		*pre;		/* pre-release identifiers, or NULL */
	char		*build;		/* build metadata, or NULL */
};

struct semver_constraint;

int	 semver_parse(const char *, int, struct semver *);
void	 semver_free(struct semver *);
int	 semver_cmp(const struct semver *, const struct semver *);

struct semver_constraint *semver_constraint_parse(const char *, char **);
int	 semver_constraint_match(const struct semver_constraint *,
	     const struct semver *);
void	 semver_constraint_free(struct semver_constraint *);

#endif
