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
	xasprintf(&path, "%s/../etc/ferry.yaml", srcdir);
	conf = conf_load(path, &cause);
	ok(conf != NULL && conf->nprojects == 3, "etc/ferry.yaml loads");
	if (conf == NULL && cause != NULL)
		printf("#   %s\n", cause);
	conf_free(conf);
	free(cause);
	free(path);
	unsetenv("CREDENTIALS_DIRECTORY");
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
	test_example();
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return (1);
	return (tap_done());
}
