/*
 * The configuration's environments (what the registry watch follows and how
 * a release reaches each environment) and registry notification endpoints.
 * Split from conf.c, whose YAML helpers it shares through conf_parse.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_parse.h"
#include "oci.h"
#include "policy.h"
#include "util.h"
#include "xmalloc.h"

/* policy: {semver: C} | {regex: RE} | {latest: true} | {digest: TAG}, with
 * allow and ignore. */
static int
conf_policy_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_policy	*pol = arg;
	char			**list = NULL, *s;
	size_t			 n = 0, i, len;
	int			 on;

	if (strcmp(key, "semver") == 0 || strcmp(key, "regex") == 0 ||
	    strcmp(key, "digest") == 0 || strcmp(key, "latest") == 0) {
		if (pol->kind != NULL) {
			conf_error(p, k, "policy: give one of semver, regex, "
			    "latest or digest");
			return (-1);
		}
		if (strcmp(key, "latest") == 0) {
			if (conf_bool(p, v, key, &on) != 0)
				return (-1);
			if (!on) {
				conf_error(p, v, "latest: only true makes "
				    "sense");
				return (-1);
			}
		} else if ((s = conf_string(p, v, key)) == NULL)
			return (-1);
		else if (strcmp(key, "semver") == 0)
			pol->semver = s;
		else if (strcmp(key, "regex") == 0)
			pol->allow = s;
		else
			pol->tag = s;
		pol->kind = xstrdup(key);
		return (0);
	}
	if (strcmp(key, "allow") == 0) {
		free(pol->allow);
		return ((pol->allow = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "ignore") == 0) {
		if (conf_strings(p, v, key, &list, &n) != 0) {
			conf_strings_free(list, n, 0);
			return (-1);
		}
		for (len = 0, i = 0; i < n; i++)
			len += strlen(list[i]) + 1;
		free(pol->ignore);
		pol->ignore = xcalloc(1, len + 1);
		for (len = 0, i = 0; i < n; i++) {
			if (strchr(list[i], '\n') != NULL) {
				conf_error(p, v, "ignore: one pattern per "
				    "list item");
				conf_strings_free(list, n, 0);
				return (-1);
			}
			if (i > 0)
				pol->ignore[len++] = '\n';
			memcpy(pol->ignore + len, list[i], strlen(list[i]));
			len += strlen(list[i]);
		}
		conf_strings_free(list, n, 0);
		return (0);
	}
	conf_error(p, k, "unknown policy key \"%s\" (expected semver, regex, "
	    "latest, digest, allow or ignore)", key);
	return (-1);
}

