/*
 * Bundles: the Helm chart of a commit, published to an OCI registry.
 *
 * The chart folder (.helm by default) is read from the commit's tree in the
 * object database, never from a working tree. Chart.yaml gets the bundle's
 * version: its top-level "version:" line is replaced (a line-based edit;
 * the rest of the file is kept byte for byte). values.yaml is loaded with
 * libyaml, gets werf.image.<name> = REPO@DIGEST and
 * images.<name>.{repository,tag,digest} for every image, and is emitted
 * again: its comments do not survive, its values do. The archive is a
 * ustar tar (no pax headers) of <chart>/<path> entries in bytewise sorted
 * order, every one with the commit's committer time, owner 0:0 with no
 * names, mode 0644 or 0755, gzip'd without a timestamp or file name: the
 * same commit and images give the same bytes, and so the same digest, on
 * any day (for one zlib version).
 *
 * Publishing follows what `helm push` writes (PROTOCOLS.md 5.1): a config
 * blob with Chart.yaml's metadata as JSON, the archive as the one layer,
 * and an OCI image manifest without a mediaType field, whose annotations
 * depend on the chart only (no creation time). A tag that exists is never
 * written again: the same manifest digest is success, another one is an
 * error that names both digests.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <yaml.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "oci.h"
#include "repo.h"
#include "util.h"
#include "xmalloc.h"

#define BUNDLE_FILE_MAX		(64 * 1024 * 1024)
#define BUNDLE_CHART_MAX	(1024 * 1024)
#define BUNDLE_BRANCH_MAX	48
#define BUNDLE_SHORT_SHA	12

/* One file of the archive, relative to the chart folder. */
struct bundle_file {
	char		*path;
	char		*data;
	size_t		 len;
	int		 executable;
};

/* ---- versions ---------------------------------------------------------- */

/* A dot-separated list of non-empty [0-9A-Za-z-] identifiers. */
static int
semver_idents(const char *s, size_t len, int numeric_strict)
{
	size_t	i, start = 0;
	int	digits = 1;

	if (len == 0)
		return (0);
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (i == start)
				return (0);
			if (numeric_strict && digits && i - start > 1 &&
			    s[start] == '0')
				return (0);
			start = i + 1;
			digits = 1;
			continue;
		}
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '-'))
			return (0);
		if (!isdigit((unsigned char)s[i]))
			digits = 0;
	}
	return (1);
}

/* Whether s is a semantic version 2.0.0 (no "v" prefix). */
int
bundle_semver_is_valid(const char *s)
{
	const char	*p = s, *pre, *build;
	size_t		 corelen, n;
	int		 i;

	build = strchr(s, '+');
	pre = strchr(s, '-');
	if (pre != NULL && build != NULL && pre > build)
		pre = NULL;
	corelen = pre != NULL ? (size_t)(pre - s) :
	    build != NULL ? (size_t)(build - s) : strlen(s);
	for (i = 0; i < 3; i++) {
		n = 0;
		while (p + n < s + corelen && isdigit((unsigned char)p[n]))
			n++;
		if (n == 0 || (n > 1 && p[0] == '0'))
			return (0);
		p += n;
		if (i < 2) {
			if (p >= s + corelen || *p != '.')
				return (0);
			p++;
		}
	}
	if (p != s + corelen)
		return (0);
	if (pre != NULL && !semver_idents(pre + 1, build != NULL ?
	    (size_t)(build - pre - 1) : strlen(pre + 1), 1))
		return (0);
	if (build != NULL && !semver_idents(build + 1, strlen(build + 1), 0))
		return (0);
	return (1);
}

/* The branch as one pre-release identifier: [0-9A-Za-z-], no leading 0. */
static void
bundle_branch_ident(const char *ref, char *out, size_t outsz)
{
	const char	*b = ref;
	size_t		 i, o = 0;
	int		 digits = 1;

	if (strncmp(b, "refs/heads/", 11) == 0)
		b += 11;
	else if (strncmp(b, "refs/tags/", 10) == 0)
		b += 10;
	else if (strncmp(b, "refs/", 5) == 0)
		b += 5;
	if (*b == '\0' || strcmp(b, "HEAD") == 0)
		b = "detached";
	for (i = 0; b[i] != '\0' && o + 1 < outsz && o < BUNDLE_BRANCH_MAX;
	    i++) {
		if (isascii((unsigned char)b[i]) &&
		    isalnum((unsigned char)b[i]))
			out[o++] = b[i];
		else
			out[o++] = '-';
		if (!isdigit((unsigned char)out[o - 1]))
			digits = 0;
	}
	out[o] = '\0';
	if (digits && o > 1 && out[0] == '0' && o + 2 < outsz) {
		memmove(out + 1, out, o + 1);
		out[0] = 'b';
	}
}

