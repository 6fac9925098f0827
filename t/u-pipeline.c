/*
 * u-pipeline: unit tests for src/pipeline.c: the README example field by
 * field, every kind of mistake with its file:line:column, the limits on
 * what a repository can make the parser do, which stages apply to which
 * events, the werf default and the example pipelines in etc/pipelines/.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gitevent.h"
#include "pipeline.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

#define FILE_NAME	".ferry.yaml"

/*
 * E2, E10: two and ten U+00E9 (two bytes each); T10: ten \t escapes in a
 * YAML string; X6: six tabs as an error message shows them.
 */
#define E2	"\xc3\xa9\xc3\xa9"
#define E10	E2 E2 E2 E2 E2
#define T10	"\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t"
#define X6	"\\x09\\x09\\x09\\x09\\x09\\x09"

static const char example[] =
    "stages:\n"
    "  - name: build\n"
    "    run: [\"make\", \"-j2\"]        # argv list, run directly\n"
    "  - name: test\n"
    "    run: make check             # a string: run by /bin/sh -c\n"
    "    timeout: 10m\n"
    "    env: {GOFLAGS: \"-mod=vendor\", N: 3}\n"
    "    when:                       # optional\n"
    "      kinds: [push, tag]\n"
    "      refs: [\"main\", \"release/*\", \"v*\"]\n"
    "    continue_on_failure: true\n";

static struct pipeline *
parse(const char *text, char **cause)
{
	*cause = NULL;
	return (pipeline_parse(text, strlen(text), FILE_NAME, cause));
}

/* Whether the NULL-terminated v holds exactly the given strings. */
static int
strv_is(char **v, const char *const *want, size_t n)
{
	size_t	i;

	if (v == NULL)
		return (0);
	for (i = 0; i < n; i++) {
		if (v[i] == NULL || strcmp(v[i], want[i]) != 0)
			return (0);
	}
	return (v[n] == NULL);
}

static size_t
count_lines(const char *s)
{
	size_t	n = 1;

	for (; *s != '\0'; s++) {
		if (*s == '\n')
			n++;
	}
	return (n);
}

/* Whether want is one whole line of s. */
static int
has_line(const char *s, const char *want)
{
	size_t		 len = strlen(want);
	const char	*p;

	for (p = s; (p = strstr(p, want)) != NULL; p++) {
		if ((p == s || p[-1] == '\n') &&
		    (p[len] == '\0' || p[len] == '\n'))
			return (1);
	}
	return (0);
}

static void
test_example(void)
{
	static const char *const build[] = { "make", "-j2" };
	static const char *const test[] = { "/bin/sh", "-c", "make check" };
	static const char *const env[] = { "GOFLAGS=-mod=vendor", "N=3" };
	static const char *const refs[] = { "main", "release/*", "v*" };
	struct pipeline		*pl;
	struct pipeline_stage	*st;
	char			*cause;

	pl = parse(example, &cause);
	ok(pl != NULL && cause == NULL, "the README example parses");
	if (pl == NULL) {
		printf("#   %s\n", cause);
		free(cause);
		return;
	}
	ok(pl->nstages == 2 && pl->werf == 0, "two stages, not werf");
	st = &pl->stages[0];
	is_str(st->name, "build", "first stage is build");
	ok(strv_is(st->argv, build, 2) && st->shell == 0,
	    "a list is an argv, run without a shell");
	ok(st->timeout_ms == 0 && st->nenv == 0 && st->env == NULL &&
	    st->when_kinds == 0 && st->nwhen_refs == 0 &&
	    st->continue_on_failure == 0, "build has every default");
	st = &pl->stages[1];
	is_str(st->name, "test", "second stage is test");
	ok(strv_is(st->argv, test, 3) && st->shell == 1,
	    "a string is /bin/sh -c text");
	ok(st->timeout_ms == 10 * 60 * 1000, "timeout 10m");
	ok(st->nenv == 2 && strv_is(st->env, env, 2),
	    "env as KEY=value, NULL-terminated; a number is its text");
	ok(st->when_kinds == (CONF_TRIGGER_PUSH | CONF_TRIGGER_TAG),
	    "when.kinds push and tag");
	ok(st->nwhen_refs == 3 && memcmp(st->when_refs[0], "main", 5) == 0 &&
	    strcmp(st->when_refs[1], refs[1]) == 0 &&
	    strcmp(st->when_refs[2], refs[2]) == 0, "when.refs in order");
	ok(st->continue_on_failure == 1, "continue_on_failure true");
	pipeline_free(pl);
}

