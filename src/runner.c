/*
 * The runner: queued runs become processes.
 *
 * DESIGN: runner_kick schedules one pass (a deferred event) that starts
 * queued runs, oldest first, while the global limit (executor.concurrency)
 * and each project's limit (concurrency, 1 by default) allow. A run is a
 * small state machine driven by exec's completion callbacks:
 *
 *   checkout  `ferry checkout` in a child: fetch the project's mirror,
 *             check the commit is on its ref, write .ferry.yaml as read
 *             from the commit's tree, and a clean worktree of the commit
 *   pipeline  parse that .ferry.yaml here (or the werf default when there
 *             is none but a werf.yaml); an error fails the run with its
 *             line and column in the pipeline log
 *   stages    one child per stage, in order, in its own process group,
 *             with a clean environment; a failure skips the rest unless
 *             the stage continues on failure
 *
 * Every state change is written to the store before the next step
 * starts, so a crash leaves a run "running", which start-up turns into
 * "interrupted" and queues once more. A run copies what it needs from the
 * configuration when it starts, so a reload cannot change it midway.
 * Payload data (ref, commit, event) reaches stages only through the
 * environment, never through an argv or a shell string.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <jansson.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "exec.h"
#include "gitevent.h"
#include "kube.h"
#include "oci.h"
#include "pipeline.h"
#include "runner.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define RUNNER_OUTPUT_MAX	(64 * 1024)	/* $FERRY_OUTPUT file */

/* A growing NULL-terminated array of "NAME=value" strings. */
struct runner_env {
	char	**v;
	size_t	  n;
};

struct runner_run {
	struct runner		*runner;
	int64_t			 id;
	char			*project;
	char			*repo;
	char			*ref;
	char			*sha;		/* full once checked out */
	char			*kind;
	int			 manual;
	char			*workdir;	/* state/work/<id> */
	char			*worktree;	/* workdir/src */
	char			*logdir;	/* state/logs/<id> */
	struct runner_env	 env;		/* common to every stage */
	struct runner_env	 outs;		/* FERRY_OUT_* so far */
	char			**checkout_argv;
	struct pipeline		*pipeline;
	size_t			 next;		/* next stage index */
	int			 seq;		/* its seq in the store */
	const char		*stage;		/* running stage's name */
	struct exec_job		*job;
	int			 canceled;
	int			 failed;
	int64_t			 stage_timeout_ms;
	int64_t			 checkout_timeout_ms;
	int64_t			 grace_ms;
	size_t			 log_bytes;
	int			 keep_failed;
	char			*bundle_digest;	/* from a bundle output */
	int			 judged;	/* acceptance has run */
	LIST_ENTRY(runner_run)	 entry;
};

struct runner {
	struct event_base		*base;
	struct store			*store;
	const struct conf		*conf;
	struct event			*kick_ev;
	LIST_HEAD(, runner_run)		 runs;
	int				 nruns;
	int				 stopping;
	void				(*acceptance_cb)(void *);
	void				*acceptance_arg;
	runner_observer_fn		 observer;
	void				*observer_arg;
};

static void	runner_next_stage(struct runner_run *);
static int	runner_registry_env(struct runner_run *, const struct conf *);
static void	runner_finish(struct runner_run *, const char *,
		    const char *);

static void	runner_remove_tree(const char *);

/*
 * A run's folder in executor.work_dir is "<run>.<attempt>"; one that
 * keep_failed_worktrees kept holds this file. A folder being swept is
 * first renamed "<run>.<attempt>.stale".
 */
#define RUNNER_KEPT	".ferry-kept"

/*
 * Whether name is "<digits>.<digits>" (a run's folder, 0) or that with
 * ".stale" after it (a folder an earlier sweep had begun to remove, 1).
 * Anything else (-1) is not ferry's to touch.
 */
static int
runner_work_name(const char *name)
{
	const char	*p = name;
	int		 i;

	for (i = 0; i < 2; i++) {
		if (!isdigit((unsigned char)*p))
			return (-1);
		while (isdigit((unsigned char)*p))
			p++;
		if (i == 0 && *p++ != '.')
			return (-1);
	}
	if (*p == '\0')
		return (0);
	return (strcmp(p, ".stale") == 0 ? 1 : -1);
}

/*
 * Sweep what an earlier ferryd left in work: the folders of its runs
 * (nothing runs yet, so they are stale) unless kept for debugging, and
 * the halves of an interrupted sweep. Only ferry's own names are
 * touched: the folder itself may be shared, or a mount point (a tmpfs),
 * so neither it nor anything else in it is removed. Each folder is
 * renamed first, so a run started at once never meets it, and removed by
 * a child.
 */
static void
runner_sweep_work(const char *work)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		*path, *kept, *stale;
	int		 kind;

	if ((d = opendir(work)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((kind = runner_work_name(de->d_name)) == -1)
			continue;
		xasprintf(&path, "%s/%s", work, de->d_name);
		if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			free(path);
			continue;
		}
		if (kind == 0) {
			xasprintf(&kept, "%s/" RUNNER_KEPT, path);
			if (access(kept, F_OK) == 0) {
				free(kept);
				free(path);
				continue;
			}
			free(kept);
			xasprintf(&stale, "%s.stale", path);
			if (rename(path, stale) != 0) {
				log_warn("runner: rename %s", path);
				free(stale);
				free(path);
				continue;
			}
			free(path);
			path = stale;
		}
		log_info("runner: removing stale %s", path);
		runner_remove_tree(path);
		free(path);
	}
	closedir(d);
}

/*
 * Remove every "<work>.stale.*" folder beside work: an earlier ferryd
 * moved the whole work folder aside at start-up.
 */
static void
runner_sweep_stale(const char *work)
{
	DIR		*d;
	struct dirent	*de;
	char		*dir, *base, *prefix, *path;

	dir = xstrdup(work);
	if ((base = strrchr(dir, '/')) == NULL) {
		free(dir);
		return;
	}
	*base++ = '\0';
	xasprintf(&prefix, "%s.stale.", base);
	if ((d = opendir(*dir != '\0' ? dir : "/")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			xasprintf(&path, "%s/%s", dir, de->d_name);
			runner_remove_tree(path);
			free(path);
		}
		closedir(d);
	}
	free(prefix);
	free(dir);
}