/*
 * The chart version of a build of commit sha on ref at commit_time (the
 * committer time, seconds since the epoch): "1.4.2" for refs/tags/v1.4.2
 * (or refs/tags/1.4.2), otherwise pattern (NULL for
 * BUNDLE_VERSION_PATTERN) with <branch>, <commit-timestamp> (UTC
 * YYYYMMDDHHMMSS), <short-sha> (12 hex digits, with a "g" in front when it
 * would be a number with a leading zero) and <sha> replaced. The result
 * must be a valid semantic version.
 */
int
bundle_version(const char *ref, long long commit_time, const char *sha,
    const char *pattern, char out[BUNDLE_VERSION_MAX + 1], char **cause)
{
	struct tm	 tm;
	struct buf	 b;
	time_t		 t = (time_t)commit_time;
	const char	*p, *tag;
	char		 branch[BUNDLE_BRANCH_MAX + 2], ts[32], shortsha[16];
	size_t		 i;
	int		 digits = 1;

	if (ref != NULL && strncmp(ref, "refs/tags/", 10) == 0) {
		tag = ref + 10;
		if (*tag == 'v')
			tag++;
		if (bundle_semver_is_valid(tag) &&
		    strlen(tag) <= BUNDLE_VERSION_MAX) {
			snprintf(out, BUNDLE_VERSION_MAX + 1, "%s", tag);
			return (0);
		}
	}
	if (sha == NULL || strlen(sha) < BUNDLE_SHORT_SHA) {
		xasprintf(cause, "no commit id for the version");
		return (-1);
	}
	if (commit_time < 0 || gmtime_r(&t, &tm) == NULL) {
		xasprintf(cause, "bad commit time %lld", commit_time);
		return (-1);
	}
	strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
	for (i = 0; i < BUNDLE_SHORT_SHA; i++)
		if (!isdigit((unsigned char)sha[i]))
			digits = 0;
	snprintf(shortsha, sizeof shortsha, "%s%.*s",
	    digits && sha[0] == '0' ? "g" : "", BUNDLE_SHORT_SHA, sha);
	bundle_branch_ident(ref != NULL ? ref : "HEAD", branch, sizeof branch);

	buf_init(&b);
	for (p = pattern != NULL ? pattern : BUNDLE_VERSION_PATTERN; *p != '\0';
	    ) {
		if (strncmp(p, "<branch>", 8) == 0) {
			buf_addstr(&b, branch);
			p += 8;
		} else if (strncmp(p, "<commit-timestamp>", 18) == 0) {
			buf_addstr(&b, ts);
			p += 18;
		} else if (strncmp(p, "<short-sha>", 11) == 0) {
			buf_addstr(&b, shortsha);
			p += 11;
		} else if (strncmp(p, "<sha>", 5) == 0) {
			buf_addstr(&b, sha);
			p += 5;
		} else
			buf_add(&b, p++, 1);
	}
	buf_add(&b, "", 1);
	if (b.len - 1 > BUNDLE_VERSION_MAX || !bundle_semver_is_valid(b.data)) {
		xasprintf(cause, "version \"%s\" from pattern \"%s\" is not a "
		    "valid semantic version of at most %d bytes", b.data,
		    pattern != NULL ? pattern : BUNDLE_VERSION_PATTERN,
		    BUNDLE_VERSION_MAX);
		buf_free(&b);
		return (-1);
	}
	snprintf(out, BUNDLE_VERSION_MAX + 1, "%s", b.data);
	buf_free(&b);
	return (0);
}

/* The OCI tag of a chart version: "+" is not allowed in tags, Helm uses _. */
void
bundle_tag_of(const char *version, char out[BUNDLE_VERSION_MAX + 1])
{
	char	*p;

	snprintf(out, BUNDLE_VERSION_MAX + 1, "%s", version);
	for (p = out; *p != '\0'; p++)
		if (*p == '+')
			*p = '_';
}

/* ---- images ----------------------------------------------------------- */

/*
 * Split REPO[:TAG]@sha256:HEX into its repository, tag ("" without one)
 * and digest, each malloc'd. Returns 0 or -1.
 */