static void
test_good_variants(void)
{
	static const char *const argv[] = { "echo", "a b", "c=d" };
	static const char	 text[] = "stages: [{name: a, run: x}]"
	    "GARBAGE: [";
	struct pipeline		*pl;
	char			*cause;

	pl = parse("stages:\n"
	    "  - name: Build_1.x-y\n"
	    "    run:\n"
	    "      - echo\n"
	    "      - \"a b\"\n"
	    "      - c=d\n"
	    "    env: &e\n"
	    "      EMPTY:\n"
	    "      _X: \"a=b c\"\n"
	    "    when: {kind: merge, refs: \"refs/tags/v*\"}\n"
	    "    timeout: 90s\n"
	    "    continue_on_failure: no\n"
	    "  - name: two\n"
	    "    run: true\n"
	    "    env: *e\n"
	    "    when: {}\n", &cause);
	ok(pl != NULL, "block lists, anchors, kind: and a refs string parse");
	if (pl == NULL) {
		printf("#   %s\n", cause);
		free(cause);
		return;
	}
	ok(strv_is(pl->stages[0].argv, argv, 3) && !pl->stages[0].shell,
	    "argv items keep spaces and \"=\"");
	ok(pl->stages[0].nenv == 2 &&
	    strcmp(pl->stages[0].env[0], "EMPTY=") == 0 &&
	    strcmp(pl->stages[0].env[1], "_X=a=b c") == 0,
	    "an empty env value is \"\"; values are taken as written");
	ok(pl->stages[0].when_kinds == CONF_TRIGGER_MERGE &&
	    pl->stages[0].nwhen_refs == 1, "kind: merge, one ref");
	ok(pl->stages[0].timeout_ms == 90000 &&
	    pl->stages[0].continue_on_failure == 0, "90s; no is false");
	ok(pl->stages[1].nenv == 2 &&
	    strcmp(pl->stages[1].env[1], "_X=a=b c") == 0,
	    "an alias copies the anchored env");
	ok(pl->stages[1].when_kinds == 0 && pl->stages[1].nwhen_refs == 0,
	    "when: {} applies always");
	pipeline_free(pl);

	cause = NULL;
	pl = pipeline_parse(text, strlen("stages: [{name: a, run: x}]"),
	    FILE_NAME, &cause);
	ok(pl != NULL && cause == NULL,
	    "only len bytes are read; no NUL terminator is needed");
	pipeline_free(pl);
}

struct error_case {
	const char	*title;
	const char	*text;
	const char	*want;		/* one whole line of them */
	size_t		 nlines;	/* errors in all */
};

