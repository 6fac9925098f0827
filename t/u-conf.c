/*
 * u-conf: unit tests for src/conf.c: a good file, every kind of mistake
 * with its file:line:column, secrets from files and credentials, triggers.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "gitevent.h"
#include "tap.h"
#include "xmalloc.h"

static char	tmpdir[] = "/tmp/u-conf.XXXXXX";

static char *
write_tmp(const char *name, const char *text, mode_t mode)
{
	char	*path;
	FILE	*f;

	xasprintf(&path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return (path);
}

/* Load text as a config; return the errors (caller frees) or NULL. */
static char *
load_errors(const char *text)
{
	struct conf	*conf;
	char		*path, *cause = NULL;

	path = write_tmp("ferry.yaml", text, 0600);
	conf = conf_load(path, &cause);
	free(path);
	conf_free(conf);
	return (cause);
}

static void
expect_error(const char *text, const char *want, const char *title)
{
	char	*err = load_errors(text);

	ok(err != NULL && strstr(err, want) != NULL, "%s", title);
	if (err == NULL || strstr(err, want) == NULL)
		printf("#   got: %s\n#   want: %s\n", err ? err : "(ok)", want);
	free(err);
}

static void
test_good(void)
{
	struct conf			*conf;
	const struct conf_project	*pr;
	char				*path, *secret, *cause = NULL;
	const char			*why;

	secret = write_tmp("shop.secret", "s3cret\n", 0600);
	free(secret);
	path = write_tmp("ferry.yaml",
	    "listen: [\"127.0.0.1:0\", \"[::1]:0\"]\n"
	    "state_dir: state\n"
	    "limits: {body_bytes: 2048, connections: 10, request_timeout: 5s}\n"
	    "store: {synchronous: normal}\n"
	    "projects:\n"
	    "  - name: shop\n"
	    "    repo: https://git.example.com/acme/shop.git\n"
	    "    provider: github\n"
	    "    secret_file: shop.secret\n"
	    "    supersede: false\n"
	    "    triggers:\n"
	    "      - {kind: push, branches: [main, \"release/*\"]}\n"
	    "      - {kind: tag, tags: [\"v*\"]}\n"
	    "      - {kind: [merge], branches: [main]}\n", 0600);
	conf = conf_load(path, &cause);
	ok(conf != NULL, "good config loads");
	if (conf == NULL) {
		printf("#   %s\n", cause);
		free(cause);
		free(path);
		return;
	}
	ok(conf->nlisten == 2, "two listeners");
	ok(conf->body_bytes == 2048 && conf->connections == 10 &&
	    conf->timeout_ms == 5000 && conf->sync_full == 0, "limits");
	ok(conf->state_dir[0] == '/' && strstr(conf->state_dir, tmpdir) ==
	    conf->state_dir, "relative state_dir is beside the config");
	pr = conf_project_find(conf, "shop");
	ok(pr != NULL && pr->secretlen == 6 &&
	    memcmp(pr->secret, "s3cret", 6) == 0,
	    "secret_file read, newline dropped");
	ok(pr != NULL && pr->supersede == 0, "supersede false");
	ok(conf_project_triggers(pr, GITEVENT_PUSH, "refs/heads/main", &why),
	    "push to main triggers");
	ok(conf_project_triggers(pr, GITEVENT_PUSH, "refs/heads/release/1",
	    &why), "push to release/1 triggers");
	ok(!conf_project_triggers(pr, GITEVENT_PUSH, "refs/heads/dev", &why),
	    "push to dev does not");
	ok(conf_project_triggers(pr, GITEVENT_TAG, "refs/tags/v1.0", &why),
	    "tag v1.0 triggers");
	ok(!conf_project_triggers(pr, GITEVENT_TAG, "refs/tags/nightly",
	    &why), "tag nightly does not");
	ok(conf_project_triggers(pr, GITEVENT_MERGE, "refs/heads/main", &why),
	    "merge into main triggers");
	ok(conf->exec_checkout_timeout_ms == 30 * 60 * 1000,
	    "checkout_timeout is 30m by default");
	ok(conf->nwarnings == 0, "no warnings");
	conf_free(conf);
	free(path);
}

