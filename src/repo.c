/*
 * Git work with libgit2, for `ferry checkout`. A project has a bare mirror
 * whose remote "origin" names its URL; a fetch brings every branch and tag
 * over as they are upstream (forced, pruned) while holding an flock() on
 * ferry.lock in the mirror, so that two processes never fetch one mirror at
 * once. Readers need no lock: refs change by atomic renames and no object
 * is ever deleted. Everything else reads the object database only: refs
 * resolved to commits, a commit checked against its ref, files read from a
 * commit's tree, and a worktree written from a commit, never from a working
 * copy someone could have touched.
 *
 * libgit2 is initialized once per process and shut down at exit. Only the
 * mirror's own configuration counts: the system, XDG and global files are
 * not searched, so a user's url.insteadOf or core.autocrlf cannot change
 * what is fetched or written.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <git2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "repo.h"
#include "util.h"
#include "xmalloc.h"

#define REPO_REMOTE		"origin"
#define REPO_LOCK_FILE		"ferry.lock"
#define REPO_SPEC_HEADS		"+refs/heads/*:refs/heads/*"
#define REPO_SPEC_TAGS		"+refs/tags/*:refs/tags/*"
#define REPO_CFG_URL		"remote." REPO_REMOTE ".url"
#define REPO_CFG_FETCH		"remote." REPO_REMOTE ".fetch"
#define REPO_CFG_TAGOPT		"remote." REPO_REMOTE ".tagOpt"
#define REPO_CRED_TRIES		3
#define REPO_TOKEN_USER		"x-access-token"
#define REPO_SSH_USER		"git"
#define REPO_HIDDEN		"***"
#define REPO_TREE_DEPTH_MAX	256

/* One fetch: the payload of libgit2's callbacks. */
struct repo_fetch {
	const struct repo_auth	*auth;		/* borrowed */
	int			 tries;		/* credential requests */
	char			*secret;	/* token or password; wiped */
	char			*urlsecret;	/* from the URL; wiped */
	char			*why;		/* why we gave up, or NULL */
};

/* Writing a commit's tree into a worktree. */
struct repo_writer {
	git_repository	*repo;		/* borrowed */
	git_odb		*odb;
	size_t		 nfiles;	/* files and links written */
	size_t		 nsubmodules;	/* left as empty directories */
	char		**cause;
};

static int	repo_initialized;

static void	repo_fail(char **, const char *, ...) printflike(2, 3);

static void
repo_shutdown(void)
{
	git_libgit2_shutdown();
}

/*
 * Initialize libgit2 on first use and shut it down at exit. The empty
 * search paths keep the system, XDG and global configuration out.
 */
static void
repo_init(void)
{
	static const int	levels[] = { GIT_CONFIG_LEVEL_PROGRAMDATA,
	    GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
	    GIT_CONFIG_LEVEL_GLOBAL };
	size_t			i;

	if (repo_initialized)
		return;
	if (git_libgit2_init() < 0)
		fatalx("cannot initialize libgit2");
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		if (git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i],
		    "") != 0)
			fatalx("cannot set libgit2's config search path");
	}
	repo_initialized = 1;
	atexit(repo_shutdown);
}

/*
 * Set *cause to the formatted prefix, ": ", and libgit2's last error
 * message.
 */
static void
repo_fail(char **cause, const char *fmt, ...)
{
	const git_error	*e = git_error_last();
	va_list		 ap;
	char		*what;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	xasprintf(cause, "%s: %s", what, e != NULL && e->message != NULL &&
	    *e->message != '\0' ? e->message : "unknown libgit2 error");
	free(what);
}

/* Replace every occurrence of secret in *s by "***". */
static void
repo_scrub(char **s, const char *secret)
{
	struct buf	 b;
	const char	*p, *hit;
	size_t		 n;

	if (*s == NULL || secret == NULL || (n = strlen(secret)) == 0 ||
	    strstr(*s, secret) == NULL)
		return;
	buf_init(&b);
	for (p = *s; (hit = strstr(p, secret)) != NULL; p = hit + n) {
		buf_add(&b, p, (size_t)(hit - p));
		buf_addstr(&b, REPO_HIDDEN);
	}
	buf_addstr(&b, p);
	freezero_str(*s);
	*s = b.data;
}

/*
 * Where the user information of a scheme://user:pass@host URL is, if it
 * has one: sets *start and *len and returns 1, or returns 0.
 */
static int
repo_url_userinfo(const char *url, size_t *start, size_t *len)
{
	const char	*p, *end, *at = NULL, *q;

	if ((p = strstr(url, "://")) == NULL)
		return (0);
	p += 3;
	end = p + strcspn(p, "/?#");
	for (q = p; q < end; q++) {
		if (*q == '@')
			at = q;
	}
	if (at == NULL)
		return (0);
	*start = (size_t)(p - url);
	*len = (size_t)(at - p);
	return (1);
}

/*
 * The credentials in url: sets *start and *len to what must not be shown
 * or stored (a password, or a lone HTTP user name, which is often a token)
 * and returns 1; returns 0 if there is none.
 */
static int
repo_url_secret(const char *url, size_t *start, size_t *len)
{
	const char	*colon;
	size_t		 ui, uilen;

	if (!repo_url_userinfo(url, &ui, &uilen))
		return (0);
	if ((colon = memchr(url + ui, ':', uilen)) != NULL) {
		*start = (size_t)(colon - url) + 1;
		*len = ui + uilen - *start;
		return (1);
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return (0);
	*start = ui;
	*len = uilen;
	return (1);
}

/* A copy of url with its credentials shown as "***". Caller frees. */
char *
repo_url_redact(const char *url)
{
	char	*s;
	size_t	 start, len;

	if (!repo_url_secret(url, &start, &len))
		return (xstrdup(url));
	xasprintf(&s, "%.*s%s%s", (int)start, url, REPO_HIDDEN,
	    url + start + len);
	return (s);
}

/*
 * A copy of url without its credentials, to be stored in the mirror's
 * configuration: "https://host/x.git", "ssh://git@host/x.git". Caller
 * frees.
 */
static char *
repo_url_strip(const char *url)
{
	char	*s;
	size_t	 start, len;

	if (!repo_url_secret(url, &start, &len))
		return (xstrdup(url));
	/* Drop the ':' before a password, or the '@' after a token. */
	if (start > 0 && url[start - 1] == ':')
		xasprintf(&s, "%.*s%s", (int)start - 1, url, url + start + len);
	else
		xasprintf(&s, "%.*s%s", (int)start, url, url + start + len + 1);
	return (s);
}

/* Create dir and any missing parents with the given mode. */
static int
repo_mkdirs(const char *dir, mode_t mode)
{
	char	*p, *s;
	int	 rc = 0;

	if (mkdir(dir, mode) == 0 || errno == EEXIST)
		return (0);
	if (errno != ENOENT)
		return (-1);
	s = xstrdup(dir);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, mode) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(s);
	if (rc == 0 && mkdir(dir, mode) == -1 && errno != EEXIST)
		rc = -1;
	return (rc);
}