static const struct error_case errors[] = {
	{ "unknown stage key",
	  "stages:\n  - name: build\n    run: make\n    tmeout: 5m\n",
	  FILE_NAME ":4:5: unknown stage key \"tmeout\" (expected name, "
	  "run, timeout, env, when or continue_on_failure)", 1 },
	{ "unknown top-level key, and stages missing",
	  "stage:\n  - name: a\n",
	  FILE_NAME ":1:1: unknown key \"stage\" (expected stages or images)",
	  2 },
	{ "stages missing",
	  "stage:\n  - name: a\n",
	  FILE_NAME ":1:1: missing stages (the list of stages to run)", 2 },
	{ "a name with a space",
	  "stages:\n  - name: \"build it\"\n    run: x\n",
	  FILE_NAME ":2:11: name: only letters, digits, \".\", \"-\" and "
	  "\"_\" may be used, found \"build it\"", 1 },
	{ "a name of 65 characters",
	  "stages:\n  - run: x\n    name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  FILE_NAME ":3:11: name: at most 64 characters, found 65", 1 },
	{ "a name of two dots",
	  "stages:\n  - name: ..\n    run: x\n",
	  FILE_NAME ":2:11: name: \"..\" is reserved for ferry", 1 },
	{ "a duplicate stage name",
	  "stages:\n  - name: a\n    run: x\n  - name: a\n    run: y\n",
	  FILE_NAME ":4:11: name: stage a is already defined on line 2", 1 },
	{ "run missing",
	  "stages:\n  - name: a\n    timeout: 1m\n",
	  FILE_NAME ":2:5: stage a: missing run (the command)", 1 },
	{ "name missing",
	  "stages:\n  - run: x\n",
	  FILE_NAME ":2:5: stage 1: missing name", 1 },
	{ "run an empty list",
	  "stages:\n  - name: a\n    run: []\n",
	  FILE_NAME ":3:10: run: expected a command, found an empty list", 1 },
	{ "run list with a mapping inside (flow)",
	  "stages:\n  - name: a\n    run: [make, {a: b}]\n",
	  FILE_NAME ":3:17: run: expected a string, found a mapping", 1 },
	{ "run list with a mapping inside (block)",
	  "stages:\n  - name: a\n    run:\n      - make\n      - a: b\n",
	  FILE_NAME ":5:9: run: expected a string, found a mapping", 1 },
	{ "run list with an empty item",
	  "stages:\n  - name: a\n    run: [make, \"\"]\n",
	  FILE_NAME ":3:17: run: expected a non-empty string", 1 },
	{ "run an empty string",
	  "stages:\n  - name: a\n    run: \" \"\n",
	  FILE_NAME ":3:10: run: expected a command, found an empty string",
	  1 },
	{ "run with nothing",
	  "stages:\n  - name: a\n    run:\n",
	  FILE_NAME ":3:9: run: expected a command, found nothing", 1 },
	{ "run a mapping",
	  "stages:\n  - name: a\n    run: {sh: x}\n",
	  FILE_NAME ":3:10: run: expected a list of arguments or a shell "
	  "command, found a mapping", 1 },
	{ "a NUL in a value",
	  "stages:\n  - name: a\n    run: \"a\\0b\"\n",
	  FILE_NAME ":3:10: run: a NUL character is not allowed", 1 },
	{ "bad timeout 10x",
	  "stages:\n  - name: a\n    run: x\n    timeout: 10x\n",
	  FILE_NAME ":4:14: timeout: expected a duration such as 90s, 10m or "
	  "1h, found \"10x\"", 1 },
	{ "env key with the FERRY_ prefix",
	  "stages:\n  - name: a\n    run: x\n    env: {FERRY_REF: x}\n",
	  FILE_NAME ":4:11: env: FERRY_REF: names starting with FERRY_ are "
	  "reserved for ferry", 1 },
	{ "env key starting with a digit",
	  "stages:\n  - name: a\n    run: x\n    env: {1X: 1}\n",
	  FILE_NAME ":4:11: env: \"1X\" is not a variable name (letters, "
	  "digits and \"_\", not starting with a digit)", 1 },
	{ "env key with a dash",
	  "stages:\n  - name: a\n    run: x\n    env:\n      A-B: 1\n",
	  FILE_NAME ":5:7: env: \"A-B\" is not a variable name (letters, "
	  "digits and \"_\", not starting with a digit)", 1 },
	{ "env key with a letter outside ASCII",
	  "stages:\n  - name: a\n    run: x\n    env: {X" E2 ": 1}\n",
	  FILE_NAME ":4:11: env: \"X" E2 "\" is not a variable name (letters, "
	  "digits and \"_\", not starting with a digit)", 1 },
	{ "env value a list",
	  "stages:\n  - name: a\n    run: x\n    env: {L: [1]}\n",
	  FILE_NAME ":4:14: env: L: expected a string, found a list", 1 },
	{ "env a list",
	  "stages:\n  - name: a\n    run: x\n    env: [A=1]\n",
	  FILE_NAME ":4:10: env: expected a mapping, found a list", 1 },
	{ "env key given twice",
	  "stages:\n  - {name: a, run: x, env: {A: 1, B: 2, A: 3}}\n",
	  FILE_NAME ":2:41: env: key \"A\" given twice", 1 },
	{ "bad when kind",
	  "stages:\n  - name: a\n    run: x\n    when: {kinds: [push, pull]}\n",
	  FILE_NAME ":4:26: kinds: expected push, tag or merge, found "
	  "\"pull\"", 1 },
	{ "when kinds an empty list",
	  "stages:\n  - name: a\n    run: x\n    when: {kinds: []}\n",
	  FILE_NAME ":4:19: kinds: expected a string or a list of strings, "
	  "found an empty list", 1 },
	{ "unknown when key",
	  "stages:\n  - name: a\n    run: x\n    when: {branches: [main]}\n",
	  FILE_NAME ":4:12: unknown when key \"branches\" (expected kinds, "
	  "kind or refs)", 1 },
	{ "continue_on_failure maybe",
	  "stages:\n  - name: a\n    run: x\n    continue_on_failure: maybe\n",
	  FILE_NAME ":4:26: continue_on_failure: expected true or false, "
	  "found \"maybe\"", 1 },
	{ "YAML syntax error: an unclosed flow list",
	  "stages: [\n  {name: a, run: x}\n",
	  FILE_NAME ":3:1: did not find expected ',' or ']' (while parsing a "
	  "flow sequence at 1:9)", 1 },
	{ "YAML syntax error: an unclosed quote",
	  "stages:\n  - name: \"a\n",
	  FILE_NAME ":3:1: found unexpected end of stream (while scanning a "
	  "quoted scalar at 2:11)", 1 },
	{ "YAML syntax error: a tab for indentation",
	  "stages:\n\t- name: a\n",
	  FILE_NAME ":2:1: found character that cannot start any token; "
	  "indent with spaces, not tabs (while scanning for the next token "
	  "at 2:1)", 1 },
	{ "YAML syntax error: an undefined alias",
	  "stages:\n  - name: a\n    run: *nope\n",
	  FILE_NAME ":3:10: found undefined alias", 1 },
	{ "not UTF-8: the position is counted from the byte offset",
	  "stages:\n  - name: a\n    run: x\xff\n",
	  FILE_NAME ":3:11: invalid leading UTF-8 octet", 1 },
	{ "an empty file",
	  "",
	  FILE_NAME ": empty pipeline; add a stages: list", 1 },
	{ "only comments",
	  "# nothing yet\n\n",
	  FILE_NAME ": empty pipeline; add a stages: list", 1 },
	{ "an empty document",
	  "---\n",
	  FILE_NAME ": empty pipeline; add a stages: list", 1 },
	{ "a top-level list instead of a mapping",
	  "- name: a\n  run: x\n",
	  FILE_NAME ":1:1: top level: expected a mapping, found a list", 1 },
	{ "a duplicate key in a stage",
	  "stages:\n  - name: a\n    run: x\n    run: y\n",
	  FILE_NAME ":4:5: stage: key \"run\" given twice", 1 },
	{ "a duplicate top-level key",
	  "stages: [{name: a, run: x}]\nstages: [{name: b, run: y}]\n",
	  FILE_NAME ":2:1: top level: key \"stages\" given twice", 1 },
	{ "images: a mapping instead of a list",
	  "images:\n  app: x\nstages: [{name: a, run: x}]\n",
	  FILE_NAME ":2:3: images: expected a list of images, found a mapping",
	  1 },
	{ "an image without a name",
	  "images: [{context: app}]\nstages: [{name: a, run: x}]\n",
	  FILE_NAME ":1:10: image: missing name", 1 },
	{ "an image context outside the repository",
	  "images: [{name: app, context: ../x}]\nstages: [{name: a, run: x}]\n",
	  FILE_NAME ":1:31: context: expected a path inside the repository, "
	  "found \"../x\"", 1 },
	{ "an image defined twice",
	  "images: [{name: app}, {name: app}]\nstages: [{name: a, run: x}]\n",
	  FILE_NAME ":1:23: image app is defined twice", 1 },
	{ "bundle: not supported yet",
	  "stages: [{name: a, run: x}]\nbundle: {}\n",
	  FILE_NAME ":2:1: bundle: not supported yet (this version of ferry "
	  "reads stages and images)", 1 },
	{ "stages an empty list",
	  "stages: []\n",
	  FILE_NAME ":1:9: stages: expected at least one stage", 1 },
	{ "stages with nothing",
	  "stages:\n",
	  FILE_NAME ":1:8: stages: expected a list of stages, found nothing",
	  1 },
	{ "a stage that is a string",
	  "stages: [build]\n",
	  FILE_NAME ":1:10: stage: expected a mapping, found a string", 1 },
	{ "a second YAML document",
	  "stages: [{name: a, run: x}]\n---\nstages: [{name: b, run: y}]\n",
	  FILE_NAME ":3:1: only one YAML document is allowed", 1 },
	{ "a key that is not a string",
	  "stages:\n  - name: a\n    run: x\n    [k]: v\n",
	  FILE_NAME ":4:5: stage: keys must be strings, found a list", 1 },
	{ "a long value is cut between characters in a message",
	  "stages:\n  - name: \"" E10 E10 E10 "\"\n    run: x\n",
	  FILE_NAME ":2:11: name: only letters, digits, \".\", \"-\" and "
	  "\"_\" may be used, found \"" E10 E10 E2 E2 "\"...", 1 },
	{ "an escaped value is cut to fit",
	  "stages:\n  - name: \"" T10 T10 "\"\n    run: x\n",
	  FILE_NAME ":2:11: name: only letters, digits, \".\", \"-\" and "
	  "\"_\" may be used, found \"" X6 X6 X6 "\"...", 1 },
	{ "control characters in a quoted value stay on one line",
	  "stages:\n  - name: \"a\\nb\"\n    run: x\n",
	  FILE_NAME ":2:11: name: only letters, digits, \".\", \"-\" and "
	  "\"_\" may be used, found \"a\\x0ab\"", 1 },
};

static void
test_errors(void)
{
	const struct error_case	*e;
	struct pipeline		*pl;
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		e = &errors[i];
		pl = parse(e->text, &cause);
		ok(pl == NULL && cause != NULL && has_line(cause, e->want) &&
		    count_lines(cause) == e->nlines, "%s", e->title);
		if (cause == NULL || !has_line(cause, e->want) ||
		    count_lines(cause) != e->nlines)
			printf("#   got: %s\n#   want: %s (%zu line%s)\n",
			    cause != NULL ? cause : "(parsed)", e->want,
			    e->nlines, e->nlines == 1 ? "" : "s");
		pipeline_free(pl);
		free(cause);
	}
}

