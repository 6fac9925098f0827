/*
 * status.h: commit statuses for the git hosts. Builds the one request that
 * reports a stage's state on a commit (GitHub, GitLab, Gitea, Forgejo,
 * Bitbucket Cloud, Bitbucket Server/Data Center); sending it is the
 * outbox's business.
 */
#ifndef STATUS_H
#define STATUS_H

/* A stage or run state as ferry knows it. */
enum status_state {
	STATUS_PENDING,
	STATUS_RUNNING,
	STATUS_SUCCESS,
	STATUS_FAILURE,
	STATUS_ERROR,
	STATUS_CANCELED
};

struct status_target {
	/* github gitlab gitea forgejo bitbucket bitbucket-server */
	const char	*provider;
	/*
	 * The API root, e.g. https://api.github.com,
	 * https://gitlab.example.com/api/v4, https://gitea.example.com/api/v1,
	 * https://api.bitbucket.org/2.0, or the base URL of a Bitbucket
	 * Server; trailing slashes are dropped.
	 */
	const char	*api_url;
	/*
	 * owner/name; GitLab group/subgroup/name; Bitbucket Server
	 * PROJECTKEY/slug (or ~user/slug).
	 */
	const char	*repo;
	const char	*sha;		/* 40 hex (64 for SHA-256 repositories) */
};

struct status_update {
	enum status_state	 state;
	/* GitHub/Gitea context, GitLab name, Bitbucket key and name */
	const char		*context;
	/* Short human text, may be NULL; cut to the provider's limit. */
	const char		*description;
	/* Link to the run; may be NULL except for Bitbucket. */
	const char		*target_url;
};

int		 status_request(const struct status_target *,
		     const struct status_update *, char **, char **, char **,
		     char **);
char		*status_auth_header(const char *, const char *);
const char	*status_state_name(enum status_state);
int		 status_provider_known(const char *);

#endif
