/*
 * u-yamledit: unit tests for src/yamledit.c. Each case gives the whole
 * expected output, so any byte changed outside the scalar fails it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "xmalloc.h"
#include "yamledit.h"

/* One yamledit_set case: want NULL means an error whose cause has err. */
struct set_case {
	const char	*name;
	const char	*doc;
	const char	*path;
	const char	*value;
	const char	*want;
	int		 changed;
	const char	*err;
};

#define ARGO_HEAD \
	"# Argo CD Application for the shop (managed by ferry)\n" \
	"apiVersion: argoproj.io/v1alpha1\n" \
	"kind: Application\n" \
	"metadata:\n" \
	"  name: shop   # the app\n" \
	"  namespace: argocd\n" \
	"spec:\n" \
	"  project: default\n" \
	"  source:\n" \
	"    repoURL: registry.example.com/charts   # OCI\n" \
	"    chart: shop\n" \
	"    # bumped by ferry\n" \
	"    targetRevision: "
#define ARGO_TAIL \
	"  # keep in sync\n" \
	"    helm:\n" \
	"      valueFiles: [values.yaml, \"values-prod.yaml\"]\n" \
	"  destination:\n" \
	"    server: https://kubernetes.default.svc\n" \
	"    namespace: shop\n"

static const struct set_case set_cases[] = {
	{ "Argo CD Application: targetRevision, comments kept",
	  ARGO_HEAD "1.4.1" ARGO_TAIL, "spec.source.targetRevision", "1.4.2",
	  ARGO_HEAD "1.4.2" ARGO_TAIL, 1, NULL },
	{ "Argo CD Application: same value is unchanged",
	  ARGO_HEAD "1.4.1" ARGO_TAIL, "spec.source.targetRevision", "1.4.1",
	  ARGO_HEAD "1.4.1" ARGO_TAIL, 0, NULL },
	{ "Argo CD Application: a value that reads as a float is quoted",
	  ARGO_HEAD "1.4.1" ARGO_TAIL, "spec.source.targetRevision", "1.4",
	  ARGO_HEAD "\"1.4\"" ARGO_TAIL, 1, NULL },
	{ "values file: image.tag",
	  "replicaCount: 2\nimage:\n  repository: r.example/shop\n"
	  "  tag: \"v1\"  # set by ferry\n  pullPolicy: IfNotPresent\n",
	  "image.tag", "v2",
	  "replicaCount: 2\nimage:\n  repository: r.example/shop\n"
	  "  tag: \"v2\"  # set by ferry\n  pullPolicy: IfNotPresent\n",
	  1, NULL },
	{ "sequence index",
	  "images:\n  - name: web\n    tag: a1\n  - name: api\n    tag: b1\n",
	  "images[1].tag", "b2",
	  "images:\n  - name: web\n    tag: a1\n  - name: api\n    tag: b2\n",
	  1, NULL },
	{ "top-level sequence index",
	  "- x\n- 'y'\n", "[1]", "z", "- x\n- 'z'\n", 1, NULL },
	{ "nested index",
	  "m: [[a, b], [c, d]]\n", "m[1][0]", "e", "m: [[a, b], [e, d]]\n",
	  1, NULL },
	{ "single-quoted: quote doubled",
	  "a: 'x'\n", "a", "it's", "a: 'it''s'\n", 1, NULL },
	{ "single-quoted: backslash kept as is",
	  "a: 'x'\n", "a", "c:\\d", "a: 'c:\\d'\n", 1, NULL },
	{ "double-quoted: quote and backslash escaped",
	  "a: \"x\"\n", "a", "say \"hi\" \\o/", "a: \"say \\\"hi\\\" \\\\o/\"\n",
	  1, NULL },
	{ "double-quoted number stays quoted",
	  "a: \"1\"\n", "a", "2", "a: \"2\"\n", 1, NULL },
	{ "plain stays plain",
	  "a: v1.2.3 # c\n", "a", "v1.2.4", "a: v1.2.4 # c\n", 1, NULL },
	{ "plain upgraded for true",
	  "a: x\n", "a", "true", "a: \"true\"\n", 1, NULL },
	{ "plain upgraded for null", "a: x\n", "a", "null", "a: \"null\"\n",
	  1, NULL },
	{ "plain upgraded for ~", "a: x\n", "a", "~", "a: \"~\"\n", 1, NULL },
	{ "plain upgraded for hex", "a: x\n", "a", "0x1F", "a: \"0x1F\"\n",
	  1, NULL },
	{ "plain upgraded for an integer", "a: x\n", "a", "42",
	  "a: \"42\"\n", 1, NULL },
	{ "plain upgraded for an exponent", "a: x\n", "a", "3e5",
	  "a: \"3e5\"\n", 1, NULL },
	{ "plain upgraded for yes (YAML 1.1)", "a: x\n", "a", "yes",
	  "a: \"yes\"\n", 1, NULL },
	{ "plain upgraded for a date", "a: x\n", "a", "2024-01-02",
	  "a: \"2024-01-02\"\n", 1, NULL },
	{ "plain upgraded for ': '", "a: x\n", "a", "b: c",
	  "a: \"b: c\"\n", 1, NULL },
	{ "plain upgraded for ' #'", "a: x\n", "a", "b #c",
	  "a: \"b #c\"\n", 1, NULL },
	{ "plain upgraded for an indicator", "a: x\n", "a", "*ref",
	  "a: \"*ref\"\n", 1, NULL },
	{ "plain upgraded for a leading -", "a: x\n", "a", "-1",
	  "a: \"-1\"\n", 1, NULL },
	{ "plain upgraded for spaces", "a: x\n", "a", " y ",
	  "a: \" y \"\n", 1, NULL },
	{ "plain upgraded for empty", "a: x\n", "a", "", "a: \"\"\n", 1, NULL },
	{ "plain sha that starts with digits stays plain",
	  "a: x\n", "a", "0123abc", "a: 0123abc\n", 1, NULL },
	{ "empty quoted set", "a: \"\"\n", "a", "v1", "a: \"v1\"\n", 1, NULL },
	{ "flow mapping",
	  "image: {repository: r/shop, tag: v1}  # flow\n", "image.tag", "v2",
	  "image: {repository: r/shop, tag: v2}  # flow\n", 1, NULL },
	{ "flow: a comma is quoted",
	  "t: [a, b]\n", "t[0]", "x,y", "t: [\"x,y\", b]\n", 1, NULL },
	{ "UTF-8 comments and keys before the target",
	  "# héllo wörld — ünïcode ✓\nkéy: \"välue\"\nnämé: a\ntag: v1 # ✓\n",
	  "tag", "v2",
	  "# héllo wörld — ünïcode ✓\nkéy: \"välue\"\nnämé: a\ntag: v2 # ✓\n",
	  1, NULL },
	{ "UTF-8 key in the path",
	  "kéy: \"välue\"\n", "kéy", "wért", "kéy: \"wért\"\n", 1, NULL },
	{ "byte order mark kept",
	  "\xef\xbb\xbf" "a: b\nc: d\n", "c", "e",
	  "\xef\xbb\xbf" "a: b\nc: e\n", 1, NULL },
	{ "CRLF file",
	  "# c\r\nimage:\r\n  tag: v1\r\n  x: y\r\n", "image.tag", "v22",
	  "# c\r\nimage:\r\n  tag: v22\r\n  x: y\r\n", 1, NULL },
	{ "no trailing newline",
	  "a: b\nc: d", "c", "e", "a: b\nc: e", 1, NULL },
	{ "multi-document: first where the path resolves",
	  "---\nkind: Service\nmetadata: {name: s}\n---\nkind: Deployment\n"
	  "spec:\n  image: r/x:v1\n---\nspec:\n  image: other\n",
	  "spec.image", "r/x:v2",
	  "---\nkind: Service\nmetadata: {name: s}\n---\nkind: Deployment\n"
	  "spec:\n  image: r/x:v2\n---\nspec:\n  image: other\n", 1, NULL },
	{ "deep path",
	  "a:\n  b:\n    c:\n      - d:\n          e:\n            f: old\n",
	  "a.b.c[0].d.e.f", "new",
	  "a:\n  b:\n    c:\n      - d:\n          e:\n            f: new\n",
	  1, NULL },
	{ "quoted key with dots",
	  "metadata:\n  annotations:\n    ferry.dev/version: \"1\"\n",
	  "metadata.annotations.\"ferry.dev/version\"", "2",
	  "metadata:\n  annotations:\n    ferry.dev/version: \"2\"\n", 1, NULL },
	{ "single-quoted key with dots",
	  "annotations:\n  'a.b': x\n", "annotations.'a.b'", "w",
	  "annotations:\n  'a.b': w\n", 1, NULL },
	{ "plain upgraded for y (a YAML 1.1 bool)",
	  "a: x\n", "a", "y", "a: \"y\"\n", 1, NULL },
	{ "anchored and tagged scalar keeps its properties",
	  "a: &v !!str old # c\nb: *v\n", "a", "new",
	  "a: &v !!str new # c\nb: *v\n", 1, NULL },
	{ "multi-line plain scalar",
	  "a: one\n  two\nb: c\n", "a", "three", "a: three\nb: c\n", 1, NULL },
	{ "missing key refused",
	  "image:\n  tag: v1\n", "image.digest", "x", NULL, 0,
	  "image.digest: not found: no key \"digest\" under image" },
	{ "missing top-level key refused",
	  "a: b\n", "image.tag", "x", NULL, 0,
	  "no key \"image\" at the top level" },
	{ "index out of range refused",
	  "l: [a]\n", "l[3]", "x", NULL, 0, "index 3 out of range at l[3]" },
	{ "mapping at the path refused",
	  "image:\n  tag: v1\n", "image", "x", NULL, 0,
	  "image: is a mapping at line 2, not a scalar" },
	{ "sequence at the path refused",
	  "l: [a]\n", "l", "x", NULL, 0, "is a sequence" },
	{ "block scalar refused",
	  "a: |\n  text\n", "a", "x", NULL, 0, "a: is a block scalar (|)" },
	{ "folded scalar refused",
	  "a: >\n  text\n", "a", "x", NULL, 0, "is a block scalar (>)" },
	{ "alias at the path refused",
	  "base: &b v1\ntag: *b\n", "tag", "v2", NULL, 0,
	  "tag: is an alias (*b)" },
	{ "alias on the way refused",
	  "base: &b {tag: v1}\nimage: *b\n", "image.tag", "v2", NULL, 0,
	  "image is an alias (*b)" },
	{ "empty value refused",
	  "a:\nb: c\n", "a", "x", NULL, 0, "has no value" },
	{ "multi-document: missing everywhere",
	  "a: 1\n---\nb: 2\n", "c", "x", NULL, 0,
	  "not found in any of the 2 documents" },
	{ "hostile value: newline",
	  "a: x\n", "a", "v1\nevil: true", NULL, 0, "line break" },
	{ "hostile value: carriage return",
	  "a: x\n", "a", "v1\r", NULL, 0, "line break" },
	{ "hostile value: control character",
	  "a: x\n", "a", "v\x1b[31m", NULL, 0, "control character (0x1b)" },
	{ "hostile value: tab", "a: x\n", "a", "v\t1", NULL, 0,
	  "control character (0x09)" },
	{ "hostile value: DEL", "a: x\n", "a", "v\x7f", NULL, 0,
	  "control character (0x7f)" },
	{ "hostile value: NEL", "a: x\n", "a", "v\xc2\x85", NULL, 0,
	  "U+0085" },
	{ "hostile value: line separator", "a: x\n", "a", "v\xe2\x80\xa8",
	  NULL, 0, "U+2028" },
	{ "hostile value: bad UTF-8", "a: x\n", "a", "v\xff", NULL, 0,
	  "not valid UTF-8" },
	{ "malformed path", "a: x\n", "a..b", "x", NULL, 0, "malformed path" },
	{ "malformed index", "a: x\n", "a[x]", "x", NULL, 0, "malformed path" },
	{ "empty path", "a: x\n", "", "x", NULL, 0, "empty path" },
	{ "YAML syntax error", "a: [b\n", "a", "x", NULL, 0,
	  "YAML syntax error" },
	{ "empty file", "", "a", "x", NULL, 0, "holds no YAML document" },
};