static void
test_collected(void)
{
	struct pipeline	*pl;
	char		*cause;

	pl = parse("stages:\n"
	    "  - name: a\n"
	    "    run: []\n"
	    "  - name: a\n"
	    "    run: x\n"
	    "    timeout: soon\n"
	    "    env: {FERRY_X: 1}\n"
	    "bundle: {}\n", &cause);
	ok(pl == NULL && cause != NULL && count_lines(cause) == 5,
	    "every error is collected, one per line");
	ok(cause != NULL && strncmp(cause, FILE_NAME ":3:10: ",
	    strlen(FILE_NAME ":3:10: ")) == 0 &&
	    has_line(cause, FILE_NAME ":4:11: name: stage a is already "
	    "defined on line 2") &&
	    has_line(cause, FILE_NAME ":8:1: bundle: not supported yet (this "
	    "version of ferry reads stages and images)"),
	    "in the order of the file");
	if (cause != NULL && count_lines(cause) != 5)
		printf("#   got: %s\n", cause);
	free(cause);

	pl = pipeline_parse("stages: []", 10, FILE_NAME, NULL);
	ok(pl == NULL, "a NULL cause is allowed");
	pl = pipeline_parse("stages: [", 9, NULL, &cause);
	ok(pl == NULL && cause != NULL && strncmp(cause, PIPELINE_FILE ":",
	    strlen(PIPELINE_FILE) + 1) == 0,
	    "a NULL file name is " PIPELINE_FILE);
	free(cause);
}

