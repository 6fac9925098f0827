/*
 * Semantic Versioning 2.0.0: parsing, precedence and version constraints
 * in the syntax Helm, Masterminds semver and Argo CD use. Pure functions,
 * no state; the registry watch's tag policies (policy.c) are the caller.
 *
 * A constraint is a list of alternatives separated by "||"; each
 * alternative is a set of comparators that must all hold (separated by
 * spaces or commas). Every shorthand (partial versions, wildcards, tilde,
 * caret, hyphen ranges) is expanded at parse time into plain comparators
 * (>=, >, <, <=, =, != and "outside [lo, hi)"), so matching is a loop of
 * semver_cmp calls.
 *
 * Pre-releases: a version with a pre-release can only satisfy an
 * alternative in which the user wrote a pre-release somewhere, and an upper
 * bound "<V" with V a release also keeps out V's own pre-releases
 * ("<2.0.0" never admits 2.0.0-rc.1). Expanded upper bounds are of the
 * form "<X.Y.Z-0", the lowest version of that triple, for the same reason.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "semver.h"
#include "xmalloc.h"

/* Shown of a bad constraint or token in a cause, at most. */
#define SEMVER_CAUSE_MAX	64

/* The comparator operators after expansion. */
enum semver_op {
	SEMVER_OP_EQ,
	SEMVER_OP_NE,
	SEMVER_OP_GT,
	SEMVER_OP_GE,
	SEMVER_OP_LT,
	SEMVER_OP_LE,
	SEMVER_OP_OUT			/* below lo or at/above hi */
};

/* One comparator: v op lo (SEMVER_OP_OUT also uses hi). */
struct semver_term {
	enum semver_op	 op;
	struct semver	 lo;
	struct semver	 hi;
};

/* One alternative: every term must hold. */
struct semver_set {
	struct semver_term	*terms;
	size_t			 nterms;
	int			 pre;	/* a pre-release was written here */
};

struct semver_constraint {
	struct semver_set	*sets;
	size_t			 nsets;
};

/* A version in a constraint: nparts numeric parts were given (0-3). */
struct semver_partial {
	struct semver	 v;
	int		 nparts;
};

/*
 * Parse a numeric identifier of len bytes: digits, no leading zero, no more
 * than UINT64_MAX. Returns 0 or -1.
 */
static int
semver_num(const char *s, size_t len, uint64_t *out)
{
	uint64_t	 n = 0;
	size_t		 i;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		if (n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return (-1);
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*out = n;
	return (0);
}

/* Whether the len bytes at s are all ASCII digits (and there is one). */
static int
semver_all_digits(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (0);
	}
	return (1);
}

/*
 * Check dot-separated identifiers of len bytes: each non-empty and made of
 * [0-9A-Za-z-]. In a pre-release (pre set) a numeric identifier is a
 * number as for semver_num; build metadata may have leading zeros.
 */
static int
semver_idents_ok(const char *s, size_t len, int pre)
{
	size_t		 i, start = 0;
	uint64_t	 n;
	char		 c;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			c = s[i];
			if (!((c >= '0' && c <= '9') ||
			    (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || c == '-'))
				return (-1);
			continue;
		}
		if (i == start)
			return (-1);
		if (pre && semver_all_digits(s + start, i - start) &&
		    semver_num(s + start, i - start, &n) != 0)
			return (-1);
		start = i + 1;
	}
	return (0);
}

/*
 * Parse s into v. Strict SemVer 2.0.0 unless lenient, which also takes a
 * leading "v", a missing minor or patch ("v1.2" is 1.2.0) and "_" for "+"
 * (OCI tags cannot hold "+"; Helm writes "_"). Returns 0, or -1 with v
 * zeroed and nothing allocated. Caller frees v with semver_free.
 */