static int
bundle_image_split(const char *ref, char **repo, char **tag, char **digest)
{
	const char	*at, *slash, *colon;

	if ((at = strchr(ref, '@')) == NULL || at == ref ||
	    !oci_digest_is_valid(at + 1) || strncmp(at + 1, "sha256:", 7) != 0)
		return (-1);
	slash = strrchr(ref, '/');
	colon = memchr(ref, ':', (size_t)(at - ref));
	if (colon != NULL && slash != NULL && colon < slash) {
		/* host:port; look for a tag after the last slash */
		colon = memchr(slash, ':', (size_t)(at - slash));
	}
	if (colon != NULL && (colon == ref || colon + 1 == at))
		return (-1);
	if (colon != NULL) {
		*repo = xstrndup(ref, (size_t)(colon - ref));
		*tag = xstrndup(colon + 1, (size_t)(at - colon - 1));
	} else {
		*repo = xstrndup(ref, (size_t)(at - ref));
		*tag = xstrdup("");
	}
	*digest = xstrdup(at + 1);
	return (0);
}

/* Whether NAME=REF is usable: a values key and a reference by digest. */
int
bundle_image_is_valid(const char *name, const char *ref)
{
	char	*r, *t, *d;
	size_t	 i;

	if (*name == '\0')
		return (0);
	for (i = 0; name[i] != '\0'; i++)
		if (!isascii((unsigned char)name[i]) ||
		    !(isalnum((unsigned char)name[i]) || name[i] == '-' ||
		    name[i] == '_' || name[i] == '.'))
			return (0);
	if (bundle_image_split(ref, &r, &t, &d) != 0)
		return (0);
	free(r);
	free(t);
	free(d);
	return (1);
}

/* ---- YAML ------------------------------------------------------------- */

static int
ykey_is(yaml_document_t *d, int idx, const char *key)
{
	yaml_node_t	*k = yaml_document_get_node(d, idx);

	return (k != NULL && k->type == YAML_SCALAR_NODE &&
	    k->data.scalar.length == strlen(key) &&
	    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0);
}

/* The value of key in mapping map, or 0. */
static int
yfind(yaml_document_t *d, int map, const char *key)
{
	yaml_node_t		*m = yaml_document_get_node(d, map);
	yaml_node_pair_t	*p;

	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return (0);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++)
		if (ykey_is(d, p->key, key))
			return (p->value);
	return (0);
}

/* A copy of the scalar at idx, or NULL. */
static char *
yscalar(yaml_document_t *d, int idx)
{
	yaml_node_t	*n = yaml_document_get_node(d, idx);

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return (NULL);
	return (xstrndup((const char *)n->data.scalar.value,
	    n->data.scalar.length));
}

/* Set key of mapping map to the node value, replacing any value. */
static int
yset(yaml_document_t *d, int map, const char *key, int value)
{
	yaml_node_t		*m = yaml_document_get_node(d, map);
	yaml_node_pair_t	*p;
	int			 k;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		if (ykey_is(d, p->key, key)) {
			p->value = value;
			return (0);
		}
	}
	k = yaml_document_add_scalar(d, NULL, (yaml_char_t *)key, -1,
	    YAML_PLAIN_SCALAR_STYLE);
	if (k == 0 || !yaml_document_append_mapping_pair(d, map, k, value))
		return (-1);
	return (0);
}

static int
yset_str(yaml_document_t *d, int map, const char *key, const char *value)
{
	int	v;

	v = yaml_document_add_scalar(d, NULL, (yaml_char_t *)value, -1,
	    YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	if (v == 0)
		return (-1);
	return (yset(d, map, key, v));
}

/* The mapping under key of map, made (replacing a non-mapping) if need be. */
static int
ymap(yaml_document_t *d, int map, const char *key)
{
	yaml_node_t	*n;
	int		 v;

	if ((v = yfind(d, map, key)) != 0 &&
	    (n = yaml_document_get_node(d, v)) != NULL &&
	    n->type == YAML_MAPPING_NODE)
		return (v);
	v = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
	if (v == 0 || yset(d, map, key, v) != 0)
		return (0);
	return (v);
}

static int
yload(const char *data, size_t len, yaml_document_t *doc, const char *what,
    char **cause)
{
	yaml_parser_t	parser;
	int		ok;

	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data,
	    len);
	ok = yaml_parser_load(&parser, doc);
	if (!ok)
		xasprintf(cause, "%s: line %zu: %s", what,
		    parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "bad YAML");
	yaml_parser_delete(&parser);
	return (ok ? 0 : -1);
}

static int
ywrite(void *arg, unsigned char *data, size_t len)
{
	buf_add(arg, data, len);
	return (1);
}

/* Whether the node is a null scalar ("", "~", "null"). */
static int
yis_null(yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);
	v = (const char *)n->data.scalar.value;
	return (n->data.scalar.length == 0 || strcmp(v, "~") == 0 ||
	    strcasecmp(v, "null") == 0);
}