static void
test_errors(void)
{
	const char	*head = "listen: 127.0.0.1:0\nprojects:\n";
	char		*t;

	expect_error("listen: [127.0.0.1:0\n", "ferry.yaml:2:1:",
	    "YAML syntax error has a position");
	expect_error("listen: 127.0.0.1:0\nlisen: x\n",
	    "ferry.yaml:2:1: unknown key \"lisen\"", "unknown top-level key");
	expect_error("projects: []\n", "listen: at least one",
	    "listen is required");
	xasprintf(&t, "%s  - name: a\n    repo: r\n    provider: nosuch\n"
	    "    secret: x\n", head);
	expect_error(t, "ferry.yaml:5:15: provider: expected github",
	    "unknown provider with line and column");
	free(t);
	xasprintf(&t, "%s  - name: a\n    repo: r\n    provider: github\n",
	    head);
	expect_error(t, "expected exactly one of secret_file",
	    "a secret is required");
	free(t);
	xasprintf(&t, "%s  - name: a\n    repo: r\n    provider: github\n"
	    "    secret_file: /nonexistent/secret\n", head);
	expect_error(t, "cannot read secret: /nonexistent/secret",
	    "missing secret file");
	free(t);
	xasprintf(&t, "%s  - name: a\n    repo: r\n    provider: github\n"
	    "    secret: x\n    triggers:\n      - {kind: pull}\n", head);
	expect_error(t, "kind: expected push, tag or merge, found \"pull\"",
	    "bad trigger kind");
	free(t);
	xasprintf(&t, "%s  - name: a b\n    repo: r\n    provider: github\n"
	    "    secret: x\n", head);
	expect_error(t, "name: only letters", "bad project name");
	free(t);
	xasprintf(&t, "%s  - name: a\n    repo: r\n    provider: github\n"
	    "    secret: x\n  - name: a\n    repo: r\n    provider: github\n"
	    "    secret: y\n", head);
	expect_error(t, "project a: defined twice", "duplicate project");
	free(t);
	xasprintf(&t, "%s  - name: a\n    repo: r\n    provider: github\n"
	    "    provider: gitlab\n    secret: x\n", head);
	expect_error(t, "ferry.yaml:6:5: project: key \"provider\" given twice",
	    "a key given twice is an error");
	free(t);
	expect_error("listen: 127.0.0.1:0\nlimits: {body_bytes: lots}\n",
	    "ferry.yaml:2:22: body_bytes: expected a number",
	    "bad number with position");
	xasprintf(&t, "%s  - name: g\n    repo: r\n    provider: generic\n"
	    "    secret: x\n", head);
	expect_error(t, "generic provider needs", "generic needs pointers");
	free(t);
}

static void
test_credentials_and_warnings(void)
{
	struct conf			*conf;
	const struct conf_project	*pr;
	char				*path, *cred, *cause = NULL;

	cred = write_tmp("hook", "from-credential", 0600);
	free(cred);
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	path = write_tmp("ferry.yaml", "listen: 127.0.0.1:0\nprojects:\n"
	    "  - name: a\n    repo: r\n    provider: gitlab\n"
	    "    secret_credential: hook\n"
	    "  - name: b\n    repo: r\n    provider: gitea\n"
	    "    secret: inline\n", 0644);
	conf = conf_load(path, &cause);
	ok(conf != NULL, "credential config loads");
	pr = conf != NULL ? conf_project_find(conf, "a") : NULL;
	ok(pr != NULL && pr->secretlen == 15 &&
	    memcmp(pr->secret, "from-credential", 15) == 0,
	    "secret from $CREDENTIALS_DIRECTORY");
	ok(conf != NULL && conf->nwarnings == 1 &&
	    strstr(conf->warnings[0], "world-readable") != NULL,
	    "inline secret in a world-readable file warns");
	conf_free(conf);
	free(cause);
	unsetenv("CREDENTIALS_DIRECTORY");
	cause = NULL;
	conf = conf_load(path, &cause);
	ok(conf == NULL && cause != NULL &&
	    strstr(cause, "CREDENTIALS_DIRECTORY is not set") != NULL,
	    "credential without $CREDENTIALS_DIRECTORY is an error");
	free(cause);
	free(path);
}

