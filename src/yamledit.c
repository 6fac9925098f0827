/*
 * Change one scalar of a YAML document in place, for the gitops deploy
 * driver: libyaml's parser events are loaded into a small tree per
 * document, the path is resolved in the first document where it exists,
 * and the scalar's byte range (from the events' marks) is replaced by the
 * new value written in the scalar's own quoting style. Every other byte,
 * comments, order, indentation, line ends and other documents included,
 * is copied unchanged. Keys are never created and aliases, collections and
 * block scalars are refused, so the edit can only ever touch one value.
 *
 * libyaml's marks count characters, not bytes (0.2.5: a multi-byte UTF-8
 * character moves mark.index by one, CRLF by two), so indices are
 * converted to byte offsets by walking the UTF-8 text. Which unit this
 * libyaml uses is probed once at run time, in case a later version counts
 * bytes. The result is parsed again and the path read back before it is
 * returned.
 */
#include "config.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util.h"
#include "xmalloc.h"
#include "yamledit.h"

#define YE_DEPTH_MAX	256		/* nesting that a document may have */
#define YE_VALUE_MAX	4096		/* bytes in a value set */

enum ye_type {
	YE_SCALAR,
	YE_MAPPING,
	YE_SEQUENCE,
	YE_ALIAS
};

/* A node of one document, as loaded from the parser's events. */
struct ye_node {
	enum ye_type		 type;
	char			*value;		/* scalar value, alias name */
	size_t			 vlen;
	yaml_scalar_style_t	 style;
	int			 props;		/* has an anchor or a tag */
	int			 flow;		/* inside a flow collection */
	size_t			 start;		/* marks, in libyaml's unit */
	size_t			 end;
	size_t			 line;		/* 0-based */
	size_t			 column;
	struct ye_node		**kids;		/* mapping: key, value, ... */
	size_t			 nkids;
	size_t			 cap;
};

/* One step of a path: a mapping key or a sequence index. */
struct ye_seg {
	char	*key;		/* NULL for an index */
	size_t	 index;
	size_t	 end;		/* offset in the path text after this step */
};

struct ye_path {
	struct ye_seg	*segs;
	size_t		 n;
};

/* What the value must not read back as when written plain. */
static const char *ye_plain_typed[] = {
	"^(~|null|Null|NULL)$",
	"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|"
	    "on|On|ON|off|Off|OFF)$",
	"^[-+]?(0b[01_]+|0o[0-7]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|"
	    "[1-9][0-9_]*(:[0-5]?[0-9])+)$",
	"^[-+]?([0-9][0-9_]*\\.[0-9_]*|\\.[0-9][0-9_]*)([eE][-+]?[0-9]+)?$",
	"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$",
	"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*$",
	"^[-+]?\\.(inf|Inf|INF)$",
	"^\\.(nan|NaN|NAN)$",
	"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}",	/* YAML 1.1 timestamps */
	"^(=|<<)$",
	NULL
};

static void	ye_node_free(struct ye_node *);
static int	ye_load_node(yaml_parser_t *, yaml_event_t *, int, int,
		    struct ye_node **, char **);

static void
ye_node_free(struct ye_node *n)
{
	size_t	i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		ye_node_free(n->kids[i]);
	free(n->kids);
	free(n->value);
	free(n);
}

static void
ye_docs_free(struct ye_node **docs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		ye_node_free(docs[i]);
	free(docs);
}

static void
ye_path_free(struct ye_path *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		free(p->segs[i].key);
	free(p->segs);
	p->segs = NULL;
	p->n = 0;
}

/*
 * Whether libyaml's mark.index counts bytes (1) or characters (0): a
 * two-byte character before a scalar tells. Probed once.
 */