/* Open an existing mirror. */
static int
repo_open(git_repository **repo, const char *dir, char **cause)
{
	repo_init();
	if (git_repository_open_bare(repo, dir) != 0) {
		repo_fail(cause, "open mirror %s", dir);
		return (-1);
	}
	return (0);
}

/* Read the secret the credentials need, once per fetch. */
static int
repo_fetch_secret(struct repo_fetch *f, const char *path)
{
	char	*cause = NULL;
	size_t	 len;

	if (f->secret != NULL)
		return (0);
	if ((f->secret = read_secret(path, &len, &cause)) == NULL) {
		free(f->why);
		xasprintf(&f->why, "credentials: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/*
 * libgit2's credentials callback. It asks again after each rejection, so
 * we give up after REPO_CRED_TRIES requests.
 */
static int
repo_cred_cb(git_credential **out, const char *url, const char *urluser,
    unsigned int allowed, void *arg)
{
	struct repo_fetch	*f = arg;
	const struct repo_auth	*auth = f->auth;
	const char		*user;

	(void)url;		/* the remote's URL, which we know */
	free(f->why);
	f->why = NULL;
	if (++f->tries > REPO_CRED_TRIES) {
		xasprintf(&f->why, "authentication failed (credentials "
		    "refused %d times)", REPO_CRED_TRIES);
		return (GIT_EUSER);
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY && auth->ssh_key_file != NULL) {
		user = urluser != NULL ? urluser : auth->username != NULL ?
		    auth->username : REPO_SSH_USER;
		return (git_credential_ssh_key_new(out, user, NULL,
		    auth->ssh_key_file, NULL));
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		user = auth->username != NULL ? auth->username : REPO_SSH_USER;
		return (git_credential_username_new(out, user));
	}
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		if (auth->token_file != NULL) {
			if (repo_fetch_secret(f, auth->token_file) != 0)
				return (GIT_EUSER);
			user = auth->username != NULL ? auth->username :
			    REPO_TOKEN_USER;
			return (git_credential_userpass_plaintext_new(out,
			    user, f->secret));
		}
		if (auth->password_file != NULL) {
			user = auth->username != NULL ? auth->username :
			    urluser;
			if (user == NULL) {
				f->why = xstrdup("credentials: a password "
				    "needs a user name");
				return (GIT_EUSER);
			}
			if (repo_fetch_secret(f, auth->password_file) != 0)
				return (GIT_EUSER);
			return (git_credential_userpass_plaintext_new(out,
			    user, f->secret));
		}
	}
	f->why = xstrdup("the server asks for credentials and none that it "
	    "accepts are configured");
	return (GIT_EUSER);
}

/*
 * Open the mirror at dir, creating a bare repository if there is none,
 * and record url (without credentials: see repo_url_strip) as the remote
 * "origin", so that a person can `git fetch origin` in the mirror by hand:
 * branches forced, all tags. The fetch itself uses an in-memory remote
 * with explicit refspecs. (Config is set key by key, without
 * git_remote_lookup or git_remote_add_fetch: in libgit2 1.5 their regex
 * matching leaks, libgit2 #6382, fixed in 1.6.)
 */
static int
repo_mirror_prepare(git_repository **repo, const char *dir,
    const char *url, char **cause)
{
	git_config	*cfg = NULL;
	git_buf		 old = GIT_BUF_INIT;
	char		*bare;
	int		 error, rc = -1;

	bare = repo_url_strip(url);
	if ((error = git_repository_open_bare(repo, dir)) == GIT_ENOTFOUND)
		error = git_repository_init(repo, dir, 1);
	if (error != 0) {
		repo_fail(cause, "mirror %s", dir);
		goto out;
	}
	if (git_repository_config(&cfg, *repo) != 0) {
		repo_fail(cause, "mirror %s: config", dir);
		goto out;
	}
	error = git_config_get_string_buf(&old, cfg, REPO_CFG_URL);
	if (error == 0 && strcmp(old.ptr, bare) == 0) {
		rc = 0;
		goto out;
	}
	if (error != 0 && error != GIT_ENOTFOUND) {
		repo_fail(cause, "mirror %s: config", dir);
		goto out;
	}
	/* A new mirror, or the project's URL changed. */
	if (git_config_set_string(cfg, REPO_CFG_URL, bare) != 0) {
		repo_fail(cause, "mirror %s: config", dir);
		goto out;
	}
	if (error == GIT_ENOTFOUND &&
	    (git_config_set_string(cfg, REPO_CFG_FETCH, REPO_SPEC_HEADS) != 0 ||
	    git_config_set_string(cfg, REPO_CFG_TAGOPT, "--tags") != 0)) {
		repo_fail(cause, "mirror %s: config", dir);
		goto out;
	}
	rc = 0;
out:
	git_buf_dispose(&old);
	git_config_free(cfg);
	free(bare);
	return (rc);
}

/*
 * An in-memory remote for url in repo, without url.insteadOf rewriting
 * (and without the regex matching that leaks in libgit2 1.5).
 */
static int
repo_remote_new(git_remote **remote, git_repository *repo, const char *url)
{
	git_remote_create_options	opts;

	if (git_remote_create_options_init(&opts,
	    GIT_REMOTE_CREATE_OPTIONS_VERSION) != 0)
		return (-1);
	opts.repository = repo;
	opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
	    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	return (git_remote_create_with_opts(remote, url, &opts));
}

/*
 * Fetch every branch and tag of url into the bare mirror at dir, creating
 * it if needed: forced updates, pruned deletions, incremental transfer.
 * Fetches of one mirror are serialized across processes by an flock().
 */
int
repo_mirror_fetch(const char *dir, const char *url,
    const struct repo_auth *auth, char **cause)
{
	static const struct repo_auth	 noauth;
	char				*specv[2];
	git_strarray			 specs = { specv, 2 };
	git_fetch_options		 opts;
	git_repository			*repo = NULL;
	git_remote			*remote = NULL;
	struct repo_fetch		 f;
	char				*lock = NULL, *safe;
	size_t				 start, len;
	int				 fd = -1, rc = -1;

	repo_init();
	memset(&f, 0, sizeof f);
	f.auth = auth != NULL ? auth : &noauth;
	safe = repo_url_redact(url);
	if (repo_url_secret(url, &start, &len) && len > 0)
		f.urlsecret = xstrndup(url + start, len);
	if (repo_mkdirs(dir, 0750) != 0) {
		xasprintf(cause, "mirror %s: %s", dir, strerror(errno));
		goto out;
	}
	xasprintf(&lock, "%s/%s", dir, REPO_LOCK_FILE);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "%s: %s", lock, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			xasprintf(cause, "%s: flock: %s", lock,
			    strerror(errno));
			goto out;
		}
	}
	if (repo_mirror_prepare(&repo, dir, url, cause) != 0)
		goto out;
	/* An in-memory remote carries the URL with any credentials. */
	if (repo_remote_new(&remote, repo, url) != 0) {
		repo_fail(cause, "fetch %s", safe);
		goto out;
	}

	/* The _INIT macros trip -Wmissing-field-initializers. */
	if (git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION) != 0) {
		repo_fail(cause, "fetch %s", safe);
		goto out;
	}
	specv[0] = (char *)REPO_SPEC_HEADS;
	specv[1] = (char *)REPO_SPEC_TAGS;
	opts.callbacks.credentials = repo_cred_cb;
	opts.callbacks.payload = &f;
	opts.prune = GIT_FETCH_PRUNE;
	opts.update_fetchhead = 0;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	opts.proxy_opts.type = GIT_PROXY_AUTO;
	if (git_remote_fetch(remote, &specs, &opts, "fetch") != 0) {
		if (f.why != NULL)
			xasprintf(cause, "fetch %s: %s", safe, f.why);
		else
			repo_fail(cause, "fetch %s", safe);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		repo_scrub(cause, f.secret);
		repo_scrub(cause, f.urlsecret);
	}
	git_remote_free(remote);
	git_repository_free(repo);
	if (fd != -1)
		close(fd);			/* releases the lock */
	freezero_str(f.secret);
	freezero_str(f.urlsecret);
	free(f.why);
	free(lock);
	free(safe);
	return (rc);
}