int
semver_parse(const char *s, int lenient, struct semver *v)
{
	const char	*p, *end, *pre = NULL, *build = NULL;
	size_t		 prelen = 0, len;
	uint64_t	 part[3] = { 0, 0, 0 };
	int		 n = 0;

	memset(v, 0, sizeof *v);
	if (s == NULL)
		return (-1);
	if (lenient && *s == 'v')
		s++;

	/* major[.minor[.patch]] */
	p = s;
	for (;;) {
		len = strspn(p, "0123456789");
		if (n == 3 || semver_num(p, len, &part[n]) != 0)
			return (-1);
		n++;
		p += len;
		if (*p != '.')
			break;
		p++;
	}
	if (n != 3 && !lenient)
		return (-1);

	/* -pre and +build (or _build) */
	end = p + strlen(p);
	if (*p == '-') {
		pre = ++p;
		while (*p != '\0' && *p != '+' && !(lenient && *p == '_'))
			p++;
		prelen = p - pre;
		if (semver_idents_ok(pre, prelen, 1) != 0)
			return (-1);
	}
	if (*p == '+' || (lenient && *p == '_')) {
		build = ++p;
		if (semver_idents_ok(build, end - build, 0) != 0)
			return (-1);
	} else if (*p != '\0')
		return (-1);

	v->major = part[0];
	v->minor = part[1];
	v->patch = part[2];
	if (pre != NULL)
		v->pre = xstrndup(pre, prelen);
	if (build != NULL)
		v->build = xstrdup(build);
	return (0);
}

/* Release what semver_parse allocated in v. v itself may be reused. */
void
semver_free(struct semver *v)
{
	if (v == NULL)
		return;
	free(v->pre);
	free(v->build);
	v->pre = v->build = NULL;
}

/* Deep copy of a version. */
static void
semver_copy(struct semver *dst, const struct semver *src)
{
	*dst = *src;
	dst->pre = src->pre != NULL ? xstrdup(src->pre) : NULL;
	dst->build = src->build != NULL ? xstrdup(src->build) : NULL;
}

/*
 * Compare two pre-release strings identifier by identifier: numeric ones
 * numerically (they have no leading zeros, so by length then bytes),
 * numeric below alphanumeric, alphanumeric ones bytewise, and with equal
 * leading identifiers the longer list is greater.
 */
static int
semver_pre_cmp(const char *a, const char *b)
{
	size_t	 la, lb;
	int	 na, nb, c;

	for (;;) {
		la = strcspn(a, ".");
		lb = strcspn(b, ".");
		na = semver_all_digits(a, la);
		nb = semver_all_digits(b, lb);
		if (na && nb) {
			if (la != lb)
				return (la < lb ? -1 : 1);
			if ((c = memcmp(a, b, la)) != 0)
				return (c < 0 ? -1 : 1);
		} else if (na != nb)
			return (na ? -1 : 1);
		else {
			if ((c = memcmp(a, b, la < lb ? la : lb)) != 0)
				return (c < 0 ? -1 : 1);
			if (la != lb)
				return (la < lb ? -1 : 1);
		}
		a += la;
		b += lb;
		if (*a == '\0' || *b == '\0')
			break;
		a++;
		b++;
	}
	if (*a == *b)
		return (0);
	return (*a == '\0' ? -1 : 1);
}

/*
 * SemVer precedence: -1, 0 or 1 as a is lower than, equal to or higher
 * than b. Build metadata is ignored.
 */
int
semver_cmp(const struct semver *a, const struct semver *b)
{
	if (a->major != b->major)
		return (a->major < b->major ? -1 : 1);
	if (a->minor != b->minor)
		return (a->minor < b->minor ? -1 : 1);
	if (a->patch != b->patch)
		return (a->patch < b->patch ? -1 : 1);
	if (a->pre == NULL || b->pre == NULL) {
		if (a->pre == b->pre)
			return (0);
		return (a->pre == NULL ? 1 : -1);	/* release is higher */
	}
	return (semver_pre_cmp(a->pre, b->pre));
}

/*
 * Parse a version as written in a constraint: an optional "v", one to three
 * parts each a number or a wildcard (x, X, *; wildcards only after the
 * numbers), and -pre/+build only on a full version. Returns 0 or -1.
 */
static int
semver_partial_parse(const char *s, size_t len, struct semver_partial *pp)
{
	uint64_t	 part[3] = { 0, 0, 0 };
	size_t		 i = 0, n;
	int		 nparts = 0, nfields = 0, wild = 0;
	char		*tmp;

	memset(pp, 0, sizeof *pp);
	if (len > 0 && s[0] == 'v')
		i++;
	for (;;) {
		if (nfields == 3)
			return (-1);
		n = strspn(s + i, "0123456789");
		if (n > len - i)
			n = len - i;
		if (n == 0 && i < len && (s[i] == 'x' || s[i] == 'X' ||
		    s[i] == '*')) {
			wild = 1;
			n = 1;
		} else if (wild || semver_num(s + i, n, &part[nparts++]) != 0)
			return (-1);
		nfields++;
		i += n;
		if (i >= len || s[i] != '.')
			break;
		i++;
	}
	if (i < len) {
		/* Pre-release or build: only after a full numeric version. */
		if (nparts != 3 || (s[i] != '-' && s[i] != '+'))
			return (-1);
		tmp = xstrndup(s, len);
		if (semver_parse(tmp, 1, &pp->v) != 0 || strchr(tmp, '_')) {
			semver_free(&pp->v);
			free(tmp);
			return (-1);
		}
		free(tmp);
	}
	pp->v.major = part[0];
	pp->v.minor = part[1];
	pp->v.patch = part[2];
	pp->nparts = nparts;
	return (0);
}

