/*
 * The release manager: moves releases through their states (release.h)
 * and runs the deploy driver of an environment as a child process, one at
 * a time per environment. The drivers are ferry's own subcommands (`ferry
 * gitops set`, `ferry argocd sync`) or a configured argv; release data
 * reaches them as arguments of ours or FERRY_RELEASE_* variables, never
 * through a shell.
 *
 * DESIGN: decisions are re-derived from the store each time (release_eval)
 * rather than kept in memory, so a restart picks up exactly where the
 * store says things are. The one thing not in the store, a deploy child,
 * is recovered at start-up: a release left "deploying" is deployed again,
 * which the drivers make harmless (no commit when the value is set).
 */
#include "config.h"

#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "exec.h"
#include "log.h"
#include "oci.h"
#include "release.h"
#include "runner.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define RELEASE_TICK_MS		1000
#define RELEASE_LOG_BYTES	(1024 * 1024)
#define RELEASE_GRACE_MS	10000

struct release_deploy {
	struct release_mgr		*mgr;
	char				*env;
	int64_t				 id;
	struct exec_job			*job;
	LIST_ENTRY(release_deploy)	 entry;
};

struct release_mgr {
	struct event_base		*base;
	struct store			*store;
	const struct conf		*conf;
	struct event			*tick;
	release_resolve_fn		 resolve;
	void				*resolve_arg;
	LIST_HEAD(, release_deploy)	 deploys;
	int				 stopping;
	release_observer_fn		 observer;
	void				*observer_arg;
};

static void	release_eval(struct release_mgr *,
		    const struct conf_environment *);

char *
release_log_path(const struct conf *conf, int64_t id)
{
	char	*p;

	xasprintf(&p, "%s/logs/releases/%lld.log", conf->state_dir,
	    (long long)id);
	return (p);
}

static struct release_deploy *
release_deploy_find(struct release_mgr *m, const char *env)
{
	struct release_deploy	*d;

	LIST_FOREACH(d, &m->deploys, entry) {
		if (strcmp(d->env, env) == 0)
			return (d);
	}
	return (NULL);
}