/* The commit a ref points at, through tags. */
static int
repo_ref_commit(git_repository *repo, const char *ref, git_oid *oid,
    char **cause)
{
	git_reference	*r = NULL;
	git_object	*obj = NULL;
	int		 error, rc = -1;

	if ((error = git_reference_lookup(&r, repo, ref)) == GIT_ENOTFOUND) {
		xasprintf(cause, "%s not found in the repository", ref);
		goto out;
	}
	if (error != 0) {
		repo_fail(cause, "%s", ref);
		goto out;
	}
	if (git_reference_peel(&obj, r, GIT_OBJECT_COMMIT) != 0) {
		repo_fail(cause, "%s does not point at a commit", ref);
		goto out;
	}
	git_oid_cpy(oid, git_object_id(obj));
	rc = 0;
out:
	git_object_free(obj);
	git_reference_free(r);
	return (rc);
}

/*
 * Look up a commit by a full or abbreviated hex id; an annotated tag's id
 * stands for the commit it tags.
 */
static int
repo_lookup_commit(git_repository *repo, const char *sha,
    git_commit **commit, char **cause)
{
	git_object	*obj = NULL, *peeled = NULL;
	git_oid		 oid;
	size_t		 len;
	int		 error, rc = -1;

	len = sha != NULL ? strlen(sha) : 0;
	if (!sha_is_valid(sha) || len > GIT_OID_HEXSZ) {
		xasprintf(cause, "malformed commit id \"%.70s\"",
		    sha != NULL ? sha : "");
		goto out;
	}
	if (git_oid_fromstrn(&oid, sha, len) != 0) {
		repo_fail(cause, "commit %s", sha);
		goto out;
	}
	error = git_object_lookup_prefix(&obj, repo, &oid, len,
	    GIT_OBJECT_ANY);
	if (error == GIT_ENOTFOUND) {
		xasprintf(cause, "commit %s not found in the repository after "
		    "fetch", sha);
		goto out;
	}
	if (error == GIT_EAMBIGUOUS) {
		xasprintf(cause, "commit id %s is ambiguous", sha);
		goto out;
	}
	if (error != 0) {
		repo_fail(cause, "commit %s", sha);
		goto out;
	}
	if (git_object_type(obj) != GIT_OBJECT_COMMIT &&
	    git_object_type(obj) != GIT_OBJECT_TAG) {
		xasprintf(cause, "%s is a %s, not a commit", sha,
		    git_object_type2string(git_object_type(obj)));
		goto out;
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) != 0) {
		repo_fail(cause, "tag %s", sha);
		goto out;
	}
	*commit = (git_commit *)peeled;
	peeled = NULL;
	rc = 0;
out:
	git_object_free(peeled);
	git_object_free(obj);
	return (rc);
}

/* Resolve a full ref name to the commit it points at (tags peeled). */
int
repo_resolve_ref(const char *dir, const char *ref,
    char sha[REPO_SHA_MAX + 1], char **cause)
{
	git_repository	*repo = NULL;
	git_oid		 oid;
	int		 rc = -1;

	if (!ref_is_valid(ref)) {
		xasprintf(cause, "malformed ref \"%.100s\"", ref);
		goto out;
	}
	if (repo_open(&repo, dir, cause) != 0)
		goto out;
	if (repo_ref_commit(repo, ref, &oid, cause) != 0)
		goto out;
	git_oid_tostr(sha, REPO_SHA_MAX + 1, &oid);
	rc = 0;
out:
	git_repository_free(repo);
	return (rc);
}

/*
 * Check that the commit named by sha (full or abbreviated) is the tip of
 * ref or one of its ancestors, and write its full id to full. A webhook's
 * sha is only a claim: this is where a forged one, or one force-pushed
 * away since, is refused.
 */