/* values.yaml (or nothing) with the image values merged in, malloc'd. */
static char *
bundle_values(const char *data, size_t len, const struct bundle_image *images,
    size_t nimages, size_t *outlen, char **cause)
{
	yaml_document_t	 doc;
	yaml_emitter_t	 e;
	yaml_node_t	*root;
	struct buf	 b;
	char		*repo, *tag, *digest;
	size_t		 i;
	int		 r = 1, werf, wimage, imgs, one, ok;

	if (data != NULL) {
		if (yload(data, len, &doc, "values.yaml", cause) != 0)
			return (NULL);
		root = yaml_document_get_root_node(&doc);
		if (root == NULL || yis_null(root)) {
			yaml_document_delete(&doc);
			data = NULL;
		} else if (root->type != YAML_MAPPING_NODE) {
			yaml_document_delete(&doc);
			xasprintf(cause, "values.yaml: not a mapping");
			return (NULL);
		}
	}
	if (data == NULL) {
		if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1) ||
		    (r = yaml_document_add_mapping(&doc, NULL,
		    YAML_BLOCK_MAPPING_STYLE)) == 0)
			fatalx("yaml_document_initialize");
	}
	ok = 1;
	for (i = 0; ok && i < nimages; i++) {
		if (bundle_image_split(images[i].ref, &repo, &tag,
		    &digest) != 0) {
			ok = 0;
			break;
		}
		werf = ymap(&doc, r, "werf");
		wimage = werf != 0 ? ymap(&doc, werf, "image") : 0;
		imgs = ymap(&doc, r, "images");
		one = imgs != 0 ? ymap(&doc, imgs, images[i].name) : 0;
		if (wimage == 0 || one == 0 ||
		    yset_str(&doc, wimage, images[i].name, images[i].ref) != 0 ||
		    yset_str(&doc, one, "repository", repo) != 0 ||
		    yset_str(&doc, one, "tag", tag) != 0 ||
		    yset_str(&doc, one, "digest", digest) != 0)
			ok = 0;
		free(repo);
		free(tag);
		free(digest);
	}
	if (!ok) {
		yaml_document_delete(&doc);
		xasprintf(cause, "values.yaml: cannot set image %s",
		    images[i].name);
		return (NULL);
	}
	buf_init(&b);
	if (!yaml_emitter_initialize(&e))
		fatalx("yaml_emitter_initialize");
	yaml_emitter_set_output(&e, ywrite, &b);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	ok = yaml_emitter_open(&e) && yaml_emitter_dump(&e, &doc) &&
	    yaml_emitter_close(&e) && yaml_emitter_flush(&e);
	if (!ok)
		xasprintf(cause, "values.yaml: %s",
		    e.problem != NULL ? e.problem : "cannot emit");
	yaml_emitter_delete(&e);
	if (!ok) {
		buf_free(&b);
		return (NULL);
	}
	buf_add(&b, "", 1);
	*outlen = b.len - 1;
	return (b.data);
}

/* The chart's name from a loaded Chart.yaml: [A-Za-z0-9._-], not . or .. */
static char *
bundle_chart_name(yaml_document_t *doc, char **cause)
{
	char	*name;
	size_t	 i;

	name = yscalar(doc, yfind(doc, 1, "name"));
	if (name == NULL || *name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		goto bad;
	for (i = 0; name[i] != '\0'; i++)
		if (!isascii((unsigned char)name[i]) ||
		    !(isalnum((unsigned char)name[i]) || name[i] == '-' ||
		    name[i] == '_' || name[i] == '.'))
			goto bad;
	return (name);
bad:
	xasprintf(cause, "Chart.yaml: no usable name%s%s%s",
	    name != NULL ? " (\"" : "", name != NULL ? name : "",
	    name != NULL ? "\")" : "");
	free(name);
	return (NULL);
}

/*
 * Chart.yaml with its top-level "version:" line replaced by the version
 * (one is added at the end if there is none). malloc'd.
 */
static char *
bundle_chart_set_version(const char *data, size_t len, const char *version,
    size_t *outlen)
{
	struct buf	 b;
	const char	*line = data, *end = data + len, *nl, *p;
	int		 done = 0;

	buf_init(&b);
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		nl = nl != NULL ? nl + 1 : end;
		p = line;
		if (!done && (size_t)(nl - line) >= 8 &&
		    strncmp(line, "version", 7) == 0) {
			for (p = line + 7; p < nl && (*p == ' ' || *p == '\t');
			    p++)
				;
		}
		if (p < nl && p != line && *p == ':') {
			buf_addstr(&b, "version: \"");
			buf_addstr(&b, version);
			buf_addstr(&b, "\"\n");
			done = 1;
		} else
			buf_add(&b, line, (size_t)(nl - line));
		line = nl;
	}
	if (!done) {
		if (b.len > 0 && b.data[b.len - 1] != '\n')
			buf_addstr(&b, "\n");
		buf_addstr(&b, "version: \"");
		buf_addstr(&b, version);
		buf_addstr(&b, "\"\n");
	}
	buf_add(&b, "", 1);
	*outlen = b.len - 1;
	return (b.data);
}