/* Append a line of ferry's own to a release's log. */
static void
release_note(struct release_mgr *m, int64_t id, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static void
release_note(struct release_mgr *m, int64_t id, const char *fmt, ...)
{
	va_list	 ap;
	char	*path, *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	path = release_log_path(m->conf, id);
	exec_log_note(path, "%s", msg);
	free(path);
	free(msg);
}

static void
release_tick(evutil_socket_t fd, short what, void *arg)
{
	struct release_mgr	*m = arg;

	release_kick(m);
}

struct release_mgr *
release_new(struct event_base *base, struct store *st,
    const struct conf *conf)
{
	struct release_mgr	*m;
	struct timeval		 tv = { RELEASE_TICK_MS / 1000,
	    (RELEASE_TICK_MS % 1000) * 1000 };
	json_t			*rows, *row;
	size_t			 i;
	char			*dir;

	m = xcalloc(1, sizeof *m);
	m->base = base;
	m->store = st;
	m->conf = conf;
	LIST_INIT(&m->deploys);
	xasprintf(&dir, "%s/logs/releases", conf->state_dir);
	mkdirs(dir, 0750);
	free(dir);

	/* A deployment cut short by a restart is done again. */
	if ((rows = store_releases_in_state(st, "deploying")) != NULL) {
		json_array_foreach(rows, i, row) {
			int64_t id = json_integer_value(json_object_get(row,
			    "id"));
			store_release_set_state(st, id, "approved",
			    "the deployment was interrupted by a restart; "
			    "deploying again");
			log_info("release %lld: interrupted deployment, "
			    "deploying again", (long long)id);
		}
		json_decref(rows);
	}
	m->tick = event_new(base, -1, EV_PERSIST, release_tick, m);
	event_add(m->tick, &tv);
	return (m);
}

void
release_set_conf(struct release_mgr *m, const struct conf *conf)
{
	m->conf = conf;
}

/* Told of every change of a release's state (notifications). */
void
release_set_observer(struct release_mgr *m, release_observer_fn fn, void *arg)
{
	m->observer = fn;
	m->observer_arg = arg;
}

void
release_set_resolver(struct release_mgr *m, release_resolve_fn fn, void *arg)
{
	m->resolve = fn;
	m->resolve_arg = arg;
}

/* ferryd is stopping: start no deployment (a running one is ended). */
void
release_shutdown(struct release_mgr *m)
{
	m->stopping = 1;
	if (m->tick != NULL)
		event_del(m->tick);
}

void
release_free(struct release_mgr *m)
{
	struct release_deploy	*d;

	if (m == NULL)
		return;
	while ((d = LIST_FIRST(&m->deploys)) != NULL) {
		LIST_REMOVE(d, entry);
		/* exec_shutdown() ends the child; its callback is dropped. */
		d->job = NULL;
		free(d->env);
		free(d);
	}
	if (m->tick != NULL)
		event_free(m->tick);
	free(m);
}

/* Look at every environment again (a new acceptance result, a tick). */
void
release_kick(struct release_mgr *m)
{
	size_t	i;

	for (i = 0; i < m->conf->nenvironments; i++)
		release_eval(m, &m->conf->environments[i]);
}

static int
release_paused(struct release_mgr *m, const char *env)
{
	json_t	*w;
	int	 paused = 0;

	if ((w = store_watch_get(m->store, env)) != NULL) {
		paused = json_integer_value(json_object_get(w, "paused")) != 0;
		json_decref(w);
	}
	return (paused);
}

/* Set a release's state and log it, unless nothing changes. */
static void
release_set(struct release_mgr *m, json_t *row, const char *state,
    const char *reason)
{
	int64_t		 id = json_integer_value(json_object_get(row, "id"));
	const char	*old, *oldreason;

	old = json_string_value(json_object_get(row, "state"));
	oldreason = json_string_value(json_object_get(row, "reason"));
	if (old != NULL && strcmp(old, state) == 0 &&
	    ((reason == NULL && oldreason == NULL) || (reason != NULL &&
	    oldreason != NULL && strcmp(reason, oldreason) == 0)))
		return;
	store_release_set_state(m->store, id, state, reason);
	log_info("release %lld (%s %s): %s%s%s", (long long)id,
	    json_string_value(json_object_get(row, "env")),
	    json_string_value(json_object_get(row, "tag")), state,
	    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	release_note(m, id, "%s%s%s", state, reason != NULL ? ": " : "",
	    reason != NULL ? reason : "");
	json_object_set_new(row, "state", json_string(state));
	json_object_set_new(row, "reason", reason != NULL ?
	    json_string(reason) : json_null());
	if (m->observer != NULL)
		m->observer(m->observer_arg, row);
}

static void
release_deploy_done(struct exec_job *job, int status, int timed_out,
    int canceled, void *arg)
{
	struct release_deploy		*d = arg;
	struct release_mgr		*m = d->mgr;
	const struct conf_environment	*env;
	json_t				*row;
	char				 reason[160];

	LIST_REMOVE(d, entry);
	if ((row = store_release_get(m->store, d->id)) != NULL) {
		if (status == 0 && !timed_out && !canceled)
			release_set(m, row, "deployed", NULL);
		else {
			if (timed_out)
				snprintf(reason, sizeof reason, "the deploy "
				    "driver timed out (see the release log)");
			else if (canceled)
				snprintf(reason, sizeof reason, "the "
				    "deployment was canceled");
			else
				snprintf(reason, sizeof reason, "the deploy "
				    "driver exited %d (see the release log)",
				    status);
			release_set(m, row, "failed", reason);
		}
		json_decref(row);
	}
	/* A newer release may have been waiting for this one. */
	if ((env = conf_environment_find(m->conf, d->env)) != NULL)
		release_eval(m, env);
	free(d->env);
	free(d);
}

/* The argv of env's driver for a release (row). */
static void
release_argv(struct release_mgr *m, const struct conf_environment *env,
    json_t *row, struct strv *argv)
{
	const char	*tag, *digest, *repo;
	char		*ferry, *msg;
	size_t		 i;

	tag = json_string_value(json_object_get(row, "tag"));
	digest = json_string_value(json_object_get(row, "digest"));
	repo = json_string_value(json_object_get(row, "repository"));
	if (env->driver == CONF_DRIVER_COMMAND) {
		for (i = 0; i < env->ncommand; i++)
			strv_add(argv, env->command[i]);
		return;
	}
	ferry = runner_ferry_path(m->conf);
	strv_add(argv, ferry);
	free(ferry);
	if (env->driver == CONF_DRIVER_GITOPS) {
		strv_add(argv, "gitops");
		strv_add(argv, "set");
		strv_add(argv, "--repo");
		strv_add(argv, env->gitops_repo);
		strv_add(argv, "--file");
		strv_add(argv, env->gitops_file);
		strv_add(argv, "--key");
		strv_add(argv, env->gitops_key);
		strv_add(argv, "--value");
		if (env->gitops_value == NULL ||
		    strcmp(env->gitops_value, "tag") == 0)
			strv_add(argv, tag);
		else if (strcmp(env->gitops_value, "digest") == 0)
			strv_add(argv, digest);
		else
			strv_addf(argv, "%s:%s@%s", repo, tag, digest);
		if (env->gitops_branch != NULL) {
			strv_add(argv, "--branch");
			strv_add(argv, env->gitops_branch);
		}
		if (env->gitops_author != NULL) {
			strv_add(argv, "--author");
			strv_add(argv, env->gitops_author);
		}
		xasprintf(&msg, "ferry: deploy %s:%s to %s\n\n"
		    "Artifact: %s:%s@%s\nRelease: %lld\n", repo, tag,
		    env->name, repo, tag, digest, (long long)
		    json_integer_value(json_object_get(row, "id")));
		strv_add(argv, "--message");
		strv_add(argv, msg);
		free(msg);
		strv_add(argv, "--work-dir");
		strv_addf(argv, "%s/gitops/%s", m->conf->state_dir, env->name);
		if (env->token_file != NULL) {
			strv_add(argv, "--token-file");
			strv_add(argv, env->token_file);
		}
		if (env->username != NULL) {
			strv_add(argv, "--username");
			strv_add(argv, env->username);
		}
		if (env->password_file != NULL) {
			strv_add(argv, "--password-file");
			strv_add(argv, env->password_file);
		}
		if (env->ssh_key_file != NULL) {
			strv_add(argv, "--ssh-key-file");
			strv_add(argv, env->ssh_key_file);
		}
		return;
	}
	strv_add(argv, "argocd");
	strv_add(argv, "sync");
	strv_add(argv, "--app");
	strv_add(argv, env->argocd_app);
	strv_add(argv, "--revision");
	strv_add(argv, tag);
	if (env->argocd_namespace != NULL) {
		strv_add(argv, "--namespace");
		strv_add(argv, env->argocd_namespace);
	}
	if (env->argocd_server != NULL) {
		strv_add(argv, "--server");
		strv_add(argv, env->argocd_server);
	}
	if (env->argocd_ca_file != NULL) {
		strv_add(argv, "--ca-file");
		strv_add(argv, env->argocd_ca_file);
	}
	if (env->argocd_token_file != NULL) {
		strv_add(argv, "--token-file");
		strv_add(argv, env->argocd_token_file);
	}
	if (env->argocd_insecure)
		strv_add(argv, "--insecure");
	if (env->argocd_wait) {
		strv_add(argv, "--wait");
		strv_add(argv, "--timeout");
		/* The child gives up before ferry kills it, and says why. */
		strv_addf(argv, "%llds", (long long)(env->deploy_timeout_ms >
		    10000 ? env->deploy_timeout_ms - 5000 :
		    env->deploy_timeout_ms) / 1000);
	}
}

/* Start deploying an approved release (row) of env. */
static void
release_start(struct release_mgr *m, const struct conf_environment *env,
    json_t *row)
{
	struct release_deploy	*d;
	struct exec_spec	 spec;
	struct strv		 argv = { NULL, 0 }, envp = { NULL, 0 };
	const char		*tag, *digest, *repo;
	char			*log, *cause = NULL, *home;
	int64_t			 id;

	id = json_integer_value(json_object_get(row, "id"));
	tag = json_string_value(json_object_get(row, "tag"));
	digest = json_string_value(json_object_get(row, "digest"));
	repo = json_string_value(json_object_get(row, "repository"));
	release_argv(m, env, row, &argv);

	strv_addf(&envp, "PATH=%s", m->conf->exec_path);
	/*
	 * Not the stages' HOME, which any pushed commit can write: a deploy
	 * runs unisolated with ferryd's rights, and ~/.kube/config, helm's
	 * plugins or a python path planted there would run with them.
	 */
	xasprintf(&home, "%s/deploy-home", m->conf->state_dir);
	mkdirs(home, 0750);
	strv_addf(&envp, "HOME=%s", home);
	free(home);
	strv_add(&envp, "LANG=C.UTF-8");
	strv_addf(&envp, "FERRY_RELEASE_ID=%lld", (long long)id);
	strv_addf(&envp, "FERRY_RELEASE_ENV=%s", env->name);
	strv_addf(&envp, "FERRY_RELEASE_REPOSITORY=%s", repo);
	strv_addf(&envp, "FERRY_RELEASE_TAG=%s", tag);
	strv_addf(&envp, "FERRY_RELEASE_DIGEST=%s", digest);
	strv_addf(&envp, "FERRY_RELEASE_REFERENCE=%s:%s@%s", repo, tag,
	    digest);
	strv_addf(&envp, "FERRY_RELEASE_SOURCE=%s",
	    json_string_value(json_object_get(row, "source")));

	d = xcalloc(1, sizeof *d);
	d->mgr = m;
	d->env = xstrdup(env->name);
	d->id = id;
	release_set(m, row, "deploying", NULL);
	log = release_log_path(m->conf, id);
	memset(&spec, 0, sizeof spec);
	spec.argv = argv.v;
	spec.envp = envp.v;
	spec.cwd = m->conf->state_dir;
	spec.log_path = log;
	spec.log_max = RELEASE_LOG_BYTES;
	spec.timeout_ms = env->deploy_timeout_ms;
	spec.grace_ms = RELEASE_GRACE_MS;
	LIST_INSERT_HEAD(&m->deploys, d, entry);
	d->job = exec_start(&spec, release_deploy_done, d, &cause);
	free(log);
	strv_free(&argv);
	strv_free(&envp);
	if (d->job == NULL) {
		LIST_REMOVE(d, entry);
		release_set(m, row, "failed", cause);
		free(cause);
		free(d->env);
		free(d);
	}
}

/*
 * May who deploy to env, or roll it back, without approvals? In an
 * environment that needs approvals only its deployers may: anyone else's
 * request is a release like the watch's, which waits for the approvals.
 * Chat refuses non-deployers outright; the API asks for approvals.
 */
static int
release_may_deploy(const struct conf *conf, const struct conf_environment *env,
    const char *who)
{
	if (!env->manual)
		return (1);
	return (conf_identity_in(conf, env->deployers, env->ndeployers, who));
}

/*
 * Take env's newest release that is still on its way in one step further,
 * as far as it can go now.
 */
static void
release_eval(struct release_mgr *m, const struct conf_environment *env)
{
	json_t		*rows, *row;
	const char	*state, *digest, *source, *by;
	char		 reason[256];
	int64_t		 deadline, now, id;
	int		 acc, n, needed;
	size_t		 i;

	if (m->stopping)
		return;
	if ((rows = store_releases_open(m->store, env->name)) == NULL)
		return;
	if (release_deploy_find(m, env->name) != NULL) {
		/* Busy deploying; deadlines still pass meanwhile. */
		json_array_foreach(rows, i, row) {
			deadline = json_integer_value(json_object_get(row,
			    "deadline"));
			if (strcmp(json_string_value(json_object_get(row,
			    "state")), "awaiting-approval") == 0 &&
			    deadline > 0 && now_ms() >= deadline)
				release_set(m, row, "expired", "no decision "
				    "before the deadline");
		}
		json_decref(rows);
		return;
	}
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return;
	}
	row = json_array_get(rows, 0);
	id = json_integer_value(json_object_get(row, "id"));
	state = json_string_value(json_object_get(row, "state"));
	digest = json_string_value(json_object_get(row, "digest"));
	source = json_string_value(json_object_get(row, "source"));
	if (digest == NULL || *digest == '\0')
		goto out;	/* the watch is finding its digest */

	if (strcmp(state, "detected") == 0) {
		/* A rollback goes back to what was deployed before. */
		if (env->require_acceptance &&
		    strcmp(source, "rollback") != 0 &&
		    (acc = store_acceptance_result(m->store,
		    env->repository, digest, env->project)) != 1) {
			snprintf(reason, sizeof reason, acc == 0 ?
			    "acceptance failed for %s; it is not deployed to "
			    "%s" : "waiting for %s to pass acceptance",
			    digest, env->name);
			release_set(m, row, "detected", reason);
			goto out;
		}
		if ((by = json_string_value(json_object_get(row,
		    "requested_by"))) == NULL)
			by = "an unknown identity";
		if (strcmp(source, "watch") != 0 && !env->manual)
			release_set(m, row, "approved", "requested by an "
			    "operator");
		else if (strcmp(source, "watch") != 0 &&
		    release_may_deploy(m->conf, env, by)) {
			snprintf(reason, sizeof reason, "requested by %s, a "
			    "deployer of %s", by, env->name);
			release_set(m, row, "approved", reason);
		} else if (env->manual) {
			now = now_ms();
			store_release_set_deadline(m->store, id, now +
			    env->deadline_ms);
			json_object_set_new(row, "deadline",
			    json_integer(now + env->deadline_ms));
			if (strcmp(source, "watch") == 0)
				snprintf(reason, sizeof reason, "%d approval%s "
				    "needed", env->approvals, env->approvals ==
				    1 ? "" : "s");
			else
				snprintf(reason, sizeof reason, "requested by "
				    "%s, not a deployer of %s: %d approval%s "
				    "needed", by, env->name, env->approvals,
				    env->approvals == 1 ? "" : "s");
			release_set(m, row, "awaiting-approval", reason);
		} else if (release_paused(m, env->name)) {
			release_set(m, row, "detected", "automatic "
			    "deployment is paused (ferry resume)");
			goto out;
		} else
			release_set(m, row, "approved", NULL);
	}
	/* release_set() replaced the row's state string: read it again. */
	state = json_string_value(json_object_get(row, "state"));
	if (strcmp(state, "awaiting-approval") == 0) {
		needed = (int)json_integer_value(json_object_get(row,
		    "approvals_needed"));
		if (needed < 1)
			needed = env->approvals;
		n = store_approvals_count(m->store, id);
		deadline = json_integer_value(json_object_get(row,
		    "deadline"));
		if (deadline > 0 && now_ms() >= deadline) {
			release_set(m, row, "expired", "no decision before "
			    "the deadline");
			goto out;
		}
		if (n >= needed)
			release_set(m, row, "approved", NULL);
		else
			goto out;
	}
	state = json_string_value(json_object_get(row, "state"));
	if (strcmp(state, "approved") == 0)
		release_start(m, env, row);
out:
	json_decref(rows);
}

/* The watch selected (tag, digest) for env: a release, unless it made one. */
int64_t
release_detected(struct release_mgr *m, const char *envname, const char *tag,
    const char *digest)
{
	const struct conf_environment	*env;
	struct store_release_new	 r;
	int64_t				 id;

	if ((env = conf_environment_find(m->conf, envname)) == NULL)
		return (-1);
	if (!oci_digest_is_valid(digest) || !oci_tag_is_valid(tag)) {
		log_warnx("release: %s: not a tag and digest: \"%s\" \"%s\"",
		    envname, tag, digest);
		return (-1);
	}
	if ((id = store_release_seen(m->store, envname, tag, digest,
	    strcmp(env->policy.kind, "digest") == 0)) != 0)
		return (id);
	memset(&r, 0, sizeof r);
	r.env = envname;
	r.repository = env->repository;
	r.tag = tag;
	r.digest = digest;
	r.source = "watch";
	r.state = "detected";
	r.approvals_needed = env->manual ? env->approvals : 0;
	if ((id = store_release_add(m->store, &r)) <= 0)
		return (-1);
	log_info("release %lld: %s:%s@%s detected for %s", (long long)id,
	    env->repository, tag, digest, envname);
	release_note(m, id, "detected %s:%s@%s", env->repository, tag, digest);
	store_releases_supersede(m->store, envname, id);
	release_eval(m, env);
	return (id);
}

/* The digest of a release asked for by tag (release_deploy) is known. */
void
release_resolved(struct release_mgr *m, const char *envname, const char *tag,
    const char *digest, const char *error)
{
	const struct conf_environment	*env;
	json_t				*rows, *row;
	size_t				 i;
	int64_t				 id;

	if ((env = conf_environment_find(m->conf, envname)) == NULL)
		return;
	if ((rows = store_releases_open(m->store, envname)) == NULL)
		return;
	json_array_foreach(rows, i, row) {
		if (strcmp(json_string_value(json_object_get(row, "digest")),
		    "") != 0 || strcmp(json_string_value(json_object_get(row,
		    "tag")), tag) != 0)
			continue;
		id = json_integer_value(json_object_get(row, "id"));
		if (error != NULL) {
			release_set(m, row, "failed", error);
			continue;
		}
		store_release_set_digest(m->store, id, digest);
		release_note(m, id, "%s:%s is %s", env->repository, tag,
		    digest);
	}
	json_decref(rows);
	release_eval(m, env);
}

/* With approvers configured, only they decide; else anyone may. */
/*
 * With approvers configured, only they decide. Without, only the API's
 * operators (the UNIX socket's users, API token holders) do: a chat
 * identity must be listed, or anyone in any workspace could approve.
 */
static int
release_may_approve(const struct conf *conf,
    const struct conf_environment *env, const char *who)
{
	if (env->napprovers == 0)
		return (strncmp(who, "unix:", 5) == 0 ||
		    strncmp(who, "token:", 6) == 0);
	return (conf_identity_in(conf, env->approvers, env->napprovers, who));
}

/* Is who (or the person behind who) the one who asked for the release? */
static int
release_is_requester(const struct conf *conf, json_t *row, const char *who)
{
	const struct conf_person	*pe;
	const char			*by;

	by = json_string_value(json_object_get(row, "requested_by"));
	if (by == NULL)
		return (0);
	if (strcmp(by, who) == 0)
		return (1);
	return ((pe = conf_person_of(conf, who)) != NULL &&
	    conf_person_of(conf, by) == pe);
}

/* Did the person behind who approve already, under another identity? */
static const char *
release_same_person(const struct conf *conf, json_t *row, const char *who)
{
	const struct conf_person	*pe, *other;
	json_t				*a;
	size_t				 i;
	const char			*w;

	if ((pe = conf_person_of(conf, who)) == NULL)
		return (NULL);
	json_array_foreach(json_object_get(row, "approvals"), i, a) {
		w = json_string_value(json_object_get(a, "who"));
		if (w == NULL || strcmp(w, who) == 0)
			continue;
		if ((other = conf_person_of(conf, w)) == pe)
			return (w);
	}
	return (NULL);
}

/*
 * Did who push the commit the release's artifact was built from? The
 * pushers are the senders of the webhooks of the runs that recorded the
 * artifact (in the release's repository); who is matched to them only
 * through people: (a person's identities and git names). Returns 1 yes,
 * 0 no (or no pusher recorded: published by hand), -1 when it cannot be
 * told: a pusher is recorded but who has no git names under people:.
 */
static int
release_pusher_is(struct release_mgr *m, json_t *row, const char *who)
{
	const struct conf_person	*pe;
	json_t				*senders, *v;
	size_t				 i, j;
	int				 is = 0;

	senders = store_artifact_senders(m->store, json_string_value(
	    json_object_get(row, "digest")));
	if (senders == NULL)
		return (-1);	/* the store failed: do not guess */
	if (json_array_size(senders) == 0) {
		json_decref(senders);
		return (0);
	}
	if ((pe = conf_person_of(m->conf, who)) == NULL || pe->ngit == 0) {
		json_decref(senders);
		return (-1);
	}
	json_array_foreach(senders, i, v) {
		for (j = 0; j < pe->ngit; j++)
			if (strcmp(pe->git[j], json_string_value(v)) == 0)
				is = 1;
	}
	json_decref(senders);
	return (is);
}

/* A reason for the record: one short line (it goes into the log too). */
static int
release_text_ok(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f || n >= 200)
			return (0);
	}
	return (1);
}

