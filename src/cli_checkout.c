/*
 * `ferry checkout`: what ferryd runs as a child before a pipeline, and what
 * a person can run by hand. It fetches the project's bare mirror, settles
 * which commit to build (the ref's tip, or --sha once it is shown to be on
 * the ref), checks that the required files are committed there, writes the
 * commit's `.ferry.yaml` out, and checks the commit out into a fresh
 * worktree. Results go to standard output one per line ("commit <sha>",
 * "pipeline: none", "werf: yes", "worktree <dir>") and, with --result, to
 * a file for ferryd ("commit=<sha>", "pipeline=yes|none", "werf=yes|no"),
 * written last and only on success; progress with timings and the
 * one-line error go to standard error. No shell and no git command is ever
 * run: everything goes through repo.c and libgit2. ferryd gives the ref and
 * commit of a webhook in FERRY_CHECKOUT_REF and FERRY_CHECKOUT_SHA, which
 * --ref and --sha replace.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fts.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "pipeline.h"
#include "repo.h"
#include "util.h"
#include "xmalloc.h"

#define CHECKOUT_WERF_FILE	"werf.yaml"
#define CHECKOUT_REQUIRE_MAX	64

static int	checkout_fail(const char *, ...) printflike(1, 2);

/* Print "ferry: checkout: <message>"; returns the failure exit code. */
static int
checkout_fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "ferry: checkout: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return (1);
}

static void
checkout_usage(void)
{
	fprintf(stderr, "usage: ferry checkout --mirror DIR --url URL "
	    "--ref REF [--sha SHA] [--worktree DIR] [--token-file F] "
	    "[--username U] [--password-file F] [--ssh-key F] "
	    "[--require PATH]... [--pipeline-out FILE] [--result FILE]\n");
}

/* Milliseconds on the monotonic clock, for timings. */
static int64_t
checkout_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Whether s has a control character in it: 1 or 0. */
static int
checkout_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (1);
	}
	return (0);
}

/* Whether a local path is usable: not empty, no control characters. */
static int
checkout_dir_is_valid(const char *path)
{
	return (*path != '\0' && !checkout_has_control(path));
}

/*
 * Whether path can name a file in a tree: relative, no empty, "." or ".."
 * component, no control characters. Returns 1 or 0.
 */
static int
checkout_path_is_valid(const char *path)
{
	const char	*p, *c;
	size_t		 n;

	if (*path == '\0' || *path == '/' || checkout_has_control(path))
		return (0);
	for (c = path; ; c = p + 1) {
		p = strchr(c, '/');
		n = p == NULL ? strlen(c) : (size_t)(p - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return (0);
		if (p == NULL)
			return (1);
	}
}

/*
 * Write len bytes to path through a temporary file and a rename, so that a
 * reader never sees half a pipeline.
 */
static int
checkout_write_file(const char *path, const char *data, size_t len,
    char **cause)
{
	char	*tmp;
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	xasprintf(&tmp, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(tmp);
		return (-1);
	}
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0640) == -1 || close(fd) == -1) {
		fd = -1;
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return (rc);
}

/* The number of files and symbolic links under dir. */
static size_t
checkout_count_files(const char *dir)
{
	FTS	*fts;
	FTSENT	*e;
	char	*paths[2];
	size_t	 n = 0;

	paths[0] = (char *)dir;
	paths[1] = NULL;
	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOSTAT, NULL)) == NULL)
		return (0);
	while ((e = fts_read(fts)) != NULL) {
		if (e->fts_info != FTS_D && e->fts_info != FTS_DP &&
		    e->fts_info != FTS_DNR && e->fts_info != FTS_ERR)
			n++;
	}
	fts_close(fts);
	return (n);
}