/* Add a term (op, copies of lo and hi) to set. */
static void
semver_set_add(struct semver_set *set, enum semver_op op,
    const struct semver *lo, const struct semver *hi)
{
	struct semver_term	*t;

	set->terms = xreallocarray(set->terms, set->nterms + 1,
	    sizeof *set->terms);
	t = &set->terms[set->nterms++];
	memset(t, 0, sizeof *t);
	t->op = op;
	semver_copy(&t->lo, lo);
	if (hi != NULL)
		semver_copy(&t->hi, hi);
}

/*
 * The lowest version above every version that p covers when its part
 * number "level" (1 major, 2 minor, 3 patch) is bumped: "1.2" at level 2 is
 * 1.3.0. With pre, it is the lowest pre-release of that (1.3.0-0). Returns
 * 0, or -1 if the number would overflow.
 */
static int
semver_bump(const struct semver_partial *pp, int level, int pre,
    struct semver *out)
{
	memset(out, 0, sizeof *out);
	switch (level) {
	case 1:
		if (pp->v.major == UINT64_MAX)
			return (-1);
		out->major = pp->v.major + 1;
		break;
	case 2:
		if (pp->v.minor == UINT64_MAX)
			return (-1);
		out->major = pp->v.major;
		out->minor = pp->v.minor + 1;
		break;
	default:
		if (pp->v.patch == UINT64_MAX)
			return (-1);
		out->major = pp->v.major;
		out->minor = pp->v.minor;
		out->patch = pp->v.patch + 1;
		break;
	}
	if (pre)
		out->pre = xstrdup("0");
	return (0);
}

/* p's lowest version: the numbers given, zeros for the rest. */
static void
semver_floor(const struct semver_partial *pp, int pre0, struct semver *out)
{
	memset(out, 0, sizeof *out);
	out->major = pp->v.major;
	out->minor = pp->v.minor;
	out->patch = pp->v.patch;
	if (pp->v.pre != NULL)
		out->pre = xstrdup(pp->v.pre);
	else if (pre0)
		out->pre = xstrdup("0");
}

/*
 * Expand one comparator (operator op, version pp) into terms of set.
 * Returns 0, or -1 with *cause set.
 */