/* deploy: {driver: gitops|argocd|command, timeout, and the driver's keys} */
static int
conf_deploy_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_environment	*env = arg;
	static const struct {
		const char	*key;
		size_t		 off;
		int		 path;	/* relative to the config file */
	} strs[] = {
		{ "repo", offsetof(struct conf_environment, gitops_repo), 0 },
		{ "branch", offsetof(struct conf_environment, gitops_branch),
		  0 },
		{ "file", offsetof(struct conf_environment, gitops_file), 0 },
		{ "key", offsetof(struct conf_environment, gitops_key), 0 },
		{ "value", offsetof(struct conf_environment, gitops_value), 0 },
		{ "author", offsetof(struct conf_environment, gitops_author),
		  0 },
		{ "app", offsetof(struct conf_environment, argocd_app), 0 },
		{ "namespace", offsetof(struct conf_environment,
		  argocd_namespace), 0 },
		{ "server", offsetof(struct conf_environment, argocd_server),
		  0 },
		{ "ca_file", offsetof(struct conf_environment, argocd_ca_file),
		  1 },
		{ "token_file", offsetof(struct conf_environment,
		  argocd_token_file), 1 },
	};
	const char	*s;
	char		**slot, *str;
	size_t		 i;

	if (strcmp(key, "driver") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (strcmp(s, "gitops") == 0)
			env->driver = CONF_DRIVER_GITOPS;
		else if (strcmp(s, "argocd") == 0)
			env->driver = CONF_DRIVER_ARGOCD;
		else if (strcmp(s, "command") == 0)
			env->driver = CONF_DRIVER_COMMAND;
		else {
			conf_error(p, v, "driver: expected gitops, argocd or "
			    "command, found \"%s\"", s);
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "timeout") == 0)
		return (conf_duration(p, v, key, 1000,
		    &env->deploy_timeout_ms));
	if (strcmp(key, "insecure") == 0)
		return (conf_bool(p, v, key, &env->argocd_insecure));
	if (strcmp(key, "wait") == 0)
		return (conf_bool(p, v, key, &env->argocd_wait));
	if (strcmp(key, "credentials") == 0) {
		struct conf_git_creds c = { &env->token_file, &env->username,
		    &env->password_file, &env->ssh_key_file };
		return (conf_git_credentials(p, v, &c));
	}
	if (strcmp(key, "run") == 0) {
		if (v->type != YAML_SEQUENCE_NODE) {
			conf_error(p, v, "run: expected a list (an argv; no "
			    "shell is involved)");
			return (-1);
		}
		return (conf_strings(p, v, key, &env->command,
		    &env->ncommand));
	}
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if (strcmp(key, strs[i].key) != 0)
			continue;
		slot = (char **)((char *)env + strs[i].off);
		if ((str = conf_string(p, v, key)) == NULL)
			return (-1);
		free(*slot);
		if (strs[i].path) {
			*slot = conf_path(p->conf, str);
			free(str);
		} else
			*slot = str;
		return (0);
	}
	conf_error(p, k, "unknown deploy key \"%s\" (expected driver, timeout; "
	    "repo, branch, file, key, value, author, credentials for gitops; "
	    "app, namespace, server, ca_file, token_file, insecure, wait for "
	    "argocd; run for command)", key);
	return (-1);
}

