/*
 * The gitops deploy driver's git work, run by `ferry gitops set` (a child
 * of ferryd, or by hand). It keeps a bare mirror of the GitOps repository
 * in a work directory, reads the file from the branch tip's tree, edits
 * one scalar in place with yamledit, and writes a commit whose tree
 * differs from the tip's in that file only, built in the object database
 * without a working copy. The commit is pushed as a fast-forward.
 *
 * DESIGN: runs on one work directory are serialized by an flock() on
 * gitops.lock, held from the first fetch to the last push. When the push
 * is refused, the branch is fetched again: if its tip moved (someone
 * pushed meanwhile), the edit is made again on the new tip, up to
 * GITOPS_ATTEMPTS times; if it did not move, the refusal is final (a hook
 * or a protected branch said no). Nothing is committed when the file
 * already holds the value.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitops.h"
#include "util.h"
#include "xmalloc.h"
#include "yamledit.h"

#define GITOPS_LOCK		"gitops.lock"
#define GITOPS_MIRROR		"mirror.git"
#define GITOPS_AUTHOR		"ferry <ferry@localhost>"
#define GITOPS_BRANCH		"main"

/* Whether s has a byte below 0x20 or DEL (a line break included). */
static int
gitops_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (1);
	}
	return (0);
}

/*
 * Split "Name <email>" into *name and *email (caller frees both). Returns
 * 0, or -1 with *cause set.
 */
int
gitops_parse_author(const char *s, char **name, char **email, char **cause)
{
	const char	*lt, *gt;
	size_t		 n;

	*name = *email = NULL;
	lt = strchr(s, '<');
	gt = strchr(s, '>');
	if (gitops_has_control(s) || lt == NULL || gt == NULL || gt < lt ||
	    gt[1] != '\0' || strchr(lt + 1, '<') != NULL || gt == lt + 1) {
		xasprintf(cause, "author \"%.100s\": expected 'Name <email>'",
		    s);
		return (-1);
	}
	for (n = (size_t)(lt - s); n > 0 && s[n - 1] == ' '; n--)
		;
	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	if (n == 0) {
		xasprintf(cause, "author: the name is empty");
		return (-1);
	}
	*name = xstrndup(s, n);
	*email = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return (0);
}

/* Whether path names a file inside a tree: relative, no "." or "..". */
static int
gitops_path_ok(const char *path)
{
	const char	*p = path, *e;
	size_t		 n;

	if (*path == '\0' || gitops_has_control(path))
		return (0);
	for (;;) {
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return (0);
		if (e == NULL)
			return (1);
		p = e + 1;
	}
}

/* Create the temporary work directory, or the given one. */
static char *
gitops_work_dir(const char *dir, int *tmp, char **cause)
{
	const char	*base;
	char		*path;

	*tmp = 0;
	if (dir != NULL) {
		if (mkdirs(dir, 0700) != 0) {
			xasprintf(cause, "work directory %s: %s", dir,
			    strerror(errno));
			return (NULL);
		}
		return (xstrdup(dir));
	}
	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	xasprintf(&path, "%s/ferry-gitops.XXXXXX", base);
	if (mkdtemp(path) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return (NULL);
	}
	*tmp = 1;
	return (path);
}

/* Take the work directory's lock; returns the descriptor or -1. */
static int
gitops_lock(const char *dir, char **cause)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/%s", dir, GITOPS_LOCK);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return (-1);
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			xasprintf(cause, "%s: flock: %s", path,
			    strerror(errno));
			close(fd);
			free(path);
			return (-1);
		}
	}
	free(path);
	return (fd);
}

/* Check what the change names before any network work. */
static int
gitops_check(const struct gitops_change *c, char **cause)
{
	char	*why = NULL, *ref;
	int	 ok;

	if (yamledit_value_ok(c->value, &why) != 0) {
		xasprintf(cause, "refused: %s", why);
		free(why);
		return (-1);
	}
	if (!gitops_path_ok(c->file)) {
		xasprintf(cause, "bad file path \"%.100s\" (a path relative to "
		    "the repository's top, without . or ..)", c->file);
		return (-1);
	}
	if (c->key[0] == '\0' || gitops_has_control(c->key)) {
		xasprintf(cause, "bad key \"%.100s\"", c->key);
		return (-1);
	}
	if (c->branch != NULL) {
		xasprintf(&ref, "refs/heads/%s", c->branch);
		ok = ref_is_valid(ref);
		free(ref);
		if (!ok) {
			xasprintf(cause, "bad branch name \"%.100s\"",
			    c->branch);
			return (-1);
		}
	}
	return (0);
}

/*
 * Set c->key in c->file on the branch to c->value and push the commit.
 * Returns 0 with *changed set (1: committed, 0: the value was already
 * there) and sha set to the new commit or the unchanged tip; -1 with
 * *cause set (never holding a credential).
 */