/* ---- the archive ------------------------------------------------------ */

static la_ssize_t
bundle_tar_write(struct archive *a, void *arg, const void *data, size_t len)
{
	buf_add(arg, data, len);
	return ((la_ssize_t)len);
}

static int
bundle_file_cmp(const void *a, const void *b)
{
	const struct bundle_file	*fa = a, *fb = b;

	return (strcmp(fa->path, fb->path));
}

static int
bundle_tar(const char *name, struct bundle_file *files, size_t n,
    long long mtime, struct buf *out, char **cause)
{
	struct archive		*a;
	struct archive_entry	*e = NULL;
	char			*path = NULL;
	size_t			 i;
	int			 rc = -1;

	a = archive_write_new();
	if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
	    archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "timestamp", NULL) !=
	    ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "gzip", "compression-level",
	    "9") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, bundle_tar_write, NULL) !=
	    ARCHIVE_OK) {
		xasprintf(cause, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(path);
		xasprintf(&path, "%s/%s", name, files[i].path);
		e = archive_entry_new();
		archive_entry_set_pathname(e, path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, files[i].executable ? 0755 : 0644);
		archive_entry_set_size(e, (la_int64_t)files[i].len);
		archive_entry_set_mtime(e, (time_t)mtime, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (files[i].len > 0 && archive_write_data(a, files[i].data,
		    files[i].len) != (la_ssize_t)files[i].len)) {
			xasprintf(cause, "%s: %s", path,
			    archive_error_string(a));
			goto out;
		}
		archive_entry_free(e);
		e = NULL;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		xasprintf(cause, "libarchive: %s", archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	free(path);
	archive_entry_free(e);
	archive_write_free(a);
	return (rc);
}

/*
 * Package the chart in chart_dir (NULL for .helm) of commit sha in the
 * repository at gitdir, as version, referencing the images. Returns 0 with
 * the .tgz bytes in *out (the caller frees them) and their length in
 * *outlen, or -1 with *cause set.
 */
int
bundle_package(const char *gitdir, const char *sha, const char *chart_dir,
    const struct bundle_image *images, size_t nimages, const char *version,
    unsigned char **out, size_t *outlen, char **cause)
{
	yaml_document_t		 doc;
	struct repo_file	*list = NULL;
	struct bundle_file	*files = NULL;
	struct buf		 tgz;
	char			*path = NULL, *name = NULL, *data, *got;
	long long		 mtime;
	size_t			 nlist = 0, n = 0, i, len;
	int			 r, rc = -1, loaded = 0, have_values = 0;

	*out = NULL;
	*outlen = 0;
	*cause = NULL;
	buf_init(&tgz);
	if (chart_dir == NULL)
		chart_dir = BUNDLE_CHART_DIR;
	if (!bundle_semver_is_valid(version)) {
		xasprintf(cause, "version \"%s\" is not a semantic version",
		    version);
		return (-1);
	}
	for (i = 0; i < nimages; i++) {
		if (!bundle_image_is_valid(images[i].name, images[i].ref)) {
			xasprintf(cause, "image %s=%s: expected "
			    "NAME=REPO[:TAG]@sha256:DIGEST", images[i].name,
			    images[i].ref);
			return (-1);
		}
	}
	if ((mtime = repo_commit_time(gitdir, sha)) < 0) {
		xasprintf(cause, "commit %.12s: no committer time", sha);
		return (-1);
	}
	r = repo_list_files(gitdir, sha, chart_dir, &list, &nlist, cause);
	if (r == 1) {
		xasprintf(cause, "no %s folder at %.12s", chart_dir, sha);
		goto out;
	}
	if (r != 0)
		goto out;

	files = xcalloc(nlist + 1, sizeof *files);
	for (i = 0; i < nlist; i++) {
		free(path);
		xasprintf(&path, "%s/%s", chart_dir, list[i].path);
		data = repo_read_file(gitdir, sha, path, BUNDLE_FILE_MAX, &len,
		    cause);
		if (data == NULL) {
			if (*cause == NULL)
				xasprintf(cause, "%s vanished", path);
			goto out;
		}
		files[n].path = xstrdup(list[i].path);
		files[n].data = data;
		files[n].len = len;
		files[n].executable = list[i].executable;
		n++;
	}

	/* Chart.yaml: its name, and the version set. */
	for (i = 0; i < n; i++)
		if (strcmp(files[i].path, "Chart.yaml") == 0)
			break;
	if (i == n) {
		xasprintf(cause, "no Chart.yaml in %s at %.12s", chart_dir, sha);
		goto out;
	}
	data = bundle_chart_set_version(files[i].data, files[i].len, version,
	    &len);
	free(files[i].data);
	files[i].data = data;
	files[i].len = len;
	if (yload(data, len, &doc, "Chart.yaml", cause) != 0)
		goto out;
	loaded = 1;
	if (yaml_document_get_root_node(&doc) == NULL ||
	    yaml_document_get_root_node(&doc)->type != YAML_MAPPING_NODE) {
		xasprintf(cause, "Chart.yaml: not a mapping");
		goto out;
	}
	if ((name = bundle_chart_name(&doc, cause)) == NULL)
		goto out;
	got = yscalar(&doc, yfind(&doc, 1, "version"));
	r = got != NULL && strcmp(got, version) == 0;
	free(got);
	if (!r) {
		xasprintf(cause, "Chart.yaml: cannot set version (is "
		    "\"version:\" at the start of a line?)");
		goto out;
	}

	/* values.yaml, made if there is none. */
	for (i = 0; i < n; i++) {
		if (strcmp(files[i].path, "values.yaml") == 0) {
			have_values = 1;
			break;
		}
	}
	if (!have_values) {
		files[n].path = xstrdup("values.yaml");
		files[n].data = NULL;
		files[n].len = 0;
		files[n].executable = 0;
		i = n++;
	}
	data = bundle_values(files[i].data, files[i].len, images, nimages,
	    &len, cause);
	if (data == NULL)
		goto out;
	free(files[i].data);
	files[i].data = data;
	files[i].len = len;

	qsort(files, n, sizeof *files, bundle_file_cmp);
	if (bundle_tar(name, files, n, mtime, &tgz, cause) != 0)
		goto out;
	*out = (unsigned char *)tgz.data;
	*outlen = tgz.len;
	tgz.data = NULL;
	rc = 0;
out:
	if (loaded)
		yaml_document_delete(&doc);
	for (i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].data);
	}
	free(files);
	repo_files_free(list, nlist);
	free(path);
	free(name);
	buf_free(&tgz);
	return (rc);
}