/*
 * A new runner. Nothing runs yet, so run folders left by an earlier
 * ferryd are stale: they are swept (see runner_sweep_work).
 */
struct runner *
runner_new(struct event_base *base, struct store *store,
    const struct conf *conf)
{
	struct runner	*r;

	r = xcalloc(1, sizeof *r);
	r->base = base;
	r->store = store;
	r->conf = conf;
	LIST_INIT(&r->runs);
	runner_sweep_work(conf->exec_work_dir);
	runner_sweep_stale(conf->exec_work_dir);
	return (r);
}

/* Told of every stage's state and of each run's end (stage NULL). */
void
runner_set_observer(struct runner *r, runner_observer_fn fn, void *arg)
{
	r->observer = fn;
	r->observer_arg = arg;
}

/* Called after an acceptance result is recorded (releases wait on it). */
void
runner_set_acceptance_cb(struct runner *r, void (*cb)(void *), void *arg)
{
	r->acceptance_cb = cb;
	r->acceptance_arg = arg;
}

void
runner_set_conf(struct runner *r, const struct conf *conf)
{
	r->conf = conf;
	runner_kick(r);
}

static void
runner_env_add(struct runner_env *e, const char *name, const char *value)
{
	e->v = xreallocarray(e->v, e->n + 2, sizeof *e->v);
	xasprintf(&e->v[e->n++], "%s=%s", name, value);
	e->v[e->n] = NULL;
}

/*
 * Set NAME to value, replacing an earlier NAME: the environment never
 * holds a name twice (programs disagree on which one wins).
 */
static void
runner_env_set(struct runner_env *e, const char *name, const char *value)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=') {
			freezero_str(e->v[i]);
			xasprintf(&e->v[i], "%s=%s", name, value);
			return;
		}
	}
	runner_env_add(e, name, value);
}

static int
runner_env_has(const struct runner_env *e, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
			return (1);
	}
	return (0);
}

/* runner_env_set from a "NAME=value" string. */
static void
runner_env_put(struct runner_env *e, const char *pair)
{
	char	*name;
	const char *eq = strchr(pair, '=');

	if (eq == NULL)
		return;
	name = xstrndup(pair, (size_t)(eq - pair));
	runner_env_set(e, name, eq + 1);
	free(name);
}