int
repo_commit_on_ref(const char *dir, const char *ref, const char *sha,
    char full[REPO_SHA_MAX + 1], char **cause)
{
	git_repository	*repo = NULL;
	git_commit	*commit = NULL;
	git_oid		 tip;
	const git_oid	*id;
	int		 rc = -1, n;

	if (!ref_is_valid(ref)) {
		xasprintf(cause, "malformed ref \"%.100s\"", ref);
		goto out;
	}
	if (repo_open(&repo, dir, cause) != 0)
		goto out;
	if (repo_lookup_commit(repo, sha, &commit, cause) != 0)
		goto out;
	if (repo_ref_commit(repo, ref, &tip, cause) != 0)
		goto out;
	id = git_commit_id(commit);
	if (!git_oid_equal(id, &tip)) {
		n = git_graph_descendant_of(repo, &tip, id);
		if (n < 0) {
			repo_fail(cause, "commit %s on %s", sha, ref);
			goto out;
		}
		if (n == 0) {
			xasprintf(cause, "commit %s is not on %s (forged or "
			    "force-pushed away)", sha, ref);
			goto out;
		}
	}
	git_oid_tostr(full, REPO_SHA_MAX + 1, id);
	rc = 0;
out:
	git_commit_free(commit);
	git_repository_free(repo);
	return (rc);
}

/*
 * Find path in the tree of commit sha. Returns 0 with *entry set (caller
 * frees), 1 if there is no such path, or -1 with *cause set.
 */
static int
repo_tree_entry(git_repository *repo, const char *sha, const char *path,
    git_tree_entry **entry, char **cause)
{
	git_commit	*commit = NULL;
	git_tree	*tree = NULL;
	int		 error, rc = -1;

	if (path == NULL || *path == '\0' || *path == '/') {
		xasprintf(cause, "bad path \"%s\"", path != NULL ? path : "");
		goto out;
	}
	if (repo_lookup_commit(repo, sha, &commit, cause) != 0)
		goto out;
	if (git_commit_tree(&tree, commit) != 0) {
		repo_fail(cause, "commit %s", sha);
		goto out;
	}
	error = git_tree_entry_bypath(entry, tree, path);
	if (error == GIT_ENOTFOUND) {
		git_error_clear();
		rc = 1;
		goto out;
	}
	if (error != 0) {
		repo_fail(cause, "%s at %.12s", path, sha);
		goto out;
	}
	rc = 0;
out:
	git_tree_free(tree);
	git_commit_free(commit);
	return (rc);
}

/* Whether path is a file (a blob) in the tree of commit sha: 1 or 0. */
int
repo_file_exists(const char *dir, const char *sha, const char *path)
{
	git_repository	*repo = NULL;
	git_tree_entry	*entry = NULL;
	char		*cause = NULL;
	int		 found = 0;

	if (repo_open(&repo, dir, &cause) != 0)
		goto out;
	if (repo_tree_entry(repo, sha, path, &entry, &cause) == 0)
		found = git_tree_entry_type(entry) == GIT_OBJECT_BLOB;
out:
	git_tree_entry_free(entry);
	git_repository_free(repo);
	free(cause);
	return (found);
}

/*
 * Read path from the tree of commit sha, straight from the object database,
 * up to max bytes. Returns a NUL-terminated copy the caller frees, with its
 * length in *lenp when lenp is not NULL; NULL with *cause NULL if there is
 * no such path; NULL with *cause set on error, when it is not a regular
 * file, or when it is larger than max.
 */
char *
repo_read_file(const char *dir, const char *sha, const char *path,
    size_t max, size_t *lenp, char **cause)
{
	git_repository	*repo = NULL;
	git_tree_entry	*entry = NULL;
	git_blob	*blob = NULL;
	git_object_size_t size;
	git_filemode_t	 mode;
	char		*data = NULL;

	*cause = NULL;
	if (repo_open(&repo, dir, cause) != 0)
		goto out;
	if (repo_tree_entry(repo, sha, path, &entry, cause) != 0)
		goto out;
	mode = git_tree_entry_filemode(entry);
	if (mode == GIT_FILEMODE_LINK) {
		xasprintf(cause, "%s at %.12s is a symbolic link, not a file",
		    path, sha);
		goto out;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		xasprintf(cause, "%s at %.12s is a %s, not a file", path, sha,
		    mode == GIT_FILEMODE_COMMIT ? "submodule" : "directory");
		goto out;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) != 0) {
		repo_fail(cause, "%s at %.12s", path, sha);
		goto out;
	}
	size = git_blob_rawsize(blob);
	if (size > max) {
		xasprintf(cause, "%s at %.12s: larger than %zu bytes", path,
		    sha, max);
		goto out;
	}
	data = xmalloc((size_t)size + 1);
	memcpy(data, git_blob_rawcontent(blob), (size_t)size);
	data[size] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)size;
out:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_repository_free(repo);
	return (data);
}

/* Whether dir is a directory with nothing in it: 1 or 0. */
static int
repo_dir_is_empty(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 empty = 1;

	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return (empty);
}

/* Whether a tree entry's name is safe to create in a directory: 1 or 0. */
static int
repo_name_is_safe(const char *name)
{
	if (*name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strchr(name, '/') != NULL)
		return (0);
	/* A .git in the worktree would make it someone's repository. */
	if (strcasecmp(name, ".git") == 0)
		return (0);
	return (1);
}

/* Write all of buf to fd. */
static int
repo_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Write one blob as name in dirfd: a file (mode 0644 or 0755 before the
 * umask) or, for a link entry, a symbolic link holding the blob's bytes.
 */
