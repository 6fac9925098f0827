/*
 * Pipelines: a repository's .ferry.yaml, read from the commit being built,
 * parsed with libyaml's document API into struct pipeline. The walk follows
 * conf.c: unknown keys and keys given twice are errors, every error names
 * file:line:column (libyaml's marks are 0-based; we add 1), and all of them
 * are collected, one per line, into *cause. The file comes from whoever can
 * push to the repository, so the parse is bounded: the input size, the
 * number of stages, the work that YAML aliases can multiply and the number
 * of errors reported all have limits, duplicate keys are found by sorting,
 * and values quoted in messages are escaped so that each error stays on one
 * line. With no .ferry.yaml but a werf.yaml, pipeline_werf_default() gives
 * the werf flow.
 */
#include "config.h"

#include <yaml.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "gitevent.h"
#include "pipeline.h"
#include "util.h"
#include "xmalloc.h"

#define PIPELINE_MAX_STAGES	100
#define PIPELINE_NAME_MAX	64
#define PIPELINE_MAX_ERRORS	20
#define PIPELINE_ALNUM		"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
				"abcdefghijklmnopqrstuvwxyz0123456789"
#define PIPELINE_QUOTE_MAX	48	/* value bytes shown in a message */
/*
 * Collections inside collections. libyaml itself sets no limit, and its
 * scanner walks every open flow level for each token, so a file of deeply
 * nested brackets costs time quadratic in its depth: 1 MiB of "[" keeps
 * ferryd's loop busy for minutes. Real pipelines nest about 5 levels.
 */
#define PIPELINE_MAX_DEPTH	64
/* Nodes plus scalar bytes walked; only aliases can take a file past it. */
#define PIPELINE_MAX_WORK	(4 * (size_t)PIPELINE_MAX_BYTES)

/* The parse in progress: the document, the result and the errors so far. */
struct pipeline_parse {
	const char		 *file;
	yaml_document_t		 *doc;
	struct pipeline		 *pl;
	yaml_node_t		**names;	/* each stage's name node */
	struct buf		  errors;
	int			  nerrors;
	int			  stop;		/* give up walking */
	size_t			  work;
};

/* What a stage's parse keeps besides the stage itself. */
struct pipeline_stage_parse {
	struct pipeline_stage	*st;
	yaml_node_t		*name_node;
	size_t			 argc;	/* run's items so far */
	int			 seen_name;
	int			 seen_run;
};

/* Called for each pair of a mapping, and for each item of a list. */
typedef int (*pipeline_pair_fn)(struct pipeline_parse *, const char *,
    yaml_node_t *, yaml_node_t *, void *);
typedef int (*pipeline_item_fn)(struct pipeline_parse *, const char *,
    yaml_node_t *, void *);

/* A mapping key and its position, for finding duplicates by sorting. */
struct pipeline_key {
	const char	*s;
	size_t		 i;
};

static void	pipeline_error(struct pipeline_parse *, yaml_node_t *,
		    const char *, ...) printflike(3, 4);

/*
 * Record an error at node (or at the top of the file if node is NULL).
 * After PIPELINE_MAX_ERRORS, say so once and stop the walk.
 */
static void
pipeline_error(struct pipeline_parse *p, yaml_node_t *node, const char *fmt,
    ...)
{
	va_list	 ap;
	char	*msg, *line;

	if (p->stop)
		return;
	if (p->nerrors == PIPELINE_MAX_ERRORS) {
		xasprintf(&line, "\n%s: more than %d errors; fix these first",
		    p->file, PIPELINE_MAX_ERRORS);
		buf_addstr(&p->errors, line);
		free(line);
		p->stop = 1;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	if (node != NULL)
		xasprintf(&line, "%s%s:%zu:%zu: %s", p->nerrors ? "\n" : "",
		    p->file, node->start_mark.line + 1,
		    node->start_mark.column + 1, msg);
	else
		xasprintf(&line, "%s%s: %s", p->nerrors ? "\n" : "", p->file,
		    msg);
	buf_addstr(&p->errors, line);
	free(line);
	free(msg);
	p->nerrors++;
}

/*
 * s quoted for a message, in out: at most PIPELINE_QUOTE_MAX bytes of it,
 * with quotes, backslashes and control characters escaped.
 */
static const char *
pipeline_quote(const char *s, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 o = 0, i;

	out[o++] = '"';
	for (i = 0; u[i] != '\0'; i++) {
		/* Cut between characters; room is left for '"...' and NUL. */
		if ((i >= PIPELINE_QUOTE_MAX || o + 9 > outlen) &&
		    (u[i] & 0xc0) != 0x80)
			break;
		if (o + 6 > outlen)
			break;
		if (u[i] == '"' || u[i] == '\\') {
			out[o++] = '\\';
			out[o++] = (char)u[i];
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[u[i] >> 4];
			out[o++] = hex[u[i] & 0xf];
		} else
			out[o++] = (char)u[i];
	}
	out[o++] = '"';
	if (u[i] != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return (out);
}

/* Node id of the document, charged to the work budget. */
static yaml_node_t *
pipeline_node(struct pipeline_parse *p, int id)
{
	yaml_node_t	*n;

	n = yaml_document_get_node(p->doc, id);
	p->work += 1;
	if (n->type == YAML_SCALAR_NODE)
		p->work += n->data.scalar.length;
	if (p->work > PIPELINE_MAX_WORK && !p->stop) {
		pipeline_error(p, n, "the pipeline is too large once its "
		    "aliases are expanded");
		p->stop = 1;
	}
	return (n);
}

/* Whether n is an empty value ("key:" with nothing after it, or ~). */
static int
pipeline_is_null(yaml_node_t *n)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	s = (const char *)n->data.scalar.value;
	return (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0);
}

static const char *
pipeline_node_type(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return (pipeline_is_null(n) ? "nothing" : "a string");
	case YAML_SEQUENCE_NODE:
		return ("a list");
	case YAML_MAPPING_NODE:
		return ("a mapping");
	default:
		return ("nothing");
	}
}