/*
 * An approval or a rejection of release id by who (via "api", "slack",
 * ...). Returns 0, or a RELEASE_E_* with *cause saying why it was refused.
 */
int
release_decide(struct release_mgr *m, int64_t id, const char *who,
    const char *via, int approve, const char *why, char **cause)
{
	const struct conf_environment	*env;
	json_t				*row;
	const char			*state, *same;
	char				 reason[256];
	int64_t				 deadline;
	int				 rc, pushed;

	if ((row = store_release_get(m->store, id)) == NULL) {
		xasprintf(cause, "no release %lld", (long long)id);
		return (RELEASE_E_NOTFOUND);
	}
	state = json_string_value(json_object_get(row, "state"));
	env = conf_environment_find(m->conf,
	    json_string_value(json_object_get(row, "env")));
	if (env == NULL) {
		xasprintf(cause, "release %lld: its environment is no longer "
		    "configured", (long long)id);
		json_decref(row);
		return (RELEASE_E_CONFLICT);
	}
	if (strcmp(state, "awaiting-approval") != 0) {
		xasprintf(cause, "release %lld is %s, not awaiting approval",
		    (long long)id, state);
		json_decref(row);
		return (RELEASE_E_CONFLICT);
	}
	deadline = json_integer_value(json_object_get(row, "deadline"));
	if (deadline > 0 && now_ms() >= deadline) {
		release_set(m, row, "expired", "no decision before the "
		    "deadline");
		xasprintf(cause, "release %lld is past its deadline",
		    (long long)id);
		json_decref(row);
		return (RELEASE_E_CONFLICT);
	}
	if (approve && (same = release_same_person(m->conf, row, who)) !=
	    NULL) {
		xasprintf(cause, "%s already approved release %lld as %s; "
		    "approvals must come from different people", who,
		    (long long)id, same);
		json_decref(row);
		return (RELEASE_E_CONFLICT);
	}
	if (!release_may_approve(m->conf, env, who)) {
		xasprintf(cause, "%s is not among the approvers of %s", who,
		    env->name);
		json_decref(row);
		return (RELEASE_E_FORBIDDEN);
	}
	/*
	 * A deploy or rollback asked for by someone who may not deploy
	 * waits for approvals: they cannot give one of them themselves.
	 */
	if (approve && release_is_requester(m->conf, row, who)) {
		xasprintf(cause, "%s asked for release %lld; someone else "
		    "must approve it", who, (long long)id);
		json_decref(row);
		return (RELEASE_E_FORBIDDEN);
	}
	if (approve && !env->self_approval &&
	    (pushed = release_pusher_is(m, row, who)) != 0) {
		if (pushed == 1)
			xasprintf(cause, "%s pushed the commit of release "
			    "%lld; someone else must approve it", who,
			    (long long)id);
		else
			xasprintf(cause, "cannot tell whether %s pushed this "
			    "commit; map it under people: (with its git "
			    "names), or set self_approval: true on %s", who,
			    env->name);
		json_decref(row);
		return (RELEASE_E_FORBIDDEN);
	}
	if (why != NULL && !release_text_ok(why)) {
		xasprintf(cause, "the reason must be one line of at most 200 "
		    "bytes without control characters");
		json_decref(row);
		return (RELEASE_E_INVALID);
	}
	rc = store_approval_add(m->store, id, who, via, approve ? "approve" :
	    "reject", why);
	if (rc <= 0) {
		if (rc == 0)
			xasprintf(cause, "%s has already decided on release "
			    "%lld", who, (long long)id);
		else
			xasprintf(cause, "cannot record the decision on "
			    "release %lld", (long long)id);
		json_decref(row);
		return (RELEASE_E_CONFLICT);
	}
	release_note(m, id, "%s by %s (%s)%s%s", approve ? "approved" :
	    "rejected", who, via, why != NULL ? ": " : "",
	    why != NULL ? why : "");
	if (!approve) {
		snprintf(reason, sizeof reason, "rejected by %s%s%s", who,
		    why != NULL ? ": " : "", why != NULL ? why : "");
		release_set(m, row, "rejected", reason);
	}
	json_decref(row);
	release_eval(m, env);
	return (0);
}

