/*
 * conf.h: the server configuration (etc/ferry.yaml), parsed with libyaml
 * into plain structs. Nothing here refers to libyaml.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

struct handler;
struct policy_spec;

#define CONF_DEFAULT_PATH	"/etc/ferry/ferry.yaml"

/* Trigger kinds, a bit mask over enum gitevent_kind. */
#define CONF_TRIGGER_PUSH	0x1
#define CONF_TRIGGER_TAG	0x2
#define CONF_TRIGGER_MERGE	0x4

/* One trigger rule: these kinds on refs matching any of these globs. */
struct conf_trigger {
	int	  kinds;
	char	**branches;		/* for push and merge; NULL = any */
	size_t	  nbranches;
	char	**tags;			/* for tag; NULL = any */
	size_t	  ntags;
};

/* How the generic handler finds things in an arbitrary JSON payload. */
struct conf_generic {
	char	*signature_header;	/* HMAC-SHA256 of the body, hex */
	char	*signature_prefix;	/* e.g. "sha256=", may be "" */
	char	*event_header;		/* optional */
	char	*delivery_header;	/* optional */
	char	*ref_pointer;		/* JSON pointers (RFC 6901) */
	char	*sha_pointer;
	char	*before_pointer;	/* optional */
	char	*repo_pointer;		/* optional */
	char	*sender_pointer;	/* optional */
};

/* A name and a value: variables and secrets for stages. */
struct conf_var {
	char	*name;
	char	*value;			/* secrets: wiped on free */
};

struct conf_project {
	char			*name;
	char			*repo;		/* clone URL */
	char			*provider;
	const struct handler	*handler;
	char			*secret;	/* wiped on free */
	size_t			 secretlen;
	struct conf_trigger	*triggers;
	size_t			 ntriggers;
	int			 supersede;	/* newer queued run wins */
	struct conf_generic	 generic;
	struct conf_notify	*notify;
	size_t			 nnotify;
	struct conf_status	*status;	/* NULL: none */
	int			 concurrency;	/* runs at once; default 1 */
	struct conf_var		*env;		/* for every stage */
	size_t			 nenv;
	struct conf_var		*secrets;	/* env from files; never logged */
	size_t			 nsecrets;
	char			**required_files;
	size_t			 nrequired_files;
	char			*token_file;	/* fetch credentials */
	char			*username;
	char			*password_file;
	char			*ssh_key_file;
};

/* Where notifications of some events go (a project's or environment's). */
#define CONF_EV_APPROVAL		0x01	/* approval requests */
#define CONF_EV_DEPLOY_STARTED		0x02
#define CONF_EV_DEPLOY_SUCCEEDED	0x04
#define CONF_EV_DEPLOY_FAILED		0x08
#define CONF_EV_RUN_FAILED		0x10
#define CONF_EV_RELEASE			0x20	/* other release changes */
struct conf_notify {
	char	 *channel;
	int	  events;		/* CONF_EV_* */
	char	**branches;		/* run_failed: only these; NULL any */
	size_t	  nbranches;
};

/* Commit statuses reported to the git host of a project. */
struct conf_status {
	char	*api_url;
	char	*token;			/* wiped on free */
	char	*context;		/* prefix, default "ferry" */
};

/*
 * Credentials for a registry the stages push to and pull from, and the
 * registry watch uses. With docker_config, username and password are its
 * entry for host, read when the configuration is loaded.
 */
struct conf_registry {
	char	*host;			/* host[:port] */
	char	*username;
	char	*password;		/* from password_file; wiped on free */
	char	*docker_config;		/* a Docker config.json, or NULL */
	char	**projects;		/* whose runs get it; none: all */
	size_t	  nprojects;
	int	 insecure;		/* plain http */
	int	 max_requests;		/* at once, by the watch; 0: 4 */
};

/* A tag policy, as written; policy.h compiles it. */
struct conf_policy {
	char	*kind;			/* semver, regex, latest, digest */
	char	*semver;		/* constraint */
	char	*allow;			/* ERE */
	char	*ignore;		/* EREs, one per line */
	char	*tag;			/* the mutable tag to follow */
};

#define CONF_DRIVER_GITOPS	1
#define CONF_DRIVER_ARGOCD	2
#define CONF_DRIVER_COMMAND	3

/*
 * An environment: the artifact repository the registry watch follows, the
 * policy choosing among its tags, how a release gets in (automatically or
 * by approval) and the driver that deploys it.
 */