/* The scalar text of node, or NULL with an error recorded. */
static const char *
pipeline_scalar(struct pipeline_parse *p, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		pipeline_error(p, n, "%s: expected a string, found %s", key,
		    pipeline_node_type(n));
		return (NULL);
	}
	/* "\0" in a double-quoted string would cut the value short. */
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length) {
		pipeline_error(p, n, "%s: a NUL character is not allowed",
		    key);
		return (NULL);
	}
	return ((const char *)n->data.scalar.value);
}

/* A non-empty scalar, or NULL with an error recorded. Borrowed. */
static const char *
pipeline_string(struct pipeline_parse *p, yaml_node_t *n, const char *key)
{
	const char	*s;

	if (pipeline_is_null(n)) {
		pipeline_error(p, n, "%s: expected a non-empty string, found "
		    "nothing", key);
		return (NULL);
	}
	if ((s = pipeline_scalar(p, n, key)) == NULL)
		return (NULL);
	if (*s == '\0') {
		pipeline_error(p, n, "%s: expected a non-empty string", key);
		return (NULL);
	}
	return (s);
}

static int
pipeline_bool(struct pipeline_parse *p, yaml_node_t *n, const char *key,
    int *out)
{
	const char	*s;
	char		 q[80];

	if ((s = pipeline_scalar(p, n, key)) == NULL)
		return (-1);
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
	    strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 ||
	    strcmp(s, "off") == 0)
		*out = 0;
	else {
		pipeline_error(p, n, "%s: expected true or false, found %s",
		    key, pipeline_quote(s, q, sizeof q));
		return (-1);
	}
	return (0);
}

/*
 * Call fn(scalar, node) for a scalar or for each item of a non-empty list
 * of scalars (what the list holds is named by key in messages).
 */
static int
pipeline_list(struct pipeline_parse *p, yaml_node_t *n, const char *key,
    pipeline_item_fn fn, void *arg)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	const char		*s;
	int			 rc = 0;

	if (n->type == YAML_SCALAR_NODE) {
		if ((s = pipeline_string(p, n, key)) == NULL)
			return (-1);
		return (fn(p, s, n, arg));
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		pipeline_error(p, n, "%s: expected a string or a list of "
		    "strings, found %s", key, pipeline_node_type(n));
		return (-1);
	}
	if (n->data.sequence.items.start == n->data.sequence.items.top) {
		pipeline_error(p, n, "%s: expected a string or a list of "
		    "strings, found an empty list", key);
		return (-1);
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top && !p->stop; it++) {
		item = pipeline_node(p, *it);
		if ((s = pipeline_string(p, item, key)) == NULL ||
		    fn(p, s, item, arg) != 0)
			rc = -1;
	}
	return (rc);
}

static int
pipeline_key_cmp(const void *a, const void *b)
{
	const struct pipeline_key	*ka = a, *kb = b;
	int				 c;

	if ((c = strcmp(ka->s, kb->s)) != 0)
		return (c);
	return (ka->i < kb->i ? -1 : ka->i > kb->i);
}

/*
 * Iterate over a mapping node's pairs, calling fn(key, value) for each. A
 * key given twice is an error, not "the last one wins" (libyaml allows it);
 * they are found by sorting, since an env: mapping may be long.
 */