int
cli_checkout(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "mirror", required_argument, NULL, 'm' },
		{ "url", required_argument, NULL, 'u' },
		{ "ref", required_argument, NULL, 'r' },
		{ "sha", required_argument, NULL, 's' },
		{ "worktree", required_argument, NULL, 'w' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "username", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "ssh-key", required_argument, NULL, 'K' },
		{ "require", required_argument, NULL, 'R' },
		{ "pipeline-out", required_argument, NULL, 'o' },
		{ "result", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	struct repo_auth		 auth;
	const char			*mirror = NULL, *url = NULL;
	const char			*ref = NULL, *sha = NULL;
	const char			*worktree = NULL, *pipeout = NULL;
	const char			*result = NULL;
	const char			*require[CHECKOUT_REQUIRE_MAX];
	char				 full[REPO_SHA_MAX + 1];
	char				*cause = NULL, *safe = NULL;
	char				*pipeline = NULL, *res = NULL;
	size_t				 nrequire = 0, i, len;
	int64_t				 t0, ms;
	int				 ch, werf = 0, rc = 1;

	memset(&auth, 0, sizeof auth);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			mirror = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'r':
			ref = optarg;
			break;
		case 's':
			sha = optarg;
			break;
		case 'w':
			worktree = optarg;
			break;
		case 'T':
			auth.token_file = optarg;
			break;
		case 'U':
			auth.username = optarg;
			break;
		case 'P':
			auth.password_file = optarg;
			break;
		case 'K':
			auth.ssh_key_file = optarg;
			break;
		case 'R':
			if (nrequire == CHECKOUT_REQUIRE_MAX) {
				checkout_fail("at most %d --require paths",
				    CHECKOUT_REQUIRE_MAX);
				goto out;
			}
			require[nrequire++] = optarg;
			break;
		case 'o':
			pipeout = optarg;
			break;
		case 'O':
			result = optarg;
			break;
		default:
			checkout_usage();
			goto out;
		}
	}
	/* How ferryd passes what came in a webhook: not as arguments. */
	if (ref == NULL)
		ref = getenv("FERRY_CHECKOUT_REF");
	if (sha == NULL && (sha = getenv("FERRY_CHECKOUT_SHA")) != NULL &&
	    *sha == '\0')
		sha = NULL;
	if (optind != argc || mirror == NULL || url == NULL || ref == NULL) {
		checkout_usage();
		goto out;
	}

	/*
	 * Nothing from the command line reaches libgit2 unchecked, and
	 * nothing could break the one-line-per-result output.
	 */
	if (!checkout_dir_is_valid(mirror) ||
	    (worktree != NULL && !checkout_dir_is_valid(worktree)) ||
	    (pipeout != NULL && !checkout_dir_is_valid(pipeout)) ||
	    (result != NULL && !checkout_dir_is_valid(result))) {
		checkout_fail("empty path, or control characters in a path");
		goto out;
	}
	if (*url == '\0' || checkout_has_control(url)) {
		checkout_fail("malformed URL");
		goto out;
	}
	if (!ref_is_valid(ref)) {
		checkout_fail("malformed ref \"%.100s\"", ref);
		goto out;
	}
	if (strncmp(ref, "refs/heads/", 11) != 0 &&
	    strncmp(ref, "refs/tags/", 10) != 0) {
		checkout_fail("%s: only branches (refs/heads/) and tags "
		    "(refs/tags/) are mirrored", ref);
		goto out;
	}
	if (sha != NULL && !sha_is_valid(sha)) {
		checkout_fail("malformed commit id \"%.70s\"", sha);
		goto out;
	}
	if (auth.token_file != NULL && auth.password_file != NULL) {
		checkout_fail("--token-file and --password-file exclude each "
		    "other");
		goto out;
	}
	for (i = 0; i < nrequire; i++) {
		if (!checkout_path_is_valid(require[i])) {
			checkout_fail("bad --require path \"%.100s\"",
			    require[i]);
			goto out;
		}
	}

	safe = repo_url_redact(url);
	t0 = checkout_ms();
	if (repo_mirror_fetch(mirror, url, &auth, &cause) != 0) {
		checkout_fail("%s", cause);
		goto out;
	}
	log_info("checkout: fetched %s in %lld ms", safe,
	    (long long)(checkout_ms() - t0));

	if (sha != NULL) {
		if (repo_commit_on_ref(mirror, ref, sha, full, &cause) != 0) {
			checkout_fail("%s", cause);
			goto out;
		}
	} else if (repo_resolve_ref(mirror, ref, full, &cause) != 0) {
		checkout_fail("%s", cause);
		goto out;
	}
	printf("commit %s\n", full);
	fflush(stdout);

	for (i = 0; i < nrequire; i++) {
		if (!repo_file_exists(mirror, full, require[i])) {
			checkout_fail("required file %s is not committed at "
			    "%.12s", require[i], full);
			goto out;
		}
	}

	if (pipeout != NULL || result != NULL) {
		pipeline = repo_read_file(mirror, full, PIPELINE_FILE,
		    PIPELINE_MAX_BYTES, &len, &cause);
		if (pipeline == NULL && cause != NULL) {
			checkout_fail("%s", cause);
			goto out;
		}
		werf = repo_file_exists(mirror, full, CHECKOUT_WERF_FILE);
	}
	if (pipeout != NULL) {
		if (pipeline != NULL && checkout_write_file(pipeout, pipeline,
		    len, &cause) != 0) {
			checkout_fail("%s", cause);
			goto out;
		}
		if (pipeline == NULL)
			printf("pipeline: none\n");
		if (werf)
			printf("werf: yes\n");
		fflush(stdout);
	}

	if (worktree != NULL) {
		t0 = checkout_ms();
		if (repo_checkout(mirror, full, worktree, &cause) != 0) {
			checkout_fail("%s", cause);
			goto out;
		}
		ms = checkout_ms() - t0;
		log_info("checkout: checked out %zu files in %lld ms",
		    checkout_count_files(worktree), (long long)ms);
		printf("worktree %s\n", worktree);
	}
	if (result != NULL) {
		xasprintf(&res, "commit=%s\npipeline=%s\nwerf=%s\n", full,
		    pipeline != NULL ? "yes" : "none", werf ? "yes" : "no");
		if (checkout_write_file(result, res, strlen(res),
		    &cause) != 0) {
			checkout_fail("%s", cause);
			goto out;
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		checkout_fail("standard output: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(res);
	free(pipeline);
	free(cause);
	free(safe);
	return (rc);
}