/* What a pushed file could make the parser do is bounded. */
static void
test_limits(void)
{
	struct pipeline	*pl;
	struct buf	 b;
	char		*big, *cause, line[64];
	int		 i;

	big = xmalloc(PIPELINE_MAX_BYTES + 1);
	memset(big, ' ', PIPELINE_MAX_BYTES + 1);
	cause = NULL;
	pl = pipeline_parse(big, PIPELINE_MAX_BYTES + 1, FILE_NAME, &cause);
	ok(pl == NULL && cause != NULL && strcmp(cause, FILE_NAME ": larger "
	    "than 1048576 bytes") == 0, "input over PIPELINE_MAX_BYTES is "
	    "refused");
	free(cause);
	free(big);

	buf_init(&b);
	buf_addstr(&b, "stages:\n");
	for (i = 0; i < 101; i++) {
		snprintf(line, sizeof line, "  - {name: s%d, run: x}\n", i);
		buf_addstr(&b, line);
	}
	pl = parse(b.data, &cause);
	ok(pl == NULL && cause != NULL && strcmp(cause, FILE_NAME ":2:3: "
	    "stages: at most 100 stages, found 101") == 0, "101 stages are "
	    "too many");
	free(cause);
	buf_free(&b);

	buf_init(&b);
	buf_addstr(&b, "stages: [{name: a, run: x}]\n");
	for (i = 0; i < 30; i++) {
		snprintf(line, sizeof line, "k%d: v\n", i);
		buf_addstr(&b, line);
	}
	pl = parse(b.data, &cause);
	ok(pl == NULL && cause != NULL && count_lines(cause) == 21 &&
	    has_line(cause, FILE_NAME ": more than 20 errors; fix these "
	    "first"), "errors stop after 20");
	free(cause);
	buf_free(&b);

	/* 100 stages sharing a 300 KB command through an alias. */
	buf_init(&b);
	buf_addstr(&b, "stages:\n  - name: s0\n    run: &x \"");
	for (i = 0; i < 30000; i++)
		buf_addstr(&b, "echo hi; ");
	buf_addstr(&b, "\"\n");
	for (i = 1; i < 100; i++) {
		snprintf(line, sizeof line, "  - {name: s%d, run: *x}\n", i);
		buf_addstr(&b, line);
	}
	pl = parse(b.data, &cause);
	ok(pl == NULL && cause != NULL && count_lines(cause) == 1 &&
	    strstr(cause, ": the pipeline is too large once its aliases are "
	    "expanded") != NULL, "aliases cannot multiply the work without "
	    "bound");
	if (pl != NULL || cause == NULL || count_lines(cause) != 1)
		printf("#   got: %.200s\n", cause != NULL ? cause : "(parsed)");
	pipeline_free(pl);
	free(cause);
	buf_free(&b);

	/* A long env: duplicates are found by sorting, the last one too. */
	buf_init(&b);
	buf_addstr(&b, "stages:\n  - name: a\n    run: x\n    env:\n");
	for (i = 0; i < 5000; i++) {
		snprintf(line, sizeof line, "      V%d: %d\n", i, i);
		buf_addstr(&b, line);
	}
	pl = parse(b.data, &cause);
	ok(pl != NULL && pl->stages[0].nenv == 5000 &&
	    strcmp(pl->stages[0].env[4999], "V4999=4999") == 0,
	    "5000 env variables parse");
	pipeline_free(pl);
	buf_addstr(&b, "      V7: again\n");
	pl = parse(b.data, &cause);
	ok(pl == NULL && cause != NULL && strcmp(cause, FILE_NAME ":5005:7: "
	    "env: key \"V7\" given twice") == 0, "a late duplicate is found");
	free(cause);
	buf_free(&b);
}