/*
 * Deploy tag of env's repository, asked by an operator. The digest comes
 * from what the watch saw, or the watch looks it up. In an environment
 * that needs approvals the release waits for them unless who is one of its
 * deployers (release_may_deploy). Returns the new release's id, or a
 * RELEASE_E_* with *cause.
 */
int64_t
release_deploy(struct release_mgr *m, const char *envname, const char *tag,
    const char *who, char **cause)
{
	const struct conf_environment	*env;
	struct store_release_new	 r;
	char				 digest[OCI_DIGEST_LEN];
	int64_t				 id;
	int				 known;

	if ((env = conf_environment_find(m->conf, envname)) == NULL) {
		xasprintf(cause, "no environment \"%s\"", envname);
		return (RELEASE_E_NOTFOUND);
	}
	if (!oci_tag_is_valid(tag)) {
		xasprintf(cause, "\"%s\" is not a valid tag", tag);
		return (RELEASE_E_INVALID);
	}
	known = store_watch_tag_get(m->store, envname, tag, digest,
	    sizeof digest, NULL) == 1;
	if (!known && m->resolve == NULL) {
		xasprintf(cause, "the digest of %s:%s is not known",
		    env->repository, tag);
		return (RELEASE_E_CONFLICT);
	}
	memset(&r, 0, sizeof r);
	r.env = envname;
	r.repository = env->repository;
	r.tag = tag;
	r.digest = known ? digest : "";
	r.source = "manual";
	r.state = "detected";
	r.approvals_needed = env->manual ? env->approvals : 0;
	r.reason = known ? NULL : "looking up the digest in the registry";
	r.requested_by = who;
	if ((id = store_release_add(m->store, &r)) <= 0) {
		xasprintf(cause, "cannot record the release");
		return (RELEASE_E_CONFLICT);
	}
	release_note(m, id, "deploy %s:%s requested by %s", env->repository,
	    tag, who);
	store_releases_supersede(m->store, envname, id);
	if (known)
		release_eval(m, env);
	else
		m->resolve(envname, tag, m->resolve_arg);
	return (id);
}

