/*
 * A strict JSON reader for webhook payloads.
 *
 * DESIGN: jansson builds a tree of separately allocated values with a hash
 * table per object; for a 5 KB push that was most of ferryd's CPU time per
 * delivery. Here one recursive-descent pass over a private copy of the
 * input validates everything a strict parser must (grammar, UTF-8 with no
 * overlong forms or surrogates, escapes including surrogate pairs, no NUL,
 * nesting depth, duplicate keys) and appends each value to one array of
 * nodes in document order. A container's children follow it; its span (the
 * node count of its subtree) jumps over it. Strings are unescaped in place
 * in the copy and NUL-terminated where their closing quote was, so reading
 * a field allocates nothing. Objects store key and value nodes in turn;
 * lookups scan them, which is fast for the small objects webhooks have.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "util.h"
#include "xmalloc.h"

struct jv {
	unsigned char	 type;
	unsigned char	 integral;	/* number fits in a long long */
	uint32_t	 span;		/* nodes in this subtree, itself too */
	uint32_t	 count;		/* array elements or object pairs */
	const char	*str;		/* strings: unescaped, NUL-terminated */
	long long	 ival;
};

/* The parse: the copy being read and the nodes being written. */
struct jv_parser {
	char		*buf;
	size_t		 len;
	size_t		 pos;
	struct jv	*nodes;
	size_t		 nnodes;
	size_t		 cap;
	unsigned	 depth;
	char		*error;
};

/* The allocation behind a document: its copy of the input, then nodes. */
struct jv_doc {
	char		*buf;
	struct jv	 nodes[];
};

static int	jv_value(struct jv_parser *);

