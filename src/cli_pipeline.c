/*
 * `ferry pipeline run [--dev] [--follow] [--stage NAME]`: run a
 * repository's pipeline on this machine without a daemon, with the same
 * executor as ferryd. By default the pipeline and the files come from the
 * HEAD commit (a clean checkout in a temporary folder), exactly as ferryd
 * would build it; --dev runs the working tree instead, uncommitted changes
 * included, and says so; --follow runs again whenever HEAD moves.
 */
#include "config.h"

#include <sys/stat.h>

#include <event2/event.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "exec.h"
#include "gitevent.h"
#include "pipeline.h"
#include "repo.h"
#include "util.h"
#include "xmalloc.h"

extern char **environ;

struct local_run {
	struct event_base	*base;
	struct pipeline		*pipeline;
	const char		*only;		/* --stage */
	char			*root;		/* the repository's top */
	char			*ref;
	char			 sha[REPO_SHA_MAX + 1];
	char			*tmp;		/* outputs, worktree */
	char			*cwd;		/* where stages run */
	char			**outs;		/* FERRY_OUT_* so far */
	size_t			 nouts;
	size_t			 next;
	struct exec_job		*job;		/* the stage running */
	int			 failed;
	int			 done;
};

/* Set by SIGINT or SIGTERM: stop the stage, clean up, stop following. */
static volatile sig_atomic_t	local_interrupted;

static void	local_next(struct local_run *);

static void
local_env_add(char ***v, size_t *n, const char *name, const char *value)
{
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	xasprintf(&(*v)[(*n)++], "%s=%s", name, value);
	(*v)[*n] = NULL;
}

static void
local_env_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
local_output_cb(const char *key, const char *value, void *arg)
{
	struct local_run	*lr = arg;
	char			 name[160];

	pipeline_output_env_name(key, name, sizeof name);
	local_env_add(&lr->outs, &lr->nouts, name, value);
	fprintf(stderr, "ferry: output %s=%s\n", key, value);
}

static void
local_stage_done(struct exec_job *job, int status, int timed_out,
    int canceled, void *arg)
{
	struct local_run		*lr = arg;
	const struct pipeline_stage	*st = &lr->pipeline->stages[lr->next];
	char				*path, *text, *cause = NULL;
	size_t				 len;

	lr->job = NULL;
	fprintf(stderr, "ferry: stage %s %s (exit %d)\n", st->name,
	    timed_out ? "timed out" : status == 0 ? "succeeded" : "failed",
	    status);
	xasprintf(&path, "%s/out-%s", lr->tmp, st->name);
	if ((text = read_file(path, 65536, &len, &cause)) != NULL) {
		pipeline_outputs_parse(text, local_output_cb, lr);
		free(text);
	}
	free(cause);
	free(path);
	lr->next++;
	if (local_interrupted || ((status != 0 || timed_out) &&
	    !st->continue_on_failure)) {
		lr->failed = 1;
		lr->done = 1;
		event_base_loopexit(lr->base, NULL);
		return;
	}
	if (status != 0 || timed_out)
		lr->failed = 1;
	local_next(lr);
}