static int
pipeline_mapping(struct pipeline_parse *p, yaml_node_t *n, const char *what,
    pipeline_pair_fn fn, void *arg)
{
	yaml_node_pair_t	*start, *pair;
	yaml_node_t		*k, *v;
	struct pipeline_key	*keys;
	char			*dup, q[80];
	size_t			 npairs, nkeys = 0, i;
	int			 rc = 0;

	if (n->type != YAML_MAPPING_NODE) {
		pipeline_error(p, n, "%s: expected a mapping, found %s", what,
		    pipeline_node_type(n));
		return (-1);
	}
	start = n->data.mapping.pairs.start;
	npairs = (size_t)(n->data.mapping.pairs.top - start);
	keys = xcalloc(npairs, sizeof *keys);
	dup = xcalloc(npairs, 1);
	for (i = 0; i < npairs; i++) {
		k = yaml_document_get_node(p->doc, start[i].key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		keys[nkeys].s = (const char *)k->data.scalar.value;
		keys[nkeys++].i = i;
	}
	qsort(keys, nkeys, sizeof *keys, pipeline_key_cmp);
	for (i = 1; i < nkeys; i++) {
		if (strcmp(keys[i].s, keys[i - 1].s) == 0)
			dup[keys[i].i] = 1;
	}
	for (i = 0; i < npairs && !p->stop; i++) {
		pair = &start[i];
		k = pipeline_node(p, pair->key);
		v = pipeline_node(p, pair->value);
		if (k->type != YAML_SCALAR_NODE) {
			pipeline_error(p, k, "%s: keys must be strings, found "
			    "%s", what, pipeline_node_type(k));
			rc = -1;
			continue;
		}
		if (dup[i]) {
			pipeline_error(p, k, "%s: key %s given twice", what,
			    pipeline_quote((const char *)k->data.scalar.value,
			    q, sizeof q));
			rc = -1;
			continue;
		}
		if (fn(p, (const char *)k->data.scalar.value, k, v, arg) != 0)
			rc = -1;
	}
	free(dup);
	free(keys);
	return (rc);
}

/* Slots allocated for a NULL-terminated array of n - 1 strings. */
static size_t
pipeline_slots(size_t n)
{
	size_t	slots = 4;

	while (slots < n)
		slots *= 2;
	return (slots);
}

/*
 * Append s (taking ownership) to a NULL-terminated array of n strings. The
 * array grows by doubling: a list may hold many thousand items.
 */
static void
pipeline_push_owned(char ***v, size_t *n, char *s)
{
	if (*v == NULL || pipeline_slots(*n + 2) != pipeline_slots(*n + 1))
		*v = xreallocarray(*v, pipeline_slots(*n + 2), sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Append a copy of s to a NULL-terminated array of n strings. */
static void
pipeline_push(char ***v, size_t *n, const char *s)
{
	pipeline_push_owned(v, n, xstrdup(s));
}

static int
pipeline_run_item(struct pipeline_parse *p, const char *s, yaml_node_t *n,
    void *arg)
{
	struct pipeline_stage_parse	*sp = arg;

	pipeline_push(&sp->st->argv, &sp->argc, s);
	return (0);
}

/* run: a list of arguments run directly, or a string for /bin/sh -c. */
static int
pipeline_run(struct pipeline_parse *p, yaml_node_t *n,
    struct pipeline_stage_parse *sp)
{
	struct pipeline_stage	*st = sp->st;
	const char		*s;

	if (n->type == YAML_SEQUENCE_NODE) {
		if (n->data.sequence.items.start ==
		    n->data.sequence.items.top) {
			pipeline_error(p, n, "run: expected a command, found "
			    "an empty list");
			return (-1);
		}
		return (pipeline_list(p, n, "run", pipeline_run_item, sp));
	}
	if (n->type != YAML_SCALAR_NODE) {
		pipeline_error(p, n, "run: expected a list of arguments or a "
		    "shell command, found %s", pipeline_node_type(n));
		return (-1);
	}
	if (pipeline_is_null(n)) {
		pipeline_error(p, n, "run: expected a command, found nothing");
		return (-1);
	}
	if ((s = pipeline_scalar(p, n, "run")) == NULL)
		return (-1);
	if (s[strspn(s, " \t\r\n")] == '\0') {
		pipeline_error(p, n, "run: expected a command, found an "
		    "empty string");
		return (-1);
	}
	st->shell = 1;
	pipeline_push(&st->argv, &sp->argc, "/bin/sh");
	pipeline_push(&st->argv, &sp->argc, "-c");
	pipeline_push(&st->argv, &sp->argc, s);
	return (0);
}

/* env: NAME: value, as "NAME=value". FERRY_* names are ferry's own. */
static int
pipeline_env_pair(struct pipeline_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct pipeline_stage	*st = arg;
	const char		*s;
	char			*kv, q[80];

	/* ASCII only, whatever the locale says a letter is. */
	if (*key == '\0' || (*key >= '0' && *key <= '9') ||
	    strspn(key, PIPELINE_ALNUM "_") != k->data.scalar.length) {
		pipeline_error(p, k, "env: %s is not a variable name (letters, "
		    "digits and \"_\", not starting with a digit)",
		    pipeline_quote(key, q, sizeof q));
		return (-1);
	}
	if (strncmp(key, "FERRY_", 6) == 0) {
		pipeline_error(p, k, "env: %s: names starting with FERRY_ are "
		    "reserved for ferry", key);
		return (-1);
	}
	if (v->type != YAML_SCALAR_NODE) {
		pipeline_error(p, v, "env: %s: expected a string, found %s",
		    key, pipeline_node_type(v));
		return (-1);
	}
	if ((s = pipeline_scalar(p, v, key)) == NULL)
		return (-1);
	xasprintf(&kv, "%s=%s", key, s);
	pipeline_push_owned(&st->env, &st->nenv, kv);
	return (0);
}

static int
pipeline_kind_item(struct pipeline_parse *p, const char *s, yaml_node_t *n,
    void *arg)
{
	struct pipeline_stage	*st = arg;
	char			 q[80];

	if (strcmp(s, "push") == 0)
		st->when_kinds |= CONF_TRIGGER_PUSH;
	else if (strcmp(s, "tag") == 0)
		st->when_kinds |= CONF_TRIGGER_TAG;
	else if (strcmp(s, "merge") == 0)
		st->when_kinds |= CONF_TRIGGER_MERGE;
	else {
		pipeline_error(p, n, "kinds: expected push, tag or merge, "
		    "found %s", pipeline_quote(s, q, sizeof q));
		return (-1);
	}
	return (0);
}

static int
pipeline_ref_item(struct pipeline_parse *p, const char *s, yaml_node_t *n,
    void *arg)
{
	struct pipeline_stage	*st = arg;

	pipeline_push(&st->when_refs, &st->nwhen_refs, s);
	return (0);
}

/* when: {kinds: push|tag|merge or a list, refs: glob or a list}. */
static int
pipeline_when_pair(struct pipeline_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	char	q[80];

	if (strcmp(key, "kind") == 0 || strcmp(key, "kinds") == 0)
		return (pipeline_list(p, v, "kinds", pipeline_kind_item, arg));
	if (strcmp(key, "refs") == 0)
		return (pipeline_list(p, v, "refs", pipeline_ref_item, arg));
	pipeline_error(p, k, "unknown when key %s (expected kinds, kind or "
	    "refs)", pipeline_quote(key, q, sizeof q));
	return (-1);
}

/* name: [A-Za-z0-9._-]+, at most PIPELINE_NAME_MAX characters. */
static int
pipeline_name(struct pipeline_parse *p, yaml_node_t *v,
    struct pipeline_stage_parse *sp)
{
	const char	*s;
	char		 q[80];

	sp->seen_name = 1;
	if ((s = pipeline_string(p, v, "name")) == NULL)
		return (-1);
	if (strspn(s, PIPELINE_ALNUM "._-") != strlen(s)) {
		pipeline_error(p, v, "name: only letters, digits, \".\", \"-\" "
		    "and \"_\" may be used, found %s",
		    pipeline_quote(s, q, sizeof q));
		return (-1);
	}
	/*
	 * The name is a file name for the stage's log and output, and
	 * ferry's own steps have logs named checkout and pipeline.
	 */
	if (s[0] == '.' || strcmp(s, "checkout") == 0 ||
	    strcmp(s, "pipeline") == 0) {
		pipeline_error(p, v, "name: \"%s\" is reserved for ferry", s);
		return (-1);
	}
	if (strlen(s) > PIPELINE_NAME_MAX) {
		pipeline_error(p, v, "name: at most %d characters, found %zu",
		    PIPELINE_NAME_MAX, strlen(s));
		return (-1);
	}
	sp->st->name = xstrdup(s);
	sp->name_node = v;
	return (0);
}

static int
pipeline_stage_pair(struct pipeline_parse *p, const char *key,
    yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct pipeline_stage_parse	*sp = arg;
	struct pipeline_stage		*st = sp->st;
	const char			*s;
	char				 q[80];

	if (strcmp(key, "name") == 0)
		return (pipeline_name(p, v, sp));
	if (strcmp(key, "run") == 0) {
		sp->seen_run = 1;
		return (pipeline_run(p, v, sp));
	}
	if (strcmp(key, "timeout") == 0) {
		if ((s = pipeline_scalar(p, v, key)) == NULL)
			return (-1);
		if (parse_duration(s, &st->timeout_ms) != 0) {
			pipeline_error(p, v, "timeout: expected a duration "
			    "such as 90s, 10m or 1h, found %s",
			    pipeline_quote(s, q, sizeof q));
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "env") == 0)
		return (pipeline_mapping(p, v, key, pipeline_env_pair, st));
	if (strcmp(key, "when") == 0)
		return (pipeline_mapping(p, v, key, pipeline_when_pair, st));
	if (strcmp(key, "continue_on_failure") == 0)
		return (pipeline_bool(p, v, key, &st->continue_on_failure));
	pipeline_error(p, k, "unknown stage key %s (expected name, run, "
	    "timeout, env, when or continue_on_failure)",
	    pipeline_quote(key, q, sizeof q));
	return (-1);
}

/* Stage idx of the stages list: walk it, then check what is required. */
static int
pipeline_stage(struct pipeline_parse *p, yaml_node_t *n, size_t idx)
{
	struct pipeline_stage_parse	 sp;
	size_t				 i;
	int				 rc;

	memset(&sp, 0, sizeof sp);
	sp.st = &p->pl->stages[idx];
	rc = pipeline_mapping(p, n, "stage", pipeline_stage_pair, &sp);
	if (n->type != YAML_MAPPING_NODE)
		return (-1);
	if (!sp.seen_name) {
		pipeline_error(p, n, "stage %zu: missing name", idx + 1);
		rc = -1;
	}
	if (!sp.seen_run) {
		if (sp.st->name != NULL)
			pipeline_error(p, n, "stage %s: missing run (the "
			    "command)", sp.st->name);
		else
			pipeline_error(p, n, "stage %zu: missing run (the "
			    "command)", idx + 1);
		rc = -1;
	}
	if (sp.st->name == NULL)
		return (-1);
	p->names[idx] = sp.name_node;
	for (i = 0; i < idx; i++) {
		if (p->pl->stages[i].name != NULL &&
		    strcmp(p->pl->stages[i].name, sp.st->name) == 0) {
			pipeline_error(p, sp.name_node, "name: stage %s is "
			    "already defined on line %zu", sp.st->name,
			    p->names[i]->start_mark.line + 1);
			rc = -1;
			break;
		}
	}
	return (rc);
}

static int
pipeline_stages(struct pipeline_parse *p, yaml_node_t *n)
{
	struct pipeline		*pl = p->pl;
	yaml_node_item_t	*it;
	size_t			 count;
	int			 rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		pipeline_error(p, n, "stages: expected a list of stages, found "
		    "%s", pipeline_node_type(n));
		return (-1);
	}
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count == 0) {
		pipeline_error(p, n, "stages: expected at least one stage");
		return (-1);
	}
	if (count > PIPELINE_MAX_STAGES) {
		pipeline_error(p, n, "stages: at most %d stages, found %zu",
		    PIPELINE_MAX_STAGES, count);
		return (-1);
	}
	pl->stages = xcalloc(count, sizeof *pl->stages);
	p->names = xcalloc(count, sizeof *p->names);
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top && !p->stop; it++) {
		pl->nstages++;
		if (pipeline_stage(p, pipeline_node(p, *it),
		    pl->nstages - 1) != 0)
			rc = -1;
	}
	return (rc);
}

