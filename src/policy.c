/*
 * Tag policies: which tag of a watched repository an environment should
 * run. A policy is built once from its spec (constraint and regexes
 * compiled up front) and then asked, for a whole tag list at a time, which
 * tags match and which one wins. Pure computation on the caller's thread;
 * no I/O.
 *
 * Tags come from registries, so they are untrusted: a tag that is not a
 * valid OCI tag never matches, and selection parses each tag once and keeps
 * no more than a few words of state per tag, so a list of thousands costs
 * one linear pass (two for a regex with a capture).
 */
#include "config.h"

#include <sys/types.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "policy.h"
#include "semver.h"
#include "xmalloc.h"

/* Of a pattern shown in a cause, at most. */
#define POLICY_CAUSE_MAX	80

struct policy {
	enum policy_kind	 kind;
	struct semver_constraint *constraint;	/* POLICY_SEMVER */
	regex_t			 allow;
	int			 has_allow;
	regex_t			*ignore;
	size_t			 nignore;
	char			*tag;		/* POLICY_DIGEST */
};

static const char *policy_kind_names[] = {
	[POLICY_SEMVER] = "semver",
	[POLICY_REGEX] = "regex",
	[POLICY_LATEST] = "latest",
	[POLICY_DIGEST] = "digest"
};

/* The name of a kind, as written in configuration. */
const char *
policy_kind_name(enum policy_kind kind)
{
	if ((size_t)kind >= sizeof policy_kind_names /
	    sizeof policy_kind_names[0])
		return ("unknown");
	return (policy_kind_names[kind]);
}

/* Look up a kind by name. Returns 0, or -1 for an unknown name. */
int
policy_kind_parse(const char *s, enum policy_kind *kind)
{
	size_t	 i;

	for (i = 0; i < sizeof policy_kind_names / sizeof policy_kind_names[0];
	    i++) {
		if (strcmp(s, policy_kind_names[i]) == 0) {
			*kind = (enum policy_kind)i;
			return (0);
		}
	}
	return (-1);
}

/*
 * Compile the len bytes of pattern at s into re. what names it in the
 * cause. Returns 0, or -1 with *cause set.
 */
static int
policy_regcomp(regex_t *re, const char *s, size_t len, int flags,
    const char *what, char **cause)
{
	char	*pat, err[128];
	int	 rc;

	pat = xstrndup(s, len);
	if ((rc = regcomp(re, pat, REG_EXTENDED | flags)) != 0) {
		regerror(rc, re, err, sizeof err);
		xasprintf(cause, "%s regex \"%.*s\": %s", what,
		    POLICY_CAUSE_MAX, pat, err);
		free(pat);
		return (-1);
	}
	free(pat);
	return (0);
}

/* Compile the ignore patterns, one a line; empty lines are skipped. */
static int
policy_ignore_compile(struct policy *p, const char *s, char **cause)
{
	const char	*nl;
	size_t		 len;

	for (; *s != '\0'; s = nl != NULL ? nl + 1 : s + len) {
		nl = strchr(s, '\n');
		len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (len == 0)
			continue;
		p->ignore = xreallocarray(p->ignore, p->nignore + 1,
		    sizeof *p->ignore);
		if (policy_regcomp(&p->ignore[p->nignore], s, len, REG_NOSUB,
		    "ignore", cause) != 0)
			return (-1);
		p->nignore++;
		if (nl == NULL)
			break;
	}
	return (0);
}

/*
 * Build a policy from spec. Fields the kind does not use must be NULL, so
 * a misplaced setting is reported rather than silently ignored; a semver
 * policy without a constraint follows the highest release ("*"). Returns
 * the policy (caller frees with policy_free), or NULL with *cause set.
 */
