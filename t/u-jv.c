/*
 * u-jv: the strict JSON reader. A table of valid and invalid documents,
 * field access, and a differential check against jansson: every file of
 * t/fixtures and of the shared corpus (when present), and thousands of
 * random mutations of them, must be accepted or refused by both parsers
 * alike, and read back to the same values.
 */
#include "config.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "tap.h"
#include "util.h"
#include "xmalloc.h"

static int
accepts(const char *doc)
{
	char		*cause = NULL;
	struct jv	*v = jv_parse(doc, strlen(doc), &cause);

	jv_free(v);
	free(cause);
	return (v != NULL);
}

static void
test_table(void)
{
	static const char *good[] = {
		"{}", "[]", "0", "-0", "1.5e+10", "-12.25E-3", "\"\"", "true",
		"false", "null", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
		"\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
		"\"f\xc3\xbcr \xe4\xbf\xae\xe6\xad\xa3 \xf0\x9f\x98\x80\"",
		"{\"a\":{\"a\":1}}", "[[[[[]]]]]", "9223372036854775807",
		"123456789012345678901234567890", NULL
	};
	static const char *bad[] = {
		"", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}",
		"{a:1}", "{'a':1}", "01", "1.", ".5", "1e", "+1", "-", "0x10",
		"NaN", "Infinity", "tru", "nul", "[1 2]", "\"abc", "\"\\x\"",
		"\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
		"\"\\u0000\"", "\"a\tb\"", "\"a\nb\"", "\"\xff\"", "\"\xc0\xaf\"",
		"\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
		"\"\xc3\"", "{\"a\":1,\"a\":2}", "{} {}", "[1] x", "[\x01]",
		NULL
	};
	int	i;

	for (i = 0; good[i] != NULL; i++)
		ok(accepts(good[i]), "accepts valid document %d", i);
	for (i = 0; bad[i] != NULL; i++)
		ok(!accepts(bad[i]), "refuses invalid document %d", i);
	ok(!accepts("\"a\0b\""), "refuses a raw NUL");
}

static void
test_many_keys(void)
{
	char	*doc = NULL, *tmp;
	int	 i;

	xasprintf(&doc, "{\"k0\":0");
	for (i = 1; i < 300; i++) {
		xasprintf(&tmp, "%s,\"k%d\":%d", doc, i, i);
		free(doc);
		doc = tmp;
	}
	xasprintf(&tmp, "%s}", doc);
	ok(accepts(tmp), "300 distinct keys accepted");
	free(tmp);
	xasprintf(&tmp, "%s,\"k123\":1}", doc);
	ok(!accepts(tmp), "a repeated key among 300 refused");
	free(tmp);
	free(doc);
}

static void
test_depth(void)
{
	char	*deep;
	int	 n;

	for (n = 510; n <= 514; n += 4) {
		deep = xmalloc(2 * (size_t)n + 1);
		memset(deep, '[', (size_t)n);
		memset(deep + n, ']', (size_t)n);
		deep[2 * n] = '\0';
		ok(accepts(deep) == (n <= JV_MAX_DEPTH), "depth %d %s", n,
		    n <= JV_MAX_DEPTH ? "accepted" : "refused");
		free(deep);
	}
}

static void
test_access(void)
{
	const char	*doc = "{\"s\":\"x\\u00e9\",\"n\":-42,\"f\":1.5,"
	    "\"t\":true,\"z\":null,\"a\":[1,{\"k\":\"v\"},[2]],\"o\":{}}";
	struct jv	*v;
	char		*cause = NULL;

	v = jv_parse(doc, strlen(doc), &cause);
	ok(v != NULL && jv_is_object(v) && jv_size(v) == 7, "object of 7");
	is_str(jv_str(jv_get(v, "s")), "x\xc3\xa9", "escaped string");
	ok(jv_int(jv_get(v, "n")) == -42, "integer");
	ok(jv_int(jv_get(v, "f")) == 0 && jv_type(jv_get(v, "f")) ==
	    JV_NUMBER, "fraction is a number, not an integer");
	ok(jv_bool(jv_get(v, "t")) == 1 && jv_bool(jv_get(v, "s")) == -1,
	    "bool");
	ok(jv_is_null(jv_get(v, "z")) && jv_get(v, "missing") == NULL,
	    "null and missing differ");
	ok(jv_size(jv_get(v, "a")) == 3, "array size");
	is_str(jv_str(jv_get(jv_at(jv_get(v, "a"), 1), "k")), "v",
	    "object inside array");
	ok(jv_int(jv_at(jv_at(jv_get(v, "a"), 2), 0)) == 2,
	    "array inside array, after an object");
	ok(jv_at(jv_get(v, "a"), 3) == NULL, "index past the end");
	ok(jv_get(jv_get(v, "a"), "k") == NULL, "jv_get on an array");
	ok(jv_str(NULL) == NULL && jv_size(NULL) == 0 && jv_int(NULL) == 0,
	    "NULL is missing");
	is_str(jv_str(jv_get(v, "o")), NULL, "an object is not a string");
	jv_free(v);
	v = jv_parse("[1,", 3, &cause);
	ok(v == NULL && cause != NULL &&
	    strstr(cause, "malformed JSON at line 1 column 4") != NULL,
	    "error names line and column");
	free(cause);
}