static void
runner_env_free(struct runner_env *e, int secret)
{
	size_t	i;

	for (i = 0; i < e->n; i++) {
		if (secret)
			freezero_str(e->v[i]);
		else
			free(e->v[i]);
	}
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

/* Path of a stage's log; caller frees. */
char *
runner_log_path(const struct conf *conf, int64_t run, const char *stage)
{
	char	*p;

	xasprintf(&p, "%s/logs/%lld/%s.log", conf->state_dir, (long long)run,
	    stage);
	return (p);
}

static void
runner_run_free(struct runner_run *run)
{
	size_t	i;

	LIST_REMOVE(run, entry);
	run->runner->nruns--;
	free(run->project);
	free(run->repo);
	free(run->ref);
	free(run->sha);
	free(run->kind);
	free(run->workdir);
	free(run->worktree);
	free(run->logdir);
	free(run->bundle_digest);
	runner_env_free(&run->env, 1);
	runner_env_free(&run->outs, 0);
	if (run->checkout_argv != NULL) {
		for (i = 0; run->checkout_argv[i] != NULL; i++)
			free(run->checkout_argv[i]);
		free(run->checkout_argv);
	}
	pipeline_free(run->pipeline);
	free(run);
}

/* Append a note from ferry itself to a stage's log. */
static void
runner_note(struct runner_run *run, const char *stage, const char *msg)
{
	char	*path;

	path = runner_log_path(run->runner->conf, run->id, stage);
	exec_log_note(path, "%s", msg);
	free(path);
}

/* A stage's state, stored, and told to the observer (commit statuses). */
static void
runner_stage_set(struct runner_run *run, int seq, const char *name,
    const char *state, int code)
{
	struct runner	*r = run->runner;

	store_stage_set(r->store, run->id, seq, name, state, code);
	if (r->observer != NULL && strcmp(state, "skipped") != 0)
		r->observer(r->observer_arg, run->id, run->project, run->ref,
		    run->sha, name, state);
}

/* The worktree is removed by a child, so the loop never walks it. */
static void
runner_cleanup_done(struct exec_job *job, int status, int timed_out,
    int canceled, void *arg)
{
	if (status != 0)
		log_warnx("runner: removing %s failed (%d)", (char *)arg,
		    status);
	free(arg);
}

/* Remove a folder of ours (never payload data) with rm in a child. */
static void
runner_remove_tree(const char *dir)
{
	struct exec_spec	 spec;
	char			*argv[] = { (char *)"/bin/rm", (char *)"-rf",
	    (char *)"--", (char *)(uintptr_t)dir, NULL };
	char			*envp[] = { NULL };
	char			*cause = NULL;

	memset(&spec, 0, sizeof spec);
	spec.argv = argv;
	spec.envp = envp;
	spec.log_fd = -1;
	spec.timeout_ms = 10 * 60 * 1000;
	spec.arg_free = free;
	if (exec_start(&spec, runner_cleanup_done, xstrdup(dir),
	    &cause) == NULL) {
		log_warnx("runner: cannot remove %s: %s", dir, cause);
		free(cause);
	}
}

static void
runner_cleanup(struct runner_run *run)
{
	runner_remove_tree(run->workdir);
}

/* End a run in state with an error message (NULL for success). */
static void
runner_finish(struct runner_run *run, const char *state, const char *error)
{
	struct runner	*r = run->runner;
	char		*auth, *kept;
	size_t		 i;
	int		 fd;

	/* Stages never reached are skipped. */
	if (run->pipeline != NULL) {
		for (i = run->next; i < run->pipeline->nstages; i++)
			runner_stage_set(run, (int)i + 2,
			    run->pipeline->stages[i].name, "skipped", -1);
	}
	store_run_set_state(r->store, run->id, state, error);
	if (r->observer != NULL)
		r->observer(r->observer_arg, run->id, run->project, run->ref,
		    run->sha, NULL, state);
	/* Registry passwords never stay behind, even in a kept worktree. */
	xasprintf(&auth, "%s/registry-auth.json", run->workdir);
	unlink(auth);
	free(auth);
	log_info("run %lld: %s%s%s", (long long)run->id, state,
	    error != NULL ? ": " : "", error != NULL ? error : "");
	if (strcmp(state, "success") == 0 || !run->keep_failed)
		runner_cleanup(run);
	else {
		/* So a restart's sweep leaves it for the person debugging. */
		xasprintf(&kept, "%s/" RUNNER_KEPT, run->workdir);
		if ((fd = open(kept, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) != -1)
			close(fd);
		free(kept);
		log_info("run %lld: worktree kept in %s", (long long)run->id,
		    run->worktree);
	}
	runner_run_free(run);
	runner_kick(r);
}

struct runner_output_ctx {
	struct runner_run	*run;
	const char		*stage;
};

/*
 * The reserved outputs image.<name> and bundle ("repository:tag@sha256:…")
 * record the run's release artifacts.
 */
static void
runner_record_artifact(struct runner_run *run, const char *stage,
    const char *key, const char *value)
{
	struct store_artifact	 a;
	char			*repository, *tag, *digest, msg[300];
	int			 bundle = strcmp(key, "bundle") == 0;

	if (!bundle && (strncmp(key, "image.", 6) != 0 || key[6] == '\0'))
		return;
	if (oci_artifact_parse(value, &repository, &tag, &digest) != 0) {
		snprintf(msg, sizeof msg, "output %s ignored: expected "
		    "repository:tag@sha256:<64 hex>", key);
		runner_note(run, stage, msg);
		return;
	}
	memset(&a, 0, sizeof a);
	a.project = run->project;
	a.sha = run->sha;
	a.ref = run->ref;
	a.kind = bundle ? "bundle" : "image";
	a.name = bundle ? "bundle" : key + 6;
	a.repository = repository;
	a.tag = tag;
	a.digest = digest;
	a.run_id = run->id;
	store_artifact_add(run->runner->store, &a);
	if (bundle) {
		free(run->bundle_digest);
		run->bundle_digest = xstrdup(digest);
	}
	log_info("run %lld: artifact %s %s:%s@%.19s", (long long)run->id,
	    a.name, repository, tag, digest);
	free(repository);
	free(tag);
	free(digest);
}

static void
runner_output_cb(const char *key, const char *value, void *arg)
{
	struct runner_output_ctx	*ctx = arg;
	char				 name[160], msg[200];

	/*
	 * The acceptance stage is judged, it does not name what is judged:
	 * a bundle or image it wrote, or a stage after it wrote, would be
	 * recorded as having passed without having been tested.
	 */
	if ((strcmp(ctx->stage, "acceptance") == 0 || ctx->run->judged) &&
	    (strcmp(key, "bundle") == 0 || strncmp(key, "image.", 6) == 0)) {
		snprintf(msg, sizeof msg, "output %.100s ignored: the "
		    "acceptance stage and the stages after it may not name "
		    "release artifacts", key);
		runner_note(ctx->run, ctx->stage, msg);
		log_warnx("run %lld: %s", (long long)ctx->run->id, msg);
		return;
	}
	runner_record_artifact(ctx->run, ctx->stage, key, value);
	pipeline_output_env_name(key, name, sizeof name);
	store_output_set(ctx->run->runner->store, ctx->run->id, ctx->stage,
	    key, value);
	runner_env_set(&ctx->run->outs, name, value);
}

/* Read key=value lines of a stage's $FERRY_OUTPUT into the run. */
static void
runner_read_outputs(struct runner_run *run, const char *stage)
{
	struct runner_output_ctx	 ctx = { run, stage };
	char				*buf, *cause = NULL;

	/*
	 * The stage owns out/ and may have left a symbolic link or a FIFO
	 * there: ferryd, outside the stage's namespaces, must not read
	 * through the one or block on the other.
	 */
	if ((buf = read_file_beneath(run->workdir, "out", stage,
	    RUNNER_OUTPUT_MAX, NULL, &cause)) == NULL) {
		if (cause != NULL && strstr(cause, "larger than") != NULL)
			runner_note(run, stage, "$FERRY_OUTPUT is larger than "
			    "64 KB; ignored");
		else if (cause != NULL && strstr(cause, "No such file") ==
		    NULL)
			runner_note(run, stage, "$FERRY_OUTPUT is not a "
			    "regular file in the run's out/ folder; ignored");
		free(cause);
		return;
	}
	pipeline_outputs_parse(buf, runner_output_cb, &ctx);
	free(buf);
}

static void
runner_stage_done(struct exec_job *job, int status, int timed_out,
    int canceled, void *arg)
{
	struct runner_run		*run = arg;
	struct runner			*r = run->runner;
	const struct pipeline_stage	*st = &run->pipeline->stages[run->next];
	char				 msg[160];
	const char			*state;

	run->job = NULL;
	run->stage = NULL;
	if (timed_out) {
		snprintf(msg, sizeof msg, "stage timed out after %lld s; its "
		    "process group was killed", (long long)((st->timeout_ms ?
		    st->timeout_ms : run->stage_timeout_ms) / 1000));
		runner_note(run, st->name, msg);
	} else if (canceled)
		runner_note(run, st->name, "stage canceled");
	else {
		snprintf(msg, sizeof msg, "stage exited %d", status);
		runner_note(run, st->name, msg);
	}
	state = canceled ? "canceled" : status == 0 && !timed_out ?
	    "success" : "failed";
	runner_stage_set(run, run->seq, st->name, state, status);
	runner_read_outputs(run, st->name);
	if (strcmp(st->name, "acceptance") == 0)
		run->judged = 1;
	if (strcmp(st->name, "acceptance") == 0 && !canceled) {
		/* The gate for promotion: kept against the bundle's digest. */
		if (run->bundle_digest != NULL) {
			store_acceptance_set(r->store, run->bundle_digest,
			    run->id, strcmp(state, "success") == 0 ? "passed" :
			    "failed");
			if (r->acceptance_cb != NULL)
				r->acceptance_cb(r->acceptance_arg);
		} else
			runner_note(run, st->name, "no bundle output before "
			    "acceptance: its result is not recorded");
	}
	run->next++;
	if (canceled || run->canceled) {
		runner_finish(run, "canceled", "canceled");
		return;
	}
	if (strcmp(state, "failed") == 0) {
		if (!st->continue_on_failure) {
			snprintf(msg, sizeof msg, "stage %s %s", st->name,
			    timed_out ? "timed out" : "failed");
			runner_finish(run, "failed", msg);
			return;
		}
		run->failed = 1;
	}
	runner_next_stage(run);
}

/*
 * The environment of one stage. Later entries win: the stage's own env,
 * then the outputs of earlier stages, then what ferry sets for the run and
 * the stage (FERRY_*, PATH, HOME, CI), which nothing can override.
 */
static char **
runner_stage_env(struct runner_run *run, const struct pipeline_stage *st,
    const char *output)
{
	struct runner_env	 e = { NULL, 0 };
	size_t			 i;
	char			 n[32];

	for (i = 0; i < st->nenv; i++)
		runner_env_put(&e, st->env[i]);
	for (i = 0; i < run->outs.n; i++)
		runner_env_put(&e, run->outs.v[i]);
	for (i = 0; i < run->env.n; i++)
		runner_env_put(&e, run->env.v[i]);
	runner_env_set(&e, "FERRY_STAGE", st->name);
	/* The acceptance stage deploys to and tests the test environment. */
	runner_env_set(&e, "FERRY_ENV", strcmp(st->name, "acceptance") == 0 ?
	    "test" : "ci");
	runner_env_set(&e, "FERRY_OUTPUT", output);
	snprintf(n, sizeof n, "%d", run->seq);
	runner_env_set(&e, "FERRY_STAGE_SEQ", n);
	return (e.v);
}

/* The path of what fd is open on now, or NULL (closed, deleted). */
static const char *
runner_fd_path(int fd, char *buf, size_t len)
{
	char	link[64];
	ssize_t	n;

	if (fd == -1 || len < 2)
		return (NULL);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, buf, len - 1)) <= 0 || (size_t)n >= len - 1)
		return (NULL);
	buf[n] = '\0';
	if (buf[0] != '/' || (n > 10 && strcmp(buf + n - 10,
	    " (deleted)") == 0))
		return (NULL);
	return (buf);
}