/* A path inside the repository: relative, no "..", no empty part. */
static int
pipeline_repo_path_ok(const char *s)
{
	const char	*part;
	size_t		 len;

	if (*s == '/' || *s == '\0')
		return (0);
	if (strcmp(s, ".") == 0)
		return (1);
	for (part = s; *part != '\0'; part += len + (part[len] == '/')) {
		len = strcspn(part, "/");
		if (len == 0 || (len == 2 && strncmp(part, "..", 2) == 0) ||
		    (len == 1 && *part == '.'))
			return (0);
	}
	return (1);
}

static int
pipeline_image_pair(struct pipeline_parse *p, const char *key,
    yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct pipeline_image	*im = arg;
	struct pipeline_stage	 tmp;
	const char		*s;
	char			**slot, q[80];
	int			 rc;

	if (strcmp(key, "args") == 0) {
		/* Build args follow the env: rules (names, no FERRY_). */
		memset(&tmp, 0, sizeof tmp);
		tmp.env = im->args;
		tmp.nenv = im->nargs;
		rc = pipeline_mapping(p, v, key, pipeline_env_pair, &tmp);
		im->args = tmp.env;
		im->nargs = tmp.nenv;
		return (rc);
	}
	if (strcmp(key, "name") == 0)
		slot = &im->name;
	else if (strcmp(key, "context") == 0)
		slot = &im->context;
	else if (strcmp(key, "dockerfile") == 0)
		slot = &im->dockerfile;
	else if (strcmp(key, "repository") == 0)
		slot = &im->repository;
	else {
		pipeline_error(p, k, "unknown image key %s (expected name, "
		    "context, dockerfile, args or repository)",
		    pipeline_quote(key, q, sizeof q));
		return (-1);
	}
	if ((s = pipeline_string(p, v, key)) == NULL)
		return (-1);
	if (slot == &im->name && (strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != strlen(s) || strlen(s) > PIPELINE_NAME_MAX)) {
		pipeline_error(p, v, "name: an image name is lower-case letters, "
		    "digits, \".\", \"-\" and \"_\", found %s",
		    pipeline_quote(s, q, sizeof q));
		return (-1);
	}
	if ((slot == &im->context || slot == &im->dockerfile) &&
	    !pipeline_repo_path_ok(s)) {
		pipeline_error(p, v, "%s: expected a path inside the "
		    "repository, found %s", key, pipeline_quote(s, q, sizeof q));
		return (-1);
	}
	*slot = xstrdup(s);
	return (0);
}

