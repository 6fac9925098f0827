/*
 * store.h: durable state in SQLite (WAL): deliveries for de-duplication and
 * runs. One interface, so that another backend can take its place.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

struct json_t;
struct store;

/* What a new run is made from; every string is borrowed. */
struct store_run_new {
	const char	*project;
	const char	*ref;
	const char	*sha;
	const char	*kind;		/* push, tag, merge */
	const char	*delivery;
	const char	*event_json;	/* the normalized event */
	int		 supersede;	/* older queued runs of a branch lose */
};

struct store	*store_open(const char *, int, char **);
void		 store_close(struct store *);
int		 store_begin(struct store *);
int		 store_commit(struct store *);
void		 store_rollback(struct store *);
int		 store_delivery_add(struct store *, const char *, const char *,
		     const char *, const char *);
int64_t		 store_run_find(struct store *, const char *, const char *,
		     const char *);
int64_t		 store_run_add(struct store *, const struct store_run_new *);
int		 store_run_requeue(struct store *, int64_t, const char *,
		     const char *);
/* An artifact a run published; every string is borrowed. */
struct store_artifact {
	const char	*project;
	const char	*sha;
	const char	*ref;
	const char	*kind;		/* image, bundle */
	const char	*name;		/* the image's name, or "bundle" */
	const char	*repository;
	const char	*tag;
	const char	*digest;	/* sha256:... */
	int64_t		 run_id;
};

struct json_t	*store_runs_list(struct store *, const char *, const char *,
		     int);
struct json_t	*store_run_get(struct store *, int64_t);
struct json_t	*store_stats(struct store *);
int		 store_run_set_state(struct store *, int64_t, const char *,
		     const char *);
int		 store_run_set_sha(struct store *, int64_t, const char *);
int		 store_run_sender_add(struct store *, int64_t, const char *);
int		 store_stage_set(struct store *, int64_t, int, const char *,
		     const char *, int);
int		 store_run_reset(struct store *, int64_t);
int		 store_output_set(struct store *, int64_t, const char *,
		     const char *, const char *);
int		 store_runs_recover(struct store *);
int64_t		 store_run_new_manual(struct store *, const char *,
		     const char *, const char *, const char *, const char *,
		     int64_t);
struct json_t	*store_runs_queued(struct store *, int);
struct json_t	*store_stages_get(struct store *, int64_t);
struct json_t	*store_outputs_get(struct store *, int64_t);
int		 store_artifact_add(struct store *,
		     const struct store_artifact *);
int		 store_acceptance_set(struct store *, const char *, int64_t,
		     const char *);
struct json_t	*store_artifacts_list(struct store *, const char *, int);

/* A new release; every string is borrowed. */
struct store_release_new {
	const char	*env;
	const char	*repository;	/* host/path */
	const char	*tag;
	const char	*digest;
	const char	*source;	/* watch, manual, rollback */
	const char	*state;
	const char	*reason;
	const char	*requested_by;
	int		 approvals_needed;
	int64_t		 deadline;	/* ms since the epoch, 0: none */
	int64_t		 rollback_of;
};

/* store_release.c */
int64_t		 store_release_add(struct store *,
		     const struct store_release_new *);
int		 store_release_set_state(struct store *, int64_t,
		     const char *, const char *);
int		 store_release_set_result(struct store *, int64_t,
		     const char *);
int		 store_release_set_digest(struct store *, int64_t,
		     const char *);
int		 store_release_set_deadline(struct store *, int64_t, int64_t);
struct json_t	*store_release_get(struct store *, int64_t);
struct json_t	*store_releases_list(struct store *, const char *, int);
struct json_t	*store_releases_open(struct store *, const char *);
struct json_t	*store_releases_deployed(struct store *, const char *, int);
struct json_t	*store_releases_in_state(struct store *, const char *);
int64_t		 store_release_seen(struct store *, const char *,
		     const char *, const char *, int);
int64_t		 store_release_deploying(struct store *, const char *);
int		 store_releases_supersede(struct store *, const char *,
		     int64_t);
int		 store_approval_add(struct store *, int64_t, const char *,
		     const char *, const char *, const char *);
int		 store_approvals_count(struct store *, int64_t);
int		 store_acceptance_result(struct store *, const char *,
		    const char *, const char *);
struct json_t	*store_watch_get(struct store *, const char *);
int		 store_watch_set(struct store *, const char *, const char *,
		     const char *, int);
int		 store_watch_pause(struct store *, const char *, int);
int		 store_watch_tag_get(struct store *, const char *,
		     const char *, char *, size_t, long long *);
struct json_t	*store_artifact_senders(struct store *, const char *);
int		 store_audit_add(struct store *, const char *, const char *,
		     const char *, const char *, const char *, const char *,
		     const char *);
struct json_t	*store_audit_list(struct store *, int);
struct json_t	*store_watch_tags(struct store *, const char *);
int		 store_watch_tag_forget(struct store *, const char *,
		     const char *);
int		 store_watch_tag_set(struct store *, const char *,
		     const char *, const char *, long long);

/* A new outbox message (outbox.h); every string is borrowed. */
struct store_outbox_new {
	const char	*kind;
	const char	*url;
	const char	*method;
	const char	*content_type;
	const char	*body;
	const char	*auth;
	const char	*dedupe;
};

/* store_outbox.c */
int64_t		 store_outbox_add(struct store *,
		     const struct store_outbox_new *);
struct json_t	*store_outbox_next(struct store *, int);
int		 store_outbox_done(struct store *, int64_t, const char *,
		     int64_t, const char *);
int		 store_outbox_kill(struct store *, int64_t, const char *);
int64_t		 store_outbox_count(struct store *, const char *);
struct json_t	*store_outbox_list(struct store *, const char *, int);
int		 store_outbox_prune(struct store *, int64_t);

#endif