struct applies_case {
	const char	*text;		/* the stage's when: */
	int		 kind;
	const char	*ref;
	int		 want;
};

static const struct applies_case applies[] = {
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_PUSH, "refs/heads/main", 1 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_PUSH, "refs/heads/release/1.2", 1 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_PUSH, "refs/heads/release/1/hotfix", 0 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_PUSH, "refs/heads/dev", 0 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_TAG, "refs/tags/v1.0", 1 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_TAG, "refs/tags/nightly", 0 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_MERGE, "refs/heads/main", 0 },
	{ "{kinds: [push, tag], refs: [main, \"release/*\", \"v*\"]}",
	  GITEVENT_PUSH, NULL, 0 },
	{ "{}", GITEVENT_PUSH, "refs/heads/anything", 1 },
	{ "{}", GITEVENT_TAG, "refs/tags/x", 1 },
	{ "{}", GITEVENT_MERGE, NULL, 1 },
	{ "{kind: merge}", GITEVENT_MERGE, "refs/heads/x", 1 },
	{ "{kind: merge}", GITEVENT_PUSH, "refs/heads/x", 0 },
	{ "{kind: merge}", GITEVENT_PING, "refs/heads/x", 0 },
	{ "{refs: \"feature/**\"}", GITEVENT_PUSH, "refs/heads/feature/a/b",
	  1 },
	{ "{refs: \"feature/**\"}", GITEVENT_PUSH, "refs/heads/fix/a", 0 },
	{ "{refs: \"refs/tags/v*\"}", GITEVENT_TAG, "refs/tags/v2", 1 },
	{ "{refs: \"refs/tags/v*\"}", GITEVENT_PUSH, "refs/heads/v2", 0 },
	{ "{refs: \"v*\"}", GITEVENT_PUSH, "refs/heads/v2", 1 },
};