static int
repo_write_blob(struct repo_writer *w, int dirfd, const char *prefix,
    const git_tree_entry *e)
{
	git_odb_object	*obj = NULL;
	const char	*name = git_tree_entry_name(e);
	const void	*data;
	char		*target = NULL;
	size_t		 size;
	mode_t		 mode;
	int		 fd = -1, rc = -1;

	if (git_odb_read(&obj, w->odb, git_tree_entry_id(e)) != 0) {
		repo_fail(w->cause, "%s%s", prefix, name);
		goto out;
	}
	data = git_odb_object_data(obj);
	size = git_odb_object_size(obj);
	if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		target = xstrndup(data, size);
		if (strlen(target) != size || size == 0) {
			xasprintf(w->cause, "%s%s: bad symbolic link", prefix,
			    name);
			goto out;
		}
		if (symlinkat(target, dirfd, name) == -1) {
			xasprintf(w->cause, "%s%s: %s", prefix, name,
			    strerror(errno));
			goto out;
		}
		w->nfiles++;
		rc = 0;
		goto out;
	}
	mode = git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE ?
	    0755 : 0644;
	/* O_EXCL: never through a link, never over a duplicate entry. */
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1 || repo_write_all(fd, data, size) != 0) {
		xasprintf(w->cause, "%s%s: %s", prefix, name, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		xasprintf(w->cause, "%s%s: %s", prefix, name, strerror(errno));
		goto out;
	}
	fd = -1;
	w->nfiles++;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(target);
	git_odb_object_free(obj);
	return (rc);
}

/*
 * Write tree into the directory dirfd, recursively. prefix is the path so
 * far ("" or "dir/sub/"), for messages. Only names checked by
 * repo_name_is_safe are created, always relative to an open directory and
 * never following a link, so no tree can write outside the worktree.
 */
static int
repo_write_tree(struct repo_writer *w, const git_tree *tree, int dirfd,
    const char *prefix, int depth)
{
	const git_tree_entry	*e;
	git_tree		*sub = NULL;
	const char		*name;
	char			*subprefix = NULL;
	size_t			 i, n;
	int			 fd = -1, rc = -1;

	if (depth > REPO_TREE_DEPTH_MAX) {
		xasprintf(w->cause, "%s: more than %d directories deep",
		    prefix, REPO_TREE_DEPTH_MAX);
		return (-1);
	}
	n = git_tree_entrycount(tree);
	for (i = 0; i < n; i++) {
		e = git_tree_entry_byindex(tree, i);
		name = git_tree_entry_name(e);
		if (!repo_name_is_safe(name)) {
			xasprintf(w->cause, "unsafe path \"%s%.100s\" in the "
			    "tree", prefix, name);
			goto out;
		}
		switch (git_tree_entry_filemode(e)) {
		case GIT_FILEMODE_BLOB:
		case GIT_FILEMODE_BLOB_EXECUTABLE:
		case GIT_FILEMODE_LINK:
			if (repo_write_blob(w, dirfd, prefix, e) != 0)
				goto out;
			break;
		case GIT_FILEMODE_COMMIT:
			/* A submodule: an empty directory, as git archive. */
			if (mkdirat(dirfd, name, 0755) == -1) {
				xasprintf(w->cause, "%s%s: %s", prefix, name,
				    strerror(errno));
				goto out;
			}
			w->nsubmodules++;
			break;
		case GIT_FILEMODE_TREE:
			if (mkdirat(dirfd, name, 0755) == -1 ||
			    (fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC)) == -1) {
				xasprintf(w->cause, "%s%s: %s", prefix, name,
				    strerror(errno));
				goto out;
			}
			if (git_tree_lookup(&sub, w->repo,
			    git_tree_entry_id(e)) != 0) {
				repo_fail(w->cause, "%s%s", prefix, name);
				goto out;
			}
			xasprintf(&subprefix, "%s%s/", prefix, name);
			if (repo_write_tree(w, sub, fd, subprefix,
			    depth + 1) != 0)
				goto out;
			free(subprefix);
			subprefix = NULL;
			git_tree_free(sub);
			sub = NULL;
			close(fd);
			fd = -1;
			break;
		default:
			xasprintf(w->cause, "%s%s: unknown mode %o", prefix,
			    name, (unsigned int)git_tree_entry_filemode(e));
			goto out;
		}
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(subprefix);
	git_tree_free(sub);
	return (rc);
}

/*
 * Write the tree of commit sha into worktree, which must be missing or
 * empty (it is created with mode 0750): regular files, executables and
 * symbolic links exactly as committed, straight from the object database.
 * No filters (.gitattributes) apply, submodules are left as empty
 * directories, and the result is not a git repository. On failure part of
 * the tree may have been written; the caller removes the directory.
 */