static int
conf_environment_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_environment	*env = arg;
	const char		*s;
	long long		 n;

	if (strcmp(key, "name") == 0) {
		if ((env->name = conf_string(p, v, key)) == NULL)
			return (-1);
		if (!conf_name_is_valid(env->name)) {
			conf_error(p, v, "name: only letters, digits, \".\", "
			    "\"-\" and \"_\" may be used, not first \".\"");
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "repository") == 0)
		return ((env->repository = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	if (strcmp(key, "policy") == 0)
		return (conf_mapping(p, v, key, conf_policy_pair,
		    &env->policy));
	if (strcmp(key, "mode") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (strcmp(s, "auto") == 0)
			env->manual = 0;
		else if (strcmp(s, "manual") == 0)
			env->manual = 1;
		else {
			conf_error(p, v, "mode: expected auto or manual, found "
			    "\"%s\"", s);
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "require_acceptance") == 0)
		return (conf_bool(p, v, key, &env->require_acceptance));
	if (strcmp(key, "project") == 0) {
		free(env->project);
		return ((env->project = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "approvals") == 0) {
		if (conf_number(p, v, key, 1, 16, &n) != 0)
			return (-1);
		env->approvals = (int)n;
		return (0);
	}
	if (strcmp(key, "approvers") == 0)
		return (conf_strings(p, v, key, &env->approvers,
		    &env->napprovers));
	if (strcmp(key, "deadline") == 0)
		return (conf_duration(p, v, key, 1000, &env->deadline_ms));
	if (strcmp(key, "poll_interval") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (strcmp(s, "0") == 0 || strcmp(s, "off") == 0) {
			env->poll_ms = 0;
			return (0);
		}
		return (conf_duration(p, v, key, 100, &env->poll_ms));
	}
	if (strcmp(key, "deploy") == 0)
		return (conf_mapping(p, v, key, conf_deploy_pair, env));
	if (strcmp(key, "deployers") == 0)
		return (conf_strings(p, v, key, &env->deployers,
		    &env->ndeployers));
	if (strcmp(key, "self_approval") == 0)
		return (conf_bool(p, v, key, &env->self_approval));
	if (strcmp(key, "notify") == 0)
		return (conf_notify_list(p, v, CONF_EV_APPROVAL |
		    CONF_EV_DEPLOY_STARTED | CONF_EV_DEPLOY_SUCCEEDED |
		    CONF_EV_DEPLOY_FAILED, &env->notify, &env->nnotify));
	conf_error(p, k, "unknown environment key \"%s\" (expected name, "
	    "repository, policy, mode, require_acceptance, approvals, "
	    "approvers, deployers, self_approval, deadline, poll_interval, "
	    "deploy or notify)", key);
	return (-1);
}

/* Check an environment once all its keys are read. */
static int
conf_environment_finish(struct conf_parse *p, yaml_node_t *n,
    struct conf_environment *env)
{
	struct policy_spec	 spec;
	struct policy		*pol;
	const char		*slash;
	char			*cause = NULL;
	int			 rc = 0;

	if (env->name == NULL) {
		conf_error(p, n, "environment: missing name");
		return (-1);
	}
	if (env->repository == NULL) {
		conf_error(p, n, "environment %s: missing repository (the "
		    "artifact to watch, HOST/PATH)", env->name);
		rc = -1;
	} else if ((slash = strchr(env->repository, '/')) == NULL ||
	    slash == env->repository || !oci_repo_is_valid(slash + 1)) {
		conf_error(p, n, "environment %s: repository: expected "
		    "HOST[:PORT]/PATH, found \"%s\"", env->name,
		    env->repository);
		rc = -1;
	} else {
		env->registry = xstrndup(env->repository,
		    (size_t)(slash - env->repository));
		env->repo_path = xstrdup(slash + 1);
	}
	if (env->policy.kind == NULL) {
		conf_error(p, n, "environment %s: missing policy (semver, "
		    "regex, latest or digest)", env->name);
		rc = -1;
	} else {
		if (conf_policy_spec(&env->policy, &spec) != 0 ||
		    (pol = policy_new(&spec, &cause)) == NULL) {
			conf_error(p, n, "environment %s: policy: %s",
			    env->name, cause != NULL ? cause : "invalid");
			free(cause);
			rc = -1;
		} else
			policy_free(pol);
	}
	switch (env->driver) {
	case CONF_DRIVER_GITOPS:
		if (env->gitops_repo == NULL || env->gitops_file == NULL ||
		    env->gitops_key == NULL) {
			conf_error(p, n, "environment %s: the gitops driver "
			    "needs deploy.repo, deploy.file and deploy.key",
			    env->name);
			rc = -1;
		}
		if (env->gitops_value != NULL &&
		    strcmp(env->gitops_value, "tag") != 0 &&
		    strcmp(env->gitops_value, "digest") != 0 &&
		    strcmp(env->gitops_value, "reference") != 0) {
			conf_error(p, n, "environment %s: deploy.value: "
			    "expected tag, digest or reference", env->name);
			rc = -1;
		}
		break;
	case CONF_DRIVER_ARGOCD:
		if (env->argocd_app == NULL) {
			conf_error(p, n, "environment %s: the argocd driver "
			    "needs deploy.app", env->name);
			rc = -1;
		}
		break;
	case CONF_DRIVER_COMMAND:
		if (env->ncommand == 0) {
			conf_error(p, n, "environment %s: the command driver "
			    "needs deploy.run", env->name);
			rc = -1;
		}
		break;
	default:
		conf_error(p, n, "environment %s: missing deploy.driver "
		    "(gitops, argocd or command)", env->name);
		rc = -1;
		break;
	}
	if (!env->manual && env->napprovers > 0)
		conf_warning(p->conf, "%s: environment %s: approvers are "
		    "only asked in mode: manual", p->file, env->name);
	return (rc);
}

/* Fill a policy_spec from the configuration's strings (borrowed). */
int
conf_policy_spec(const struct conf_policy *cp, struct policy_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	if (cp->kind == NULL || policy_kind_parse(cp->kind, &spec->kind) != 0)
		return (-1);
	spec->semver = cp->semver;
	spec->allow = cp->allow;
	spec->ignore = cp->ignore;
	spec->tag = cp->tag;
	return (0);
}

int
conf_environments(struct conf_parse *p, yaml_node_t *v)
{
	struct conf		*conf = p->conf;
	struct conf_environment	*env;
	yaml_node_item_t	*it;
	yaml_node_t		*en;
	size_t			 i;
	int			 rc = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		conf_error(p, v, "environments: expected a list, found %s",
		    conf_node_type(v));
		return (-1);
	}
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		en = yaml_document_get_node(p->doc, *it);
		conf->environments = xreallocarray(conf->environments,
		    conf->nenvironments + 1, sizeof *conf->environments);
		env = &conf->environments[conf->nenvironments++];
		memset(env, 0, sizeof *env);
		env->approvals = 1;
		env->deadline_ms = 24 * 3600 * 1000LL;
		env->poll_ms = 60 * 1000;
		env->deploy_timeout_ms = 10 * 60 * 1000;
		env->argocd_wait = 1;
		if (conf_mapping(p, en, "environment", conf_environment_pair,
		    env) != 0 || conf_environment_finish(p, en, env) != 0) {
			rc = -1;
			continue;
		}
		for (i = 0; i + 1 < conf->nenvironments; i++) {
			if (conf->environments[i].name != NULL &&
			    strcmp(conf->environments[i].name, env->name) ==
			    0) {
				conf_error(p, en, "environment %s: defined "
				    "twice", env->name);
				rc = -1;
			}
		}
	}
	return (rc);
}