/* A stage whose env holds n nested lists ("env: [[...]]"). */
static char *
deep_env(size_t n)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	buf_addstr(&b, "stages:\n  - name: x\n    run: [\"true\"]\n    env: ");
	for (i = 0; i < n; i++)
		buf_add(&b, "[", 1);
	for (i = 0; i < n; i++)
		buf_add(&b, "]", 1);
	buf_addstr(&b, "\n");
	return (b.data);
}

static void
test_depth(void)
{
	struct pipeline	*pl;
	struct buf	 b;
	char		*text, *cause, line[300];
	int		 i;

	/* env sits at level 4: 61 lists inside reach 64, the limit. */
	text = deep_env(61);
	pl = parse(text, &cause);
	ok(pl == NULL && cause != NULL && strcmp(cause, FILE_NAME ":4:10: "
	    "env: expected a mapping, found a list") == 0, "64 levels are "
	    "read (and the walk reports what is wrong)");
	free(cause);
	free(text);

	text = deep_env(62);
	pl = parse(text, &cause);
	ok(pl == NULL && cause != NULL && strcmp(cause, FILE_NAME ":4:71: "
	    "nested deeper than 64 levels") == 0, "65 levels are refused "
	    "where the 65th begins");
	free(cause);
	free(text);

	buf_init(&b);
	buf_addstr(&b, "stages:\n  - name: x\n    run: [\"true\"]\n    env:\n");
	for (i = 0; i < 70; i++) {
		snprintf(line, sizeof line, "%*sa:\n", 2 * (i + 3), "");
		buf_addstr(&b, line);
	}
	pl = parse(b.data, &cause);
	ok(pl == NULL && cause != NULL && strcmp(cause, FILE_NAME ":66:129: "
	    "nested deeper than 64 levels") == 0, "block mappings count as "
	    "levels too");
	free(cause);
	buf_free(&b);

	/*
	 * A whole 1 MiB of brackets: libyaml alone takes minutes over it;
	 * refused after 64 levels, it costs nothing.
	 */
	text = deep_env((PIPELINE_MAX_BYTES - 64) / 2);
	pl = parse(text, &cause);
	ok(pl == NULL && cause != NULL && strstr(cause, "nested deeper than "
	    "64 levels") != NULL, "1 MiB of nested lists is refused at once");
	free(cause);
	free(text);
}

static void
test_applies(void)
{
	const struct applies_case	*a;
	struct pipeline			*pl;
	char				*text, *cause;
	size_t				 i;

	for (i = 0; i < sizeof applies / sizeof applies[0]; i++) {
		a = &applies[i];
		xasprintf(&text, "stages: [{name: s, run: x, when: %s}]\n",
		    a->text);
		pl = parse(text, &cause);
		if (pl == NULL) {
			ok(0, "when: %s parses", a->text);
			printf("#   %s\n", cause);
			free(cause);
		} else
			ok(pipeline_stage_applies(&pl->stages[0], a->kind,
			    a->ref) == a->want, "when: %s, %s %s: %s", a->text,
			    gitevent_kind_name(a->kind),
			    a->ref != NULL ? a->ref : "(no ref)",
			    a->want ? "runs" : "skipped");
		pipeline_free(pl);
		free(text);
	}
}

static void
test_werf_default(void)
{
	static const char *const build[] = { "werf", "build" };
	static const char *const publish[] = { "/bin/sh", "-c",
	    "exec werf bundle publish --tag \"$FERRY_COMMIT\"" };
	static const char *const converge[] = { "werf", "converge", "--env",
	    "test" };
	static const char *const dismiss[] = { "werf", "dismiss", "--env",
	    "test" };
	struct pipeline	*pl;
	size_t		 i;
	int		 plain = 1;

	pl = pipeline_werf_default();
	ok(pl != NULL && pl->werf == 1 && pl->nstages == 4,
	    "werf default: four stages, werf set");
	is_str(pl->stages[0].name, "build", "werf stage 1 is build");
	is_str(pl->stages[1].name, "publish", "werf stage 2 is publish");
	is_str(pl->stages[2].name, "converge", "werf stage 3 is converge");
	is_str(pl->stages[3].name, "dismiss", "werf stage 4 is dismiss");
	ok(strv_is(pl->stages[0].argv, build, 2) &&
	    strv_is(pl->stages[1].argv, publish, 3) &&
	    strv_is(pl->stages[2].argv, converge, 4) &&
	    strv_is(pl->stages[3].argv, dismiss, 4), "werf argvs");
	for (i = 0; i < pl->nstages; i++) {
		if (pl->stages[i].shell || pl->stages[i].timeout_ms != 0 ||
		    pl->stages[i].nenv != 0 || pl->stages[i].when_kinds != 0 ||
		    pl->stages[i].nwhen_refs != 0 ||
		    pl->stages[i].continue_on_failure != 0 ||
		    !pipeline_stage_applies(&pl->stages[i], GITEVENT_TAG,
		    "refs/tags/v1"))
			plain = 0;
	}
	ok(plain, "werf stages: no shell, defaults, run for every event");
	pipeline_free(pl);
	pipeline_free(NULL);
	ok(1, "pipeline_free(NULL) is a no-op");
}