/*
 * What a stage may not see (executor.isolation): ferryd's state (the
 * database, other runs, every mirror), the work folder of other runs, the
 * API socket (trusted as ferryd's own user), systemd credentials and every
 * secret file of the configuration (conf's secret_files). It keeps its run's folder (worktree,
 * $FERRY_OUTPUT, the registry auth file), $HOME and, read-only, its
 * project's mirror ($FERRY_GIT_DIR). Its own secrets are in its environment.
 */
static void
runner_isolation(const struct runner_run *run, const struct conf *conf,
    struct exec_isolation *iso)
{
	const char	*dir;
	char		*s, where[PATH_MAX];
	size_t		 i;

	memset(iso, 0, sizeof *iso);
	iso->mode = conf->exec_isolation;
	exec_isolation_add(&iso->hide, &iso->nhide, conf->state_dir);
	exec_isolation_add(&iso->hide, &iso->nhide, conf->exec_work_dir);
	if ((dir = getenv("CREDENTIALS_DIRECTORY")) != NULL)
		exec_isolation_add(&iso->hide, &iso->nhide, dir);
	/*
	 * In a Kubernetes pod: the pod's own ServiceAccount token, which the
	 * argocd driver uses by default and which may patch Applications.
	 */
	if (access(KUBE_SA_DIR, F_OK) == 0)
		exec_isolation_add(&iso->hide, &iso->nhide, KUBE_SA_DIR);
	exec_isolation_add(&iso->secrets, &iso->nsecrets, conf->api_socket);
	exec_isolation_add(&iso->secrets, &iso->nsecrets, conf->path);
	for (i = 0; i < conf->nsecret_files; i++) {
		exec_isolation_add(&iso->secrets, &iso->nsecrets,
		    conf->secret_files[i]);
		/* Where the file is now, if a stage moved a folder above it. */
		if ((dir = runner_fd_path(conf->secret_fds[i], where,
		    sizeof where)) != NULL && strcmp(dir,
		    conf->secret_files[i]) != 0)
			exec_isolation_add(&iso->secrets, &iso->nsecrets, dir);
	}
	exec_isolation_add(&iso->keep, &iso->nkeep, run->workdir);
	xasprintf(&s, "%s/home/%s", conf->state_dir, run->project);
	exec_isolation_add(&iso->keep, &iso->nkeep, s);
	free(s);
	xasprintf(&s, "%s/mirrors/%s.git", conf->state_dir, run->project);
	exec_isolation_add(&iso->keep_ro, &iso->nkeep_ro, s);
	free(s);
}

static void
runner_next_stage(struct runner_run *run)
{
	struct runner			*r = run->runner;
	const struct pipeline_stage	*st;
	struct exec_spec		 spec;
	struct exec_isolation		 iso;
	char				*log, *output, *cause = NULL, **envp;
	size_t				 i;
	int				 kind;

	for (; run->next < run->pipeline->nstages; run->next++) {
		st = &run->pipeline->stages[run->next];
		run->seq = (int)run->next + 2;
		kind = strcmp(run->kind, "tag") == 0 ? GITEVENT_TAG :
		    strcmp(run->kind, "merge") == 0 ? GITEVENT_MERGE :
		    GITEVENT_PUSH;
		if (run->canceled) {
			runner_finish(run, "canceled", "canceled");
			return;
		}
		if (!pipeline_stage_applies(st, kind, run->ref)) {
			runner_stage_set(run, run->seq, st->name,
			    "skipped", -1);
			continue;
		}
		xasprintf(&output, "%s/out/%s", run->workdir, st->name);
		log = runner_log_path(r->conf, run->id, st->name);
		envp = runner_stage_env(run, st, output);
		memset(&spec, 0, sizeof spec);
		spec.argv = st->argv;
		spec.envp = envp;
		spec.cwd = run->worktree;
		spec.log_path = log;
		spec.log_max = run->log_bytes;
		spec.timeout_ms = st->timeout_ms > 0 ? st->timeout_ms :
		    run->stage_timeout_ms;
		spec.grace_ms = run->grace_ms;
		runner_isolation(run, r->conf, &iso);
		spec.isolation = &iso;
		runner_stage_set(run, run->seq, st->name,
		    "running", -1);
		run->stage = st->name;
		run->job = exec_start(&spec, runner_stage_done, run, &cause);
		exec_isolation_free(&iso);
		for (i = 0; envp[i] != NULL; i++)
			freezero_str(envp[i]);
		free(envp);
		free(log);
		free(output);
		if (run->job == NULL) {
			runner_note(run, st->name, cause);
			runner_stage_set(run, run->seq, st->name,
			    "failed", 127);
			run->next++;
			runner_finish(run, "failed", cause);
			free(cause);
			return;
		}
		log_debug("run %lld: stage %s started", (long long)run->id,
		    st->name);
		return;
	}
	runner_finish(run, run->failed ? "failed" : "success",
	    run->failed ? "a stage failed (continue_on_failure)" : NULL);
}