static int
pipeline_args_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* images: a list of {name, context, dockerfile, args, repository}. */
static int
pipeline_images(struct pipeline_parse *p, yaml_node_t *n)
{
	struct pipeline		*pl = p->pl;
	struct pipeline_image	*im;
	yaml_node_item_t	*it;
	yaml_node_t		*in;
	size_t			 count, i;
	int			 rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		pipeline_error(p, n, "images: expected a list of images, found "
		    "%s", pipeline_node_type(n));
		return (-1);
	}
	count = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (count > PIPELINE_MAX_STAGES) {
		pipeline_error(p, n, "images: at most %d images",
		    PIPELINE_MAX_STAGES);
		return (-1);
	}
	pl->images = xcalloc(count ? count : 1, sizeof *pl->images);
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top && !p->stop; it++) {
		in = pipeline_node(p, *it);
		im = &pl->images[pl->nimages++];
		if (pipeline_mapping(p, in, "image", pipeline_image_pair,
		    im) != 0) {
			rc = -1;
			continue;
		}
		if (im->name == NULL) {
			pipeline_error(p, in, "image: missing name");
			rc = -1;
			continue;
		}
		for (i = 0; i + 1 < pl->nimages; i++) {
			if (pl->images[i].name != NULL &&
			    strcmp(pl->images[i].name, im->name) == 0) {
				pipeline_error(p, in, "image %s is defined "
				    "twice", im->name);
				rc = -1;
			}
		}
		if (im->context == NULL)
			im->context = xstrdup(".");
		if (im->dockerfile == NULL) {
			if (strcmp(im->context, ".") == 0)
				im->dockerfile = xstrdup("Dockerfile");
			else
				xasprintf(&im->dockerfile, "%s/Dockerfile",
				    im->context);
		}
		if (im->nargs > 1)
			qsort(im->args, im->nargs, sizeof *im->args,
			    pipeline_args_cmp);
	}
	return (rc);
}