static int
ye_marks_are_bytes(void)
{
	static int		 probed = -1;
	static const char	 probe[] = "\xc3\xa9: x";
	yaml_parser_t		 p;
	yaml_event_t		 ev;
	int			 done = 0, seen = 0;

	if (probed != -1)
		return (probed);
	probed = 0;
	yaml_parser_initialize(&p);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&p, (const unsigned char *)probe,
	    sizeof probe - 1);
	while (!done && yaml_parser_parse(&p, &ev)) {
		if (ev.type == YAML_SCALAR_EVENT && ++seen == 2)
			probed = ev.start_mark.index == 4;
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return (probed);
}

/*
 * The byte offset in doc of libyaml's mark index idx: the idx-th
 * character, counting each UTF-8 sequence once (libyaml has already
 * refused invalid UTF-8). Returns len past the end.
 */
static size_t
ye_offset(const char *doc, size_t len, size_t idx)
{
	size_t	off, n;

	if (ye_marks_are_bytes())
		return (idx < len ? idx : len);
	for (off = 0, n = 0; off < len; off++) {
		if (((unsigned char)doc[off] & 0xc0) == 0x80)
			continue;		/* continuation byte */
		if (n++ == idx)
			return (off);
	}
	return (len);
}

/* The length of a UTF-8 byte order mark at the start of doc: 3 or 0. */
static size_t
ye_bom(const char *doc, size_t len)
{
	return (len >= 3 && memcmp(doc, "\xef\xbb\xbf", 3) == 0 ? 3 : 0);
}

/* Set *cause to libyaml's problem with its position. */
static void
ye_parse_error(yaml_parser_t *p, char **cause)
{
	const yaml_mark_t	*m;

	m = p->context != NULL ? &p->context_mark : &p->problem_mark;
	if (p->problem != NULL && p->problem_mark.line > 0)
		m = &p->problem_mark;
	xasprintf(cause, "YAML syntax error at line %zu, column %zu: %s%s%s",
	    m->line + 1, m->column + 1, p->problem != NULL ? p->problem :
	    "unknown problem", p->context != NULL ? " " : "",
	    p->context != NULL ? p->context : "");
}

static int
ye_next(yaml_parser_t *p, yaml_event_t *ev, char **cause)
{
	if (!yaml_parser_parse(p, ev)) {
		ye_parse_error(p, cause);
		return (-1);
	}
	return (0);
}

static struct ye_node *
ye_node_new(enum ye_type type, const yaml_event_t *ev, int flow)
{
	struct ye_node	*n;

	n = xcalloc(1, sizeof *n);
	n->type = type;
	n->flow = flow;
	n->start = ev->start_mark.index;
	n->end = ev->end_mark.index;
	n->line = ev->start_mark.line;
	n->column = ev->start_mark.column;
	return (n);
}

static void
ye_node_add(struct ye_node *n, struct ye_node *kid)
{
	if (n->nkids == n->cap) {
		n->cap = n->cap == 0 ? 8 : n->cap * 2;
		n->kids = xreallocarray(n->kids, n->cap, sizeof *n->kids);
	}
	n->kids[n->nkids++] = kid;
}

/*
 * Load the node that starts with event ev (which the caller deletes) and
 * everything in it. flow says whether it sits in a flow collection.
 */
static int
ye_load_node(yaml_parser_t *p, yaml_event_t *ev, int depth, int flow,
    struct ye_node **out, char **cause)
{
	struct ye_node		*n = NULL, *kid;
	yaml_event_t		 sub;
	yaml_event_type_t	 endtype;
	int			 rc;