int
repo_checkout(const char *dir, const char *sha, const char *worktree,
    char **cause)
{
	struct repo_writer	 w;
	git_repository		*repo = NULL;
	git_commit		*commit = NULL;
	git_tree		*tree = NULL;
	char			*why = NULL;
	int			 fd = -1, rc = -1;

	memset(&w, 0, sizeof w);
	if (repo_open(&repo, dir, cause) != 0)
		goto out;
	if (repo_lookup_commit(repo, sha, &commit, cause) != 0)
		goto out;
	if (git_commit_tree(&tree, commit) != 0) {
		repo_fail(cause, "commit %s", sha);
		goto out;
	}
	if (git_repository_odb(&w.odb, repo) != 0) {
		repo_fail(cause, "mirror %s", dir);
		goto out;
	}
	if (mkdir(worktree, 0750) == -1) {
		if (errno == EEXIST) {
			if (!repo_dir_is_empty(worktree)) {
				xasprintf(cause, "worktree %s: exists and is "
				    "not an empty directory", worktree);
				goto out;
			}
		} else if (errno != ENOENT ||
		    repo_mkdirs(worktree, 0750) != 0) {
			xasprintf(cause, "worktree %s: %s", worktree,
			    strerror(errno));
			goto out;
		}
	}
	if ((fd = open(worktree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "worktree %s: %s", worktree, strerror(errno));
		goto out;
	}
	w.repo = repo;
	w.cause = &why;
	if (repo_write_tree(&w, tree, fd, "", 0) != 0) {
		xasprintf(cause, "checkout %.12s into %s: %s", sha, worktree,
		    why);
		goto out;
	}
	if (w.nsubmodules > 0)
		log_info("%s: %zu submodule%s left as empty director%s",
		    worktree, w.nsubmodules, w.nsubmodules == 1 ? "" : "s",
		    w.nsubmodules == 1 ? "y" : "ies");
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(why);
	git_odb_free(w.odb);
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	return (rc);
}

/* The committer time of commit sha in seconds since the epoch, or -1. */
long long
repo_commit_time(const char *dir, const char *sha)
{
	git_repository	*repo = NULL;
	git_commit	*commit = NULL;
	char		*cause = NULL;
	long long	 t = -1;

	if (repo_open(&repo, dir, &cause) != 0)
		goto out;
	if (repo_lookup_commit(repo, sha, &commit, &cause) != 0)
		goto out;
	t = (long long)git_commit_time(commit);
out:
	git_commit_free(commit);
	git_repository_free(repo);
	free(cause);
	return (t);
}

/*
 * The top folder of the working tree that holds dir, for `ferry pipeline
 * run`. Returns a path the caller frees, or NULL with *cause set.
 */
char *
repo_toplevel(const char *dir, char **cause)
{
	git_repository	*repo = NULL;
	const char	*wd;
	char		*top = NULL;
	size_t		 len;

	repo_init();
	if (git_repository_open_ext(&repo, dir, 0, NULL) != 0) {
		repo_fail(cause, "%s is not in a git repository", dir);
		return (NULL);
	}
	if ((wd = git_repository_workdir(repo)) == NULL)
		xasprintf(cause, "%s is a bare repository", dir);
	else {
		top = xstrdup(wd);
		len = strlen(top);
		if (len > 1 && top[len - 1] == '/')
			top[len - 1] = '\0';
	}
	git_repository_free(repo);
	return (top);
}

/* The git folder of the working tree at top (for the functions above). */
char *
repo_gitdir(const char *top, char **cause)
{
	git_repository	*repo = NULL;
	char		*path;

	repo_init();
	if (git_repository_open(&repo, top) != 0) {
		repo_fail(cause, "open %s", top);
		return (NULL);
	}
	path = xstrdup(git_repository_path(repo));
	git_repository_free(repo);
	return (path);
}

/*
 * HEAD of the working tree at top: the branch it is on (or "HEAD" when
 * detached) in *ref, which the caller frees, and the commit in sha.
 */
int
repo_head(const char *top, char **ref, char sha[REPO_SHA_MAX + 1],
    char **cause)
{
	git_repository	*repo = NULL;
	git_reference	*head = NULL;
	git_object	*commit = NULL;
	int		 rc = -1;

	repo_init();
	if (git_repository_open(&repo, top) != 0) {
		repo_fail(cause, "open %s", top);
		return (-1);
	}
	if (git_repository_head(&head, repo) != 0 ||
	    git_reference_peel(&commit, head, GIT_OBJECT_COMMIT) != 0) {
		repo_fail(cause, "%s has no commit at HEAD", top);
		goto out;
	}
	git_oid_tostr(sha, REPO_SHA_MAX + 1, git_object_id(commit));
	*ref = xstrdup(git_reference_is_branch(head) ?
	    git_reference_name(head) : "HEAD");
	rc = 0;
out:
	git_object_free(commit);
	git_reference_free(head);
	git_repository_free(repo);
	return (rc);
}

/* Whether the working tree at top has changes not committed. */
int
repo_is_dirty(const char *top)
{
	git_repository		*repo = NULL;
	git_status_list		*list = NULL;
	git_status_options	 opts;
	int			 dirty = 0;

	repo_init();
	if (git_repository_open(&repo, top) != 0)
		return (0);
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED;
	if (git_status_list_new(&list, repo, &opts) == 0)
		dirty = git_status_list_entrycount(list) > 0;
	git_status_list_free(list);
	git_repository_free(repo);
	return (dirty);
}

/*
 * The object id of path ("." for the whole tree) in commit sha: a tree's
 * id names exactly its content, so it stands for a build context. Returns
 * 0, 1 if there is no such path, or -1 with *cause set. The full commit id
 * goes to commit_out when it is not NULL.
 */
int
repo_path_id(const char *dir, const char *sha, const char *path,
    char id[REPO_SHA_MAX + 1], char commit_out[REPO_SHA_MAX + 1],
    char **cause)
{
	git_repository	*repo = NULL;
	git_commit	*commit = NULL;
	git_tree	*tree = NULL;
	git_tree_entry	*entry = NULL;
	int		 rc = -1;

	if (repo_open(&repo, dir, cause) != 0)
		return (-1);
	if (repo_lookup_commit(repo, sha, &commit, cause) != 0)
		goto out;
	if (commit_out != NULL)
		git_oid_tostr(commit_out, REPO_SHA_MAX + 1,
		    git_commit_id(commit));
	if (strcmp(path, ".") == 0) {
		if (git_commit_tree(&tree, commit) != 0) {
			repo_fail(cause, "commit %s", sha);
			goto out;
		}
		git_oid_tostr(id, REPO_SHA_MAX + 1, git_tree_id(tree));
		rc = 0;
		goto out;
	}
	if ((rc = repo_tree_entry(repo, sha, path, &entry, cause)) != 0)
		goto out;
	git_oid_tostr(id, REPO_SHA_MAX + 1, git_tree_entry_id(entry));
out:
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(commit);
	git_repository_free(repo);
	return (rc);
}

/* Listing the files under a folder of a commit's tree. */
struct repo_lister {
	struct repo_file	*files;
	size_t			 n;
	size_t			 cap;
	char			*why;		/* why the walk stopped */
};

static int
repo_list_cb(const char *root, const git_tree_entry *entry, void *arg)
{
	struct repo_lister	*l = arg;
	git_filemode_t		 mode = git_tree_entry_filemode(entry);
	const char		*name = git_tree_entry_name(entry);

	if (mode == GIT_FILEMODE_TREE)
		return (0);
	if (mode == GIT_FILEMODE_LINK || mode == GIT_FILEMODE_COMMIT) {
		xasprintf(&l->why, "%s%s is a %s, not a file", root, name,
		    mode == GIT_FILEMODE_LINK ? "symbolic link" : "submodule");
		return (-1);
	}
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 32 : l->cap * 2;
		l->files = xreallocarray(l->files, l->cap, sizeof *l->files);
	}
	xasprintf(&l->files[l->n].path, "%s%s", root, name);
	l->files[l->n].executable = mode == GIT_FILEMODE_BLOB_EXECUTABLE;
	l->n++;
	return (0);
}

static int
repo_file_cmp(const void *a, const void *b)
{
	const struct repo_file	*fa = a, *fb = b;

	return (strcmp(fa->path, fb->path));
}