struct policy *
policy_new(const struct policy_spec *spec, char **cause)
{
	struct policy	*p;
	const char	*kind, *extra = NULL;

	kind = policy_kind_name(spec->kind);
	switch (spec->kind) {
	case POLICY_SEMVER:
		if (spec->allow != NULL)
			extra = "allow";
		else if (spec->tag != NULL)
			extra = "tag";
		break;
	case POLICY_REGEX:
		if (spec->allow == NULL) {
			*cause = xstrdup("regex policy without an allow "
			    "pattern");
			return (NULL);
		}
		/* FALLTHROUGH */
	case POLICY_LATEST:
		if (spec->semver != NULL)
			extra = "semver";
		else if (spec->tag != NULL)
			extra = "tag";
		break;
	case POLICY_DIGEST:
		if (spec->tag == NULL) {
			*cause = xstrdup("digest policy without a tag");
			return (NULL);
		}
		if (!oci_tag_is_valid(spec->tag)) {
			xasprintf(cause, "digest policy: invalid tag \"%.*s\"",
			    POLICY_CAUSE_MAX, spec->tag);
			return (NULL);
		}
		if (spec->semver != NULL)
			extra = "semver";
		else if (spec->allow != NULL)
			extra = "allow";
		else if (spec->ignore != NULL)
			extra = "ignore";
		break;
	default:
		xasprintf(cause, "unknown policy kind %d", (int)spec->kind);
		return (NULL);
	}
	if (extra != NULL) {
		xasprintf(cause, "%s policy takes no %s", kind, extra);
		return (NULL);
	}

	p = xcalloc(1, sizeof *p);
	p->kind = spec->kind;
	if (spec->kind == POLICY_SEMVER) {
		p->constraint = semver_constraint_parse(spec->semver != NULL ?
		    spec->semver : "*", cause);
		if (p->constraint == NULL)
			goto fail;
	}
	if (spec->allow != NULL) {
		if (policy_regcomp(&p->allow, spec->allow, strlen(spec->allow),
		    0, "allow", cause) != 0)
			goto fail;
		p->has_allow = 1;
	}
	if (spec->ignore != NULL &&
	    policy_ignore_compile(p, spec->ignore, cause) != 0)
		goto fail;
	if (spec->tag != NULL)
		p->tag = xstrdup(spec->tag);
	return (p);

fail:
	policy_free(p);
	return (NULL);
}

void
policy_free(struct policy *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	semver_constraint_free(p->constraint);
	if (p->has_allow)
		regfree(&p->allow);
	for (i = 0; i < p->nignore; i++)
		regfree(&p->ignore[i]);
	free(p->ignore);
	free(p->tag);
	free(p);
}

/* Whether the policy may consider tag at all: valid and not ignored. */
static int
policy_eligible(const struct policy *p, const char *tag)
{
	size_t	 i;

	if (tag == NULL || !oci_tag_is_valid(tag))
		return (0);
	for (i = 0; i < p->nignore; i++) {
		if (regexec(&p->ignore[i], tag, 0, NULL, 0) == 0)
			return (0);
	}
	return (1);
}

/*
 * Whether tag matches a semver policy. On a match, v holds the parsed
 * version (caller frees with semver_free); otherwise v holds nothing.
 */
static int
policy_semver_match(const struct policy *p, const char *tag,
    struct semver *v)
{
	if (semver_parse(tag, 1, v) != 0)
		return (0);
	if (semver_constraint_match(p->constraint, v))
		return (1);
	semver_free(v);
	return (0);
}

/*
 * Whether the allow pattern (if any) matches tag; the whole match and the
 * first capture go to m[0] and m[1] when m is not NULL.
 */
static int
policy_allow_match(const struct policy *p, const char *tag, regmatch_t m[2])
{
	if (!p->has_allow)
		return (1);
	if (m == NULL || p->allow.re_nsub == 0)
		return (regexec(&p->allow, tag, 0, NULL, 0) == 0);
	return (regexec(&p->allow, tag, 2, m, 0) == 0);
}

/* Whether tag matches the policy: 1 or 0. */
int
policy_match(const struct policy *p, const char *tag)
{
	struct semver	 v;

	if (!policy_eligible(p, tag))
		return (0);
	switch (p->kind) {
	case POLICY_SEMVER:
		if (!policy_semver_match(p, tag, &v))
			return (0);
		semver_free(&v);
		return (1);
	case POLICY_REGEX:
	case POLICY_LATEST:
		return (policy_allow_match(p, tag, NULL));
	case POLICY_DIGEST:
		return (strcmp(tag, p->tag) == 0);
	}
	return (0);
}

/* Whether selection needs each tag's creation time. */
int
policy_needs_created(const struct policy *p)
{
	return (p->kind == POLICY_LATEST);
}

/* The highest matching version; equal versions go to the higher tag name. */
static ssize_t
policy_select_semver(const struct policy *p, char *const *tags, size_t n)
{
	struct semver	 best, v;
	ssize_t		 bi = -1;
	size_t		 i;
	int		 c;

	memset(&best, 0, sizeof best);
	for (i = 0; i < n; i++) {
		if (!policy_eligible(p, tags[i]) ||
		    !policy_semver_match(p, tags[i], &v))
			continue;
		if (bi != -1 && ((c = semver_cmp(&v, &best)) < 0 ||
		    (c == 0 && strcmp(tags[i], tags[bi]) <= 0))) {
			semver_free(&v);
			continue;
		}
		semver_free(&best);
		best = v;
		bi = (ssize_t)i;
	}
	semver_free(&best);
	return (bi);
}