static int
semver_expand(struct semver_set *set, const char *op,
    const struct semver_partial *pp, char **cause)
{
	struct semver	 lo, hi;
	int		 n = pp->nparts, rc = -1;

	memset(&lo, 0, sizeof lo);
	memset(&hi, 0, sizeof hi);
	if (pp->v.pre != NULL)
		set->pre = 1;

	if (*op == '\0' || strcmp(op, "=") == 0) {
		if (n == 3)
			semver_set_add(set, SEMVER_OP_EQ, &pp->v, NULL);
		else if (n > 0) {
			if (semver_bump(pp, n, 1, &hi) != 0)
				goto range;
			semver_floor(pp, 0, &lo);
			semver_set_add(set, SEMVER_OP_GE, &lo, NULL);
			semver_set_add(set, SEMVER_OP_LT, &hi, NULL);
		}
	} else if (strcmp(op, "!=") == 0) {
		if (n == 0)
			goto never;
		if (n == 3)
			semver_set_add(set, SEMVER_OP_NE, &pp->v, NULL);
		else {
			if (semver_bump(pp, n, 1, &hi) != 0)
				goto range;
			semver_floor(pp, 1, &lo);
			semver_set_add(set, SEMVER_OP_OUT, &lo, &hi);
		}
	} else if (strcmp(op, ">") == 0) {
		if (n == 0)
			goto never;
		if (n == 3)
			semver_set_add(set, SEMVER_OP_GT, &pp->v, NULL);
		else {
			/* >1.2 is above all of 1.2.x: >=1.3.0. */
			if (semver_bump(pp, n, 0, &lo) != 0)
				goto range;
			semver_set_add(set, SEMVER_OP_GE, &lo, NULL);
		}
	} else if (strcmp(op, ">=") == 0 || strcmp(op, "=>") == 0) {
		if (n > 0) {
			semver_floor(pp, 0, &lo);
			semver_set_add(set, SEMVER_OP_GE, &lo, NULL);
		}
	} else if (strcmp(op, "<") == 0) {
		if (n == 0)
			goto never;
		/* Below a release is below its pre-releases too. */
		semver_floor(pp, 1, &hi);
		semver_set_add(set, SEMVER_OP_LT, &hi, NULL);
	} else if (strcmp(op, "<=") == 0 || strcmp(op, "=<") == 0) {
		if (n == 3)
			semver_set_add(set, SEMVER_OP_LE, &pp->v, NULL);
		else if (n > 0) {
			if (semver_bump(pp, n, 1, &hi) != 0)
				goto range;
			semver_set_add(set, SEMVER_OP_LT, &hi, NULL);
		}
	} else if (strcmp(op, "~") == 0 || strcmp(op, "~>") == 0) {
		/* ~1 is 1.x; ~1.2 and ~1.2.3 stay within 1.2.x. */
		if (n > 0) {
			if (semver_bump(pp, n == 1 ? 1 : 2, 1, &hi) != 0)
				goto range;
			semver_floor(pp, 0, &lo);
			semver_set_add(set, SEMVER_OP_GE, &lo, NULL);
			semver_set_add(set, SEMVER_OP_LT, &hi, NULL);
		}
	} else if (strcmp(op, "^") == 0) {
		/* The leftmost non-zero part given stays fixed. */
		if (n > 0) {
			if (pp->v.major > 0 || n == 1)
				rc = semver_bump(pp, 1, 1, &hi);
			else if (pp->v.minor > 0 || n == 2)
				rc = semver_bump(pp, 2, 1, &hi);
			else
				rc = semver_bump(pp, 3, 1, &hi);
			if (rc != 0)
				goto range;
			semver_floor(pp, 0, &lo);
			semver_set_add(set, SEMVER_OP_GE, &lo, NULL);
			semver_set_add(set, SEMVER_OP_LT, &hi, NULL);
		}
	} else {
		xasprintf(cause, "unknown operator \"%.*s\"", SEMVER_CAUSE_MAX,
		    op);
		goto out;
	}
	rc = 0;
	goto out;

never:
	xasprintf(cause, "\"%s\" with a wildcard matches nothing", op);
	goto out;
range:
	*cause = xstrdup("version number out of range");
out:
	semver_free(&lo);
	semver_free(&hi);
	return (rc);
}

/* The hyphen range A - B: >=A and <=B, where a partial B covers B.x. */
static int
semver_expand_hyphen(struct semver_set *set, const struct semver_partial *a,
    const struct semver_partial *b, char **cause)
{
	if (semver_expand(set, ">=", a, cause) != 0)
		return (-1);
	return (semver_expand(set, "<=", b, cause));
}

/* Whether c separates comparators. */
static int
semver_is_sep(char c)
{
	return (c == ',' || isspace((unsigned char)c));
}

/*
 * Parse the version token of len bytes at s into pp, or set *cause.
 */
static int
semver_token(const char *s, size_t len, struct semver_partial *pp,
    char **cause)
{
	if (semver_partial_parse(s, len, pp) == 0)
		return (0);
	xasprintf(cause, "invalid version \"%.*s\"",
	    (int)(len < SEMVER_CAUSE_MAX ? len : SEMVER_CAUSE_MAX), s);
	return (-1);
}

/*
 * Parse one alternative (the len bytes at s) into set. Returns 0, or -1
 * with *cause set.
 */