	*out = NULL;
	if (depth > YE_DEPTH_MAX) {
		xasprintf(cause, "YAML nested more than %d levels deep at "
		    "line %zu", YE_DEPTH_MAX, ev->start_mark.line + 1);
		return (-1);
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = ye_node_new(YE_SCALAR, ev, flow);
		n->vlen = ev->data.scalar.length;
		n->value = xmalloc(n->vlen + 1);
		memcpy(n->value, ev->data.scalar.value, n->vlen);
		n->value[n->vlen] = '\0';
		n->style = ev->data.scalar.style;
		n->props = ev->data.scalar.anchor != NULL ||
		    ev->data.scalar.tag != NULL;
		*out = n;
		return (0);
	case YAML_ALIAS_EVENT:
		n = ye_node_new(YE_ALIAS, ev, flow);
		n->value = xstrdup((const char *)ev->data.alias.anchor);
		*out = n;
		return (0);
	case YAML_SEQUENCE_START_EVENT:
		n = ye_node_new(YE_SEQUENCE, ev, flow);
		if (ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE)
			flow = 1;
		endtype = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		n = ye_node_new(YE_MAPPING, ev, flow);
		if (ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE)
			flow = 1;
		endtype = YAML_MAPPING_END_EVENT;
		break;
	default:
		xasprintf(cause, "unexpected YAML event %d at line %zu",
		    (int)ev->type, ev->start_mark.line + 1);
		return (-1);
	}
	for (;;) {
		if (ye_next(p, &sub, cause) != 0)
			goto fail;
		if (sub.type == endtype) {
			yaml_event_delete(&sub);
			break;
		}
		rc = ye_load_node(p, &sub, depth + 1, flow, &kid, cause);
		yaml_event_delete(&sub);
		if (rc != 0)
			goto fail;
		ye_node_add(n, kid);
	}
	*out = n;
	return (0);
fail:
	ye_node_free(n);
	return (-1);
}

/*
 * Load every document of doc, in order. Returns 0 with *docs (caller frees
 * with ye_docs_free) and *ndocs set, or -1 with *cause set.
 */
static int
ye_load(const char *doc, size_t len, struct ye_node ***docs, size_t *ndocs,
    char **cause)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	struct ye_node	**v = NULL, *root;
	size_t		 n = 0, cap = 0;
	int		 rc = -1, stop = 0;

	*docs = NULL;
	*ndocs = 0;
	yaml_parser_initialize(&p);
	/* UTF-8 only (a BOM is skipped by the callers), so marks convert. */
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&p, (const unsigned char *)doc, len);
	while (!stop) {
		if (ye_next(&p, &ev, cause) != 0)
			goto out;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			stop = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			yaml_event_delete(&ev);
			if (ye_next(&p, &ev, cause) != 0)
				goto out;
			if (ye_load_node(&p, &ev, 0, 0, &root, cause) != 0) {
				yaml_event_delete(&ev);
				goto out;
			}
			if (n == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				v = xreallocarray(v, cap, sizeof *v);
			}
			v[n++] = root;
			break;
		default:
			break;		/* stream start, document end */
		}
		yaml_event_delete(&ev);
	}
	*docs = v;
	*ndocs = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	ye_docs_free(v, n);
	yaml_parser_delete(&p);
	return (rc);
}

/*
 * Split a path into steps: keys separated by dots, 'quoted' or "quoted"
 * keys (which may hold dots), and [N] indices.
 */