/* Whether the jansson value j and the jv value v are the same. */
static int
same(json_t *j, const struct jv *v)
{
	const char	*key;
	json_t		*m;
	size_t		 i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if (!jv_is_object(v) || jv_size(v) != json_object_size(j))
			return (0);
		json_object_foreach(j, key, m) {
			if (!same(m, jv_get(v, key)))
				return (0);
		}
		return (1);
	case JSON_ARRAY:
		if (!jv_is_array(v) || jv_size(v) != json_array_size(j))
			return (0);
		for (i = 0; i < json_array_size(j); i++) {
			if (!same(json_array_get(j, i), jv_at(v, i)))
				return (0);
		}
		return (1);
	case JSON_STRING:
		return (jv_str(v) != NULL &&
		    strcmp(jv_str(v), json_string_value(j)) == 0);
	case JSON_INTEGER:
		return (jv_type(v) == JV_NUMBER &&
		    jv_int(v) == json_integer_value(j));
	case JSON_REAL:
		return (jv_type(v) == JV_NUMBER);
	case JSON_TRUE:
		return (jv_bool(v) == 1);
	case JSON_FALSE:
		return (jv_bool(v) == 0);
	case JSON_NULL:
		return (jv_is_null(v));
	}
	return (0);
}

/*
 * Compare the parsers on one buffer. Returns 1 when they agree. jansson
 * refuses integers too large for its type, where JSON has no such limit;
 * those buffers are not compared.
 */
static int
agree(const char *buf, size_t len, int *compared)
{
	json_error_t	 err;
	json_t		*j;
	struct jv	*v;
	char		*cause = NULL;
	int		 rc;

	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &err);
	v = jv_parse(buf, len, &cause);
	free(cause);
	*compared = 1;
	if (j == NULL && (strstr(err.text, "too big") != NULL ||
	    strstr(err.text, "overflow") != NULL)) {
		*compared = 0;
		rc = 1;
	} else if (j == NULL || v == NULL)
		rc = (j == NULL) == (v == NULL);
	else
		rc = same(j, v);
	json_decref(j);
	jv_free(v);
	return (rc);
}

static void
test_differential_dir(const char *dir, unsigned *seed)
{
	DIR		*d;
	struct dirent	*de;
	char		*path, *buf, *cause = NULL, *m;
	size_t		 len, i, files = 0, mutations = 0, disagree = 0;
	size_t		 fdisagree = 0;
	int		 k, compared;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".json") == NULL)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		buf = read_file(path, 1 << 24, &len, &cause);
		free(path);
		if (buf == NULL) {
			free(cause);
			cause = NULL;
			continue;
		}
		files++;
		if (!agree(buf, len, &compared))
			fdisagree++;
		/* Random byte edits, truncations and deletions. */
		m = xmalloc(len + 1);
		for (k = 0; k < 40; k++) {
			size_t mlen = len, at;
			memcpy(m, buf, len);
			at = (size_t)rand_r(seed) % (len ? len : 1);
			switch (rand_r(seed) % 4) {
			case 0:
				m[at] = (char)(rand_r(seed) & 0xff);
				break;
			case 1:
				mlen = at;
				break;
			case 2:
				memmove(m + at, m + at + 1, len - at - 1);
				mlen = len - 1;
				break;
			default:
				m[at] = "{}[],:\"\\0-e.u"[rand_r(seed) % 13];
				break;
			}
			mutations++;
			if (!agree(m, mlen, &compared)) {
				disagree++;
				if (disagree <= 3)
					printf("#   disagreement on a mutation "
					    "of %s/%s at %zu\n", dir,
					    de->d_name, at);
			}
		}
		free(m);
		free(buf);
	}
	closedir(d);
	ok(files > 0 && fdisagree == 0, "%s: %zu files read alike", dir,
	    files);
	ok(disagree == 0, "%s: %zu mutations judged alike", dir, mutations);
	(void)i;
}

int
main(void)
{
	const char	*src = getenv("T_SRCDIR");
	char		*dir;
	unsigned	 seed = 20261126;
	static const char *sub[] = { "github", "gitlab", "gitea", "forgejo",
	    "bitbucket-cloud", "bitbucket-server", "distribution", "harbor",
	    "dockerhub", NULL };
	int		 i;

	test_table();
	test_many_keys();
	test_depth();
	test_access();
	if (src != NULL) {
		xasprintf(&dir, "%s/fixtures", src);
		test_differential_dir(dir, &seed);
		free(dir);
		for (i = 0; sub[i] != NULL; i++) {
			xasprintf(&dir, "%s/../../shared/corpus/webhooks/%s",
			    src, sub[i]);
			test_differential_dir(dir, &seed);
			free(dir);
		}
	}
	return (tap_done());
}