static int
semver_set_parse(const char *s, size_t len, struct semver_set *set,
    char **cause)
{
	struct semver_partial	 a, b;
	const char		*end = s + len, *opp, *vp, *q;
	char			 op[4];
	size_t			 oplen, vlen;
	int			 rc;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	for (;;) {
		while (s < end && semver_is_sep(*s))
			s++;
		if (s == end)
			break;

		/* [operator] [spaces] version */
		opp = s;
		while (s < end && strchr("=!<>~^", *s) != NULL)
			s++;
		oplen = s - opp;
		while (s < end && isspace((unsigned char)*s))
			s++;
		vp = s;
		while (s < end && !semver_is_sep(*s))
			s++;
		vlen = s - vp;
		if (oplen >= sizeof op) {
			xasprintf(cause, "unknown operator \"%.*s\"",
			    (int)(oplen < SEMVER_CAUSE_MAX ? oplen :
			    SEMVER_CAUSE_MAX), opp);
			return (-1);
		}
		memcpy(op, opp, oplen);
		op[oplen] = '\0';
		/* Only after an operator: s was not at a separator. */
		if (vlen == 0) {
			xasprintf(cause, "operator \"%s\" without a version",
			    op);
			return (-1);
		}
		if (semver_token(vp, vlen, &a, cause) != 0)
			return (-1);

		/* A bare version followed by " - " opens a hyphen range. */
		q = s;
		while (q < end && isspace((unsigned char)*q))
			q++;
		if (oplen == 0 && q > s && q < end && *q == '-' &&
		    (q + 1 == end || isspace((unsigned char)q[1]))) {
			s = q + 1;
			while (s < end && isspace((unsigned char)*s))
				s++;
			vp = s;
			while (s < end && !semver_is_sep(*s))
				s++;
			vlen = s - vp;
			if (vlen == 0) {
				*cause = xstrdup("hyphen range without an "
				    "upper bound");
				goto fail;
			}
			if (strchr("=!<>~^", *vp) != NULL) {
				*cause = xstrdup("operator in a hyphen range");
				goto fail;
			}
			if (semver_token(vp, vlen, &b, cause) != 0)
				goto fail;
			rc = semver_expand_hyphen(set, &a, &b, cause);
			semver_free(&b.v);
		} else
			rc = semver_expand(set, op, &a, cause);
		semver_free(&a.v);
		if (rc != 0)
			return (-1);
	}
	return (0);

fail:
	semver_free(&a.v);
	return (-1);
}

/*
 * Parse a constraint. Returns it (caller frees with semver_constraint_free),
 * or NULL with *cause set.
 */
struct semver_constraint *
semver_constraint_parse(const char *s, char **cause)
{
	struct semver_constraint	*c;
	struct semver_set		*set;
	const char			*p, *bar;
	size_t				 len, i;
	char				*why = NULL;

	c = xcalloc(1, sizeof *c);
	p = s != NULL ? s : "";
	for (;;) {
		bar = strstr(p, "||");
		len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		for (i = 0; i < len && semver_is_sep(p[i]); i++)
			;
		if (i == len) {
			if (c->nsets == 0 && bar == NULL)
				why = xstrdup("empty constraint");
			else
				why = xstrdup("empty alternative around "
				    "\"||\"");
			goto fail;
		}
		c->sets = xreallocarray(c->sets, c->nsets + 1, sizeof *c->sets);
		set = &c->sets[c->nsets++];
		memset(set, 0, sizeof *set);
		if (semver_set_parse(p, len, set, &why) != 0)
			goto fail;
		if (bar == NULL)
			break;
		p = bar + 2;
	}
	return (c);

fail:
	xasprintf(cause, "constraint \"%.*s\": %s", SEMVER_CAUSE_MAX,
	    s != NULL ? s : "", why);
	free(why);
	semver_constraint_free(c);
	return (NULL);
}

/* Whether v satisfies one term. */
static int
semver_term_match(const struct semver_term *t, const struct semver *v)
{
	int	 c;

	c = semver_cmp(v, &t->lo);
	switch (t->op) {
	case SEMVER_OP_EQ:
		return (c == 0);
	case SEMVER_OP_NE:
		return (c != 0);
	case SEMVER_OP_GT:
		return (c > 0);
	case SEMVER_OP_GE:
		return (c >= 0);
	case SEMVER_OP_LT:
		return (c < 0);
	case SEMVER_OP_LE:
		return (c <= 0);
	case SEMVER_OP_OUT:
		return (c < 0 || semver_cmp(v, &t->hi) >= 0);
	}
	return (0);
}

/* Whether v satisfies the constraint: 1 or 0. */
int
semver_constraint_match(const struct semver_constraint *c,
    const struct semver *v)
{
	const struct semver_set	*set;
	size_t			 i, j;

	for (i = 0; i < c->nsets; i++) {
		set = &c->sets[i];
		if (v->pre != NULL && !set->pre)
			continue;
		for (j = 0; j < set->nterms; j++) {
			if (!semver_term_match(&set->terms[j], v))
				break;
		}
		if (j == set->nterms)
			return (1);
	}
	return (0);
}

void
semver_constraint_free(struct semver_constraint *c)
{
	size_t	 i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsets; i++) {
		for (j = 0; j < c->sets[i].nterms; j++) {
			semver_free(&c->sets[i].terms[j].lo);
			semver_free(&c->sets[i].terms[j].hi);
		}
		free(c->sets[i].terms);
	}
	free(c->sets);
	free(c);
}