static int
ye_path_parse(const char *path, struct ye_path *out, char **cause)
{
	const char	*s = path, *q;
	struct ye_seg	 seg;
	char		*endp;
	unsigned long	 idx;
	size_t		 cap = 0;

	memset(out, 0, sizeof *out);
	if (*path == '\0') {
		*cause = xstrdup("empty path");
		return (-1);
	}
	while (*s != '\0') {
		memset(&seg, 0, sizeof seg);
		if (*s == '[') {
			if (s[1] < '0' || s[1] > '9')
				goto bad;
			idx = strtoul(s + 1, &endp, 10);
			if (*endp != ']' || idx > 1000000)
				goto bad;
			seg.index = idx;
			s = endp + 1;
		} else if (*s == '\'' || *s == '"') {
			if ((q = strchr(s + 1, *s)) == NULL || q == s + 1)
				goto bad;
			seg.key = xstrndup(s + 1, (size_t)(q - s - 1));
			s = q + 1;
		} else {
			q = s + strcspn(s, ".[");
			if (q == s)
				goto bad;
			seg.key = xstrndup(s, (size_t)(q - s));
			s = q;
		}
		seg.end = (size_t)(s - path);
		if (out->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			out->segs = xreallocarray(out->segs, cap,
			    sizeof *out->segs);
		}
		out->segs[out->n++] = seg;
		seg.key = NULL;
		/* A dot must lead to a key; [ may follow directly. */
		if (*s == '.') {
			s++;
			if (*s == '\0' || *s == '.' || *s == '[')
				goto bad;
		} else if (*s != '\0' && *s != '[')
			goto bad;
	}
	return (0);
bad:
	free(seg.key);
	ye_path_free(out);
	xasprintf(cause, "malformed path \"%s\" (expected keys separated by "
	    "dots, [N] indices, and quotes around a key with dots)", path);
	return (-1);
}

static const char *
ye_type_name(const struct ye_node *n)
{
	switch (n->type) {
	case YE_MAPPING:
		return ("a mapping");
	case YE_SEQUENCE:
		return ("a sequence");
	case YE_ALIAS:
		return ("an alias");
	default:
		return ("a scalar");
	}
}

/*
 * Find the node that path names in the document root. Returns 0 with
 * *target set; 1 if the path does not exist in this document (*why set);
 * -1 if it runs into an alias (*why set), which is an error in any
 * document.
 */
static int
ye_resolve(struct ye_node *root, const struct ye_path *path,
    const char *text, struct ye_node **target, char **why)
{
	struct ye_node		*cur = root, *k;
	const struct ye_seg	*seg;
	size_t			 i, j, plen = 0;
	int			 found;

	for (i = 0; i < path->n; i++) {
		seg = &path->segs[i];
		if (cur->type == YE_ALIAS) {
			xasprintf(why, "%.*s is an alias (*%s); ferry does not "
			    "edit through aliases", (int)plen, text,
			    cur->value);
			return (-1);
		}
		if (seg->key != NULL) {
			if (cur->type != YE_MAPPING) {
				xasprintf(why, "%s%.*s is %s, not a mapping",
				    plen == 0 ? "the top level" : "",
				    (int)plen, text, ye_type_name(cur));
				return (1);
			}
			found = 0;
			for (j = 0; j + 1 < cur->nkids; j += 2) {
				k = cur->kids[j];
				if (k->type == YE_SCALAR &&
				    k->vlen == strlen(seg->key) &&
				    memcmp(k->value, seg->key, k->vlen) == 0) {
					cur = cur->kids[j + 1];
					found = 1;
					break;
				}
			}
			if (!found) {
				if (plen == 0)
					xasprintf(why, "no key \"%s\" at the "
					    "top level", seg->key);
				else
					xasprintf(why, "no key \"%s\" under "
					    "%.*s", seg->key, (int)plen, text);
				return (1);
			}
		} else {
			if (cur->type != YE_SEQUENCE) {
				xasprintf(why, "%s%.*s is %s, not a sequence",
				    plen == 0 ? "the top level" : "",
				    (int)plen, text, ye_type_name(cur));
				return (1);
			}
			if (seg->index >= cur->nkids) {
				xasprintf(why, "index %zu out of range at %.*s "
				    "(%zu item%s)", seg->index, (int)seg->end,
				    text, cur->nkids,
				    cur->nkids == 1 ? "" : "s");
				return (1);
			}
			cur = cur->kids[seg->index];
		}
		plen = seg->end;
	}
	*target = cur;
	return (0);
}

/*
 * Load doc and find the scalar that path names, in the first document
 * where the path exists. With editable set, block scalars and empty values
 * are refused too. Returns 0 with *docs (caller frees) and *target set, or
 * -1 with *cause set.
 */
