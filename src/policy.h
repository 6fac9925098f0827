/* policy.h: tag policies, which tag of a repository an environment follows. */
#ifndef POLICY_H
#define POLICY_H

#include <sys/types.h>

#include <stddef.h>

enum policy_kind {
	POLICY_SEMVER,		/* highest version matching a constraint */
	POLICY_REGEX,		/* highest tag matching a regex */
	POLICY_LATEST,		/* newest tag by creation time */
	POLICY_DIGEST		/* one mutable tag, followed by digest */
};

/* What a policy is built from. Borrowed: policy_new copies what it keeps. */
struct policy_spec {
	enum policy_kind	 kind;
	const char		*semver;	/* constraint; POLICY_SEMVER */
	const char		*allow;		/* POSIX ERE; REGEX, LATEST */
	const char		*ignore;	/* EREs, one a line */
	const char		*tag;		/* POLICY_DIGEST */
};

struct policy;

struct policy	*policy_new(const struct policy_spec *, char **);
void		 policy_free(struct policy *);
int		 policy_match(const struct policy *, const char *);
ssize_t		 policy_select(const struct policy *, char *const *,
		     const long long *, size_t);
const char	*policy_kind_name(enum policy_kind);
int		 policy_kind_parse(const char *, enum policy_kind *);
int		 policy_needs_created(const struct policy *);

#endif