/* Compare two digit strings as numbers of any length. */
static int
policy_numcmp(const char *a, size_t la, const char *b, size_t lb)
{
	int	 c;

	while (la > 1 && *a == '0') {
		a++;
		la--;
	}
	while (lb > 1 && *b == '0') {
		b++;
		lb--;
	}
	if (la != lb)
		return (la < lb ? -1 : 1);
	c = memcmp(a, b, la);
	return (c < 0 ? -1 : c > 0);
}

/* Compare two byte strings; a prefix is lower. */
static int
policy_bytecmp(const char *a, size_t la, const char *b, size_t lb)
{
	int	 c;

	c = memcmp(a, b, la < lb ? la : lb);
	if (c != 0)
		return (c < 0 ? -1 : 1);
	return (la < lb ? -1 : la > lb);
}

/*
 * Regex selection. Without a capture group the highest tag bytewise wins.
 * With one, the first pass records each candidate's capture and whether
 * all captures are digits; the second compares captures numerically or
 * bytewise, ties going to the higher tag name.
 */
static ssize_t
policy_select_regex(const struct policy *p, char *const *tags, size_t n)
{
	regmatch_t	 m[2], *cap = NULL;
	const char	*a, *b;
	ssize_t		 bi = -1;
	size_t		 i, la, lb, k;
	int		 digits = 1, c;

	if (p->allow.re_nsub > 0)
		cap = xreallocarray(NULL, n > 0 ? n : 1, sizeof *cap);
	for (i = 0; i < n; i++) {
		if (cap != NULL)
			cap[i].rm_so = cap[i].rm_eo = -1;
		if (!policy_eligible(p, tags[i]) ||
		    !policy_allow_match(p, tags[i], m))
			continue;
		if (cap == NULL) {
			if (bi == -1 || strcmp(tags[i], tags[bi]) > 0)
				bi = (ssize_t)i;
			continue;
		}
		/* A capture that took no part counts as empty. */
		if (m[1].rm_so == -1)
			m[1].rm_so = m[1].rm_eo = 0;
		cap[i] = m[1];
		if (m[1].rm_eo == m[1].rm_so)
			digits = 0;
		for (k = (size_t)m[1].rm_so; k < (size_t)m[1].rm_eo; k++) {
			if (tags[i][k] < '0' || tags[i][k] > '9')
				digits = 0;
		}
	}
	if (cap == NULL)
		return (bi);

	bi = -1;
	for (i = 0; i < n; i++) {
		if (cap[i].rm_so == -1)
			continue;
		if (bi != -1) {
			a = tags[i] + cap[i].rm_so;
			la = (size_t)(cap[i].rm_eo - cap[i].rm_so);
			b = tags[bi] + cap[bi].rm_so;
			lb = (size_t)(cap[bi].rm_eo - cap[bi].rm_so);
			c = digits ? policy_numcmp(a, la, b, lb) :
			    policy_bytecmp(a, la, b, lb);
			if (c < 0 || (c == 0 && strcmp(tags[i], tags[bi]) <= 0))
				continue;
		}
		bi = (ssize_t)i;
	}
	free(cap);
	return (bi);
}

/*
 * The newest matching tag. An unknown time (negative) never wins over a
 * known one; equal times go to the higher tag name.
 */
static ssize_t
policy_select_latest(const struct policy *p, char *const *tags,
    const long long *created, size_t n)
{
	ssize_t		 bi = -1;
	size_t		 i;
	long long	 t, bt = -1;

	if (created == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (!policy_eligible(p, tags[i]) ||
		    !policy_allow_match(p, tags[i], NULL))
			continue;
		t = created[i] < 0 ? -1 : created[i];
		if (bi != -1 && (t < bt ||
		    (t == bt && strcmp(tags[i], tags[bi]) <= 0)))
			continue;
		bi = (ssize_t)i;
		bt = t;
	}
	return (bi);
}

/*
 * Select the best of ntags tags (created[i] is tag i's creation time in
 * seconds since the epoch, -1 if unknown; only POLICY_LATEST reads it and
 * selects nothing without it). Returns the index of the winner, or -1 if
 * no tag matches.
 */
ssize_t
policy_select(const struct policy *p, char *const *tags,
    const long long *created, size_t ntags)
{
	size_t	 i;

	switch (p->kind) {
	case POLICY_SEMVER:
		return (policy_select_semver(p, tags, ntags));
	case POLICY_REGEX:
		return (policy_select_regex(p, tags, ntags));
	case POLICY_LATEST:
		return (policy_select_latest(p, tags, created, ntags));
	case POLICY_DIGEST:
		for (i = 0; i < ntags; i++) {
			if (tags[i] != NULL && strcmp(tags[i], p->tag) == 0)
				return ((ssize_t)i);
		}
		break;
	}
	return (-1);
}