static int
ye_find(const char *doc, size_t len, const char *path, int editable,
    struct ye_node ***docsp, size_t *ndocsp, struct ye_node **target,
    char **cause)
{
	struct ye_path	 p;
	struct ye_node	**docs = NULL, *t = NULL;
	size_t		 ndocs = 0, i;
	char		*why = NULL, *first = NULL;
	int		 r = 1;

	*docsp = NULL;
	*ndocsp = 0;
	if (ye_path_parse(path, &p, cause) != 0)
		return (-1);
	if (ye_load(doc, len, &docs, &ndocs, cause) != 0) {
		ye_path_free(&p);
		return (-1);
	}
	for (i = 0; i < ndocs && r == 1; i++) {
		if ((r = ye_resolve(docs[i], &p, path, &t, &why)) == 1) {
			if (first == NULL)
				first = why;
			else
				free(why);
			why = NULL;
		}
	}
	if (r == -1) {
		xasprintf(cause, "%s: %s", path, why);
		goto fail;
	}
	if (r == 1) {
		if (ndocs == 0)
			xasprintf(cause, "%s: the file holds no YAML document",
			    path);
		else if (ndocs == 1)
			xasprintf(cause, "%s: not found: %s", path, first);
		else
			xasprintf(cause, "%s: not found in any of the %zu "
			    "documents (first: %s)", path, ndocs, first);
		goto fail;
	}
	if (t->type != YE_SCALAR) {
		if (t->type == YE_ALIAS)
			xasprintf(cause, "%s: is an alias (*%s); ferry does "
			    "not edit through aliases", path, t->value);
		else
			xasprintf(cause, "%s: is %s at line %zu, not a scalar",
			    path, ye_type_name(t), t->line + 1);
		goto fail;
	}
	if (editable && (t->style == YAML_LITERAL_SCALAR_STYLE ||
	    t->style == YAML_FOLDED_SCALAR_STYLE)) {
		xasprintf(cause, "%s: is a block scalar (%c) at line %zu; "
		    "ferry only edits plain and quoted scalars", path,
		    t->style == YAML_LITERAL_SCALAR_STYLE ? '|' : '>',
		    t->line + 1);
		goto fail;
	}
	if (editable && t->style == YAML_PLAIN_SCALAR_STYLE &&
	    t->start == t->end) {
		xasprintf(cause, "%s: has no value (an empty null) at line "
		    "%zu; write a placeholder such as \"\" there first", path,
		    t->line + 1);
		goto fail;
	}
	free(first);
	ye_path_free(&p);
	*docsp = docs;
	*ndocsp = ndocs;
	*target = t;
	return (0);
fail:
	free(why);
	free(first);
	ye_path_free(&p);
	ye_docs_free(docs, ndocs);
	return (-1);
}

/*
 * Read the scalar at path. Returns 0 with *value set (caller frees), or -1
 * with *cause set when the path does not resolve to a scalar in any
 * document, runs into an alias, or the document does not parse.
 */
int
yamledit_get(const char *doc, size_t len, const char *path, char **value,
    char **cause)
{
	struct ye_node	**docs, *t;
	size_t		 ndocs, bom;

	*value = NULL;
	bom = ye_bom(doc, len);
	if (ye_find(doc + bom, len - bom, path, 0, &docs, &ndocs, &t,
	    cause) != 0)
		return (-1);
	if (memchr(t->value, '\0', t->vlen) != NULL) {
		xasprintf(cause, "%s: the value holds a NUL character", path);
		ye_docs_free(docs, ndocs);
		return (-1);
	}
	*value = xstrdup(t->value);
	ye_docs_free(docs, ndocs);
	return (0);
}

/*
 * Whether value may be written into a document: valid UTF-8 of at most
 * YE_VALUE_MAX bytes, without line breaks or control characters (values
 * come from the network). Returns 0, or -1 with *cause set.
 */