static int
pipeline_top_pair(struct pipeline_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	int	*seen_stages = arg;
	char	 q[80];

	if (strcmp(key, "stages") == 0) {
		*seen_stages = 1;
		return (pipeline_stages(p, v));
	}
	if (strcmp(key, "images") == 0)
		return (pipeline_images(p, v));
	if (strcmp(key, "bundle") == 0) {
		pipeline_error(p, k, "%s: not supported yet (this version of "
		    "ferry reads stages and images)", key);
		return (-1);
	}
	pipeline_error(p, k, "unknown key %s (expected stages or images)",
	    pipeline_quote(key, q, sizeof q));
	return (-1);
}

/* A libyaml load error as "file:line:column: problem". */
static void
pipeline_yaml_error(struct pipeline_parse *p, yaml_parser_t *parser,
    const char *text, size_t len)
{
	size_t	 line = 0, col = 0, off, i;
	char	*msg;

	if (parser->error == YAML_READER_ERROR) {
		/* Encoding errors carry a byte offset, not a mark. */
		off = parser->problem_offset < len ? parser->problem_offset :
		    len;
		for (i = 0; i < off; i++) {
			if (text[i] == '\n') {
				line++;
				col = 0;
			} else if (((unsigned char)text[i] & 0xc0) != 0x80)
				col++;
		}
	} else {
		line = parser->problem_mark.line;
		col = parser->problem_mark.column;
	}
	xasprintf(&msg, "%s%s:%zu:%zu: %s", p->nerrors ? "\n" : "", p->file,
	    line + 1, col + 1,
	    parser->problem != NULL ? parser->problem : "YAML error");
	buf_addstr(&p->errors, msg);
	free(msg);
	if (parser->error != YAML_READER_ERROR &&
	    parser->problem_mark.index < len &&
	    text[parser->problem_mark.index] == '\t')
		buf_addstr(&p->errors, "; indent with spaces, not tabs");
	/* Where the construct that failed began, e.g. an unclosed quote. */
	if (parser->context != NULL && parser->error != YAML_READER_ERROR) {
		xasprintf(&msg, " (%s at %zu:%zu)", parser->context,
		    parser->context_mark.line + 1,
		    parser->context_mark.column + 1);
		buf_addstr(&p->errors, msg);
		free(msg);
	}
	p->nerrors++;
}