/* Parse the pipeline the checkout wrote; start the stages. */
static void
runner_start_pipeline(struct runner_run *run, int werf)
{
	char		*path, *text, *cause = NULL, msg[200];
	size_t		 len, i;

	xasprintf(&path, "%s/ferry.yaml", run->workdir);
	text = read_file(path, PIPELINE_MAX_BYTES, &len, &cause);
	free(path);
	if (text != NULL) {
		run->pipeline = pipeline_parse(text, len, PIPELINE_FILE,
		    &cause);
		free(text);
	} else if (werf) {
		free(cause);
		cause = NULL;
		run->pipeline = pipeline_werf_default();
		runner_note(run, "pipeline", "no .ferry.yaml; werf.yaml found: "
		    "running the werf flow");
	} else {
		free(cause);
		xasprintf(&cause, "no .ferry.yaml and no werf.yaml at %.12s: "
		    "add a .ferry.yaml with a stages: list", run->sha);
	}
	if (run->pipeline == NULL) {
		runner_note(run, "pipeline", cause);
		runner_stage_set(run, 1, "pipeline", "failed", -1);
		snprintf(msg, sizeof msg, "invalid pipeline: %.150s", cause);
		free(cause);
		runner_finish(run, "failed", msg);
		return;
	}
	len = 0;
	for (i = 0; i < run->pipeline->nstages && len < sizeof msg - 1; i++)
		len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s",
		    i > 0 ? ", " : "", run->pipeline->stages[i].name);
	xasprintf(&path, "%s at %.12s: %zu stages: %s", run->pipeline->werf ?
	    "the werf flow" : PIPELINE_FILE, run->sha,
	    run->pipeline->nstages, msg);
	runner_note(run, "pipeline", path);
	free(path);
	runner_stage_set(run, 1, "pipeline", "running", -1);
	runner_stage_set(run, 1, "pipeline", "success", 0);
	for (i = 0; i < run->pipeline->nstages; i++)
		runner_stage_set(run, (int)i + 2,
		    run->pipeline->stages[i].name, "pending", -1);
	runner_env_set(&run->env, "FERRY_COMMIT", run->sha);
	run->next = 0;
	runner_next_stage(run);
}

/* Read the checkout's result file: commit=, werf=. */
static int
runner_checkout_result(struct runner_run *run, int *werf)
{
	char	*path, *buf, *cause = NULL, *line, *save = NULL;
	int	 ok = 0;

	*werf = 0;
	xasprintf(&path, "%s/checkout.result", run->workdir);
	buf = read_file(path, 4096, NULL, &cause);
	free(path);
	free(cause);
	if (buf == NULL)
		return (-1);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "commit=", 7) == 0 &&
		    sha_is_valid(line + 7)) {
			free(run->sha);
			run->sha = xstrdup(line + 7);
			ok = 1;
		} else if (strcmp(line, "werf=yes") == 0)
			*werf = 1;
	}
	free(buf);
	return (ok ? 0 : -1);
}

static void
runner_checkout_done(struct exec_job *job, int status, int timed_out,
    int canceled, void *arg)
{
	struct runner_run	*run = arg;
	struct runner		*r = run->runner;
	char			 msg[128];
	int			 werf;

	run->job = NULL;
	run->stage = NULL;
	if (canceled || run->canceled) {
		runner_stage_set(run, 0, "checkout", "canceled",
		    status);
		runner_finish(run, "canceled", "canceled");
		return;
	}
	if (status != 0 || runner_checkout_result(run, &werf) != 0) {
		runner_stage_set(run, 0, "checkout", "failed",
		    status);
		if (timed_out) {
			snprintf(msg, sizeof msg, "checkout timed out after "
			    "%lld s (executor.checkout_timeout)",
			    (long long)(run->checkout_timeout_ms / 1000));
			runner_note(run, "checkout", msg);
			runner_finish(run, "failed", msg);
		} else
			runner_finish(run, "failed", "checkout failed; see "
			    "the checkout log");
		return;
	}
	runner_stage_set(run, 0, "checkout", "success", 0);
	store_run_set_sha(r->store, run->id, run->sha);
	runner_start_pipeline(run, werf);
}

static void
runner_argv_add(char ***argv, size_t *n, const char *s)
{
	*argv = xreallocarray(*argv, *n + 2, sizeof **argv);
	(*argv)[(*n)++] = xstrdup(s);
	(*argv)[*n] = NULL;
}

/* The ferry binary: executor.ferry, else the one beside ferryd. */
/* The ferry binary next to ferryd, unless the configuration names one. */
char *
runner_ferry_path(const struct conf *conf)
{
	char	 self[PATH_MAX], *slash, *p;
	ssize_t	 n;

	if (conf->exec_ferry != NULL)
		return (xstrdup(conf->exec_ferry));
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			xasprintf(&p, "%s/ferry", self);
			if (access(p, X_OK) == 0)
				return (p);
			free(p);
		}
	}
	return (xstrdup("ferry"));
}