struct conf_environment {
	char			*name;
	char			*repository;	/* host[:port]/path */
	char			*registry;	/* host[:port] */
	char			*repo_path;	/* path */
	struct conf_policy	 policy;
	int			 manual;	/* mode: manual */
	int			 require_acceptance;
	char			*project;	/* whose runs vouch, or NULL */
	int			 approvals;	/* needed, manual mode */
	char			**approvers;	/* chat user ids */
	size_t			 napprovers;
	int64_t			 deadline_ms;	/* awaiting approval */
	int64_t			 poll_ms;	/* 0: notifications only */
	int			 driver;	/* CONF_DRIVER_* */
	int64_t			 deploy_timeout_ms;
	/* gitops */
	char			*gitops_repo;
	char			*gitops_branch;
	char			*gitops_file;
	char			*gitops_key;
	char			*gitops_value;	/* tag, digest, reference */
	char			*gitops_author;
	char			*token_file;
	char			*username;
	char			*password_file;
	char			*ssh_key_file;
	/* argocd */
	char			*argocd_app;
	char			*argocd_namespace;
	char			*argocd_server;
	char			*argocd_ca_file;
	char			*argocd_token_file;
	int			 argocd_insecure;
	int			 argocd_wait;
	/* command */
	char			**command;	/* argv */
	size_t			 ncommand;
	/* chat */
	char			**deployers;	/* may deploy, roll back */
	size_t			 ndeployers;
	int			 self_approval;	/* a pusher may approve */
	struct conf_notify	*notify;
	size_t			 nnotify;
};

/* A channel notifications are posted to. */
#define CONF_CHANNEL_SLACK	1
#define CONF_CHANNEL_MATTERMOST	2
#define CONF_CHANNEL_WEBHOOK	3
struct conf_channel {
	char	*name;
	int	 type;
	char	*url;			/* secret for chat webhooks; wiped */
	char	*secret;		/* webhook HMAC key; wiped */
	size_t	 secretlen;
};

/* A person: names in git events and identities in chat and the API. */
struct conf_person {
	char	 *name;
	char	**git;			/* senders of pushes */
	size_t	  ngit;
	char	**ids;			/* slack:TEAM:USER, token:NAME, ... */
	size_t	  nids;
};

/* An endpoint for registry notifications: POST /hooks/registry/<name>. */
struct conf_registry_hook {
	char	*name;
	char	*header;		/* carries the secret */
	char	*secret;		/* wiped on free */
	size_t	 secretlen;
};

struct conf {
	char			*path;
	char			**listen;	/* "host:port" */
	size_t			 nlisten;
	char			*state_dir;
	char			*ready_file;	/* optional */
	char			*api_socket;
	char			*api_tokens_file;
	char			**api_tokens;	/* wiped on free */
	char			**api_token_names;	/* or NULL each */
	size_t			 napi_tokens;
	size_t			 body_bytes;
	size_t			 inflight_bytes;	/* all bodies held */
	int			 connections;
	int64_t			 timeout_ms;	/* per request */
	int			 sync_full;	/* fsync on every commit */
	int			 exec_concurrency;	/* runs at once, all */
	int64_t			 exec_grace_ms;
	int64_t			 exec_stage_timeout_ms;
	int64_t			 exec_checkout_timeout_ms;
	size_t			 exec_log_bytes;	/* per stage log */
	char			*exec_path;		/* PATH of stages */
	char			*exec_ferry;		/* the ferry binary */
	char			*exec_work_dir;		/* worktrees */
	int			 exec_keep_failed;	/* worktrees */
	int			 exec_isolation;	/* EXEC_ISOLATE_* */
	char			**secret_files;	/* every secret path: hidden
						   from stages */
	int			*secret_fds;	/* O_PATH of each, or -1 */
	size_t			 nsecret_files;
	struct conf_project	*projects;
	size_t			 nprojects;
	struct conf_registry	*registries;
	size_t			 nregistries;
	struct conf_environment	*environments;
	size_t			 nenvironments;
	struct conf_registry_hook *registry_hooks;
	size_t			 nregistry_hooks;
	char			*public_url;	/* links in messages */
	char			*slack_secret;	/* signing secret; wiped */
	size_t			 slack_secretlen;
	char			*slack_response_prefix;	/* response_url */
	char			*mm_token;	/* slash command token */
	size_t			 mm_tokenlen;
	char			*mm_action_secret;	/* button tokens */
	size_t			 mm_action_secretlen;
	char			*mm_action_url;
	struct conf_channel	*channels;
	size_t			 nchannels;
	struct conf_person	*people;
	size_t			 npeople;
	char			**warnings;	/* for -n and the log */
	size_t			 nwarnings;
};

struct conf	*conf_load(const char *, char **);
void		 conf_free(struct conf *);
const struct conf_project *conf_project_find(const struct conf *,
		     const char *);
int		 conf_project_triggers(const struct conf_project *, int,
		     const char *, const char **);
char		*conf_path(const struct conf *, const char *);
const struct conf_environment *conf_environment_find(const struct conf *,
		     const char *);
const struct conf_registry_hook *conf_registry_hook_find(const struct conf *,
		     const char *);
const struct conf_registry *conf_registry_find(const struct conf *,
		     const char *);
int	 conf_registry_for_project(const struct conf_registry *,
	    const char *);
int		 conf_policy_spec(const struct conf_policy *,
		     struct policy_spec *);
const struct conf_channel *conf_channel_find(const struct conf *,
		     const char *);
int		 conf_identity_in(const struct conf *, char **, size_t,
		     const char *);
const struct conf_person *conf_person_of(const struct conf *, const char *);

#endif
