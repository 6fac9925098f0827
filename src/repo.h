/*
 * repo.h: git work with libgit2, for `ferry checkout` (which ferryd runs as
 * a child process, since libgit2's network calls block): a bare mirror per
 * project, fetched incrementally; the commit to build checked against its
 * ref; files read from the commit's tree; a clean worktree of exactly that
 * commit. Every function returns 0 or -1 with *cause set.
 */
#ifndef REPO_H
#define REPO_H

#include <stddef.h>

#define REPO_SHA_MAX	64

/* Credentials for fetching; every field may be NULL. Borrowed. */
struct repo_auth {
	const char	*token_file;	/* HTTPS token (user "x-access-token"
					   unless username is set) */
	const char	*username;
	const char	*password_file;	/* HTTPS user/password */
	const char	*ssh_key_file;	/* private key for ssh:// */
};

int	 repo_mirror_fetch(const char *, const char *,
	     const struct repo_auth *, char **);
int	 repo_resolve_ref(const char *, const char *, char [REPO_SHA_MAX + 1],
	     char **);
int	 repo_commit_on_ref(const char *, const char *, const char *,
	     char [REPO_SHA_MAX + 1], char **);
int	 repo_file_exists(const char *, const char *, const char *);
char	*repo_read_file(const char *, const char *, const char *, size_t,
	     size_t *, char **);
int	 repo_checkout(const char *, const char *, const char *, char **);
long long repo_commit_time(const char *, const char *);
char	*repo_toplevel(const char *, char **);
char	*repo_gitdir(const char *, char **);
int	 repo_head(const char *, char **, char [REPO_SHA_MAX + 1], char **);
int	 repo_is_dirty(const char *);
int	 repo_resolve_rev(const char *, const char *, const char *, char **,
	     char [REPO_SHA_MAX + 1], char **);
char	*repo_url_redact(const char *);
int	 repo_path_id(const char *, const char *, const char *,
	     char [REPO_SHA_MAX + 1], char [REPO_SHA_MAX + 1], char **);

/* A file of a commit's tree, listed by repo_list_files(). */
struct repo_file {
	char	*path;		/* relative to the folder listed */
	int	 executable;	/* git mode 100755 */
};

int	 repo_list_files(const char *, const char *, const char *,
	     struct repo_file **, size_t *, char **);
void	 repo_files_free(struct repo_file *, size_t);

/* Writing and pushing, for the gitops deploy driver. */
int	 repo_remote_head(const char *, const char *, const struct repo_auth *,
	     char **, char **);
int	 repo_commit_file(const char *, const char *, const char *,
	     const void *, size_t, const char *, const char *, const char *,
	     char [REPO_SHA_MAX + 1], char **);
int	 repo_push(const char *, const char *, const struct repo_auth *,
	     const char *, const char *, char **);

#endif