/* Count the warnings that hold needle. */
static size_t
warnings_with(const struct conf *conf, const char *needle)
{
	size_t	i, n = 0;

	for (i = 0; i < conf->nwarnings; i++)
		if (strstr(conf->warnings[i], needle) != NULL)
			n++;
	return (n);
}

/*
 * With self_approval off, ferryd -n names every approver it cannot match
 * to git names; people: may come after environments:.
 */
static void
test_self_approval_warnings(void)
{
	struct conf	*conf;
	char		*path, *cause = NULL;

	path = write_tmp("ferry.yaml", "listen: 127.0.0.1:0\n"
	    "environments:\n"
	    "  - {name: prod, repository: r.example.com/a/b, mode: manual,\n"
	    "     approvers: [\"person:alice\", \"token:alice2\", "
	    "\"token:bob\", \"person:ghost\", \"person:carol\"],\n"
	    "     policy: {semver: \">=1\"}, deploy: {driver: command, "
	    "run: [\"true\"]}}\n"
	    "  - {name: open, repository: r.example.com/a/b, mode: manual,\n"
	    "     policy: {semver: \">=1\"}, deploy: {driver: command, "
	    "run: [\"true\"]}}\n"
	    "  - {name: trusted, repository: r.example.com/a/b, mode: manual,\n"
	    "     self_approval: true, approvers: [\"token:bob\"],\n"
	    "     policy: {semver: \">=1\"}, deploy: {driver: command, "
	    "run: [\"true\"]}}\n"
	    "people:\n"
	    "  - {name: alice, git: [alice], ids: [\"token:alice2\"]}\n"
	    "  - {name: carol, ids: [\"token:carol\"]}\n", 0600);
	conf = conf_load(path, &cause);
	ok(conf != NULL, "self-approval config loads");
	if (conf == NULL) {
		printf("#   %s\n", cause);
		free(cause);
		free(path);
		return;
	}
	ok(warnings_with(conf, "approver person:alice ") == 0 &&
	    warnings_with(conf, "approver token:alice2 ") == 0,
	    "approvers with git names: no warning");
	ok(warnings_with(conf, "environment prod: approver token:bob is not "
	    "mapped under people: with git names") == 1,
	    "an unmapped approver warns");
	ok(warnings_with(conf, "approver person:ghost is not mapped") == 1 &&
	    warnings_with(conf, "approver person:carol is not mapped") == 1,
	    "an unknown person, and one without git names, warn");
	ok(warnings_with(conf, "environment open: with self_approval: "
	    "false") == 1, "a manual environment without approvers warns");
	ok(warnings_with(conf, "environment trusted") == 0,
	    "self_approval: true: no warning");
	ok(conf->nwarnings == 4, "four warnings in all");
	conf_free(conf);
	free(path);
}