int
yamledit_value_ok(const char *value, char **cause)
{
	const unsigned char	*s = (const unsigned char *)value;
	size_t			 len = strlen(value), i, n;
	unsigned int		 cp;

	if (len > YE_VALUE_MAX) {
		xasprintf(cause, "value longer than %d bytes", YE_VALUE_MAX);
		return (-1);
	}
	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq_len(s + i, len - i)) == 0) {
			xasprintf(cause, "value is not valid UTF-8 (byte %zu)",
			    i);
			return (-1);
		}
		if (s[i] == '\n' || s[i] == '\r') {
			*cause = xstrdup("value contains a line break");
			return (-1);
		}
		if (s[i] < 0x20 || s[i] == 0x7f) {
			xasprintf(cause, "value contains a control character "
			    "(0x%02x)", s[i]);
			return (-1);
		}
		cp = n == 1 ? s[i] : n == 2 ? (s[i] & 0x1fu) << 6 |
		    (s[i + 1] & 0x3fu) : n == 3 ? (s[i] & 0x0fu) << 12 |
		    (s[i + 1] & 0x3fu) << 6 | (s[i + 2] & 0x3fu) : 0x10000;
		/* C1 controls, NEL, the Unicode line breaks, BOM. */
		if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029 || cp == 0xfeff) {
			xasprintf(cause, "value contains a control or line "
			    "break character (U+%04X)", cp);
			return (-1);
		}
	}
	return (0);
}

/* Whether s matches the extended regular expression re. */
static int
ye_matches(const char *re, const char *s)
{
	regex_t	r;
	int	m;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		fatalx("yamledit: bad regular expression %s", re);
	m = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return (m);
}

/*
 * Whether value, written as a plain scalar, reads back as the same string:
 * not something a YAML 1.1 or 1.2 loader resolves to a null, bool, number
 * or timestamp, and nothing the syntax would read differently. flow says
 * whether the scalar sits in a flow collection.
 */
static int
ye_plain_ok(const char *value, int flow)
{
	size_t	len = strlen(value), i;

	if (len == 0 || value[0] == ' ' || value[len - 1] == ' ')
		return (0);
	if (strchr("-?:,[]{}#&*!|>'\"%@`", value[0]) != NULL)
		return (0);
	if (strstr(value, ": ") != NULL || strstr(value, " #") != NULL ||
	    value[len - 1] == ':')
		return (0);
	if (flow && strpbrk(value, ",[]{}:#") != NULL)
		return (0);
	for (i = 0; ye_plain_typed[i] != NULL; i++) {
		if (ye_matches(ye_plain_typed[i], value))
			return (0);
	}
	return (1);
}

/* Append value to b as a scalar of the given style, escaped for it. */
static void
ye_render(struct buf *b, const char *value, yaml_scalar_style_t style,
    int flow)
{
	const char	*s;

	if (style == YAML_PLAIN_SCALAR_STYLE && ye_plain_ok(value, flow)) {
		buf_addstr(b, value);
		return;
	}
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE) {
		buf_add(b, "'", 1);
		for (s = value; *s != '\0'; s++) {
			if (*s == '\'')
				buf_add(b, "''", 2);
			else
				buf_add(b, s, 1);
		}
		buf_add(b, "'", 1);
		return;
	}
	buf_add(b, "\"", 1);
	for (s = value; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_add(b, "\\", 1);
		buf_add(b, s, 1);
	}
	buf_add(b, "\"", 1);
}

/*
 * The byte offset where the scalar t starts. A scalar event with an anchor
 * or a tag starts at those properties, so the scanner's token that ends
 * where the event ends gives the scalar's own start.
 */