/* ---- publishing ------------------------------------------------------- */

/* <chart>/Chart.yaml out of a chart archive, malloc'd. */
static char *
bundle_read_chart(const unsigned char *tgz, size_t len, size_t *outlen,
    char **cause)
{
	struct archive		*a;
	struct archive_entry	*e;
	const char		*p, *slash;
	char			*data = NULL;
	la_int64_t		 size;
	la_ssize_t		 got;
	int			 r;

	a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, tgz, len) != ARCHIVE_OK) {
		xasprintf(cause, "chart archive: %s", archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		p = archive_entry_pathname(e);
		if (p == NULL || (slash = strchr(p, '/')) == NULL ||
		    strcmp(slash + 1, "Chart.yaml") != 0)
			continue;
		size = archive_entry_size(e);
		if (size < 0 || size > BUNDLE_CHART_MAX) {
			xasprintf(cause, "chart archive: %s: too large", p);
			goto out;
		}
		data = xmalloc((size_t)size + 1);
		got = archive_read_data(a, data, (size_t)size);
		if (got != (la_ssize_t)size) {
			xasprintf(cause, "chart archive: %s: short read", p);
			free(data);
			data = NULL;
			goto out;
		}
		data[size] = '\0';
		*outlen = (size_t)size;
		goto out;
	}
	if (r != ARCHIVE_EOF)
		xasprintf(cause, "chart archive: %s", archive_error_string(a));
	else
		xasprintf(cause, "chart archive: no <chart>/Chart.yaml");
out:
	archive_read_free(a);
	return (data);
}

static void
json_set_scalar(json_t *o, yaml_document_t *d, int map, const char *key)
{
	char	*v;

	if ((v = yscalar(d, yfind(d, map, key))) != NULL && *v != '\0')
		json_object_set_new(o, key, json_string(v));
	free(v);
}

static void
json_set_bool(json_t *o, yaml_document_t *d, int map, const char *key)
{
	char	*v;

	if ((v = yscalar(d, yfind(d, map, key))) != NULL &&
	    strcmp(v, "true") == 0)
		json_object_set_new(o, key, json_true());
	free(v);
}

static void
json_set_strings(json_t *o, yaml_document_t *d, int map, const char *key)
{
	yaml_node_t	*n = yaml_document_get_node(d, yfind(d, map, key));
	yaml_node_item_t *it;
	json_t		*arr;
	char		*v;

	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return;
	arr = json_array();
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((v = yscalar(d, *it)) != NULL)
			json_array_append_new(arr, json_string(v));
		free(v);
	}
	if (json_array_size(arr) > 0)
		json_object_set_new(o, key, arr);
	else
		json_decref(arr);
}