/*
 * Every file under the folder path of commit sha's tree, straight from the
 * object database, with paths relative to that folder, sorted bytewise.
 * Symbolic links and submodules are refused. Returns 0 with *files and *n
 * set (the caller frees them with repo_files_free()), 1 if there is no
 * such folder, or -1 with *cause set.
 */
int
repo_list_files(const char *dir, const char *sha, const char *path,
    struct repo_file **files, size_t *n, char **cause)
{
	git_repository		*repo = NULL;
	git_tree_entry		*entry = NULL;
	git_tree		*tree = NULL;
	struct repo_lister	 l;
	int			 error, rc = -1;

	*files = NULL;
	*n = 0;
	memset(&l, 0, sizeof l);
	if (repo_open(&repo, dir, cause) != 0)
		return (-1);
	if ((rc = repo_tree_entry(repo, sha, path, &entry, cause)) != 0)
		goto out;
	rc = -1;
	if (git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
		xasprintf(cause, "%s at %.12s is not a directory", path, sha);
		goto out;
	}
	if (git_tree_lookup(&tree, repo, git_tree_entry_id(entry)) != 0) {
		repo_fail(cause, "%s at %.12s", path, sha);
		goto out;
	}
	error = git_tree_walk(tree, GIT_TREEWALK_PRE, repo_list_cb, &l);
	if (error != 0) {
		if (l.why != NULL) {
			xasprintf(cause, "%s at %.12s", l.why, sha);
			git_error_clear();
		} else
			repo_fail(cause, "%s at %.12s", path, sha);
		repo_files_free(l.files, l.n);
		goto out;
	}
	qsort(l.files, l.n, sizeof *l.files, repo_file_cmp);
	*files = l.files;
	*n = l.n;
	rc = 0;
out:
	free(l.why);
	git_tree_free(tree);
	git_tree_entry_free(entry);
	git_repository_free(repo);
	return (rc);
}

void
repo_files_free(struct repo_file *files, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(files[i].path);
	free(files);
}

/*
 * What a command's --commit names: "HEAD" of the working tree at top (NULL
 * when there is only a git folder), a full ref, or a commit id (which may
 * be abbreviated). Sets full to the whole commit id, after checking that
 * the commit exists, and *ref (caller frees) to the branch or ref it came
 * from, or NULL for a bare commit id. Returns 0 or -1 with *cause set.
 */
int
repo_resolve_rev(const char *top, const char *gitdir, const char *rev,
    char **ref, char full[REPO_SHA_MAX + 1], char **cause)
{
	char	sha[REPO_SHA_MAX + 1], id[REPO_SHA_MAX + 1];

	*ref = NULL;
	if (strcmp(rev, "HEAD") == 0) {
		if (top == NULL) {
			xasprintf(cause, "--git-dir needs --commit");
			return (-1);
		}
		if (repo_head(top, ref, sha, cause) != 0)
			return (-1);
	} else if (strncmp(rev, "refs/", 5) == 0) {
		if (repo_resolve_ref(gitdir, rev, sha, cause) != 0)
			return (-1);
		*ref = xstrdup(rev);
	} else if (sha_is_valid(rev))
		snprintf(sha, sizeof sha, "%s", rev);
	else {
		xasprintf(cause, "--commit: expected HEAD, a full ref or a "
		    "commit id");
		return (-1);
	}
	if (repo_path_id(gitdir, sha, ".", id, full, cause) != 0) {
		free(*ref);
		*ref = NULL;
		return (-1);
	}
	return (0);
}

/* Pushing: the payload of libgit2's push callbacks. */
struct repo_push {
	struct repo_fetch	 f;		/* credentials, as for a fetch */
	char			*status;	/* the remote's refusal, or NULL */
};

static int
repo_push_status_cb(const char *refname, const char *status, void *arg)
{
	struct repo_push	*p = arg;

	if (status != NULL && p->status == NULL)
		xasprintf(&p->status, "%s: %s", refname, status);
	return (0);
}

static int
repo_push_cred_cb(git_credential **out, const char *url, const char *urluser,
    unsigned int allowed, void *arg)
{
	struct repo_push	*p = arg;

	return (repo_cred_cb(out, url, urluser, allowed, &p->f));
}

/*
 * The branch that the remote's HEAD names ("main" for refs/heads/main), in
 * *branch (caller frees), asked of url through the repository at dir.
 * Returns 0, 1 if the remote does not say (an empty repository, a dangling
 * HEAD), or -1 with *cause set.
 */
int
repo_remote_head(const char *dir, const char *url,
    const struct repo_auth *auth, char **branch, char **cause)
{
	static const struct repo_auth	 noauth;
	git_remote_callbacks		 cbs;
	git_proxy_options		 proxy;
	git_repository			*repo = NULL;
	git_remote			*remote = NULL;
	git_buf				 head = GIT_BUF_INIT;
	struct repo_fetch		 f;
	char				*safe;
	size_t				 start, len;
	int				 error, rc = -1;

	*branch = NULL;
	memset(&f, 0, sizeof f);
	f.auth = auth != NULL ? auth : &noauth;
	safe = repo_url_redact(url);
	if (repo_url_secret(url, &start, &len) && len > 0)
		f.urlsecret = xstrndup(url + start, len);
	if (repo_open(&repo, dir, cause) != 0)
		goto out;
	if (repo_remote_new(&remote, repo, url) != 0 ||
	    git_remote_init_callbacks(&cbs, GIT_REMOTE_CALLBACKS_VERSION) != 0 ||
	    git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION) != 0) {
		repo_fail(cause, "%s", safe);
		goto out;
	}
	cbs.credentials = repo_cred_cb;
	cbs.payload = &f;
	proxy.type = GIT_PROXY_AUTO;
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &cbs, &proxy,
	    NULL) != 0) {
		if (f.why != NULL)
			xasprintf(cause, "%s: %s", safe, f.why);
		else
			repo_fail(cause, "%s", safe);
		goto out;
	}
	error = git_remote_default_branch(&head, remote);
	if (error == GIT_ENOTFOUND) {
		git_error_clear();
		rc = 1;
		goto out;
	}
	if (error != 0) {
		repo_fail(cause, "%s: HEAD", safe);
		goto out;
	}
	if (strncmp(head.ptr, "refs/heads/", 11) != 0 || head.ptr[11] == '\0') {
		xasprintf(cause, "%s: HEAD names %.100s, not a branch", safe,
		    head.ptr);
		goto out;
	}
	*branch = xstrdup(head.ptr + 11);
	rc = 0;