static int
conf_registry_hook_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_registry_hook	*h = arg;

	if (strcmp(key, "name") == 0) {
		free(h->name);
		if ((h->name = conf_string(p, v, key)) == NULL)
			return (-1);
		if (!conf_name_is_valid(h->name)) {
			conf_error(p, v, "name: only letters, digits, \".\", "
			    "\"-\" and \"_\" may be used, not first \".\"");
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "header") == 0) {
		free(h->header);
		return ((h->header = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "secret_file") == 0 ||
	    strcmp(key, "secret_credential") == 0) {
		if (h->secret != NULL) {
			conf_error(p, k, "registry hook: give one of "
			    "secret_file and secret_credential");
			return (-1);
		}
		return (conf_secret(p, v, key, &h->secret, &h->secretlen));
	}
	conf_error(p, k, "unknown registry hook key \"%s\" (expected name, "
	    "header, secret_file or secret_credential)", key);
	return (-1);
}

static void
conf_registry_hook_clear(struct conf_registry_hook *h)
{
	free(h->name);
	free(h->header);
	freezero_str(h->secret);
	memset(h, 0, sizeof *h);
}

int
conf_registry_hooks(struct conf_parse *p, yaml_node_t *v)
{
	struct conf			*conf = p->conf;
	struct conf_registry_hook	*h;
	yaml_node_item_t		*it;
	yaml_node_t			*hn;
	size_t				 i;
	int				 rc = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		conf_error(p, v, "registry_hooks: expected a list, found %s",
		    conf_node_type(v));
		return (-1);
	}
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		hn = yaml_document_get_node(p->doc, *it);
		conf->registry_hooks = xreallocarray(conf->registry_hooks,
		    conf->nregistry_hooks + 1, sizeof *conf->registry_hooks);
		h = &conf->registry_hooks[conf->nregistry_hooks++];
		memset(h, 0, sizeof *h);
		if (conf_mapping(p, hn, "registry hook",
		    conf_registry_hook_pair, h) != 0 || h->name == NULL ||
		    h->secret == NULL) {
			if (h->name == NULL || h->secret == NULL)
				conf_error(p, hn, "registry hook: needs name and "
				    "secret_file or secret_credential");
			/* A broken entry is dropped: nothing looks it up. */
			conf_registry_hook_clear(h);
			conf->nregistry_hooks--;
			rc = -1;
			continue;
		}
		if (h->header == NULL)
			h->header = xstrdup("Authorization");
		for (i = 0; i + 1 < conf->nregistry_hooks; i++) {
			if (strcmp(conf->registry_hooks[i].name, h->name) ==
			    0) {
				conf_error(p, hn, "registry hook %s: defined "
				    "twice", h->name);
				rc = -1;
			}
		}
	}
	return (rc);
}