static void
test_example(void)
{
	struct conf	*conf;
	char		*path, *cause = NULL;
	const char	*srcdir = getenv("T_SRCDIR");

	if (srcdir == NULL) {
		ok(1, "# SKIP T_SRCDIR not set");
		return;
	}
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	free(write_tmp("shop-webhook", "a", 0600));
	free(write_tmp("tools-webhook", "b", 0600));
	free(write_tmp("legacy-webhook", "c", 0600));
	free(write_tmp("registry-hook", "d", 0600));
	free(write_tmp("slack-signing-secret", "e", 0600));
	free(write_tmp("mattermost-command-token", "f", 0600));
	free(write_tmp("mattermost-actions", "g", 0600));
	free(write_tmp("slack-ops-webhook", "https://hooks.slack.com/x", 0600));
	free(write_tmp("mm-ops-webhook", "https://mm.example.com/x", 0600));
	free(write_tmp("audit-hook-key", "h", 0600));
	xasprintf(&path, "%s/../etc/ferry.yaml", srcdir);
	conf = conf_load(path, &cause);
	ok(conf != NULL && conf->nprojects == 3 && conf->nenvironments == 3 &&
	    conf->nregistry_hooks == 1 && conf->nchannels == 3 &&
	    conf->npeople == 2, "etc/ferry.yaml loads");
	if (conf == NULL && cause != NULL)
		printf("#   %s\n", cause);
	conf_free(conf);
	free(cause);
	free(path);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* executor.checkout_timeout: a duration. */
static void
test_executor(void)
{
	struct conf	*conf;
	char		*path, *cause = NULL;

	path = write_tmp("ferry.yaml", "listen: 127.0.0.1:0\n"
	    "executor: {checkout_timeout: 90s, stage_timeout: 2h}\n", 0600);
	conf = conf_load(path, &cause);
	ok(conf != NULL && conf->exec_checkout_timeout_ms == 90 * 1000 &&
	    conf->exec_stage_timeout_ms == 2 * 3600 * 1000,
	    "executor.checkout_timeout: 90s");
	if (conf == NULL)
		printf("#   %s\n", cause);
	conf_free(conf);
	free(cause);
	free(path);
	expect_error("listen: 127.0.0.1:0\nexecutor:\n  checkout_timeout: "
	    "soon\n", "ferry.yaml:3:21: checkout_timeout: expected a duration",
	    "a checkout_timeout that is no duration, with its position");
	expect_error("listen: 127.0.0.1:0\nexecutor: {checkout_timeout: 0}\n",
	    "checkout_timeout: expected a duration",
	    "a checkout_timeout of 0 is refused");
	expect_error("listen: 127.0.0.1:0\nexecutor: {checkout_timeot: 1m}\n",
	    "unknown executor key \"checkout_timeot\" (expected concurrency, "
	    "stage_timeout, checkout_timeout,",
	    "a misspelt executor key");
}

/* registries[]: projects (and the warning without), docker_config. */
static void
test_registries(void)
{
	struct conf			*conf;
	const struct conf_registry	*rg;
	char				*path, *t, *cause = NULL;
	const char			*projects = "projects:\n"
	    "  - {name: a, repo: r, provider: github, secret: x}\n"
	    "  - {name: b, repo: r, provider: github, secret: x}\n";

	free(write_tmp("regpw", "pw\n", 0600));
	/* "user:s3cret" */
	free(write_tmp("docker.json", "{\"auths\": {\"https://reg.example:5000"
	    "/v1/\": {\"auth\": \"dXNlcjpzM2NyZXQ=\"}}}\n", 0600));
	xasprintf(&t, "listen: 127.0.0.1:0\nregistries:\n"
	    "  - {host: one.example, username: u, password_file: regpw, "
	    "projects: [a]}\n"
	    "  - {host: reg.example:5000, docker_config: docker.json}\n"
	    "  - {host: open.example, insecure: true}\n%s", projects);
	path = write_tmp("ferry.yaml", t, 0600);
	free(t);
	conf = conf_load(path, &cause);
	ok(conf != NULL, "registries with projects and docker_config load");
	if (conf == NULL) {
		printf("#   %s\n", cause);
		free(cause);
		free(path);
		return;
	}
	rg = conf_registry_find(conf, "one.example");
	ok(rg != NULL && conf_registry_for_project(rg, "a") &&
	    !conf_registry_for_project(rg, "b"), "projects: [a] is a's only");
	rg = conf_registry_find(conf, "reg.example:5000");
	ok(rg != NULL && rg->username != NULL && rg->password != NULL &&
	    strcmp(rg->username, "user") == 0 &&
	    strcmp(rg->password, "s3cret") == 0 &&
	    conf_registry_for_project(rg, "b"),
	    "docker_config: the credentials of its host's entry, for all");
	ok(conf->nwarnings == 1 && strstr(conf->warnings[0],
	    "registry reg.example:5000: the runs of all 2 projects get its "
	    "credentials") != NULL,
	    "credentials for every one of several projects warn, once");
	if (conf->nwarnings > 0)
		printf("#   %s\n", conf->warnings[0]);
	conf_free(conf);
	free(path);

	xasprintf(&t, "listen: 127.0.0.1:0\nregistries:\n"
	    "  - {host: one.example, username: u, password_file: regpw, "
	    "projects: [a, c]}\n%s", projects);
	expect_error(t, "registry one.example: projects: no project named "
	    "\"c\"", "a registry for an unknown project is an error");
	free(t);
	expect_error("listen: 127.0.0.1:0\nregistries:\n"
	    "  - {host: x.example, docker_config: docker.json}\n",
	    "ferry.yaml:3:5: registry x.example: docker_config: ",
	    "a docker_config without the host is an error");
	expect_error("listen: 127.0.0.1:0\nregistries:\n"
	    "  - {host: reg.example:5000, docker_config: docker.json, "
	    "username: u, password_file: regpw}\n",
	    "docker_config or username with password_file, not both",
	    "docker_config and a username are an error");
	expect_error("listen: 127.0.0.1:0\nregistries:\n"
	    "  - {host: reg.example:5000, docker_config: nosuch.json}\n",
	    "registry reg.example:5000: docker_config: ",
	    "a missing docker_config is an error");
	free(write_tmp("bad.json", "{\"auths\": {\"reg.example:5000\": "
	    "{\"auth\": \"bm8tY29sb24=\"}}}\n", 0600));
	expect_error("listen: 127.0.0.1:0\nregistries:\n"
	    "  - {host: reg.example:5000, docker_config: bad.json}\n",
	    "malformed auth for reg.example:5000",
	    "an auth without a colon is an error");
}

#define ENV_HEAD "listen: 127.0.0.1:0\nenvironments:\n  - name: prod\n"

static void
test_environments(void)
{
	const struct conf_environment	*e;
	const struct conf_registry_hook	*h;
	struct conf			*conf;
	char				*path, *cause = NULL;

	free(write_tmp("hook.secret", "hooky\n", 0600));
	path = write_tmp("ferry.yaml",
	    "listen: 127.0.0.1:0\n"
	    "registries: [{host: \"reg:5000\", insecure: true, "
	    "max_requests: 2}]\n"
	    "registry_hooks: [{name: main, secret_file: hook.secret}]\n"
	    "environments:\n"
	    "  - name: prod\n"
	    "    repository: reg:5000/acme/shop\n"
	    "    policy: {semver: \">=1.0 <2\", ignore: ['-rc', '^0']}\n"
	    "    mode: manual\n"
	    "    require_acceptance: true\n"
	    "    approvals: 2\n"
	    "    approvers: [U1, U2]\n"
	    "    deadline: 2h\n"
	    "    poll_interval: off\n"
	    "    deploy:\n"
	    "      driver: gitops\n"
	    "      repo: file:///srv/deploy.git\n"
	    "      file: apps/shop.yaml\n"
	    "      key: spec.source.targetRevision\n"
	    "      value: digest\n"
	    "      credentials: {token_file: tok}\n"
	    "      timeout: 90s\n"
	    "  - name: lab\n"
	    "    repository: reg:5000/acme/shop\n"
	    "    policy: {digest: main}\n"
	    "    deploy: {driver: command, run: [\"/bin/true\", \"x\"]}\n",
	    0600);
	conf = conf_load(path, &cause);
	ok(conf != NULL, "environments load");
	if (conf == NULL) {
		printf("#   %s\n", cause);
		free(cause);
		free(path);
		return;
	}
	e = conf_environment_find(conf, "prod");
	ok(e != NULL && strcmp(e->registry, "reg:5000") == 0 &&
	    strcmp(e->repo_path, "acme/shop") == 0, "repository split");
	ok(e != NULL && strcmp(e->policy.kind, "semver") == 0 &&
	    strcmp(e->policy.ignore, "-rc\n^0") == 0, "policy and ignore");
	ok(e != NULL && e->manual && e->require_acceptance &&
	    e->approvals == 2 && e->napprovers == 2 &&
	    e->deadline_ms == 7200000 && e->poll_ms == 0, "mode and approvals");
	ok(e != NULL && e->driver == CONF_DRIVER_GITOPS &&
	    e->deploy_timeout_ms == 90000 && e->token_file[0] == '/' &&
	    strcmp(e->gitops_value, "digest") == 0, "gitops driver");
	e = conf_environment_find(conf, "lab");
	ok(e != NULL && e->driver == CONF_DRIVER_COMMAND && e->ncommand == 2 &&
	    e->poll_ms == 60000 && !e->manual && e->approvals == 1,
	    "command driver and defaults");
	h = conf_registry_hook_find(conf, "main");
	ok(h != NULL && h->secretlen == 5 && strcmp(h->header,
	    "Authorization") == 0, "registry hook");
	ok(conf_registry_find(conf, "reg:5000")->max_requests == 2,
	    "registry max_requests");
	conf_free(conf);
	free(path);

	expect_error(ENV_HEAD "    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "missing repository", "environment without repository");
	expect_error(ENV_HEAD "    repository: shop\n    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "expected HOST[:PORT]/PATH", "repository without a host");
	expect_error(ENV_HEAD "    repository: r/a/../b\n"
	    "    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "expected HOST[:PORT]/PATH", "repository with ..");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \">>1\"}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "environment prod: policy:", "bad semver constraint");
	expect_error(ENV_HEAD "    repository: r/a\n"
	    "    policy: {semver: \"1\", regex: x}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "give one of semver, regex", "two policy kinds");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {regex: \"(\"}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "environment prod: policy:", "bad regex");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: helm}\n",
	    "expected gitops, argocd or command", "unknown driver");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: gitops, repo: x}\n",
	    "needs deploy.repo, deploy.file and deploy.key", "gitops keys");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: command, run: \"rm -rf /\"}\n",
	    "expected a list (an argv", "command as a string");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    mode: sometimes\n    deploy: {driver: command, run: [x]}\n",
	    "expected auto or manual", "bad mode");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    colour: blue\n    deploy: {driver: command, run: [x]}\n",
	    "unknown environment key \"colour\"", "unknown key");
	expect_error(ENV_HEAD "    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: command, run: [x]}\n"
	    "  - name: prod\n    repository: r/a\n    policy: {semver: \"1\"}\n"
	    "    deploy: {driver: command, run: [x]}\n",
	    "environment prod: defined twice", "duplicate environment");
	expect_error("listen: 127.0.0.1:0\nchannels: [{type: slack, url: "
	    "\"http://x/\"}, {name: a, type: slack, url: \"http://x/\"}]\n",
	    "channel: needs name", "a channel without a name (no crash)");
	expect_error("listen: 127.0.0.1:0\nchannels: [{name: m, type: "
	    "mattermost, url: \"http://x/\"}]\n",
	    "needs chat.mattermost.action_secret_file",
	    "a Mattermost channel without its button settings");
	expect_error("listen: 127.0.0.1:0\npeople: [{git: [a]}, {name: b}]\n",
	    "person: needs name", "a person without a name");
	expect_error("listen: 127.0.0.1:0\nregistry_hooks: [{name: x}]\n",
	    "needs name and secret_file", "hook without a secret");
	expect_error("listen: 127.0.0.1:0\nregistry_hooks: "
	    "[{name: x, secret_file: nope}]\n",
	    "cannot read secret", "hook secret missing");
}

int
main(void)
{
	char	cmd[128];

	if (mkdtemp(tmpdir) == NULL)
		return (1);
	test_good();
	test_errors();
	test_credentials_and_warnings();
	test_self_approval_warnings();
	test_example();
	test_executor();
	test_registries();
	test_environments();
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return (1);
	return (tap_done());
}