static int
jv_fail(struct jv_parser *p, const char *msg)
{
	size_t	i, line = 1, col = 1;

	if (p->error != NULL)
		return (-1);
	for (i = 0; i < p->pos && i < p->len; i++) {
		if (p->buf[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	xasprintf(&p->error, "malformed JSON at line %zu column %zu: %s",
	    line, col, msg);
	return (-1);
}

/* Append a node; returns its index. */
static size_t
jv_node(struct jv_parser *p, enum jv_type type)
{
	struct jv	*n;

	if (p->nnodes == p->cap) {
		p->cap = p->cap == 0 ? 256 : p->cap * 2;
		p->nodes = xreallocarray(p->nodes, p->cap, sizeof *p->nodes);
	}
	n = &p->nodes[p->nnodes];
	memset(n, 0, sizeof *n);
	n->type = (unsigned char)type;
	n->span = 1;
	return (p->nnodes++);
}

static void
jv_skip_ws(struct jv_parser *p)
{
	while (p->pos < p->len) {
		char c = p->buf[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int
jv_hex4(struct jv_parser *p, size_t at, unsigned *out)
{
	unsigned	v = 0;
	int		i, c;

	if (at + 4 > p->len)
		return (-1);
	for (i = 0; i < 4; i++) {
		c = (unsigned char)p->buf[at + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return (-1);
	}
	*out = v;
	return (0);
}

/* Write code point cp as UTF-8 at *w. */
static void
jv_put_utf8(char **w, unsigned cp)
{
	char	*o = *w;

	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*w = o;
}

/* Bytes that end a plain run inside a string: quote, backslash, control
 * characters and the start of a multi-byte sequence. */
static const unsigned char jv_special[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
	[0x80 ... 0xff] = 1,
};

/*
 * A string at p->pos (on its opening quote): validated, unescaped in place
 * and NUL-terminated. Sets *out to its start and *outlen to its length.
 * Until the first escape the text stays where it is and is only scanned;
 * after one, the rest is moved down over the bytes the escapes saved.
 */
static int
jv_string(struct jv_parser *p, const char **out, uint32_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)p->buf;
	char			*w, *start;
	size_t			 i = p->pos + 1, n, run;
	unsigned		 cp, lo;

	start = w = p->buf + i;
	for (;;) {
		/* A plain run up to the next quote, escape or special byte. */
		run = i;
		while (i < p->len && !jv_special[s[i]])
			i++;
		if (w != p->buf + run)
			memmove(w, s + run, i - run);
		w += i - run;
		if (i >= p->len) {
			p->pos = i;
			return (jv_fail(p, "unterminated string"));
		}
		if (s[i] == '"')
			break;
		if (s[i] < 0x20) {
			p->pos = i;
			return (jv_fail(p, "control character in string"));
		}
		if (s[i] >= 0x80) {
			if ((n = utf8_seq_len(s + i, p->len - i)) == 0) {
				p->pos = i;
				return (jv_fail(p, "invalid UTF-8"));
			}
			if (w != p->buf + i)
				memmove(w, s + i, n);
			w += n;
			i += n;
			continue;
		}
		/* An escape. */
		if (i + 1 >= p->len) {
			p->pos = i;
			return (jv_fail(p, "unterminated string"));
		}
		switch (s[i + 1]) {
		case '"':  *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/':  *w++ = '/'; break;
		case 'b':  *w++ = '\b'; break;
		case 'f':  *w++ = '\f'; break;
		case 'n':  *w++ = '\n'; break;
		case 'r':  *w++ = '\r'; break;
		case 't':  *w++ = '\t'; break;
		case 'u':
			if (jv_hex4(p, i + 2, &cp) != 0) {
				p->pos = i;
				return (jv_fail(p, "invalid \\u escape"));
			}
			i += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				p->pos = i;
				return (jv_fail(p, "lone low surrogate"));
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (i + 1 >= p->len || s[i] != '\\' ||
				    s[i + 1] != 'u' ||
				    jv_hex4(p, i + 2, &lo) != 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					p->pos = i;
					return (jv_fail(p, "lone high "
					    "surrogate"));
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				i += 6;
			}
			if (cp == 0) {
				p->pos = i;
				return (jv_fail(p, "\\u0000 in string"));
			}
			jv_put_utf8(&w, cp);
			continue;
		default:
			p->pos = i;
			return (jv_fail(p, "invalid escape"));
		}
		i += 2;
	}
	*w = '\0';
	*out = start;
	*outlen = (uint32_t)(w - start);
	p->pos = i + 1;
	return (0);
}

static int
jv_number(struct jv_parser *p, size_t idx)
{
	const char	*s = p->buf;
	size_t		 i = p->pos, digits;
	int		 neg = 0, integral = 1;
	unsigned long long v = 0;

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	if (i >= p->len || s[i] < '0' || s[i] > '9')
		return (jv_fail(p, "invalid number"));
	if (s[i] == '0') {
		i++;
		if (i < p->len && s[i] >= '0' && s[i] <= '9')
			return (jv_fail(p, "leading zero in number"));
	} else {
		for (digits = 0; i < p->len && s[i] >= '0' && s[i] <= '9';
		    i++, digits++) {
			if (v > (ULLONG_MAX - 9) / 10)
				integral = 0;
			else
				v = v * 10 + (unsigned long long)(s[i] - '0');
		}
	}
	if (i < p->len && s[i] == '.') {
		integral = 0;
		i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9') {
			p->pos = i;
			return (jv_fail(p, "invalid fraction"));
		}
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		integral = 0;
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9') {
			p->pos = i;
			return (jv_fail(p, "invalid exponent"));
		}
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (integral && v > (neg ? (unsigned long long)LLONG_MAX + 1 :
	    (unsigned long long)LLONG_MAX))
		integral = 0;
	p->nodes[idx].integral = (unsigned char)integral;
	if (integral)
		p->nodes[idx].ival = neg ? (long long)(0 - v) : (long long)v;
	p->pos = i;
	return (0);
}

static int
jv_literal(struct jv_parser *p, const char *word, enum jv_type type)
{
	size_t	n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->buf + p->pos, word, n) != 0)
		return (jv_fail(p, "invalid literal"));
	jv_node(p, type);
	p->pos += n;
	return (0);
}

/* FNV-1a of a key, for the duplicate check. */
static uint32_t
jv_hash(const char *k, uint32_t len)
{
	uint32_t	h = 2166136261u;
	uint32_t	i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return (h);
}

/*
 * Refuse an object whose keys repeat: parsers disagree on which one wins,
 * and a signed payload must mean one thing. Keys go into an open-addressing
 * table of node pointers; only keys of equal hash are compared.
 */
static int
jv_check_duplicates(struct jv_parser *p, size_t obj)
{
	const struct jv	*n = &p->nodes[obj], *k, *other;
	const struct jv	*small[128], **table;
	uint32_t	 hash, mask, slot, size, i;
	int		 dup = 0;

	if (n->count < 2)
		return (0);
	for (size = 16; size < 2 * n->count; size *= 2)
		;
	table = size <= 128 ? small : xreallocarray(NULL, size,
	    sizeof *table);
	memset(table, 0, size * sizeof *table);
	mask = size - 1;
	k = n + 1;
	for (i = 0; i < n->count && !dup; i++) {
		hash = jv_hash(k->str, k->count);
		for (slot = hash & mask; (other = table[slot]) != NULL;
		    slot = (slot + 1) & mask) {
			if ((uint32_t)other->ival == hash &&
			    other->count == k->count &&
			    memcmp(other->str, k->str, k->count) == 0) {
				dup = 1;
				break;
			}
		}
		/* Keys are strings: their ival is free to hold the hash. */
		((struct jv *)(uintptr_t)k)->ival = hash;
		table[slot] = k;
		k = k + 1 + k[1].span;
	}
	if (table != small)
		free(table);
	return (dup ? jv_fail(p, "duplicate key in object") : 0);
}

static int
jv_container(struct jv_parser *p, enum jv_type type)
{
	size_t		 idx, key;
	char		 close = type == JV_OBJECT ? '}' : ']';
	uint32_t	 count = 0;

	if (++p->depth > JV_MAX_DEPTH)
		return (jv_fail(p, "nesting deeper than 512 levels"));
	idx = jv_node(p, type);
	p->pos++;
	jv_skip_ws(p);
	if (p->pos < p->len && p->buf[p->pos] == close)
		p->pos++;
	else {
		for (;;) {
			jv_skip_ws(p);
			if (type == JV_OBJECT) {
				if (p->pos >= p->len || p->buf[p->pos] != '"')
					return (jv_fail(p, "expected a string "
					    "key"));
				key = jv_node(p, JV_STRING);
				if (jv_string(p, &p->nodes[key].str,
				    &p->nodes[key].count) != 0)
					return (-1);
				jv_skip_ws(p);
				if (p->pos >= p->len || p->buf[p->pos] != ':')
					return (jv_fail(p, "expected ':'"));
				p->pos++;
			}
			if (jv_value(p) != 0)
				return (-1);
			count++;
			jv_skip_ws(p);
			if (p->pos < p->len && p->buf[p->pos] == ',') {
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->buf[p->pos] == close) {
				p->pos++;
				break;
			}
			return (jv_fail(p, type == JV_OBJECT ?
			    "expected ',' or '}'" : "expected ',' or ']'"));
		}
	}
	if (p->nnodes - idx > UINT32_MAX)
		return (jv_fail(p, "document too large"));
	p->nodes[idx].span = (uint32_t)(p->nnodes - idx);
	p->nodes[idx].count = count;
	p->depth--;
	if (type == JV_OBJECT)
		return (jv_check_duplicates(p, idx));
	return (0);
}

static int
jv_value(struct jv_parser *p)
{
	size_t	idx;

	jv_skip_ws(p);
	if (p->pos >= p->len)
		return (jv_fail(p, "unexpected end of input"));
	switch (p->buf[p->pos]) {
	case '{':
		return (jv_container(p, JV_OBJECT));
	case '[':
		return (jv_container(p, JV_ARRAY));
	case '"':
		idx = jv_node(p, JV_STRING);
		return (jv_string(p, &p->nodes[idx].str,
		    &p->nodes[idx].count));
	case 't':
		return (jv_literal(p, "true", JV_TRUE));
	case 'f':
		return (jv_literal(p, "false", JV_FALSE));
	case 'n':
		return (jv_literal(p, "null", JV_NULL));
	default:
		idx = jv_node(p, JV_NUMBER);
		return (jv_number(p, idx));
	}
}

/*
 * Parse and validate len bytes of JSON. Returns the root value, which the
 * caller releases with jv_free, or NULL with *cause set ("malformed JSON at
 * line L column C: ...").
 */
struct jv *
jv_parse(const char *in, size_t len, char **cause)
{
	struct jv_parser	 p;
	struct jv_doc		*doc;

	memset(&p, 0, sizeof p);
	p.buf = xmalloc(len + 1);
	memcpy(p.buf, in, len);
	p.buf[len] = '\0';
	p.len = len;
	if (jv_value(&p) == 0) {
		jv_skip_ws(&p);
		if (p.pos != p.len)
			jv_fail(&p, "data after the JSON value");
	}
	if (p.error != NULL) {
		*cause = p.error;
		free(p.buf);
		free(p.nodes);
		return (NULL);
	}
	doc = xmalloc(sizeof *doc + p.nnodes * sizeof *p.nodes);
	memcpy(doc->nodes, p.nodes, p.nnodes * sizeof *p.nodes);
	doc->buf = p.buf;	/* strings point into it; it does not move */
	free(p.nodes);
	return (&doc->nodes[0]);
}

void
jv_free(const struct jv *root)
{
	struct jv_doc	*doc;

	if (root == NULL)
		return;
	doc = (struct jv_doc *)(void *)((char *)(uintptr_t)root -
	    offsetof(struct jv_doc, nodes));
	free(doc->buf);
	free(doc);
}

enum jv_type
jv_type(const struct jv *v)
{
	return (v != NULL ? (enum jv_type)v->type : JV_NULL);
}

int
jv_is_object(const struct jv *v)
{
	return (v != NULL && v->type == JV_OBJECT);
}

int
jv_is_array(const struct jv *v)
{
	return (v != NULL && v->type == JV_ARRAY);
}

int
jv_is_null(const struct jv *v)
{
	return (v != NULL && v->type == JV_NULL);
}

/* Member key of an object, or NULL. */
const struct jv *
jv_get(const struct jv *obj, const char *key)
{
	const struct jv	*k;
	uint32_t	 i;

	if (obj == NULL || obj->type != JV_OBJECT)
		return (NULL);
	k = obj + 1;
	for (i = 0; i < obj->count; i++) {
		if (strcmp(k->str, key) == 0)
			return (k + 1);
		k = k + 1 + k[1].span;
	}
	return (NULL);
}

/* Element i of an array, or NULL. */
const struct jv *
jv_at(const struct jv *arr, size_t i)
{
	const struct jv	*e;
	size_t		 n;

	if (arr == NULL || arr->type != JV_ARRAY || i >= arr->count)
		return (NULL);
	e = arr + 1;
	for (n = 0; n < i; n++)
		e += e->span;
	return (e);
}

/* Elements of an array or pairs of an object; 0 for anything else. */
size_t
jv_size(const struct jv *v)
{
	if (v == NULL || (v->type != JV_ARRAY && v->type != JV_OBJECT))
		return (0);
	return (v->count);
}

/* The text of a string value, or NULL. Valid until jv_free. */
const char *
jv_str(const struct jv *v)
{
	return (v != NULL && v->type == JV_STRING ? v->str : NULL);
}

/* An integral number's value; 0 for anything else. */
long long
jv_int(const struct jv *v)
{
	return (v != NULL && v->type == JV_NUMBER && v->integral ?
	    v->ival : 0);
}

/* 1 for true, 0 for false, -1 for anything else. */
int
jv_bool(const struct jv *v)
{
	if (v == NULL || (v->type != JV_TRUE && v->type != JV_FALSE))
		return (-1);
	return (v->type == JV_TRUE);
}