/* Start a queued run (row from the store) of project pr. */
static void
runner_start(struct runner *r, json_t *row, const struct conf_project *pr)
{
	const struct conf	*conf = r->conf;
	struct runner_run	*run;
	struct exec_spec	 spec;
	char			*mirror, *ferry, *log, *cause = NULL, *s;
	char			*envp[6];
	size_t			 n = 0, i;
	const char		*branch;

	run = xcalloc(1, sizeof *run);
	run->runner = r;
	run->id = json_integer_value(json_object_get(row, "id"));
	run->project = xstrdup(pr->name);
	run->repo = xstrdup(pr->repo);
	run->ref = xstrdup(json_string_value(json_object_get(row, "ref")));
	run->sha = xstrdup(json_string_value(json_object_get(row, "sha")));
	run->kind = xstrdup(json_string_value(json_object_get(row, "kind")));
	run->manual = json_integer_value(json_object_get(row, "manual")) != 0;
	run->stage_timeout_ms = conf->exec_stage_timeout_ms;
	run->checkout_timeout_ms = conf->exec_checkout_timeout_ms;
	run->grace_ms = conf->exec_grace_ms;
	run->log_bytes = conf->exec_log_bytes;
	run->keep_failed = conf->exec_keep_failed;
	/* One folder per attempt: a crashed attempt's leftovers stay apart. */
	xasprintf(&run->workdir, "%s/%lld.%lld", conf->exec_work_dir,
	    (long long)run->id, (long long)json_integer_value(json_object_get(
	    row, "attempts")) + 1);
	xasprintf(&run->worktree, "%s/src", run->workdir);
	xasprintf(&run->logdir, "%s/logs/%lld", conf->state_dir,
	    (long long)run->id);
	LIST_INSERT_HEAD(&r->runs, run, entry);
	r->nruns++;

	store_run_reset(r->store, run->id);
	store_run_set_state(r->store, run->id, "running", NULL);
	log_info("run %lld: started (%s %s)", (long long)run->id, run->project,
	    run->ref);
	if (json_integer_value(json_object_get(row, "attempts")) > 0) {
		mkdirs(run->logdir, 0750);
		runner_note(run, "checkout", "---- attempt after an "
		    "interruption ----");
	}

	/* What every stage sees; nothing of ferryd's own environment. */
	runner_env_add(&run->env, "PATH", conf->exec_path);
	/*
	 * A HOME per project: what one project's stages leave there (a
	 * ~/.gitconfig, a docker config, a shell profile) never reaches
	 * another project's stages.
	 */
	xasprintf(&s, "%s/home/%s", conf->state_dir, run->project);
	mkdirs(s, 0750);
	runner_env_add(&run->env, "HOME", s);
	free(s);
	runner_env_add(&run->env, "LANG", "C.UTF-8");
	runner_env_add(&run->env, "CI", "true");
	runner_env_add(&run->env, "FERRY_PROJECT", run->project);
	xasprintf(&s, "%lld", (long long)run->id);
	runner_env_add(&run->env, "FERRY_RUN_ID", s);
	free(s);
	runner_env_add(&run->env, "FERRY_EVENT", run->manual &&
	    json_integer_value(json_object_get(row, "retry_of")) == 0 ?
	    "manual" : run->kind);
	runner_env_add(&run->env, "FERRY_REF", run->ref);
	if ((branch = strncmp(run->ref, "refs/heads/", 11) == 0 ?
	    run->ref + 11 : NULL) != NULL)
		runner_env_add(&run->env, "FERRY_BRANCH", branch);
	else if (strncmp(run->ref, "refs/tags/", 10) == 0)
		runner_env_add(&run->env, "FERRY_TAG", run->ref + 10);
	runner_env_add(&run->env, "FERRY_WORKTREE", run->worktree);
	/* The project's mirror, for `ferry build` and `ferry tag`. */
	xasprintf(&s, "%s/mirrors/%s.git", conf->state_dir, pr->name);
	runner_env_add(&run->env, "FERRY_GIT_DIR", s);
	free(s);
	/* Project variables and secrets may not replace ferry's own. */
	for (i = 0; i < pr->nenv; i++)
		if (!runner_env_has(&run->env, pr->env[i].name))
			runner_env_add(&run->env, pr->env[i].name,
			    pr->env[i].value);
	for (i = 0; i < pr->nsecrets; i++)
		if (!runner_env_has(&run->env, pr->secrets[i].name))
			runner_env_add(&run->env, pr->secrets[i].name,
			    pr->secrets[i].value);

	xasprintf(&s, "%s/out", run->workdir);
	if (mkdirs(run->logdir, 0750) != 0 || mkdirs(s, 0750) != 0) {
		free(s);
		runner_finish(run, "failed", "cannot create the run's "
		    "directories");
		return;
	}
	free(s);

	if (runner_registry_env(run, conf) != 0) {
		runner_finish(run, "failed", "cannot write the registry "
		    "credentials for the run");
		return;
	}

	/* The checkout, as a child: git never blocks the loop. */
	xasprintf(&mirror, "%s/mirrors/%s.git", conf->state_dir, pr->name);
	ferry = runner_ferry_path(conf);
	runner_argv_add(&run->checkout_argv, &n, ferry);
	runner_argv_add(&run->checkout_argv, &n, "checkout");
	runner_argv_add(&run->checkout_argv, &n, "--mirror");
	runner_argv_add(&run->checkout_argv, &n, mirror);
	runner_argv_add(&run->checkout_argv, &n, "--url");
	runner_argv_add(&run->checkout_argv, &n, pr->repo);
	runner_argv_add(&run->checkout_argv, &n, "--worktree");
	runner_argv_add(&run->checkout_argv, &n, run->worktree);
	xasprintf(&s, "%s/ferry.yaml", run->workdir);
	runner_argv_add(&run->checkout_argv, &n, "--pipeline-out");
	runner_argv_add(&run->checkout_argv, &n, s);
	free(s);
	xasprintf(&s, "%s/checkout.result", run->workdir);
	runner_argv_add(&run->checkout_argv, &n, "--result");
	runner_argv_add(&run->checkout_argv, &n, s);
	free(s);
	for (i = 0; i < pr->nrequired_files; i++) {
		runner_argv_add(&run->checkout_argv, &n, "--require");
		runner_argv_add(&run->checkout_argv, &n,
		    pr->required_files[i]);
	}
	if (pr->token_file != NULL) {
		runner_argv_add(&run->checkout_argv, &n, "--token-file");
		runner_argv_add(&run->checkout_argv, &n, pr->token_file);
	}
	if (pr->username != NULL) {
		runner_argv_add(&run->checkout_argv, &n, "--username");
		runner_argv_add(&run->checkout_argv, &n, pr->username);
	}
	if (pr->password_file != NULL) {
		runner_argv_add(&run->checkout_argv, &n, "--password-file");
		runner_argv_add(&run->checkout_argv, &n, pr->password_file);
	}
	if (pr->ssh_key_file != NULL) {
		runner_argv_add(&run->checkout_argv, &n, "--ssh-key");
		runner_argv_add(&run->checkout_argv, &n, pr->ssh_key_file);
	}
	free(mirror);
	free(ferry);

	xasprintf(&envp[0], "PATH=%s", conf->exec_path);
	/*
	 * Not the stages' HOME: a stage may write there (and the next run of
	 * any project reads it), but the checkout's known_hosts and git
	 * configuration must be out of a stage's reach.
	 */
	xasprintf(&s, "%s/git-home", conf->state_dir);
	mkdirs(s, 0750);
	xasprintf(&envp[1], "HOME=%s", s);
	free(s);
	envp[2] = xstrdup("LANG=C.UTF-8");
	/*
	 * The ref and commit came in a webhook: they go to the checkout in
	 * its environment, never on its command line (ps, and the rule that
	 * payload data is never an argument).
	 */
	xasprintf(&envp[3], "FERRY_CHECKOUT_REF=%s", run->ref);
	xasprintf(&envp[4], "FERRY_CHECKOUT_SHA=%s", run->sha);
	envp[5] = NULL;
	log = runner_log_path(conf, run->id, "checkout");
	memset(&spec, 0, sizeof spec);
	spec.argv = run->checkout_argv;
	spec.envp = envp;
	spec.cwd = conf->state_dir;
	spec.log_path = log;
	spec.log_max = run->log_bytes;
	spec.timeout_ms = run->checkout_timeout_ms;
	spec.grace_ms = run->grace_ms;
	runner_stage_set(run, 0, "checkout", "running", -1);
	run->stage = "checkout";
	run->job = exec_start(&spec, runner_checkout_done, run, &cause);
	for (i = 0; envp[i] != NULL; i++)
		free(envp[i]);
	free(log);
	if (run->job == NULL) {
		runner_note(run, "checkout", cause);
		runner_stage_set(run, 0, "checkout", "failed", -1);
		runner_finish(run, "failed", cause);
		free(cause);
	}
}