static int
ye_scalar_start(const char *doc, size_t len, const struct ye_node *t,
    size_t *start, char **cause)
{
	yaml_parser_t	 p;
	yaml_token_t	 tok;
	int		 done = 0, found = 0;

	if (!t->props) {
		*start = ye_offset(doc, len, t->start);
		return (0);
	}
	yaml_parser_initialize(&p);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&p, (const unsigned char *)doc, len);
	while (!done && !found) {
		if (!yaml_parser_scan(&p, &tok)) {
			ye_parse_error(&p, cause);
			yaml_parser_delete(&p);
			return (-1);
		}
		if (tok.type == YAML_SCALAR_TOKEN &&
		    tok.end_mark.index == t->end) {
			*start = ye_offset(doc, len, tok.start_mark.index);
			found = 1;
		}
		done = tok.type == YAML_STREAM_END_TOKEN;
		yaml_token_delete(&tok);
	}
	yaml_parser_delete(&p);
	if (!found) {
		xasprintf(cause, "scalar at line %zu not found by the scanner",
		    t->line + 1);
		return (-1);
	}
	return (0);
}

/*
 * Set the scalar at path to value, in place. On success returns 0 with
 * *out (caller frees; NUL-terminated) and *outlen set to the new document,
 * and *changed to 1, or to 0 when the scalar already holds value (then
 * *out is a byte-identical copy of doc). Returns -1 with *cause set when
 * value is refused (see yamledit_value_ok), the path does not resolve to
 * a plain or quoted scalar, or the result does not read back as value.
 */
int
yamledit_set(const char *doc, size_t len, const char *path,
    const char *value, char **out, size_t *outlen, int *changed,
    char **cause)
{
	struct ye_node	**docs = NULL, *t;
	struct buf	 b;
	const char	*body;
	size_t		 ndocs = 0, start, end, bom, blen;
	char		*back = NULL, *why = NULL;
	int		 rc = -1;

	*out = NULL;
	*outlen = 0;
	*changed = 0;
	buf_init(&b);
	if (yamledit_value_ok(value, &why) != 0) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
		return (-1);
	}
	/* Marks count from after a byte order mark: work on the rest. */
	bom = ye_bom(doc, len);
	body = doc + bom;
	blen = len - bom;
	if (ye_find(body, blen, path, 1, &docs, &ndocs, &t, cause) != 0)
		return (-1);
	if (t->vlen == strlen(value) && memcmp(t->value, value, t->vlen) == 0) {
		buf_add(&b, doc, len);
		buf_add(&b, "", 0);
		goto done;
	}
	if (ye_scalar_start(body, blen, t, &start, cause) != 0)
		goto out;
	end = ye_offset(body, blen, t->end);
	/* The range must look like the scalar, or the marks are off. */
	if (start >= end ||
	    (t->style == YAML_SINGLE_QUOTED_SCALAR_STYLE &&
	    (body[start] != '\'' || body[end - 1] != '\'')) ||
	    (t->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE &&
	    (body[start] != '"' || body[end - 1] != '"')) ||
	    (t->style == YAML_PLAIN_SCALAR_STYLE &&
	    body[start] != t->value[0])) {
		xasprintf(cause, "%s: cannot locate the scalar at line %zu in "
		    "the text", path, t->line + 1);
		goto out;
	}
	buf_add(&b, doc, bom + start);
	ye_render(&b, value, t->style, t->flow);
	buf_add(&b, body + end, blen - end);
	*changed = 1;
	/* Read the result back: the path must now hold value. */
	if (yamledit_get(b.data, b.len, path, &back, &why) != 0) {
		xasprintf(cause, "%s: the edited document does not read back: "
		    "%s", path, why);
		goto out;
	}
	if (strcmp(back, value) != 0) {
		xasprintf(cause, "%s: the edited document reads back \"%.100s\""
		    ", not the value set", path, back);
		goto out;
	}
done:
	*out = b.data;
	*outlen = b.len;
	b.data = NULL;
	rc = 0;
out:
	if (rc != 0)
		*changed = 0;
	buf_free(&b);
	free(back);
	free(why);
	ye_docs_free(docs, ndocs);
	return (rc);
}