static void
local_next(struct local_run *lr)
{
	const struct pipeline_stage	*st;
	struct exec_spec		 spec;
	char				**env = NULL, *output, *cause = NULL;
	const char			*v;
	size_t				 n = 0, i;

	for (; lr->next < lr->pipeline->nstages; lr->next++) {
		st = &lr->pipeline->stages[lr->next];
		if (lr->only != NULL && strcmp(st->name, lr->only) != 0)
			continue;
		if (lr->only == NULL && !pipeline_stage_applies(st,
		    strncmp(lr->ref, "refs/tags/", 10) == 0 ? GITEVENT_TAG :
		    GITEVENT_PUSH, lr->ref)) {
			fprintf(stderr, "ferry: stage %s skipped (when)\n",
			    st->name);
			continue;
		}
		xasprintf(&output, "%s/out-%s", lr->tmp, st->name);
		local_env_add(&env, &n, "PATH", (v = getenv("PATH")) != NULL ?
		    v : "/usr/local/bin:/usr/bin:/bin");
		if ((v = getenv("HOME")) != NULL)
			local_env_add(&env, &n, "HOME", v);
		local_env_add(&env, &n, "LANG", "C.UTF-8");
		local_env_add(&env, &n, "CI", "true");
		local_env_add(&env, &n, "FERRY_PROJECT", basename(lr->root));
		local_env_add(&env, &n, "FERRY_RUN_ID", "local");
		local_env_add(&env, &n, "FERRY_EVENT", "local");
		local_env_add(&env, &n, "FERRY_REF", lr->ref);
		if (strncmp(lr->ref, "refs/heads/", 11) == 0)
			local_env_add(&env, &n, "FERRY_BRANCH", lr->ref + 11);
		else if (strncmp(lr->ref, "refs/tags/", 10) == 0)
			local_env_add(&env, &n, "FERRY_TAG", lr->ref + 10);
		local_env_add(&env, &n, "FERRY_COMMIT", lr->sha);
		local_env_add(&env, &n, "FERRY_WORKTREE", lr->cwd);
		local_env_add(&env, &n, "FERRY_STAGE", st->name);
		local_env_add(&env, &n, "FERRY_OUTPUT", output);
		for (i = 0; i < lr->nouts; i++) {
			env = xreallocarray(env, n + 2, sizeof *env);
			env[n++] = xstrdup(lr->outs[i]);
			env[n] = NULL;
		}
		for (i = 0; i < st->nenv; i++) {
			env = xreallocarray(env, n + 2, sizeof *env);
			env[n++] = xstrdup(st->env[i]);
			env[n] = NULL;
		}
		memset(&spec, 0, sizeof spec);
		spec.argv = st->argv;
		spec.envp = env;
		spec.cwd = lr->cwd;
		spec.log_fd = -1;
		spec.echo = 1;
		spec.timeout_ms = st->timeout_ms;
		spec.grace_ms = 10000;
		fprintf(stderr, "ferry: stage %s\n", st->name);
		if ((lr->job = exec_start(&spec, local_stage_done, lr,
		    &cause)) == NULL) {
			fprintf(stderr, "ferry: stage %s: %s\n", st->name,
			    cause);
			free(cause);
			lr->failed = 1;
			lr->done = 1;
			event_base_loopexit(lr->base, NULL);
		}
		local_env_free(env, n);
		free(output);
		return;
	}
	lr->done = 1;
	event_base_loopexit(lr->base, NULL);
}

/*
 * Ctrl-C: the stage runs in its own process group, so the terminal's
 * SIGINT reaches only us; stop the stage (SIGTERM, then SIGKILL) and let
 * the run end so that the temporary folder is removed.
 */
static void
local_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct local_run	*lr = arg;

	local_interrupted = 1;
	fprintf(stderr, "ferry: interrupted; stopping the stage\n");
	if (lr->job != NULL)
		exec_cancel(lr->job);
	else
		event_base_loopexit(lr->base, NULL);
}