/*
 * Deploy again the artifact that env ran before the current one, with
 * approvals as for release_deploy. Returns the new release's id, or a
 * RELEASE_E_* with *cause.
 */
int64_t
release_rollback(struct release_mgr *m, const char *envname, const char *who,
    char **cause)
{
	const struct conf_environment	*env;
	struct store_release_new	 r;
	json_t				*rows, *cur, *row = NULL, *dep;
	json_t				**stack;
	const char			*curdigest, *d;
	size_t				 i, n, top = 0;
	int64_t				 id;

	if ((env = conf_environment_find(m->conf, envname)) == NULL) {
		xasprintf(cause, "no environment \"%s\"", envname);
		return (RELEASE_E_NOTFOUND);
	}
	if ((rows = store_releases_deployed(m->store, envname, 100)) == NULL ||
	    json_array_size(rows) == 0) {
		xasprintf(cause, "nothing was deployed to %s yet", envname);
		json_decref(rows);
		return (RELEASE_E_CONFLICT);
	}
	/*
	 * Replay the deployments, oldest first, on a stack: a deployment
	 * pushes, a rollback pops back to the artifact it restored. The
	 * target is the first artifact below the top that differs from it,
	 * so a second rollback goes further back, never forth again.
	 */
	n = json_array_size(rows);
	stack = xcalloc(n, sizeof *stack);
	for (i = n; i-- > 0;) {
		dep = json_array_get(rows, i);
		d = json_string_value(json_object_get(dep, "digest"));
		if (strcmp(json_string_value(json_object_get(dep, "source")),
		    "rollback") == 0) {
			while (top > 0 && strcmp(json_string_value(
			    json_object_get(stack[top - 1], "digest")), d) != 0)
				top--;
			if (top > 0)
				continue;
		}
		stack[top++] = dep;
	}
	cur = stack[top - 1];
	curdigest = json_string_value(json_object_get(cur, "digest"));
	for (i = top - 1; i-- > 0;) {
		row = stack[i];
		if (strcmp(json_string_value(json_object_get(row, "digest")),
		    curdigest) != 0)
			break;
		row = NULL;
	}
	free(stack);
	if (row == NULL) {
		xasprintf(cause, "%s has no earlier deployment to go back to",
		    envname);
		json_decref(rows);
		return (RELEASE_E_CONFLICT);
	}
	memset(&r, 0, sizeof r);
	r.env = envname;
	r.repository = json_string_value(json_object_get(row, "repository"));
	r.tag = json_string_value(json_object_get(row, "tag"));
	r.digest = json_string_value(json_object_get(row, "digest"));
	r.source = "rollback";
	r.state = "detected";
	r.approvals_needed = env->manual ? env->approvals : 0;
	r.requested_by = who;
	r.rollback_of = json_integer_value(json_object_get(cur, "id"));
	if ((id = store_release_add(m->store, &r)) <= 0) {
		xasprintf(cause, "cannot record the release");
		json_decref(rows);
		return (RELEASE_E_CONFLICT);
	}
	release_note(m, id, "rollback of release %lld to %s:%s@%s requested "
	    "by %s", (long long)r.rollback_of, r.repository, r.tag, r.digest,
	    who);
	json_decref(rows);
	store_releases_supersede(m->store, envname, id);
	release_eval(m, env);
	return (id);
}