static int
str_cmp(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

/* A map of strings, with its keys sorted (as Go's encoding/json does). */
static void
json_set_strmap(json_t *o, yaml_document_t *d, int map, const char *key)
{
	yaml_node_t		*n = yaml_document_get_node(d,
				    yfind(d, map, key));
	yaml_node_pair_t	*p;
	json_t			*obj;
	char			**keys;
	char			*v;
	size_t			 nk = 0, i;
	int			 idx;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return;
	idx = yfind(d, map, key);
	keys = xcalloc((size_t)(n->data.mapping.pairs.top -
	    n->data.mapping.pairs.start) + 1, sizeof *keys);
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++)
		if ((v = yscalar(d, p->key)) != NULL)
			keys[nk++] = v;
	qsort(keys, nk, sizeof *keys, str_cmp);
	obj = json_object();
	for (i = 0; i < nk; i++) {
		if ((v = yscalar(d, yfind(d, idx, keys[i]))) != NULL)
			json_object_set_new(obj, keys[i], json_string(v));
		free(v);
		free(keys[i]);
	}
	free(keys);
	if (json_object_size(obj) > 0)
		json_object_set_new(o, key, obj);
	else
		json_decref(obj);
}

/* A list of mappings with the given keys (scalars; "enabled" a bool). */
static void
json_set_objects(json_t *o, yaml_document_t *d, int map, const char *key,
    const char *const *fields)
{
	yaml_node_t		*n = yaml_document_get_node(d,
				    yfind(d, map, key)), *m;
	yaml_node_item_t	*it;
	json_t			*arr, *one;
	size_t			 i;

	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return;
	arr = json_array();
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		m = yaml_document_get_node(d, *it);
		if (m == NULL || m->type != YAML_MAPPING_NODE)
			continue;
		one = json_object();
		for (i = 0; fields[i] != NULL; i++) {
			if (strcmp(fields[i], "enabled") == 0)
				json_set_bool(one, d, *it, fields[i]);
			else if (strcmp(fields[i], "tags") == 0)
				json_set_strings(one, d, *it, fields[i]);
			else
				json_set_scalar(one, d, *it, fields[i]);
		}
		json_array_append_new(arr, one);
	}
	if (json_array_size(arr) > 0)
		json_object_set_new(o, key, arr);
	else
		json_decref(arr);
}

/*
 * The config blob: Chart.yaml's metadata as JSON, in the order and with
 * the omitempty rules of Helm's chart.Metadata. Also the name, version,
 * description, home and first source for the annotations.
 */
static char *
bundle_config(const char *chart, size_t len, json_t **meta, char **cause)
{
	static const char *const maint[] = { "name", "email", "url", NULL };
	static const char *const deps[] = { "name", "version", "repository",
	    "condition", "tags", "enabled", "alias", NULL };
	yaml_document_t	 doc;
	yaml_node_t	*root;
	json_t		*o;
	char		*s = NULL;

	if (yload(chart, len, &doc, "Chart.yaml", cause) != 0)
		return (NULL);
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		xasprintf(cause, "Chart.yaml: not a mapping");
		goto out;
	}
	o = json_object();
	json_set_scalar(o, &doc, 1, "name");
	json_set_scalar(o, &doc, 1, "home");
	json_set_strings(o, &doc, 1, "sources");
	json_set_scalar(o, &doc, 1, "version");
	json_set_scalar(o, &doc, 1, "description");
	json_set_strings(o, &doc, 1, "keywords");
	json_set_objects(o, &doc, 1, "maintainers", maint);
	json_set_scalar(o, &doc, 1, "icon");
	json_set_scalar(o, &doc, 1, "apiVersion");
	json_set_scalar(o, &doc, 1, "condition");
	json_set_scalar(o, &doc, 1, "tags");
	json_set_scalar(o, &doc, 1, "appVersion");
	json_set_bool(o, &doc, 1, "deprecated");
	json_set_strmap(o, &doc, 1, "annotations");
	json_set_scalar(o, &doc, 1, "kubeVersion");
	json_set_objects(o, &doc, 1, "dependencies", deps);
	json_set_scalar(o, &doc, 1, "type");
	if (json_object_get(o, "name") == NULL ||
	    json_object_get(o, "version") == NULL) {
		xasprintf(cause, "Chart.yaml: no name or no version");
		json_decref(o);
		goto out;
	}
	s = json_dumps(o, JSON_COMPACT);
	*meta = o;
out:
	yaml_document_delete(&doc);
	return (s);
}