static void
test_set(void)
{
	const struct set_case	*c;
	char			*out, *cause;
	size_t			 i, outlen;
	int			 rc, changed;

	for (i = 0; i < sizeof set_cases / sizeof set_cases[0]; i++) {
		c = &set_cases[i];
		out = cause = NULL;
		changed = -1;
		rc = yamledit_set(c->doc, strlen(c->doc), c->path, c->value,
		    &out, &outlen, &changed, &cause);
		if (c->want != NULL) {
			ok(rc == 0 && changed == c->changed &&
			    outlen == strlen(c->want) &&
			    memcmp(out, c->want, outlen) == 0, "%s", c->name);
			if (rc != 0)
				printf("#   cause: %s\n", cause);
			else if (strcmp(out, c->want) != 0)
				printf("#   got:\n%s\n#   want:\n%s\n", out,
				    c->want);
		} else {
			ok(rc == -1 && out == NULL && changed == 0 &&
			    cause != NULL && strstr(cause, c->err) != NULL,
			    "%s", c->name);
			if (rc == -1)
				printf("#   cause: %s\n", cause);
		}
		free(out);
		free(cause);
	}
}

static void
test_get(void)
{
	char	*v = NULL, *cause = NULL;

	ok(yamledit_get(ARGO_HEAD "1.4.1" ARGO_TAIL,
	    strlen(ARGO_HEAD "1.4.1" ARGO_TAIL), "spec.source.targetRevision",
	    &v, &cause) == 0, "get targetRevision");
	is_str(v, "1.4.1", "get reads the scalar");
	free(v);
	v = NULL;
	ok(yamledit_get("a: 'it''s'\n", 11, "a", &v, &cause) == 0,
	    "get single-quoted");
	is_str(v, "it's", "get unescapes");
	free(v);
	v = NULL;
	ok(yamledit_get("a: |\n  x\n", 9, "a", &v, &cause) == 0,
	    "get reads a block scalar");
	is_str(v, "x\n", "block scalar value");
	free(v);
	v = NULL;
	ok(yamledit_get("a: \"x\\0y\"\n", 10, "a", &v, &cause) == -1 &&
	    strstr(cause, "NUL") != NULL, "get refuses a NUL in a value");
	free(cause);
	cause = NULL;
	ok(yamledit_get("a: 1\n", 5, "b", &v, &cause) == -1 && v == NULL,
	    "get of a missing key fails");
	free(cause);
}

/* Every byte before and after the scalar is the input's. */
static void
test_ranges(void)
{
	const char	*doc = ARGO_HEAD "1.4.1" ARGO_TAIL;
	size_t		 pre = strlen(ARGO_HEAD), post = strlen(ARGO_TAIL);
	char		*out = NULL, *cause = NULL;
	size_t		 outlen;
	int		 changed;

	ok(yamledit_set(doc, strlen(doc), "spec.source.targetRevision",
	    "2.0.0-rc.1+build.5", &out, &outlen, &changed, &cause) == 0 &&
	    changed == 1, "set a pre-release version");
	ok(out != NULL && outlen == pre + strlen("2.0.0-rc.1+build.5") + post &&
	    memcmp(out, doc, pre) == 0 &&
	    memcmp(out + outlen - post, doc + strlen(doc) - post, post) == 0,
	    "only the scalar's range differs");
	free(out);
	free(cause);
}

int
main(void)
{
	test_set();
	test_get();
	test_ranges();
	return (tap_done());
}