/*
 * The server's registries for the stages: an auth file in the run's work
 * folder (mode 0600; `ferry build`, `ferry bundle` and buildah read it) and
 * the list of plain-http hosts. Passwords never reach an environment. A
 * run gets only the registries for its project (registries[].projects);
 * with none, no file and no variables.
 */
static int
runner_registry_env(struct runner_run *run, const struct conf *conf)
{
	const struct conf_registry	*rg;
	struct buf			 b, insecure;
	char				*path, *plain, *b64;
	size_t				 i;
	int				 fd, rc = -1, first = 1, n = 0;

	buf_init(&b);
	buf_init(&insecure);
	buf_addstr(&b, "{\"auths\":{");
	for (i = 0; i < conf->nregistries; i++) {
		rg = &conf->registries[i];
		/* Another project's registry password is not this run's. */
		if (!conf_registry_for_project(rg, run->project))
			continue;
		n++;
		if (rg->insecure) {
			if (insecure.len > 0)
				buf_addstr(&insecure, ",");
			buf_addstr(&insecure, rg->host);
		}
		if (rg->username == NULL)
			continue;
		xasprintf(&plain, "%s:%s", rg->username, rg->password);
		b64 = base64_encode(plain, strlen(plain));
		freezero_str(plain);
		if (!first)
			buf_addstr(&b, ",");
		first = 0;
		buf_add_json_str(&b, rg->host);
		buf_addstr(&b, ":{\"auth\":");
		buf_add_json_str(&b, b64);
		buf_addstr(&b, "}");
		freezero_str(b64);
	}
	buf_addstr(&b, "}}\n");
	if (n == 0) {
		rc = 0;
		goto out;
	}
	xasprintf(&path, "%s/registry-auth.json", run->workdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd != -1 && write(fd, b.data, b.len) == (ssize_t)b.len)
		rc = 0;
	if (fd != -1)
		close(fd);
	/* The server's settings win over a project variable of the name. */
	if (rc == 0) {
		runner_env_set(&run->env, "FERRY_REGISTRY_AUTH", path);
		runner_env_set(&run->env, "REGISTRY_AUTH_FILE", path);
		runner_env_set(&run->env, "FERRY_REGISTRY_INSECURE",
		    insecure.len > 0 ? insecure.data : "");
	} else
		unlink(path);
	free(path);
out:
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	buf_free(&insecure);
	return (rc);
}

static int
runner_project_running(struct runner *r, const char *project)
{
	struct runner_run	*run;
	int			 n = 0;

	LIST_FOREACH(run, &r->runs, entry) {
		if (strcmp(run->project, project) == 0)
			n++;
	}
	return (n);
}

/* One scheduling pass: start what the limits allow, oldest first. */
static void
runner_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct runner			*r = arg;
	const struct conf_project	*pr;
	json_t				*rows, *row;
	const char			*project;
	size_t				 i;

	if (r->stopping || r->nruns >= r->conf->exec_concurrency)
		return;
	if ((rows = store_runs_queued(r->store, 256)) == NULL)
		return;
	json_array_foreach(rows, i, row) {
		if (r->nruns >= r->conf->exec_concurrency)
			break;
		project = json_string_value(json_object_get(row, "project"));
		if ((pr = conf_project_find(r->conf, project)) == NULL) {
			store_run_set_state(r->store, json_integer_value(
			    json_object_get(row, "id")), "failed",
			    "the project is no longer configured");
			continue;
		}
		if (runner_project_running(r, project) >= pr->concurrency)
			continue;
		runner_start(r, row, pr);
	}
	json_decref(rows);
}

/* Schedule a pass of the runner after the current loop turn. */
void
runner_kick(struct runner *r)
{
	if (r->kick_ev == NULL)
		r->kick_ev = event_new(r->base, -1, 0, runner_kick_cb, r);
	event_active(r->kick_ev, 0, 0);
}