out:
	if (rc == -1) {
		repo_scrub(cause, f.secret);
		repo_scrub(cause, f.urlsecret);
	}
	git_buf_dispose(&head);
	git_remote_free(remote);
	git_repository_free(repo);
	freezero_str(f.secret);
	freezero_str(f.urlsecret);
	free(f.why);
	free(safe);
	return (rc);
}

/*
 * Write a commit whose only parent is commit parent and whose tree is the
 * parent's with the file path (which must exist) holding data instead, its
 * mode kept. No ref moves. The commit id goes to out. Returns 0 or -1 with
 * *cause set.
 */
int
repo_commit_file(const char *dir, const char *parent, const char *path,
    const void *data, size_t len, const char *message, const char *name,
    const char *email, char out[REPO_SHA_MAX + 1], char **cause)
{
	git_repository		*repo = NULL;
	git_commit		*commit = NULL;
	git_tree		*tree = NULL, *newtree = NULL;
	git_tree_entry		*entry = NULL;
	git_signature		*sig = NULL;
	git_tree_update		 up;
	git_oid			 blob, treeid, id;
	const git_commit	*parents[1];
	int			 r, rc = -1;

	if (repo_open(&repo, dir, cause) != 0)
		return (-1);
	if ((r = repo_tree_entry(repo, parent, path, &entry, cause)) != 0) {
		if (r == 1)
			xasprintf(cause, "%s not found at %.12s", path, parent);
		goto out;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
		xasprintf(cause, "%s at %.12s is not a regular file", path,
		    parent);
		goto out;
	}
	if (repo_lookup_commit(repo, parent, &commit, cause) != 0)
		goto out;
	if (git_commit_tree(&tree, commit) != 0 ||
	    git_blob_create_from_buffer(&blob, repo, data, len) != 0) {
		repo_fail(cause, "%s at %.12s", path, parent);
		goto out;
	}
	memset(&up, 0, sizeof up);
	up.action = GIT_TREE_UPDATE_UPSERT;
	git_oid_cpy(&up.id, &blob);
	up.filemode = git_tree_entry_filemode(entry);
	up.path = path;
	if (git_tree_create_updated(&treeid, repo, tree, 1, &up) != 0 ||
	    git_tree_lookup(&newtree, repo, &treeid) != 0) {
		repo_fail(cause, "tree with %s", path);
		goto out;
	}
	if (git_signature_now(&sig, name, email) != 0) {
		repo_fail(cause, "author %s <%s>", name, email);
		goto out;
	}
	parents[0] = commit;
	if (git_commit_create(&id, repo, NULL, sig, sig, NULL, message,
	    newtree, 1, parents) != 0) {
		repo_fail(cause, "commit on %.12s", parent);
		goto out;
	}
	git_oid_tostr(out, REPO_SHA_MAX + 1, &id);
	rc = 0;
out:
	git_signature_free(sig);
	git_tree_free(newtree);
	git_tree_free(tree);
	git_tree_entry_free(entry);
	git_commit_free(commit);
	git_repository_free(repo);
	return (rc);
}

#define REPO_PUSH_REF	"refs/ferry/push"

/*
 * Push commit sha of the repository at dir to the ref dst of url, as a
 * fast-forward only. Returns 0 when the remote took it; 1 when it was
 * refused (not a fast-forward, or the remote declined: *cause says why);
 * -1 on any other failure with *cause set.
 */
int
repo_push(const char *dir, const char *url, const struct repo_auth *auth,
    const char *sha, const char *dst, char **cause)
{
	static const struct repo_auth	 noauth;
	git_push_options		 opts;
	git_repository			*repo = NULL;
	git_remote			*remote = NULL;
	git_reference			*ref = NULL;
	git_oid				 oid;
	struct repo_push		 p;
	char				*spec = NULL, *specv[1], *safe;
	git_strarray			 specs = { specv, 1 };
	size_t				 start, len;
	int				 error, rc = -1;

	memset(&p, 0, sizeof p);
	p.f.auth = auth != NULL ? auth : &noauth;
	safe = repo_url_redact(url);
	if (repo_url_secret(url, &start, &len) && len > 0)
		p.f.urlsecret = xstrndup(url + start, len);
	if (!ref_is_valid(dst)) {
		xasprintf(cause, "malformed ref \"%.100s\"", dst);
		goto out;
	}
	if (repo_open(&repo, dir, cause) != 0)
		goto out;
	/* libgit2 pushes from a ref: a private one names the commit. */
	if (git_oid_fromstr(&oid, sha) != 0 ||
	    git_reference_create(&ref, repo, REPO_PUSH_REF, &oid, 1,
	    "ferry push") != 0) {
		repo_fail(cause, "push %.12s", sha);
		goto out;
	}
	if (repo_remote_new(&remote, repo, url) != 0 ||
	    git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION) != 0) {
		repo_fail(cause, "push to %s", safe);
		goto out;
	}
	xasprintf(&spec, "%s:%s", REPO_PUSH_REF, dst);
	specv[0] = spec;
	opts.callbacks.credentials = repo_push_cred_cb;
	opts.callbacks.push_update_reference = repo_push_status_cb;
	opts.callbacks.payload = &p;
	opts.proxy_opts.type = GIT_PROXY_AUTO;
	error = git_remote_push(remote, &specs, &opts);
	if (error == GIT_ENONFASTFORWARD) {
		repo_fail(cause, "push to %s %s", safe, dst);
		rc = 1;
		goto out;
	}
	if (error != 0) {
		if (p.f.why != NULL)
			xasprintf(cause, "push to %s: %s", safe, p.f.why);
		else
			repo_fail(cause, "push to %s", safe);
		goto out;
	}
	if (p.status != NULL) {
		xasprintf(cause, "push to %s refused: %s", safe, p.status);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		repo_scrub(cause, p.f.secret);
		repo_scrub(cause, p.f.urlsecret);
	}
	if (ref != NULL)
		git_reference_delete(ref);
	git_reference_free(ref);
	git_remote_free(remote);
	git_repository_free(repo);
	freezero_str(p.f.secret);
	freezero_str(p.f.urlsecret);
	free(p.f.why);
	free(p.status);
	free(spec);
	free(safe);
	return (rc);
}