int
gitops_set(const struct gitops_change *c, int *changed,
    char sha[REPO_SHA_MAX + 1], char **cause)
{
	char		 tip[REPO_SHA_MAX + 1], last[REPO_SHA_MAX + 1];
	char		 commit[REPO_SHA_MAX + 1];
	char		*dir = NULL, *mirror = NULL, *branch = NULL, *ref = NULL;
	char		*name = NULL, *email = NULL, *msg = NULL, *safe;
	char		*data = NULL, *out = NULL, *why = NULL, *refused = NULL;
	size_t		 len, outlen;
	int		 tmp = 0, fd = -1, attempt, ch, r, rc = -1;

	*changed = 0;
	*sha = '\0';
	last[0] = '\0';
	safe = repo_url_redact(c->url);
	if (gitops_check(c, cause) != 0)
		goto out;
	if (gitops_parse_author(c->author != NULL ? c->author : GITOPS_AUTHOR,
	    &name, &email, cause) != 0)
		goto out;
	if (c->message != NULL && *c->message != '\0')
		xasprintf(&msg, "%s%s", c->message,
		    c->message[strlen(c->message) - 1] == '\n' ? "" : "\n");
	else
		xasprintf(&msg, "ferry: set %s to %s in %s\n", c->key, c->value,
		    c->file);
	if ((dir = gitops_work_dir(c->work_dir, &tmp, cause)) == NULL)
		goto out;
	if ((fd = gitops_lock(dir, cause)) == -1)
		goto out;
	xasprintf(&mirror, "%s/%s", dir, GITOPS_MIRROR);

	for (attempt = 1; attempt <= GITOPS_ATTEMPTS; attempt++) {
		if (repo_mirror_fetch(mirror, c->url, &c->auth, cause) != 0)
			goto out;
		if (ref == NULL) {
			if (c->branch != NULL)
				branch = xstrdup(c->branch);
			else if ((r = repo_remote_head(mirror, c->url,
			    &c->auth, &branch, cause)) == -1)
				goto out;
			else if (r == 1)
				branch = xstrdup(GITOPS_BRANCH);
			xasprintf(&ref, "refs/heads/%s", branch);
		}
		if (repo_resolve_ref(mirror, ref, tip, &why) != 0) {
			xasprintf(cause, "branch %s of %s: %s", branch, safe,
			    why);
			goto out;
		}
		if (refused != NULL) {
			/* Refused although nobody moved the branch: final. */
			if (strcmp(tip, last) == 0) {
				*cause = refused;
				refused = NULL;
				goto out;
			}
			log_info("%s: %s moved to %.12s meanwhile; applying "
			    "again (attempt %d)", safe, branch, tip, attempt);
			free(refused);
			refused = NULL;
		}
		free(data);
		data = repo_read_file(mirror, tip, c->file, GITOPS_FILE_MAX,
		    &len, &why);
		if (data == NULL) {
			if (why == NULL)
				xasprintf(cause, "%s not found on branch %s "
				    "(%.12s)", c->file, branch, tip);
			else
				xasprintf(cause, "%s", why);
			goto out;
		}
		free(out);
		out = NULL;
		if (yamledit_set(data, len, c->key, c->value, &out, &outlen,
		    &ch, &why) != 0) {
			xasprintf(cause, "%s on branch %s (%.12s): %s", c->file,
			    branch, tip, why);
			goto out;
		}
		if (!ch) {
			snprintf(sha, REPO_SHA_MAX + 1, "%s", tip);
			rc = 0;
			goto out;
		}
		if (repo_commit_file(mirror, tip, c->file, out, outlen, msg,
		    name, email, commit, cause) != 0)
			goto out;
		if ((r = repo_push(mirror, c->url, &c->auth, commit, ref,
		    &refused)) == -1) {
			*cause = refused;
			refused = NULL;
			goto out;
		}
		if (r == 0) {
			snprintf(sha, REPO_SHA_MAX + 1, "%s", commit);
			*changed = 1;
			rc = 0;
			goto out;
		}
		log_info("%s", refused);
		snprintf(last, sizeof last, "%s", tip);
	}
	xasprintf(cause, "push refused %d times, the branch moving each time; "
	    "last: %s", GITOPS_ATTEMPTS, refused);
out:
	if (fd != -1)
		close(fd);
	if (tmp && remove_tree(dir) != 0)
		log_warn("remove %s", dir);
	free(refused);
	free(why);
	free(out);
	free(data);
	free(msg);
	free(email);
	free(name);
	free(ref);
	free(branch);
	free(mirror);
	free(dir);
	free(safe);
	return (rc);
}