void
conf_environments_free(struct conf *conf)
{
	struct conf_environment		*e;
	struct conf_registry_hook	*h;
	size_t				 i;

	for (i = 0; i < conf->nenvironments; i++) {
		e = &conf->environments[i];
		free(e->name);
		free(e->repository);
		free(e->project);
		free(e->registry);
		free(e->repo_path);
		free(e->policy.kind);
		free(e->policy.semver);
		free(e->policy.allow);
		free(e->policy.ignore);
		free(e->policy.tag);
		conf_strings_free(e->approvers, e->napprovers, 0);
		free(e->gitops_repo);
		free(e->gitops_branch);
		free(e->gitops_file);
		free(e->gitops_key);
		free(e->gitops_value);
		free(e->gitops_author);
		free(e->token_file);
		free(e->username);
		free(e->password_file);
		free(e->ssh_key_file);
		free(e->argocd_app);
		free(e->argocd_namespace);
		free(e->argocd_server);
		free(e->argocd_ca_file);
		free(e->argocd_token_file);
		conf_strings_free(e->command, e->ncommand, 0);
		conf_strings_free(e->deployers, e->ndeployers, 0);
		conf_notify_free(e->notify, e->nnotify);
	}
	free(conf->environments);
	for (i = 0; i < conf->nregistry_hooks; i++) {
		h = &conf->registry_hooks[i];
		free(h->name);
		free(h->header);
		freezero_str(h->secret);
	}
	free(conf->registry_hooks);
}

/* Is approver (an identity or person:NAME) a person with git names? */
static int
conf_approver_has_git(const struct conf *conf, const char *approver)
{
	const struct conf_person	*pe = NULL;
	size_t				 i;

	if (strncmp(approver, "person:", 7) == 0) {
		for (i = 0; i < conf->npeople; i++)
			if (strcmp(conf->people[i].name, approver + 7) == 0)
				pe = &conf->people[i];
	} else
		pe = conf_person_of(conf, approver);
	return (pe != NULL && pe->ngit > 0);
}

/*
 * After the whole file (people: may come after environments:): where the
 * pusher of a commit may not approve its release, an approver that ferry
 * cannot match to git names is refused on every artifact a run built.
 */
void
conf_environments_finish(struct conf_parse *p)
{
	const struct conf_environment	*env;
	size_t				 i, j;

	for (i = 0; i < p->conf->nenvironments; i++) {
		env = &p->conf->environments[i];
		/*
		 * Acceptance is vouched for by the run that published the
		 * artifact: with several projects, tie the environment to
		 * the one that builds it, or another project's pipeline could
		 * name this repository's digest and pass its own acceptance.
		 */
		if (env->project != NULL &&
		    conf_project_find(p->conf, env->project) == NULL)
			conf_error(p, NULL, "environment %s: project: no "
			    "project \"%s\"", env->name, env->project);
		if (env->require_acceptance && env->project == NULL &&
		    p->conf->nprojects > 1)
			conf_warning(p->conf, "%s: environment %s: with "
			    "require_acceptance and several projects, set "
			    "project: (the project whose runs may vouch for "
			    "%s)", p->file, env->name, env->repository);
		if (!env->manual || env->self_approval)
			continue;
		if (env->napprovers == 0)
			conf_warning(p->conf, "%s: environment %s: with "
			    "self_approval: false, an approval by an identity "
			    "not mapped under people: (with git names) is "
			    "refused for an artifact a run built; list "
			    "approvers and map them", p->file, env->name);
		for (j = 0; j < env->napprovers; j++) {
			if (conf_approver_has_git(p->conf, env->approvers[j]))
				continue;
			conf_warning(p->conf, "%s: environment %s: approver "
			    "%s is not mapped under people: with git names; "
			    "with self_approval: false its approvals of an "
			    "artifact a run built are refused (ferry cannot "
			    "tell whether it pushed the commit)", p->file,
			    env->name, env->approvers[j]);
		}
	}
}

const struct conf_environment *
conf_environment_find(const struct conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nenvironments; i++) {
		if (strcmp(conf->environments[i].name, name) == 0)
			return (&conf->environments[i]);
	}
	return (NULL);
}

const struct conf_registry_hook *
conf_registry_hook_find(const struct conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nregistry_hooks; i++) {
		if (strcmp(conf->registry_hooks[i].name, name) == 0)
			return (&conf->registry_hooks[i]);
	}
	return (NULL);
}

const struct conf_registry *
conf_registry_find(const struct conf *conf, const char *host)
{
	size_t	i;

	for (i = 0; i < conf->nregistries; i++) {
		if (strcmp(conf->registries[i].host, host) == 0)
			return (&conf->registries[i]);
	}
	return (NULL);
}