/* One run of the pipeline at HEAD (or of the working tree). */
static int
local_run_once(const char *root, int dev, const char *only)
{
	struct local_run	 lr;
	struct event		*sigint, *sigterm;
	char			 tmpl[] = "/tmp/ferry-pipeline.XXXXXX";
	char			*text = NULL, *cause = NULL, *path;
	char			*gitdir = NULL;
	size_t			 len;
	int			 rc = 1;

	memset(&lr, 0, sizeof lr);
	lr.only = only;
	lr.root = xstrdup(root);
	if (repo_head(root, &lr.ref, lr.sha, &cause) != 0) {
		fprintf(stderr, "ferry: %s\n", cause);
		goto out;
	}
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "ferry: mkdtemp: %s\n", strerror(errno));
		goto out;
	}
	lr.tmp = xstrdup(tmpl);
	if (dev) {
		xasprintf(&path, "%s/%s", root, PIPELINE_FILE);
		text = read_file(path, PIPELINE_MAX_BYTES, &len, &cause);
		free(path);
		lr.cwd = xstrdup(root);
		fprintf(stderr, "ferry: --dev: running the working tree of %s, "
		    "uncommitted changes included%s\n", root,
		    repo_is_dirty(root) ? " (there are some)" : "");
	} else {
		if ((gitdir = repo_gitdir(root, &cause)) == NULL) {
			fprintf(stderr, "ferry: %s\n", cause);
			goto out;
		}
		text = repo_read_file(gitdir, lr.sha, PIPELINE_FILE,
		    PIPELINE_MAX_BYTES, &len, &cause);
		xasprintf(&lr.cwd, "%s/src", lr.tmp);
		if (cause == NULL && text != NULL && repo_checkout(gitdir,
		    lr.sha, lr.cwd, &cause) != 0) {
			fprintf(stderr, "ferry: %s\n", cause);
			goto out;
		}
		fprintf(stderr, "ferry: running %.12s (%s) from a clean "
		    "checkout; --dev runs the working tree\n", lr.sha, lr.ref);
	}
	if (text == NULL) {
		fprintf(stderr, "ferry: %s\n", cause != NULL ? cause :
		    "no .ferry.yaml at HEAD; commit one, or use --dev");
		goto out;
	}
	if ((lr.pipeline = pipeline_parse(text, len, PIPELINE_FILE,
	    &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		goto out;
	}
	if (only != NULL) {
		size_t i;
		for (i = 0; i < lr.pipeline->nstages; i++) {
			if (strcmp(lr.pipeline->stages[i].name, only) == 0)
				break;
		}
		if (i == lr.pipeline->nstages) {
			fprintf(stderr, "ferry: no stage named %s\n", only);
			goto out;
		}
	}
	lr.base = event_base_new();
	exec_init(lr.base);
	sigint = evsignal_new(lr.base, SIGINT, local_signal_cb, &lr);
	sigterm = evsignal_new(lr.base, SIGTERM, local_signal_cb, &lr);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	local_next(&lr);
	if (!lr.done)
		event_base_dispatch(lr.base);
	exec_shutdown();
	event_free(sigint);
	event_free(sigterm);
	event_base_free(lr.base);
	rc = local_interrupted ? 130 : lr.failed ? 1 : 0;
	fprintf(stderr, "ferry: pipeline %s\n", rc == 0 ? "succeeded" :
	    "failed");
out:
	if (lr.tmp != NULL)
		remove_tree(lr.tmp);
	pipeline_free(lr.pipeline);
	local_env_free(lr.outs, lr.nouts);
	free(text);
	free(cause);
	free(gitdir);
	free(lr.root);
	free(lr.ref);
	free(lr.tmp);
	free(lr.cwd);
	return (rc);
}

int
cli_pipeline_run(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "dev", no_argument, NULL, 'd' },
		{ "follow", no_argument, NULL, 'f' },
		{ "stage", required_argument, NULL, 's' },
		{ "repo", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	char		 sha[REPO_SHA_MAX + 1], now[REPO_SHA_MAX + 1];
	char		*ref = NULL, *cause = NULL, *root;
	const char	*only = NULL, *dir = ".";
	int		 ch, dev = 0, follow = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "C:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dev = 1;
			break;
		case 'f':
			follow = 1;
			break;
		case 's':
			only = optarg;
			break;
		case 'C':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: ferry pipeline run [--dev] "
			    "[--follow] [--stage NAME] [--repo DIR]\n");
			return (2);
		}
	}
	if ((root = repo_toplevel(dir, &cause)) == NULL) {
		fprintf(stderr, "ferry: %s\n", cause);
		free(cause);
		return (1);
	}
	rc = local_run_once(root, dev, only);
	while (follow && !local_interrupted) {
		if (repo_head(root, &ref, sha, &cause) != 0)
			break;
		free(ref);
		fprintf(stderr, "ferry: --follow: waiting for HEAD to move "
		    "from %.12s (Ctrl-C stops)\n", sha);
		for (;;) {
			if (sleep(1) != 0 || local_interrupted)
				break;
			if (repo_head(root, &ref, now, &cause) != 0)
				break;
			free(ref);
			if (strcmp(now, sha) != 0)
				break;
		}
		if (cause != NULL || local_interrupted)
			break;
		rc = local_run_once(root, dev, only);
	}
	if (cause != NULL) {
		fprintf(stderr, "ferry: %s\n", cause);
		free(cause);
		rc = 1;
	}
	free(root);
	return (rc);
}