static void
manifest_descriptor(struct buf *b, const char *mt, const char *digest,
    size_t size)
{
	buf_addstr(b, "{\"mediaType\":");
	buf_add_json_str(b, mt);
	buf_addstr(b, ",\"digest\":");
	buf_add_json_str(b, digest);
	buf_addstr(b, ",\"size\":");
	buf_add_int(b, (long long)size);
	buf_addstr(b, "}");
}

static void
manifest_annotation(struct buf *b, json_t *meta, const char *key,
    const char *name, int *first)
{
	json_t		*v = json_object_get(meta, key);
	const char	*s;

	if (v != NULL && json_is_array(v))
		v = json_array_get(v, 0);
	if (v == NULL || (s = json_string_value(v)) == NULL)
		return;
	buf_addstr(b, *first ? "" : ",");
	buf_add_json_str(b, name);
	buf_addstr(b, ":");
	buf_add_json_str(b, s);
	*first = 0;
}

/*
 * Publish the chart archive tgz to repo:tag through c. Returns 0 when it
 * was pushed, 1 when the tag held exactly this manifest already, with the
 * manifest's digest in digest; -1 with *cause set on error, and when the
 * tag holds anything else: it is never overwritten.
 */
int
bundle_publish(struct oci_client *c, const char *repo, const char *tag,
    const unsigned char *tgz, size_t len, char digest[OCI_DIGEST_LEN],
    char **cause)
{
	struct buf	 m;
	json_t		*meta = NULL;
	char		 hex[SHA256_HEX_LEN + 1], cdig[OCI_DIGEST_LEN];
	char		 ldig[OCI_DIGEST_LEN], mdig[OCI_DIGEST_LEN];
	char		 have[OCI_DIGEST_LEN], got[OCI_DIGEST_LEN];
	char		*chart, *config = NULL, *mtype = NULL;
	size_t		 chartlen = 0;
	int		 r, rc = -1, first = 1;

	*cause = NULL;
	buf_init(&m);
	if ((chart = bundle_read_chart(tgz, len, &chartlen, cause)) == NULL)
		return (-1);
	if ((config = bundle_config(chart, chartlen, &meta, cause)) == NULL)
		goto out;

	sha256_hex(config, strlen(config), hex);
	snprintf(cdig, sizeof cdig, "sha256:%s", hex);
	sha256_hex(tgz, len, hex);
	snprintf(ldig, sizeof ldig, "sha256:%s", hex);

	/* As helm push writes it: no mediaType field, no creation time. */
	buf_addstr(&m, "{\"schemaVersion\":2,\"config\":");
	manifest_descriptor(&m, BUNDLE_MT_CONFIG, cdig, strlen(config));
	buf_addstr(&m, ",\"layers\":[");
	manifest_descriptor(&m, BUNDLE_MT_CHART, ldig, len);
	buf_addstr(&m, "],\"annotations\":{");
	manifest_annotation(&m, meta, "description",
	    "org.opencontainers.image.description", &first);
	manifest_annotation(&m, meta, "sources",
	    "org.opencontainers.image.source", &first);
	manifest_annotation(&m, meta, "name",
	    "org.opencontainers.image.title", &first);
	manifest_annotation(&m, meta, "home",
	    "org.opencontainers.image.url", &first);
	manifest_annotation(&m, meta, "version",
	    "org.opencontainers.image.version", &first);
	buf_addstr(&m, "}}");
	sha256_hex(m.data, m.len, hex);
	snprintf(mdig, sizeof mdig, "sha256:%s", hex);

	/* Never overwrite. */
	if ((r = oci_manifest_head(c, repo, tag, have, &mtype, cause)) == -1)
		goto out;
	if (r == 0) {
		if (strcmp(have, mdig) != 0) {
			xasprintf(cause, "tag %s:%s already holds %s; this "
			    "commit gives %s; published artifacts are never "
			    "overwritten", repo, tag, have, mdig);
			goto out;
		}
		snprintf(digest, OCI_DIGEST_LEN, "%s", mdig);
		rc = 1;
		goto out;
	}
	if (oci_blob_upload(c, repo, config, strlen(config), got, cause) != 0)
		goto out;
	if (oci_blob_upload(c, repo, tgz, len, got, cause) != 0)
		goto out;
	if (oci_manifest_put(c, repo, tag, OCI_MT_MANIFEST, m.data, m.len,
	    got, cause) != 0)
		goto out;
	if (strcmp(got, mdig) != 0) {
		xasprintf(cause, "registry stored %s:%s as %s, not %s", repo,
		    tag, got, mdig);
		goto out;
	}
	snprintf(digest, OCI_DIGEST_LEN, "%s", mdig);
	rc = 0;
out:
	json_decref(meta);
	free(mtype);
	free(config);
	free(chart);
	buf_free(&m);
	return (rc);
}