/*
 * Read the file as a stream of events, which costs no more than its depth
 * so far, and refuse it where it nests deeper than PIPELINE_MAX_DEPTH:
 * before yaml_parser_load builds a document of any depth. Returns -1 with
 * the error recorded; a YAML error ends the scan with 0, for the load to
 * report.
 */
static int
pipeline_depth_check(struct pipeline_parse *p, const char *text, size_t len)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	int		 depth = 0, rc = 0, done = 0;
	char		*msg;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	while (!done && yaml_parser_parse(&parser, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth <= PIPELINE_MAX_DEPTH)
				break;
			xasprintf(&msg, "%s:%zu:%zu: nested deeper than %d "
			    "levels", p->file, ev.start_mark.line + 1,
			    ev.start_mark.column + 1, PIPELINE_MAX_DEPTH);
			buf_addstr(&p->errors, msg);
			free(msg);
			p->nerrors++;
			rc = -1;
			done = 1;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return (rc);
}

/*
 * Parse a pipeline from text (len bytes, not necessarily NUL-terminated);
 * file names it in messages. Returns the pipeline, or NULL with *cause set
 * to every error found, one per line. Caller frees either.
 */
struct pipeline *
pipeline_parse(const char *text, size_t len, const char *file, char **cause)
{
	struct pipeline_parse	 p;
	yaml_parser_t		 parser;
	yaml_document_t		 doc, extra;
	yaml_node_t		*root, *n;
	int			 seen_stages = 0;

	memset(&p, 0, sizeof p);
	p.file = file != NULL ? file : PIPELINE_FILE;
	buf_init(&p.errors);
	if (len > PIPELINE_MAX_BYTES) {
		xasprintf(&p.errors.data, "%s: larger than %d bytes", p.file,
		    PIPELINE_MAX_BYTES);
		goto fail;
	}
	p.pl = xcalloc(1, sizeof *p.pl);
	p.doc = &doc;
	if (pipeline_depth_check(&p, text, len) != 0)
		goto fail;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		pipeline_yaml_error(&p, &parser, text, len);
		yaml_parser_delete(&parser);
		goto fail;
	}
	/* A second document would be ignored silently; refuse it. */
	if (!yaml_parser_load(&parser, &extra)) {
		pipeline_yaml_error(&p, &parser, text, len);
		yaml_parser_delete(&parser);
		yaml_document_delete(&doc);
		goto fail;
	}
	if ((n = yaml_document_get_root_node(&extra)) != NULL) {
		p.doc = &extra;
		pipeline_error(&p, n, "only one YAML document is allowed");
		p.doc = &doc;
	}
	yaml_document_delete(&extra);
	yaml_parser_delete(&parser);

	root = yaml_document_get_root_node(&doc);
	if (root == NULL || pipeline_is_null(root))
		pipeline_error(&p, NULL, "empty pipeline; add a stages: list");
	else {
		pipeline_mapping(&p, root, "top level", pipeline_top_pair,
		    &seen_stages);
		if (root->type == YAML_MAPPING_NODE && !seen_stages)
			pipeline_error(&p, root, "missing stages (the list of "
			    "stages to run)");
	}
	yaml_document_delete(&doc);
	free(p.names);
	if (p.nerrors == 0)
		return (p.pl);

fail:
	pipeline_free(p.pl);
	if (cause != NULL)
		*cause = p.errors.data;
	else
		free(p.errors.data);
	return (NULL);
}

/* A stage running argv (copied; the list ends with NULL). */
static void
pipeline_add_stage(struct pipeline *pl, const char *name, ...)
{
	struct pipeline_stage	*st;
	va_list			 ap;
	const char		*arg;
	size_t			 argc = 0;

	pl->stages = xreallocarray(pl->stages, pl->nstages + 1,
	    sizeof *pl->stages);
	st = &pl->stages[pl->nstages++];
	memset(st, 0, sizeof *st);
	st->name = xstrdup(name);
	va_start(ap, name);
	while ((arg = va_arg(ap, const char *)) != NULL)
		pipeline_push(&st->argv, &argc, arg);
	va_end(ap);
}

/*
 * The werf flow, for a repository with a werf.yaml and no .ferry.yaml:
 * build, publish the bundle, then converge and dismiss the test
 * environment. Caller frees.
 */