static struct runner_run *
runner_find(struct runner *r, int64_t id)
{
	struct runner_run	*run;

	LIST_FOREACH(run, &r->runs, entry) {
		if (run->id == id)
			return (run);
	}
	return (NULL);
}

/*
 * Cancel a run: a queued one at once, a running one by stopping its stage
 * (SIGTERM to the group, SIGKILL after the grace period). Returns 0, or -1
 * with *cause set (no such run, or it has ended).
 */
int
runner_cancel(struct runner *r, int64_t id, char **cause)
{
	struct runner_run	*run;
	json_t			*row;
	const char		*state;
	int			 rc = 0;

	if (r->stopping) {
		xasprintf(cause, "ferryd is stopping");
		return (-1);
	}
	if ((run = runner_find(r, id)) != NULL) {
		run->canceled = 1;
		if (run->job != NULL)
			exec_cancel(run->job);
		log_info("run %lld: cancel requested", (long long)id);
		return (0);
	}
	if ((row = store_run_get(r->store, id)) == NULL) {
		xasprintf(cause, "no run %lld", (long long)id);
		return (-1);
	}
	state = json_string_value(json_object_get(row, "state"));
	if (state != NULL && strcmp(state, "queued") == 0)
		store_run_set_state(r->store, id, "canceled", "canceled");
	else {
		xasprintf(cause, "run %lld is %s, not queued or running",
		    (long long)id, state != NULL ? state : "unknown");
		rc = -1;
	}
	json_decref(row);
	return (rc);
}

/* Queue a new run of the same commit as run id. Returns its id or -1. */
int64_t
runner_retry(struct runner *r, int64_t id, char **cause)
{
	json_t		*row;
	const char	*state;
	char		*ev;
	int64_t		 nid = -1;

	if (r->stopping) {
		xasprintf(cause, "ferryd is stopping");
		return (-1);
	}
	if ((row = store_run_get(r->store, id)) == NULL) {
		xasprintf(cause, "no run %lld", (long long)id);
		return (-1);
	}
	state = json_string_value(json_object_get(row, "state"));
	if (state != NULL && (strcmp(state, "queued") == 0 ||
	    strcmp(state, "running") == 0))
		xasprintf(cause, "run %lld is %s; retry it once it has ended",
		    (long long)id, state);
	else {
		ev = json_dumps(json_object_get(row, "event"), JSON_COMPACT);
		nid = store_run_new_manual(r->store, json_string_value(
		    json_object_get(row, "project")), json_string_value(
		    json_object_get(row, "ref")), json_string_value(
		    json_object_get(row, "sha")), json_string_value(
		    json_object_get(row, "kind")), ev != NULL ? ev : "null",
		    id);
		free(ev);
		if (nid == -1)
			xasprintf(cause, "the store is unavailable");
		else {
			log_info("run %lld: queued as a retry of run %lld",
			    (long long)nid, (long long)id);
			runner_kick(r);
		}
	}
	json_decref(row);
	return (nid);
}

/*
 * Queue a manual run of ref ("main", "refs/heads/main", "refs/tags/v1")
 * in project; the commit is the ref's tip when the checkout runs.
 */
int64_t
runner_trigger(struct runner *r, const char *project, const char *ref,
    char **cause)
{
	char	*full, *ev;
	int64_t	 id;

	if (r->stopping) {
		xasprintf(cause, "ferryd is stopping");
		return (-1);
	}
	if (conf_project_find(r->conf, project) == NULL) {
		xasprintf(cause, "no project named \"%.100s\"", project);
		return (-1);
	}
	if (strncmp(ref, "refs/", 5) == 0)
		full = xstrdup(ref);
	else
		xasprintf(&full, "refs/heads/%s", ref);
	if (!ref_is_valid(full)) {
		free(full);
		xasprintf(cause, "invalid ref name");
		return (-1);
	}
	xasprintf(&ev, "{\"provider\":\"manual\",\"kind\":\"%s\"}",
	    strncmp(full, "refs/tags/", 10) == 0 ? "tag" : "push");
	id = store_run_new_manual(r->store, project, full, "",
	    strncmp(full, "refs/tags/", 10) == 0 ? "tag" : "push", ev, 0);
	free(ev);
	if (id == -1)
		xasprintf(cause, "the store is unavailable");
	else {
		log_info("run %lld: queued by hand for %s %s", (long long)id,
		    project, full);
		runner_kick(r);
	}
	free(full);
	return (id);
}

/* Whether stage of run may still write to its log (running or ahead). */
int
runner_stage_open(struct runner *r, int64_t id, const char *stage)
{
	struct runner_run	*run;
	json_t			*row;
	const char		*state;
	int			 open_ = 0;
	size_t			 i;

	if ((run = runner_find(r, id)) != NULL) {
		if (run->stage != NULL && strcmp(run->stage, stage) == 0)
			return (1);
		if (run->pipeline == NULL)
			return (1);	/* still checking out */
		for (i = run->next; i < run->pipeline->nstages; i++) {
			if (strcmp(run->pipeline->stages[i].name, stage) == 0)
				return (1);
		}
		return (0);
	}
	if ((row = store_run_get(r->store, id)) != NULL) {
		state = json_string_value(json_object_get(row, "state"));
		open_ = state != NULL && strcmp(state, "queued") == 0;
		json_decref(row);
	}
	return (open_);
}

/*
 * Stop: start nothing more and kill the running stages. Their runs stay
 * "running" in the store, so the next start-up marks them interrupted and
 * queues them once more.
 */
void
runner_shutdown(struct runner *r)
{
	struct runner_run	*run;

	r->stopping = 1;
	LIST_FOREACH(run, &r->runs, entry) {
		log_info("run %lld: stopped by shutdown; it runs again after "
		    "the restart", (long long)run->id);
		run->job = NULL;	/* exec_shutdown frees it */
	}
	exec_shutdown();
}

void
runner_free(struct runner *r)
{
	struct runner_run	*run;

	if (r == NULL)
		return;
	while ((run = LIST_FIRST(&r->runs)) != NULL)
		runner_run_free(run);
	if (r->kick_ev != NULL)
		event_free(r->kick_ev);
	free(r);
}
