/* u-policy: unit tests for src/semver.c and src/policy.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "semver.h"
#include "tap.h"
#include "xmalloc.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static const char *
nz(const char *s)
{
	return (s != NULL ? s : "(none)");
}

/* Parsing: strict and lenient, valid and invalid. */
static void
test_parse(void)
{
	static const struct {
		const char	*s;
		int		 lenient;
		int		 ok;
		unsigned long long maj, min, pat;
		const char	*pre, *build;
	} t[] = {
		{ "1.2.3", 0, 1, 1, 2, 3, NULL, NULL },
		{ "0.0.0", 0, 1, 0, 0, 0, NULL, NULL },
		{ "10.20.30", 0, 1, 10, 20, 30, NULL, NULL },
		{ "1.0.0-alpha", 0, 1, 1, 0, 0, "alpha", NULL },
		{ "1.0.0-alpha.1", 0, 1, 1, 0, 0, "alpha.1", NULL },
		{ "1.0.0-0.3.7", 0, 1, 1, 0, 0, "0.3.7", NULL },
		{ "1.0.0-x.7.z.92", 0, 1, 1, 0, 0, "x.7.z.92", NULL },
		{ "1.0.0-x-y-z.--", 0, 1, 1, 0, 0, "x-y-z.--", NULL },
		{ "1.0.0-alpha+001", 0, 1, 1, 0, 0, "alpha", "001" },
		{ "1.0.0+20130313144700", 0, 1, 1, 0, 0, NULL,
		    "20130313144700" },
		{ "1.0.0-beta+exp.sha.5114f85", 0, 1, 1, 0, 0, "beta",
		    "exp.sha.5114f85" },
		{ "1.0.0+21AF26D3----117B344092BD", 0, 1, 1, 0, 0, NULL,
		    "21AF26D3----117B344092BD" },
		{ "1.0.0-0a", 0, 1, 1, 0, 0, "0a", NULL },
		{ "18446744073709551615.18446744073709551615."
		    "18446744073709551615",
		    0, 1, 18446744073709551615ULL, 18446744073709551615ULL,
		    18446744073709551615ULL, NULL, NULL },
		{ "1.0.0-18446744073709551615", 0, 1, 1, 0, 0,
		    "18446744073709551615", NULL },
		/* strict refusals */
		{ "", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2", 0, 0, 0, 0, 0, NULL, NULL },
		{ "v1.2.3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "01.2.3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.02.3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.03", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3+", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-01", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-a..b", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-a.", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-a_b", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3_b", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3+a+b", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3.4", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3 ", 0, 0, 0, 0, 0, NULL, NULL },
		{ " 1.2.3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1..3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "-1.2.3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.-3", 0, 0, 0, 0, 0, NULL, NULL },
		{ "a.b.c", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-\xc3\xa9", 0, 0, 0, 0, 0, NULL, NULL },
		{ "18446744073709551616.0.0", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.99999999999999999999999.0", 0, 0, 0, 0, 0, NULL, NULL },
		{ "1.0.0-18446744073709551616", 0, 0, 0, 0, 0, NULL, NULL },
		/* lenient: tags */
		{ "v1.2.3", 1, 1, 1, 2, 3, NULL, NULL },
		{ "v1.2", 1, 1, 1, 2, 0, NULL, NULL },
		{ "1.2", 1, 1, 1, 2, 0, NULL, NULL },
		{ "v1", 1, 1, 1, 0, 0, NULL, NULL },
		{ "7", 1, 1, 7, 0, 0, NULL, NULL },
		{ "1.2-rc.1", 1, 1, 1, 2, 0, "rc.1", NULL },
		{ "1.2.3_build.7", 1, 1, 1, 2, 3, NULL, "build.7" },
		{ "v1.2.3-beta.2_exp", 1, 1, 1, 2, 3, "beta.2", "exp" },
		{ "1.2.3+meta", 1, 1, 1, 2, 3, NULL, "meta" },
		{ "vv1.2.3", 1, 0, 0, 0, 0, NULL, NULL },
		{ "V1.2.3", 1, 0, 0, 0, 0, NULL, NULL },
		{ "latest", 1, 0, 0, 0, 0, NULL, NULL },
		{ "main", 1, 0, 0, 0, 0, NULL, NULL },
		{ "v", 1, 0, 0, 0, 0, NULL, NULL },
		{ "1.", 1, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3_a_b", 1, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-01", 1, 0, 0, 0, 0, NULL, NULL },
		{ "01.2", 1, 0, 0, 0, 0, NULL, NULL },
		{ "2024.01.05", 1, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3-", 1, 0, 0, 0, 0, NULL, NULL },
		{ "1.2.3_", 1, 0, 0, 0, 0, NULL, NULL },
	};
	struct semver	 v;
	size_t		 i;
	int		 rc, good;

	for (i = 0; i < NITEMS(t); i++) {
		rc = semver_parse(t[i].s, t[i].lenient, &v);
		if (!t[i].ok) {
			ok(rc == -1 && v.pre == NULL && v.build == NULL,
			    "%s \"%s\" refused", t[i].lenient ? "lenient" :
			    "strict", t[i].s);
			continue;
		}
		good = rc == 0 && v.major == t[i].maj && v.minor == t[i].min &&
		    v.patch == t[i].pat &&
		    strcmp(nz(v.pre), nz(t[i].pre)) == 0 &&
		    strcmp(nz(v.build), nz(t[i].build)) == 0;
		ok(good, "%s \"%s\" is %llu.%llu.%llu pre %s build %s",
		    t[i].lenient ? "lenient" : "strict", t[i].s, t[i].maj,
		    t[i].min, t[i].pat, nz(t[i].pre), nz(t[i].build));
		semver_free(&v);
	}
	ok(semver_parse(NULL, 1, &v) == -1, "NULL refused");
	semver_free(NULL);
}

/* Precedence: an ascending chain, compared pairwise, and equal pairs. */
static void
test_precedence(void)
{
	static const char *chain[] = {
		/* SemVer 2.0.0 section 11's example, in order. */
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
		"1.0.0",
		"1.0.1", "1.1.0", "1.9.0", "1.10.0", "1.11.0",
		"2.0.0-0", "2.0.0-1", "2.0.0-9", "2.0.0-10",
		"2.0.0-9999999999999", "2.0.0-10000000000000",
		"2.0.0-1a", "2.0.0-A", "2.0.0-Z", "2.0.0-a", "2.0.0-a.0",
		"2.0.0-a.0.0", "2.0.0-a.1", "2.0.0-a.a", "2.0.0-aa", "2.0.0-b",
		"2.0.0", "2.0.1-0", "10.0.0",
		"18446744073709551615.0.0"
	};
	static const struct {
		const char	*a, *b;
	} same[] = {
		{ "1.0.0+a", "1.0.0+b" },
		{ "1.0.0", "1.0.0+x.y" },
		{ "1.0.0-rc.1+x", "1.0.0-rc.1" },
		{ "v1.2", "1.2.0" },
		{ "1.2.3_b1", "1.2.3+b2" },
	};
	struct semver	 v[NITEMS(chain)], a, b;
	size_t		 i, j, n = NITEMS(chain), bad = 0;
	int		 c, want;

	for (i = 0; i < n; i++) {
		if (semver_parse(chain[i], 0, &v[i]) != 0)
			fatalx("chain: %s", chain[i]);
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			c = semver_cmp(&v[i], &v[j]);
			want = i < j ? -1 : i > j ? 1 : 0;
			if (c != want) {
				printf("# cmp(%s, %s) = %d, want %d\n",
				    chain[i], chain[j], c, want);
				bad++;
			}
		}
	}
	ok(bad == 0, "precedence of %zu versions, all %zu pairs", n, n * n);
	for (i = 0; i + 1 < n; i++)
		ok(semver_cmp(&v[i], &v[i + 1]) < 0, "%s < %s", chain[i],
		    chain[i + 1]);
	for (i = 0; i < n; i++)
		semver_free(&v[i]);

	for (i = 0; i < NITEMS(same); i++) {
		if (semver_parse(same[i].a, 1, &a) != 0 ||
		    semver_parse(same[i].b, 1, &b) != 0)
			fatalx("same: %s", same[i].a);
		ok(semver_cmp(&a, &b) == 0 && semver_cmp(&b, &a) == 0,
		    "%s and %s have equal precedence", same[i].a, same[i].b);
		semver_free(&a);
		semver_free(&b);
	}
}

/* Constraints: one row per (constraint, version, expected). */
static void
test_constraints(void)
{
	static const struct {
		const char	*c, *v;
		int		 want;
	} t[] = {
		/* = and bare */
		{ "=1.2.3", "1.2.3", 1 }, { "=1.2.3", "1.2.4", 0 },
		{ "1.2.3", "1.2.3", 1 }, { "1.2.3", "1.2.2", 0 },
		{ "v1.2.3", "1.2.3", 1 },
		{ "=1.2", "1.2.3", 1 }, { "=1.2", "1.3.0", 0 },
		/* != */
		{ "!=1.2.3", "1.2.3", 0 }, { "!=1.2.3", "1.2.4", 1 },
		{ "!=1.2", "1.2.7", 0 }, { "!=1.2", "1.3.0", 1 },
		{ "!=1.2", "1.1.9", 1 }, { "!=1", "1.9.9", 0 },
		{ "!=1", "2.0.0", 1 }, { "!=1", "0.9.0", 1 },
		/* > */
		{ ">1.2.3", "1.2.3", 0 }, { ">1.2.3", "1.2.4", 1 },
		{ ">1.2", "1.2.9", 0 }, { ">1.2", "1.3.0", 1 },
		{ ">1", "1.99.0", 0 }, { ">1", "2.0.0", 1 },
		/* >= */
		{ ">=1.2.3", "1.2.3", 1 }, { ">=1.2.3", "1.2.2", 0 },
		{ ">=1.2", "1.2.0", 1 }, { ">=1.2", "1.1.99", 0 },
		{ ">=1", "1.0.0", 1 }, { ">=1", "0.99.0", 0 },
		{ "=>1.2", "1.2.0", 1 },
		/* < */
		{ "<1.2.3", "1.2.2", 1 }, { "<1.2.3", "1.2.3", 0 },
		{ "<2", "1.99.99", 1 }, { "<2", "2.0.0", 0 },
		{ "<1.2", "1.1.9", 1 }, { "<1.2", "1.2.0", 0 },
		/* <= */
		{ "<=1.2.3", "1.2.3", 1 }, { "<=1.2.3", "1.2.4", 0 },
		{ "<=1.2", "1.2.99", 1 }, { "<=1.2", "1.3.0", 0 },
		{ "=<1.2", "1.2.5", 1 }, { "<=1", "1.9.0", 1 },
		{ "<=1", "2.0.0", 0 },
		/* AND, with spaces and commas */
		{ ">=1.2 <2", "1.2.0", 1 }, { ">=1.2 <2", "2.0.0", 0 },
		{ ">=1.2 <2", "1.1.0", 0 }, { ">=1.2, <2", "1.5.0", 1 },
		{ ">= 1.2 , < 2", "1.5.0", 1 }, { ">=1.2,<2", "1.9.9", 1 },
		{ "  >=1.2\t<2  ", "1.9.9", 1 },
		{ ">1.0.0 <1.0.1", "1.0.0", 0 },
		/* OR */
		{ "<1.0.0 || >=2.0.0", "0.9.0", 1 },
		{ "<1.0.0 || >=2.0.0", "1.5.0", 0 },
		{ "<1.0.0 || >=2.0.0", "2.1.0", 1 },
		{ "1.2.3||1.2.5", "1.2.5", 1 }, { "1.2.3||1.2.5", "1.2.4", 0 },
		{ "^1.2 || ^3", "3.4.0", 1 }, { "^1.2 || ^3", "2.4.0", 0 },
		/* tilde */
		{ "~1.2.3", "1.2.3", 1 }, { "~1.2.3", "1.2.9", 1 },
		{ "~1.2.3", "1.3.0", 0 }, { "~1.2.3", "1.2.2", 0 },
		{ "~1.2", "1.2.0", 1 }, { "~1.2", "1.2.99", 1 },
		{ "~1.2", "1.3.0", 0 }, { "~1", "1.0.0", 1 },
		{ "~1", "1.99.0", 1 }, { "~1", "2.0.0", 0 },
		{ "~1", "0.9.0", 0 }, { "~>1.2", "1.2.5", 1 },
		{ "~>1.2", "1.3.0", 0 }, { "~0.2.3", "0.2.9", 1 },
		{ "~0.2.3", "0.3.0", 0 }, { "~1.x", "1.5.0", 1 },
		{ "~ 1.2", "1.2.5", 1 }, { "~*", "5.0.0", 1 },
		/* caret */
		{ "^1.2.3", "1.2.3", 1 }, { "^1.2.3", "1.9.9", 1 },
		{ "^1.2.3", "2.0.0", 0 }, { "^1.2.3", "1.2.2", 0 },
		{ "^1.2", "1.2.0", 1 }, { "^1.2", "1.1.0", 0 },
		{ "^1.2", "1.99.0", 1 }, { "^1.2", "2.0.0", 0 },
		{ "^1", "1.0.0", 1 }, { "^1", "2.0.0", 0 },
		{ "^0.2", "0.2.0", 1 }, { "^0.2", "0.2.9", 1 },
		{ "^0.2", "0.3.0", 0 }, { "^0.2", "0.1.9", 0 },
		{ "^0.2.3", "0.2.3", 1 }, { "^0.2.3", "0.2.2", 0 },
		{ "^0.2.3", "0.3.0", 0 }, { "^0.0.3", "0.0.3", 1 },
		{ "^0.0.3", "0.0.4", 0 }, { "^0.0.3", "0.0.2", 0 },
		{ "^0.0", "0.0.9", 1 }, { "^0.0", "0.1.0", 0 },
		{ "^0", "0.9.0", 1 }, { "^0", "1.0.0", 0 },
		{ "^0.0.0", "0.0.0", 1 }, { "^0.0.0", "0.0.1", 0 },
		{ "^1.x", "1.7.0", 1 }, { "^0.x", "0.7.0", 1 },
		{ "^*", "3.0.0", 1 },
		/* wildcards and partial versions */
		{ "1.2.x", "1.2.0", 1 }, { "1.2.x", "1.2.99", 1 },
		{ "1.2.x", "1.3.0", 0 }, { "1.2.x", "1.1.9", 0 },
		{ "1.2.*", "1.2.5", 1 }, { "1.2.X", "1.2.5", 1 },
		{ "1.x", "1.0.0", 1 }, { "1.x", "1.99.99", 1 },
		{ "1.x", "2.0.0", 0 }, { "1.x.x", "1.5.5", 1 },
		{ "1.*", "0.9.0", 0 }, { "*", "0.0.0", 1 },
		{ "*", "99.0.0", 1 }, { "x", "1.0.0", 1 }, { "X", "1.0.0", 1 },
		{ "x.x.x", "3.0.0", 1 }, { "1.2", "1.2.7", 1 },
		{ "1", "1.7.0", 1 }, { "1", "2.0.0", 0 },
		{ ">=*", "1.0.0", 1 }, { "<=*", "1.0.0", 1 },
		{ "=*", "2.0.0", 1 },
		{ "v1.2.x", "1.2.1", 1 }, { ">=1.x", "1.0.0", 1 },
		{ ">=1.x", "0.9.0", 0 }, { "<1.x", "0.9.0", 1 },
		{ "<1.x", "1.0.0", 0 }, { ">1.x", "1.9.0", 0 },
		{ ">1.x", "2.0.0", 1 },
		/* hyphen ranges */
		{ "1.2 - 1.4.5", "1.2.0", 1 }, { "1.2 - 1.4.5", "1.4.5", 1 },
		{ "1.2 - 1.4.5", "1.4.6", 0 }, { "1.2 - 1.4.5", "1.1.9", 0 },
		{ "1.2.3 - 2.3", "2.3.9", 1 }, { "1.2.3 - 2.3", "2.4.0", 0 },
		{ "1.2.3 - 2", "2.9.0", 1 }, { "1.2.3 - 2", "3.0.0", 0 },
		{ "1.2.3 - 2.x", "2.9.0", 1 }, { "* - 2", "0.0.1", 1 },
		{ "1.2 - 1.4.5 || 3.x", "3.1.0", 1 },
		{ "1.2 - 1.4.5, !=1.3.0", "1.3.0", 0 },
		{ "1.2 - 1.4.5, !=1.3.0", "1.3.1", 1 },
		{ "1.2\t-\t1.4", "1.4.9", 1 },
		/* pre-releases: only when the alternative asks for them */
		{ "*", "1.0.0-rc.1", 0 }, { ">=1.0.0", "1.1.0-beta", 0 },
		{ "^1.2", "1.5.0-rc.1", 0 }, { "1.2.x", "1.2.5-rc.1", 0 },
		{ ">=1.2.0-0", "1.2.0-alpha", 1 },
		{ ">=1.2.0-0", "1.5.0-beta.1", 1 },
		{ ">=1.2.0-0", "1.1.9-beta", 0 }, { ">=1.2.0-0", "1.2.0", 1 },
		{ ">=1.2.0-0 <2", "1.9.0-rc.1", 1 },
		{ ">=1.2.0-0 <2", "2.0.0-rc.1", 0 },
		{ ">=1.2.0-0 <2.0.0", "2.0.0-rc.1", 0 },
		{ ">=1.2.0-rc.2", "1.2.0-rc.1", 0 },
		{ ">=1.2.0-rc.2", "1.2.0-rc.10", 1 },
		{ ">=1.2.0-rc.2", "1.2.0-rc.2", 1 },
		{ "~1.2.3-beta.2", "1.2.3-beta.4", 1 },
		{ "~1.2.3-beta.2", "1.2.3-beta.1", 0 },
		{ "~1.2.3-beta.2", "1.3.0-alpha", 0 },
		{ "~1.2.3-beta.2", "1.2.9", 1 },
		{ "^1.2.3-beta", "1.9.0-alpha", 1 },
		{ "^1.2.3-beta", "2.0.0-alpha", 0 },
		{ "1.2.3-beta || >=2", "2.1.0-rc.1", 0 },
		{ "1.2.3-beta || >=2", "1.2.3-beta", 1 },
		{ "1.2.3-beta || >=2", "2.1.0", 1 },
		{ "=1.2.3-beta", "1.2.3-beta+build", 1 },
		{ "<1.2.3-beta", "1.2.3-alpha", 1 },
		{ "<1.2.3-beta", "1.2.2", 1 },
		{ "!=1.2.3-beta", "1.2.3-alpha", 1 },
		{ "!=1.2.3-beta", "1.2.3-beta", 0 },
		{ "1.2.3-beta - 1.2.3", "1.2.3-rc.1", 1 },
		/* build metadata is ignored */
		{ ">=1.2.3+build.5", "1.2.3", 1 },
		{ "1.2.3+a", "1.2.3+b", 1 },
		{ ">1.2.3", "1.2.3+b", 0 },
		/* "_" stands for "+" in tags */
		{ "1.2.3", "1.2.3_build.1", 1 },
		{ ">1.2.3", "1.2.3_build.9", 0 },
		{ "1.2.3-rc.1", "1.2.3-rc.1_b", 1 },
		/* lenient tags */
		{ ">=1.2", "v1.2", 1 }, { "~1", "v1", 1 },
		/* big numbers */
		{ ">=18446744073709551615.0.0", "18446744073709551615.0.0", 1 },
		{ ">18446744073709551614", "18446744073709551615.0.0", 1 },
		{ "<=18446744073709551615.0.0", "1.0.0", 1 },
	};
	struct semver_constraint	*c;
	struct semver			 v;
	char				*cause = NULL;
	size_t				 i;

	for (i = 0; i < NITEMS(t); i++) {
		if (semver_parse(t[i].v, 1, &v) != 0)
			fatalx("bad test version %s", t[i].v);
		c = semver_constraint_parse(t[i].c, &cause);
		if (c == NULL) {
			ok(0, "\"%s\" parses", t[i].c);
			printf("#   %s\n", cause);
			free(cause);
			cause = NULL;
		} else
			ok(semver_constraint_match(c, &v) == t[i].want,
			    "\"%s\" %s %s", t[i].c,
			    t[i].want ? "admits" : "refuses", t[i].v);
		semver_constraint_free(c);
		semver_free(&v);
	}
}

/* Garbage constraints: refused with a cause naming the problem. */
static void
test_bad_constraints(void)
{
	static const struct {
		const char	*c, *why;
	} t[] = {
		{ "", "empty constraint" },
		{ "   ", "empty constraint" },
		{ " , ", "empty constraint" },
		{ "||", "empty alternative" },
		{ "1.2 ||", "empty alternative" },
		{ "|| 1.2", "empty alternative" },
		{ "1.2 || || 1.3", "empty alternative" },
		{ "1.2 | 1.3", "invalid version \"|\"" },
		{ "1.2 ||| 1.3", "invalid version \"|\"" },
		{ "==1.2.3", "unknown operator \"==\"" },
		{ "=>>1", "unknown operator" },
		{ "!1.2", "unknown operator \"!\"" },
		{ "<>1.2", "unknown operator \"<>\"" },
		{ "~^1.2", "unknown operator" },
		{ ">>>>>>>>1", "unknown operator" },
		{ ">", "without a version" },
		{ ">= ", "without a version" },
		{ ">=,1.2", "without a version" },
		{ "1.2.3.4", "invalid version" },
		{ "abc", "invalid version \"abc\"" },
		{ "latest", "invalid version" },
		{ "1.x.3", "invalid version" },
		{ "*.2", "invalid version" },
		{ "x.1", "invalid version" },
		{ "1.2-beta", "invalid version" },
		{ "1.x-beta", "invalid version" },
		{ "01.2.3", "invalid version" },
		{ "1.2.3-01", "invalid version" },
		{ "1.2.3-", "invalid version" },
		{ "1.2.3+", "invalid version" },
		{ ">=1.2.3_b", "invalid version" },
		{ "1.2.", "invalid version" },
		{ "1..2", "invalid version" },
		{ "v", "invalid version" },
		{ "-1.2", "invalid version" },
		{ "1.2 -1.4", "invalid version \"-1.4\"" },
		{ ">=1.2<2", "invalid version" },
		{ "18446744073709551616", "invalid version" },
		{ ">*", "matches nothing" },
		{ "<*", "matches nothing" },
		{ "!=*", "matches nothing" },
		{ "1.2 -", "without an upper bound" },
		{ "1.2 - ", "without an upper bound" },
		{ "1.2 - >=1.4", "operator in a hyphen range" },
		{ "1.2 - abc", "invalid version" },
		{ "~1.18446744073709551615", "out of range" },
		{ "^18446744073709551615", "out of range" },
		{ "<=18446744073709551615", "out of range" },
		{ "1.2.3 latest", "invalid version \"latest\"" },
		{ "\xf0\x9f\x99\x82", "invalid version" },
		{ ">=1.2 <2 || ~x.y", "invalid version" },
	};
	struct semver_constraint	*c;
	char				*cause;
	size_t				 i;

	for (i = 0; i < NITEMS(t); i++) {
		cause = NULL;
		c = semver_constraint_parse(t[i].c, &cause);
		ok(c == NULL && cause != NULL &&
		    strncmp(cause, "constraint \"", 12) == 0 &&
		    strstr(cause, t[i].why) != NULL,
		    "\"%s\" refused: %s", t[i].c, t[i].why);
		if (cause != NULL && strstr(cause, t[i].why) == NULL)
			printf("#   cause: %s\n", cause);
		semver_constraint_free(c);
		free(cause);
	}
	cause = NULL;
	c = semver_constraint_parse(NULL, &cause);
	ok(c == NULL && cause != NULL, "NULL constraint refused");
	free(cause);
}

/* Build a policy from a spec, failing the whole test if it is refused. */
static struct policy *
mkpolicy(enum policy_kind kind, const char *semver, const char *allow,
    const char *ignore, const char *tag)
{
	struct policy_spec	 spec;
	struct policy		*p;
	char			*cause = NULL;

	memset(&spec, 0, sizeof spec);
	spec.kind = kind;
	spec.semver = semver;
	spec.allow = allow;
	spec.ignore = ignore;
	spec.tag = tag;
	if ((p = policy_new(&spec, &cause)) == NULL)
		fatalx("policy_new: %s", cause);
	return (p);
}

/* policy_select on a list of literals (it takes modifiable strings). */
static ssize_t
select_index(const struct policy *p, const char *const *tags,
    const long long *created, size_t n)
{
	char	**v;
	ssize_t	  r;
	size_t	  i;

	v = xreallocarray(NULL, n > 0 ? n : 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = tags[i] != NULL ? xstrdup(tags[i]) : NULL;
	r = policy_select(p, v, created, n);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return (r);
}

/* Name of the selected tag, or "none". */
static const char *
selected(const struct policy *p, const char *const *tags,
    const long long *created, size_t n)
{
	ssize_t	 i;

	i = select_index(p, tags, created, n);
	return (i >= 0 ? tags[i] : "none");
}

static void
test_kinds(void)
{
	static const struct {
		struct policy_spec	 spec;
		const char		*why;
	} bad[] = {
		{ { POLICY_REGEX, NULL, NULL, NULL, NULL },
		    "without an allow" },
		{ { POLICY_DIGEST, NULL, NULL, NULL, NULL }, "without a tag" },
		{ { POLICY_DIGEST, NULL, NULL, NULL, "a b" }, "invalid tag" },
		{ { POLICY_DIGEST, NULL, NULL, NULL, "" }, "invalid tag" },
		{ { POLICY_DIGEST, NULL, NULL, "x", "main" },
		    "takes no ignore" },
		{ { POLICY_DIGEST, NULL, "x", NULL, "main" },
		    "takes no allow" },
		{ { POLICY_DIGEST, "*", NULL, NULL, "main" },
		    "takes no semver" },
		{ { POLICY_SEMVER, "*", "x", NULL, NULL }, "takes no allow" },
		{ { POLICY_SEMVER, "*", NULL, NULL, "main" }, "takes no tag" },
		{ { POLICY_LATEST, "*", NULL, NULL, NULL }, "takes no semver" },
		{ { POLICY_REGEX, NULL, "x", NULL, "t" }, "takes no tag" },
		{ { POLICY_SEMVER, ">>1", NULL, NULL, NULL },
		    "unknown operator" },
		{ { POLICY_SEMVER, "", NULL, NULL, NULL }, "empty constraint" },
		{ { POLICY_REGEX, NULL, "(", NULL, NULL },
		    "allow regex \"(\"" },
		{ { POLICY_LATEST, NULL, "a[", NULL, NULL }, "allow regex" },
		{ { POLICY_REGEX, NULL, ".*", "ok\n[z", NULL },
		    "ignore regex \"[z\"" },
		{ { (enum policy_kind)42, NULL, NULL, NULL, NULL },
		    "unknown policy kind" },
	};
	static const char *names[] = { "semver", "regex", "latest", "digest" };
	enum policy_kind	 k;
	struct policy		*p;
	char			*cause;
	size_t			 i;

	for (i = 0; i < NITEMS(names); i++)
		ok(policy_kind_parse(names[i], &k) == 0 &&
		    strcmp(policy_kind_name(k), names[i]) == 0,
		    "kind %s round-trips", names[i]);
	ok(policy_kind_parse("Semver", &k) == -1 &&
	    policy_kind_parse("", &k) == -1, "unknown kind names refused");
	is_str(policy_kind_name((enum policy_kind)9), "unknown",
	    "name of an unknown kind");

	for (i = 0; i < NITEMS(bad); i++) {
		cause = NULL;
		p = policy_new(&bad[i].spec, &cause);
		ok(p == NULL && cause != NULL &&
		    strstr(cause, bad[i].why) != NULL, "spec %zu refused: %s",
		    i, bad[i].why);
		if (cause != NULL && strstr(cause, bad[i].why) == NULL)
			printf("#   cause: %s\n", cause);
		policy_free(p);
		free(cause);
	}
	policy_free(NULL);
}

static void
test_semver_policy(void)
{
	const char *tags[] = {
		"latest", "v1.2.3", "1.2.10", "1.3.0-rc.1", "1.2.9", "main",
		"2.0.0", "1.2.11", "v1.2.11_build.2", "1.2.12-rc.1", "3.0",
		"1.2.13+bad"
	};
	size_t		 n = NITEMS(tags);
	struct policy	*p;

	p = mkpolicy(POLICY_SEMVER, "~1.2", NULL, NULL, NULL);
	ok(!policy_match(p, "latest") && !policy_match(p, "main"),
	    "semver: non-versions never match");
	ok(policy_match(p, "v1.2.3") && policy_match(p, "1.2.10") &&
	    !policy_match(p, "1.3.0-rc.1") && !policy_match(p, "2.0.0"),
	    "semver ~1.2: match per constraint");
	ok(!policy_match(p, "1.2.12-rc.1"),
	    "semver: pre-release not asked for");
	ok(!policy_match(p, "1.2.13+bad"), "semver: '+' is no tag character");
	is_str(selected(p, tags, NULL, n), "v1.2.11_build.2",
	    "semver ~1.2: highest; equal versions go to the higher name");
	policy_free(p);

	p = mkpolicy(POLICY_SEMVER, NULL, NULL, NULL, NULL);
	is_str(selected(p, tags, NULL, n), "3.0", "semver without constraint: "
	    "highest release (3.0 is 3.0.0)");
	ok(!policy_match(p, "1.3.0-rc.1"), "semver \"*\": no pre-releases");
	policy_free(p);

	p = mkpolicy(POLICY_SEMVER, ">=1.2.0-0 <3", NULL, NULL, NULL);
	is_str(selected(p, tags, NULL, n), "2.0.0",
	    "semver with pre-releases admitted");
	policy_free(p);

	p = mkpolicy(POLICY_SEMVER, ">=1.2.12-0 <1.3", NULL, NULL, NULL);
	is_str(selected(p, tags, NULL, n), "1.2.12-rc.1",
	    "semver selects a pre-release when it is all there is");
	policy_free(p);

	p = mkpolicy(POLICY_SEMVER, "*", NULL, "^3\\.\n^2\\.", NULL);
	is_str(selected(p, tags, NULL, n), "v1.2.11_build.2",
	    "semver with ignore patterns");
	ok(!policy_match(p, "2.0.0") && policy_match(p, "1.0.0"),
	    "ignored tags never match");
	policy_free(p);

	p = mkpolicy(POLICY_SEMVER, "^4", NULL, NULL, NULL);
	ok(select_index(p, tags, NULL, n) == -1, "semver: nothing matches");
	ok(select_index(p, tags, NULL, 0) == -1, "semver: no tags");
	policy_free(p);
}

static void
test_regex_policy(void)
{
	const char *plain[] = { "main-abc", "main-fff", "main-123",
	    "feature-x" };
	const char *builds[] = { "build-9", "build-10", "build-100", "build-2",
	    "build-x", "build-" };
	const char *mixed[] = { "rel-9", "rel-10", "rel-a" };
	const char *nums[] = { "rel-9", "rel-10" };
	const char *zeros[] = { "b007", "b10", "b7" };
	const char *ties[] = { "b007", "b7" };
	const char *opt[] = { "vx", "v3x" };
	const char *ign[] = { "1", "dev-9", "2-rc", "0", "Bad Tag", "-x" };
	char			 longtag[130];
	const char			*longs[] = { longtag, "a" };
	struct policy		*p;

	p = mkpolicy(POLICY_REGEX, NULL, "^main-[0-9a-f]+$", NULL, NULL);
	ok(policy_match(p, "main-abc") && !policy_match(p, "feature-x"),
	    "regex: allow decides");
	is_str(selected(p, plain, NULL, NITEMS(plain)), "main-fff",
	    "regex without capture: highest tag bytewise");
	policy_free(p);

	p = mkpolicy(POLICY_REGEX, NULL, "main", NULL, NULL);
	ok(policy_match(p, "feature-main-1"), "regex is not anchored unless "
	    "the pattern says so");
	policy_free(p);

	p = mkpolicy(POLICY_REGEX, NULL, "^build-([0-9]+)$", NULL, NULL);
	ok(!policy_match(p, "build-x") && !policy_match(p, "build-"),
	    "regex with capture: allow still decides");
	is_str(selected(p, builds, NULL, NITEMS(builds)), "build-100",
	    "regex capture, all digits: numeric order");
	policy_free(p);

	p = mkpolicy(POLICY_REGEX, NULL, "^rel-([0-9a-z]+)$", NULL, NULL);
	is_str(selected(p, mixed, NULL, NITEMS(mixed)), "rel-a",
	    "regex capture, not all digits: bytewise");
	is_str(selected(p, nums, NULL, NITEMS(nums)), "rel-10",
	    "same pattern, all-digit candidates: numeric");
	policy_free(p);

	p = mkpolicy(POLICY_REGEX, NULL, "^b([0-9]+)$", NULL, NULL);
	is_str(selected(p, zeros, NULL, NITEMS(zeros)), "b10",
	    "numeric capture ignores leading zeros");
	is_str(selected(p, ties, NULL, NITEMS(ties)), "b7",
	    "equal numbers go to the higher tag name");
	policy_free(p);

	p = mkpolicy(POLICY_REGEX, NULL, "^v([0-9]+)?x$", NULL, NULL);
	is_str(selected(p, opt, NULL, NITEMS(opt)), "v3x",
	    "a capture that took no part counts as empty");
	policy_free(p);

	p = mkpolicy(POLICY_REGEX, NULL, ".*", "\n\n-rc\n^dev-\n", NULL);
	ok(!policy_match(p, "dev-9") && !policy_match(p, "2-rc") &&
	    policy_match(p, "1"), "several ignore patterns, blank lines "
	    "skipped");
	ok(!policy_match(p, "Bad Tag") && !policy_match(p, "-x") &&
	    !policy_match(p, "") && !policy_match(p, NULL),
	    "invalid tags never match");
	is_str(selected(p, ign, NULL, NITEMS(ign)), "1",
	    "selection skips ignored and invalid tags");
	memset(longtag, 'z', 129);
	longtag[129] = '\0';
	ok(!policy_match(p, longtag), "a 129-byte tag is invalid");
	is_str(selected(p, longs, NULL, NITEMS(longs)), "a",
	    "over-long tag never selected");
	longtag[128] = '\0';
	ok(policy_match(p, longtag), "a 128-byte tag is fine");
	policy_free(p);
}

static void
test_latest_policy(void)
{
	const char		*tags[] = { "a", "b", "c", "d" };
	long long	 t1[] = { 100, 300, -1, 300 };
	long long	 t2[] = { -1, -1, -1, -1 };
	long long	 t3[] = { 5, -1, -7, -1 };
	long long	 t4[] = { -1, -7, -1, -9 };
	struct policy	*p;

	p = mkpolicy(POLICY_LATEST, NULL, NULL, NULL, NULL);
	ok(policy_needs_created(p), "latest needs creation times");
	ok(policy_match(p, "anything"), "latest without allow matches all");
	is_str(selected(p, tags, t1, 4), "d",
	    "latest: newest; a tie goes to the higher name");
	is_str(selected(p, tags, t2, 4), "d",
	    "latest: all unknown, the higher name");
	is_str(selected(p, tags, t3, 4), "a",
	    "latest: an unknown time never beats a known one");
	is_str(selected(p, tags, t4, 4), "d",
	    "latest: every negative time is the same unknown");
	ok(select_index(p, tags, NULL, 4) == -1,
	    "latest without times selects nothing");
	policy_free(p);

	p = mkpolicy(POLICY_LATEST, NULL, NULL, "^d$", NULL);
	is_str(selected(p, tags, t1, 4), "b", "latest with ignore");
	policy_free(p);

	p = mkpolicy(POLICY_LATEST, NULL, "^[ac]$", NULL, NULL);
	ok(!policy_match(p, "b"), "latest with allow");
	is_str(selected(p, tags, t1, 4), "a", "latest with allow selects");
	policy_free(p);
}

static void
test_digest_policy(void)
{
	const char		*tags[] = { "v1", "main", "dev" };
	const char		*other[] = { "v1", "dev", "mainline" };
	struct policy	*p;

	p = mkpolicy(POLICY_DIGEST, NULL, NULL, NULL, "main");
	ok(!policy_needs_created(p), "digest needs no times");
	ok(policy_match(p, "main") && !policy_match(p, "mainline") &&
	    !policy_match(p, "Main"), "digest matches its tag only");
	ok(select_index(p, tags, NULL, 3) == 1, "digest selects its tag");
	ok(select_index(p, other, NULL, 3) == -1, "digest: tag absent");
	policy_free(p);
}

/* policy_select straight on a modifiable list. */
static const char *
pick(const struct policy *p, char *const *tags, const long long *created,
    size_t n)
{
	ssize_t	 i;

	i = policy_select(p, tags, created, n);
	return (i >= 0 ? tags[i] : "none");
}

/*
 * Many tags: the right winner, in time that stays well inside the bound
 * even under valgrind. Each call parses each tag once, so this is linear.
 */
static void
test_many(void)
{
	struct policy	*p;
	char		**tags;
	long long	*created;
	size_t		 n = 5000, i, j;
	clock_t		 start;
	double		 secs;
	int		 okay = 1;

	tags = xreallocarray(NULL, n, sizeof *tags);
	created = xreallocarray(NULL, n, sizeof *created);
	for (i = 0; i < n; i++) {
		/* A scrambled order: 1.(k/50).(k%50) with k = i*7919 mod n. */
		j = (i * 7919) % n;
		xasprintf(&tags[i], "v1.%zu.%zu", j / 50, j % 50);
		created[i] = (long long)j;
	}
	start = clock();
	p = mkpolicy(POLICY_SEMVER, ">=1.0 <1.99.40", NULL, NULL, NULL);
	for (i = 0; i < 20; i++)
		okay &= strcmp(pick(p, tags, NULL, n), "v1.99.39") == 0;
	policy_free(p);
	p = mkpolicy(POLICY_REGEX, NULL, "^v1\\.([0-9]+)\\.0$", NULL, NULL);
	for (i = 0; i < 20; i++)
		okay &= strcmp(pick(p, tags, NULL, n), "v1.99.0") == 0;
	policy_free(p);
	p = mkpolicy(POLICY_LATEST, NULL, NULL, NULL, NULL);
	for (i = 0; i < 20; i++)
		okay &= strcmp(pick(p, tags, created, n), "v1.99.49") == 0;
	policy_free(p);
	secs = (double)(clock() - start) / CLOCKS_PER_SEC;
	ok(okay, "%zu tags: the right winner each time", n);
	ok(secs < 20.0, "60 selections over %zu tags took %.3f s of CPU", n,
	    secs);
	for (i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
	free(created);
}

int
main(void)
{
	test_parse();
	test_precedence();
	test_constraints();
	test_bad_constraints();
	test_kinds();
	test_semver_policy();
	test_regex_policy();
	test_latest_policy();
	test_digest_policy();
	test_many();
	return (tap_done());
}