int
release_pause(struct release_mgr *m, const char *envname, int paused,
    char **cause)
{
	const struct conf_environment	*env;

	if ((env = conf_environment_find(m->conf, envname)) == NULL) {
		xasprintf(cause, "no environment \"%s\"", envname);
		return (RELEASE_E_NOTFOUND);
	}
	if (store_watch_pause(m->store, envname, paused) != 0) {
		xasprintf(cause, "cannot record it");
		return (RELEASE_E_CONFLICT);
	}
	log_info("environment %s: automatic deployment %s", envname,
	    paused ? "paused" : "resumed");
	release_eval(m, env);
	return (0);
}

/* Every environment with its policy, watch state, current and pending. */
json_t *
release_environments(struct release_mgr *m)
{
	const struct conf_environment	*env;
	json_t				*a, *o, *w, *rows, *pol;
	size_t				 i;
	static const char		*drivers[] = { "", "gitops", "argocd",
	    "command" };

	a = json_array();
	for (i = 0; i < m->conf->nenvironments; i++) {
		env = &m->conf->environments[i];
		pol = json_pack("{s:s}", "kind", env->policy.kind);
		if (env->policy.semver != NULL)
			json_object_set_new(pol, "semver",
			    json_string(env->policy.semver));
		if (env->policy.allow != NULL)
			json_object_set_new(pol, "allow",
			    json_string(env->policy.allow));
		if (env->policy.ignore != NULL)
			json_object_set_new(pol, "ignore",
			    json_string(env->policy.ignore));
		if (env->policy.tag != NULL)
			json_object_set_new(pol, "tag",
			    json_string(env->policy.tag));
		o = json_pack("{s:s, s:s, s:o, s:s, s:b, s:i, s:s, s:I}",
		    "name", env->name, "repository", env->repository,
		    "policy", pol, "mode", env->manual ? "manual" : "auto",
		    "require_acceptance", env->require_acceptance,
		    "approvals", env->approvals, "driver",
		    drivers[env->driver], "poll_interval_ms",
		    (json_int_t)env->poll_ms);
		w = store_watch_get(m->store, env->name);
		json_object_set_new(o, "paused", json_boolean(w != NULL &&
		    json_integer_value(json_object_get(w, "paused"))));
		if (w != NULL) {
			json_object_del(w, "env");
			json_object_del(w, "paused");
		}
		json_object_set_new(o, "watch", w != NULL ? w : json_null());
		rows = store_releases_deployed(m->store, env->name, 1);
		json_object_set_new(o, "current", rows != NULL &&
		    json_array_size(rows) > 0 ?
		    json_incref(json_array_get(rows, 0)) : json_null());
		json_decref(rows);
		rows = store_releases_open(m->store, env->name);
		json_object_set_new(o, "pending", rows != NULL ? rows :
		    json_array());
		json_object_set_new(o, "deploying",
		    json_integer(store_release_deploying(m->store,
		    env->name)));
		json_array_append_new(a, o);
	}
	return (a);
}