struct pipeline *
pipeline_werf_default(void)
{
	struct pipeline	*pl;

	pl = xcalloc(1, sizeof *pl);
	pl->werf = 1;
	pipeline_add_stage(pl, "build", "werf", "build", (char *)NULL);
	/*
	 * A bundle tag per commit: never overwrite a published artifact.
	 * The variable is expanded by sh from ferry's own environment.
	 */
	pipeline_add_stage(pl, "publish", "/bin/sh", "-c",
	    "exec werf bundle publish --tag \"$FERRY_COMMIT\"", (char *)NULL);
	pipeline_add_stage(pl, "converge", "werf", "converge", "--env", "test",
	    (char *)NULL);
	pipeline_add_stage(pl, "dismiss", "werf", "dismiss", "--env", "test",
	    (char *)NULL);
	return (pl);
}

static void
pipeline_strings_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The image by name, or NULL. */
const struct pipeline_image *
pipeline_image_find(const struct pipeline *pl, const char *name)
{
	size_t	i;

	for (i = 0; i < pl->nimages; i++) {
		if (strcmp(pl->images[i].name, name) == 0)
			return (&pl->images[i]);
	}
	return (NULL);
}

void
pipeline_free(struct pipeline *pl)
{
	struct pipeline_stage	*st;
	size_t			 i, argc;

	if (pl == NULL)
		return;
	for (i = 0; i < pl->nstages; i++) {
		st = &pl->stages[i];
		free(st->name);
		for (argc = 0; st->argv != NULL && st->argv[argc] != NULL;
		    argc++)
			;
		pipeline_strings_free(st->argv, argc);
		pipeline_strings_free(st->env, st->nenv);
		pipeline_strings_free(st->when_refs, st->nwhen_refs);
	}
	free(pl->stages);
	for (i = 0; i < pl->nimages; i++) {
		free(pl->images[i].name);
		free(pl->images[i].context);
		free(pl->images[i].dockerfile);
		free(pl->images[i].repository);
		pipeline_strings_free(pl->images[i].args, pl->images[i].nargs);
	}
	free(pl->images);
	free(pl);
}

/*
 * Whether stage runs for an event of kind (enum gitevent_kind; a manual run
 * of a branch is GITEVENT_PUSH) on ref (refs/heads/x or refs/tags/x). Ref
 * globs match the branch or tag name, or the full ref if they start with
 * "refs/".
 */
int
pipeline_stage_applies(const struct pipeline_stage *st, int kind,
    const char *ref)
{
	const char	*name, *glob;
	int		 bit;
	size_t		 i;

	switch (kind) {
	case GITEVENT_PUSH:
		bit = CONF_TRIGGER_PUSH;
		break;
	case GITEVENT_TAG:
		bit = CONF_TRIGGER_TAG;
		break;
	case GITEVENT_MERGE:
		bit = CONF_TRIGGER_MERGE;
		break;
	default:
		bit = 0;
		break;
	}
	if (st->when_kinds != 0 && (st->when_kinds & bit) == 0)
		return (0);
	if (st->nwhen_refs == 0)
		return (1);
	if (ref == NULL)
		return (0);
	if (strncmp(ref, "refs/heads/", 11) == 0)
		name = ref + 11;
	else if (strncmp(ref, "refs/tags/", 10) == 0)
		name = ref + 10;
	else
		name = ref;
	for (i = 0; i < st->nwhen_refs; i++) {
		glob = st->when_refs[i];
		if (glob_match(glob, strncmp(glob, "refs/", 5) == 0 ? ref :
		    name))
			return (1);
	}
	return (0);
}

/*
 * Parse the key=value lines a stage wrote to $FERRY_OUTPUT: cb(key, value)
 * for each; lines without "=" or with an empty or over-long key are
 * skipped. text is modified.
 */
void
pipeline_outputs_parse(char *text, void (*cb)(const char *, const char *,
    void *), void *arg)
{
	char	*line, *save = NULL, *eq;
	size_t	 len;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if ((eq = strchr(line, '=')) == NULL || eq == line ||
		    (size_t)(eq - line) > PIPELINE_OUTPUT_KEY_MAX)
			continue;
		*eq = '\0';
		cb(line, eq + 1, arg);
	}
}

/* FERRY_OUT_<KEY> for an output key: upper case, others become "_". */
void
pipeline_output_env_name(const char *key, char *buf, size_t len)
{
	size_t	i, n;

	n = (size_t)snprintf(buf, len, "FERRY_OUT_");
	for (i = 0; key[i] != '\0' && n + 1 < len; i++)
		buf[n++] = isalnum((unsigned char)key[i]) ?
		    (char)toupper((unsigned char)key[i]) : '_';
	buf[n] = '\0';
}