/* Parse etc/pipelines/name; return it (caller frees) or NULL. */
static struct pipeline *
load_example(const char *srcdir, const char *name)
{
	struct pipeline	*pl;
	char		*path, *text, *cause = NULL;
	size_t		 len;

	xasprintf(&path, "%s/../etc/pipelines/%s", srcdir, name);
	if ((text = read_file(path, PIPELINE_MAX_BYTES, &len, &cause)) ==
	    NULL) {
		printf("#   %s\n", cause);
		free(cause);
		free(path);
		return (NULL);
	}
	pl = pipeline_parse(text, len, path, &cause);
	if (pl == NULL)
		printf("#   %s\n", cause);
	free(cause);
	free(text);
	free(path);
	return (pl);
}

static void
test_examples(void)
{
	struct pipeline	*pl;
	const char	*srcdir = getenv("T_SRCDIR");

	if (srcdir == NULL) {
		ok(1, "# SKIP T_SRCDIR not set");
		return;
	}
	pl = load_example(srcdir, "buildah.yaml");
	ok(pl != NULL && pl->nstages == 4 &&
	    strcmp(pl->stages[0].name, "build") == 0 &&
	    strstr(pl->stages[0].argv[2], "buildah bud --storage-driver vfs "
	    "--isolation chroot") != NULL &&
	    strcmp(pl->stages[1].name, "test") == 0 &&
	    pl->stages[3].continue_on_failure == 1,
	    "etc/pipelines/buildah.yaml parses: build, test, push, cleanup");
	ok(pl != NULL &&
	    pipeline_stage_applies(&pl->stages[2], GITEVENT_TAG,
	    "refs/tags/v1.2.0") &&
	    !pipeline_stage_applies(&pl->stages[2], GITEVENT_PUSH,
	    "refs/heads/feature"), "buildah: push only for main and v* tags");
	pipeline_free(pl);
	pl = load_example(srcdir, "werf.yaml");
	ok(pl != NULL && pl->nstages == 5 &&
	    strcmp(pl->stages[0].name, "build") == 0 &&
	    strcmp(pl->stages[1].name, "test") == 0 &&
	    strcmp(pl->stages[1].argv[0], "werf") == 0 &&
	    strcmp(pl->stages[1].argv[1], "run") == 0 &&
	    strcmp(pl->stages[2].name, "publish") == 0 &&
	    strcmp(pl->stages[3].name, "converge") == 0 &&
	    strcmp(pl->stages[4].name, "dismiss") == 0 &&
	    pl->stages[4].nenv == 2, "etc/pipelines/werf.yaml parses: the "
	    "werf flow with a test in the image, env shared through an "
	    "anchor");
	pipeline_free(pl);
	pl = load_example(srcdir, "release.yaml");
	ok(pl != NULL && pl->nstages == 4 && pl->nimages == 1 &&
	    strcmp(pl->images[0].dockerfile, "app/Dockerfile") == 0 &&
	    strcmp(pl->stages[3].name, "acceptance") == 0,
	    "etc/pipelines/release.yaml parses: one image, four stages");
	pipeline_free(pl);
	pl = load_example(srcdir, "docker.yaml");
	ok(pl != NULL && pl->nstages == 2 && pl->stages[0].shell,
	    "etc/pipelines/docker.yaml parses");
	pipeline_free(pl);
}

int
main(void)
{
	test_example();
	test_good_variants();
	test_errors();
	test_collected();
	test_limits();
	test_depth();
	test_applies();
	test_werf_default();
	test_examples();
	return (tap_done());
}
