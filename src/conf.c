/*
 * Server configuration. The YAML file is loaded with libyaml's document API
 * and walked once; leaf keys come from tables with their types and defaults
 * in one place. Unknown keys are errors. Every error names the file, line
 * and column (libyaml's marks are 0-based; we add 1) and all of them are
 * collected, so `ferryd -n` shows every mistake at once. Relative paths are
 * relative to the config file's folder. Secrets are read here, from a file
 * or from systemd's $CREDENTIALS_DIRECTORY, and kept in memory only.
 */
#include "config.h"

#include <sys/stat.h>

#include <yaml.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conf_parse.h"
#include "exec.h"
#include "gitevent.h"
#include "handler.h"
#include "oci_proto.h"
#include "util.h"
#include "xmalloc.h"

#define CONF_TOKENS_MAX		65536

/* Record an error at node (or at the top of the file if node is NULL). */
void
conf_error(struct conf_parse *p, yaml_node_t *node, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *all;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	if (node != NULL)
		xasprintf(&all, "%s%s%s:%zu:%zu: %s", p->errors ? p->errors : "",
		    p->errors ? "\n" : "", p->file, node->start_mark.line + 1,
		    node->start_mark.column + 1, msg);
	else
		xasprintf(&all, "%s%s%s: %s", p->errors ? p->errors : "",
		    p->errors ? "\n" : "", p->file, msg);
	free(msg);
	free(p->errors);
	p->errors = all;
	p->nerrors++;
}

void
conf_warning(struct conf *conf, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	conf->warnings = xreallocarray(conf->warnings, conf->nwarnings + 1,
	    sizeof *conf->warnings);
	conf->warnings[conf->nwarnings++] = msg;
}

const char *
conf_node_type(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return ("a scalar");
	case YAML_SEQUENCE_NODE:
		return ("a list");
	case YAML_MAPPING_NODE:
		return ("a mapping");
	default:
		return ("nothing");
	}
}

/* The scalar text of node, or NULL with an error recorded. */
const char *
conf_scalar(struct conf_parse *p, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		conf_error(p, n, "%s: expected a scalar, found %s", key,
		    conf_node_type(n));
		return (NULL);
	}
	return ((const char *)n->data.scalar.value);
}

char *
conf_string(struct conf_parse *p, yaml_node_t *n, const char *key)
{
	const char	*s;

	if ((s = conf_scalar(p, n, key)) == NULL)
		return (NULL);
	if (*s == '\0') {
		conf_error(p, n, "%s: expected a non-empty string", key);
		return (NULL);
	}
	return (xstrdup(s));
}

int
conf_bool(struct conf_parse *p, yaml_node_t *n, const char *key, int *out)
{
	const char	*s;

	if ((s = conf_scalar(p, n, key)) == NULL)
		return (-1);
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
	    strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 ||
	    strcmp(s, "off") == 0)
		*out = 0;
	else {
		conf_error(p, n, "%s: expected true or false, found \"%s\"",
		    key, s);
		return (-1);
	}
	return (0);
}

int
conf_number(struct conf_parse *p, yaml_node_t *n, const char *key,
    long long min, long long max, long long *out)
{
	const char	*s;
	char		*end;
	long long	 v;

	if ((s = conf_scalar(p, n, key)) == NULL)
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		conf_error(p, n, "%s: expected a number from %lld to %lld, "
		    "found \"%s\"", key, min, max, s);
		return (-1);
	}
	*out = v;
	return (0);
}

/* A duration such as 90s, 10m or 1h, at least min milliseconds. */
int
conf_duration(struct conf_parse *p, yaml_node_t *n, const char *key,
    int64_t min, int64_t *out)
{
	const char	*s;

	if ((s = conf_scalar(p, n, key)) == NULL)
		return (-1);
	if (parse_duration(s, out) != 0 || *out < min) {
		conf_error(p, n, "%s: expected a duration such as 90s, 10m or "
		    "1h, found \"%s\"", key, s);
		return (-1);
	}
	return (0);
}

/* A scalar or a list of scalars, as a string array. */
int
conf_strings(struct conf_parse *p, yaml_node_t *n, const char *key,
    char ***out, size_t *nout)
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;
	char			*s;

	if (n->type == YAML_SCALAR_NODE) {
		if ((s = conf_string(p, n, key)) == NULL)
			return (-1);
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		(*out)[(*nout)++] = s;
		return (0);
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		conf_error(p, n, "%s: expected a string or a list of strings, "
		    "found %s", key, conf_node_type(n));
		return (-1);
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		item = yaml_document_get_node(p->doc, *it);
		if ((s = conf_string(p, item, key)) == NULL)
			return (-1);
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		(*out)[(*nout)++] = s;
	}
	return (0);
}

void
conf_strings_free(char **v, size_t n, int secret)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (secret)
			freezero_str(v[i]);
		else
			free(v[i]);
	}
	free(v);
}

/* A path relative to the config file's folder made absolute. Caller frees. */
char *
conf_path(const struct conf *conf, const char *path)
{
	char	*copy, *dir, *out;

	if (path[0] == '/')
		return (xstrdup(path));
	copy = xstrdup(conf->path);
	dir = dirname(copy);
	xasprintf(&out, "%s/%s", dir, path);
	free(copy);
	return (out);
}

/* Note a secret file read at load: stages must not see it (executor). */
static void
conf_secret_seen(struct conf *conf, const char *path)
{
	/*
	 * The file itself is held too (O_PATH): should it be moved, by
	 * renaming a folder above it, its cover follows it (runner.c).
	 */
	conf->secret_fds = xreallocarray(conf->secret_fds,
	    conf->nsecret_files + 1, sizeof *conf->secret_fds);
	conf->secret_fds[conf->nsecret_files] = open(path, O_PATH |
	    O_CLOEXEC);
	exec_isolation_add(&conf->secret_files, &conf->nsecret_files, path);
}

/* Iterate over a mapping node's pairs, calling fn(key, value) for each. */

int
conf_mapping(struct conf_parse *p, yaml_node_t *n, const char *what,
    conf_pair_fn fn, void *arg)
{
	yaml_node_pair_t	*pair, *prev;
	yaml_node_t		*k, *v, *pk;
	int			 rc = 0;

	if (n->type != YAML_MAPPING_NODE) {
		conf_error(p, n, "%s: expected a mapping, found %s", what,
		    conf_node_type(n));
		return (-1);
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		if (k->type != YAML_SCALAR_NODE) {
			conf_error(p, k, "%s: keys must be scalars", what);
			rc = -1;
			continue;
		}
		/* A key given twice is a mistake, not "the last one wins". */
		for (prev = n->data.mapping.pairs.start; prev < pair; prev++) {
			pk = yaml_document_get_node(p->doc, prev->key);
			if (pk->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)pk->data.scalar.value,
			    (const char *)k->data.scalar.value) == 0)
				break;
		}
		if (prev < pair) {
			conf_error(p, k, "%s: key \"%s\" given twice", what,
			    (const char *)k->data.scalar.value);
			rc = -1;
			continue;
		}
		if (fn(p, (const char *)k->data.scalar.value, k, v, arg) != 0)
			rc = -1;
	}
	return (rc);
}

/* Trigger rule: {kind: push|tag|merge or a list, branches: [], tags: []}. */
struct conf_trigger_parse {
	struct conf_trigger	*t;
	int			 seen_kind;
};

static int
conf_trigger_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_trigger_parse	*tp = arg;
	struct conf_trigger		*t = tp->t;
	char				**kinds = NULL;
	size_t				 nkinds = 0, i;
	int				 rc = 0;

	if (strcmp(key, "kind") == 0 || strcmp(key, "kinds") == 0) {
		tp->seen_kind = 1;
		if (conf_strings(p, v, key, &kinds, &nkinds) != 0)
			return (-1);
		for (i = 0; i < nkinds; i++) {
			if (strcmp(kinds[i], "push") == 0)
				t->kinds |= CONF_TRIGGER_PUSH;
			else if (strcmp(kinds[i], "tag") == 0)
				t->kinds |= CONF_TRIGGER_TAG;
			else if (strcmp(kinds[i], "merge") == 0)
				t->kinds |= CONF_TRIGGER_MERGE;
			else {
				conf_error(p, v, "kind: expected push, tag or "
				    "merge, found \"%s\"", kinds[i]);
				rc = -1;
			}
		}
		conf_strings_free(kinds, nkinds, 0);
		return (rc);
	}
	if (strcmp(key, "branches") == 0)
		return (conf_strings(p, v, key, &t->branches, &t->nbranches));
	if (strcmp(key, "tags") == 0)
		return (conf_strings(p, v, key, &t->tags, &t->ntags));
	conf_error(p, k, "unknown trigger key \"%s\" (expected kind, "
	    "branches or tags)", key);
	return (-1);
}

/* Generic provider settings. */
static int
conf_generic_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_generic	*g = arg;
	char			**slot;

	if (strcmp(key, "signature_header") == 0)
		slot = &g->signature_header;
	else if (strcmp(key, "signature_prefix") == 0) {
		const char *s = conf_scalar(p, v, key);
		if (s == NULL)
			return (-1);
		free(g->signature_prefix);
		g->signature_prefix = xstrdup(s);
		return (0);
	} else if (strcmp(key, "event_header") == 0)
		slot = &g->event_header;
	else if (strcmp(key, "delivery_header") == 0)
		slot = &g->delivery_header;
	else if (strcmp(key, "ref_pointer") == 0)
		slot = &g->ref_pointer;
	else if (strcmp(key, "sha_pointer") == 0)
		slot = &g->sha_pointer;
	else if (strcmp(key, "before_pointer") == 0)
		slot = &g->before_pointer;
	else if (strcmp(key, "repo_pointer") == 0)
		slot = &g->repo_pointer;
	else if (strcmp(key, "sender_pointer") == 0)
		slot = &g->sender_pointer;
	else {
		conf_error(p, k, "unknown generic key \"%s\"", key);
		return (-1);
	}
	free(*slot);
	if ((*slot = conf_string(p, v, key)) == NULL)
		return (-1);
	if (strstr(key, "_pointer") != NULL && (*slot)[0] != '/') {
		conf_error(p, v, "%s: a JSON pointer starts with \"/\"", key);
		return (-1);
	}
	return (0);
}

/*
 * A mapping of variables for stages: NAME: value. With secret, each value
 * is a file whose first line is read (relative to the config file). Names
 * are shell-style and never FERRY_*, which ferry sets itself.
 */
static int
conf_vars(struct conf_parse *p, yaml_node_t *n, const char *what,
    struct conf_var **out, size_t *nout, int secret)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*name, *value, *c;
	char			*path, *cause = NULL, *data;
	size_t			 len;
	int			 rc = 0;

	if (n->type != YAML_MAPPING_NODE) {
		conf_error(p, n, "%s: expected a mapping of NAME: value", what);
		return (-1);
	}
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		if ((name = conf_scalar(p, k, what)) == NULL ||
		    (value = conf_scalar(p, v, name)) == NULL) {
			rc = -1;
			continue;
		}
		for (c = name; *c != '\0'; c++) {
			if (!(isalpha((unsigned char)*c) || *c == '_' ||
			    (c > name && isdigit((unsigned char)*c))))
				break;
		}
		if (*name == '\0' || *c != '\0' ||
		    strncmp(name, "FERRY_", 6) == 0) {
			conf_error(p, k, "%s: \"%s\" is not a variable name "
			    "(letters, digits, _; not FERRY_*)", what, name);
			rc = -1;
			continue;
		}
		if (secret) {
			path = conf_path(p->conf, value);
			data = read_secret(path, &len, &cause);
			conf_secret_seen(p->conf, path);
			free(path);
			if (data == NULL) {
				conf_error(p, v, "%s: %s", name, cause);
				free(cause);
				cause = NULL;
				rc = -1;
				continue;
			}
		} else
			data = xstrdup(value);
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		(*out)[*nout].name = xstrdup(name);
		(*out)[*nout].value = data;
		(*nout)++;
	}
	return (rc);
}

static void
conf_vars_free(struct conf_var *v, size_t n, int secret)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		if (secret)
			freezero_str(v[i].value);
		else
			free(v[i].value);
	}
	free(v);
}

/* A name of letters, digits, ".", "-" and "_" (projects, environments). */
int
conf_name_is_valid(const char *s)
{
	/* Names become file names (mirrors, homes): not ".", "..", hidden. */
	if (*s == '\0' || *s == '.')
		return (0);
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return (0);
	}
	return (1);
}

static int
conf_git_credentials_pair(struct conf_parse *p, const char *key,
    yaml_node_t *k, yaml_node_t *v, void *arg)
{
	const struct conf_git_creds	*c = arg;
	char				**slot, *s;

	if (strcmp(key, "token_file") == 0)
		slot = c->token_file;
	else if (strcmp(key, "username") == 0)
		slot = c->username;
	else if (strcmp(key, "password_file") == 0)
		slot = c->password_file;
	else if (strcmp(key, "ssh_key_file") == 0)
		slot = c->ssh_key_file;
	else {
		conf_error(p, k, "unknown credentials key \"%s\" (expected "
		    "token_file, username, password_file or ssh_key_file)",
		    key);
		return (-1);
	}
	if ((s = conf_string(p, v, key)) == NULL)
		return (-1);
	free(*slot);
	if (slot != c->username) {
		*slot = conf_path(p->conf, s);
		free(s);
	} else
		*slot = s;
	return (0);
}

/*
 * credentials: {token_file, username, password_file, ssh_key_file}, for
 * fetching a project and for a GitOps repository; into the slots of c.
 */
int
conf_git_credentials(struct conf_parse *p, yaml_node_t *v,
    const struct conf_git_creds *c)
{
	return (conf_mapping(p, v, "credentials", conf_git_credentials_pair,
	    (void *)(uintptr_t)c));
}

/* What a project's parse keeps besides the project itself. */
struct conf_project_parse {
	struct conf_project	*pr;
	yaml_node_t		*secret_node;
	char			*secret_file;
	char			*secret_credential;
	int			 nsecret;
	int			 has_generic;
};

static int
conf_project_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_project_parse	*pp = arg;
	struct conf_project		*pr = pp->pr;
	struct conf_trigger_parse	 tp;
	yaml_node_item_t		*it;
	const char			*s;
	int				 rc = 0;

	if (strcmp(key, "name") == 0) {
		if ((pr->name = conf_string(p, v, key)) == NULL)
			return (-1);
		if (!conf_name_is_valid(pr->name)) {
			conf_error(p, v, "name: only letters, digits, \".\", "
			    "\"-\" and \"_\" may be used, not first \".\"");
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "repo") == 0)
		return ((pr->repo = conf_string(p, v, key)) == NULL ? -1 : 0);
	if (strcmp(key, "provider") == 0) {
		if ((pr->provider = conf_string(p, v, key)) == NULL)
			return (-1);
		if ((pr->handler = handler_find(pr->provider)) == NULL) {
			conf_error(p, v, "provider: expected github, gitlab, "
			    "gitea, forgejo, bitbucket, bitbucket-server or "
			    "generic, found \"%s\"", pr->provider);
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "secret") == 0 || strcmp(key, "secret_file") == 0 ||
	    strcmp(key, "secret_credential") == 0) {
		pp->nsecret++;
		pp->secret_node = v;
		if (strcmp(key, "secret") == 0) {
			if ((s = conf_scalar(p, v, key)) == NULL)
				return (-1);
			freezero_str(pr->secret);
			pr->secret = xstrdup(s);
			pr->secretlen = strlen(s);
			return (0);
		}
		if (strcmp(key, "secret_file") == 0)
			return ((pp->secret_file = conf_string(p, v, key)) ==
			    NULL ? -1 : 0);
		return ((pp->secret_credential = conf_string(p, v, key)) ==
		    NULL ? -1 : 0);
	}
	if (strcmp(key, "supersede") == 0)
		return (conf_bool(p, v, key, &pr->supersede));
	if (strcmp(key, "concurrency") == 0) {
		long long n;
		if (conf_number(p, v, key, 1, 64, &n) != 0)
			return (-1);
		pr->concurrency = (int)n;
		return (0);
	}
	if (strcmp(key, "env") == 0)
		return (conf_vars(p, v, key, &pr->env, &pr->nenv, 0));
	if (strcmp(key, "secrets") == 0)
		return (conf_vars(p, v, key, &pr->secrets, &pr->nsecrets, 1));
	if (strcmp(key, "required_files") == 0)
		return (conf_strings(p, v, key, &pr->required_files,
		    &pr->nrequired_files));
	if (strcmp(key, "credentials") == 0) {
		struct conf_git_creds c = { &pr->token_file, &pr->username,
		    &pr->password_file, &pr->ssh_key_file };
		return (conf_git_credentials(p, v, &c));
	}
	if (strcmp(key, "notify") == 0)
		return (conf_notify_list(p, v, CONF_EV_RUN_FAILED, &pr->notify,
		    &pr->nnotify));
	if (strcmp(key, "status") == 0)
		return (conf_status(p, v, &pr->status));
	if (strcmp(key, "generic") == 0) {
		pp->has_generic = 1;
		return (conf_mapping(p, v, key, conf_generic_pair,
		    &pr->generic));
	}
	if (strcmp(key, "triggers") == 0) {
		if (v->type != YAML_SEQUENCE_NODE) {
			conf_error(p, v, "triggers: expected a list, found %s",
			    conf_node_type(v));
			return (-1);
		}
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++) {
			yaml_node_t *tn = yaml_document_get_node(p->doc, *it);
			pr->triggers = xreallocarray(pr->triggers,
			    pr->ntriggers + 1, sizeof *pr->triggers);
			memset(&pr->triggers[pr->ntriggers], 0,
			    sizeof *pr->triggers);
			tp.t = &pr->triggers[pr->ntriggers++];
			tp.seen_kind = 0;
			if (conf_mapping(p, tn, "trigger", conf_trigger_pair,
			    &tp) != 0)
				rc = -1;
			else if (!tp.seen_kind) {
				conf_error(p, tn, "trigger: missing kind "
				    "(push, tag or merge)");
				rc = -1;
			}
		}
		return (rc);
	}
	conf_error(p, k, "unknown project key \"%s\" (expected name, repo, "
	    "provider, secret_file, secret_credential, secret, triggers, "
	    "supersede, generic, concurrency, env, secrets, required_files, "
	    "credentials, notify or status)", key);
	return (-1);
}

/* Read a secret from a file; warn when others may read it too. */
char *
conf_read_secret(struct conf_parse *p, yaml_node_t *node, const char *path,
    size_t *lenp)
{
	struct stat	 st;
	char		*buf, *cause = NULL;

	conf_secret_seen(p->conf, path);
	if ((buf = read_secret(path, lenp, &cause)) == NULL) {
		conf_error(p, node, "cannot read secret: %s", cause);
		free(cause);
		return (NULL);
	}
	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		conf_warning(p->conf, "%s: secret file %s is world-readable",
		    p->file, path);
	return (buf);
}

/*
 * A secret into *out and *len: from a file (KEY_file, relative to the
 * config) or a systemd credential (KEY_credential, in
 * $CREDENTIALS_DIRECTORY).
 */
int
conf_secret(struct conf_parse *p, yaml_node_t *v, const char *key,
    char **out, size_t *len)
{
	const char	*dir;
	char		*path, *s;
	size_t		 kl = strlen(key);

	if ((s = conf_string(p, v, key)) == NULL)
		return (-1);
	if (kl > 11 && strcmp(key + kl - 11, "_credential") == 0) {
		if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL ||
		    strchr(s, '/') != NULL) {
			conf_error(p, v, "%s: $CREDENTIALS_DIRECTORY is not "
			    "set, or the name holds a \"/\"", key);
			free(s);
			return (-1);
		}
		xasprintf(&path, "%s/%s", dir, s);
	} else
		path = conf_path(p->conf, s);
	free(s);
	freezero_str(*out);
	*out = conf_read_secret(p, v, path, len);
	free(path);
	if (*out == NULL)
		return (-1);
	if (*len == 0) {
		conf_error(p, v, "%s: the file is empty", key);
		return (-1);
	}
	return (0);
}

/* Check a parsed project and load its secret. */
static int
conf_project_finish(struct conf_parse *p, yaml_node_t *n,
    struct conf_project_parse *pp, int world_readable)
{
	struct conf_project	*pr = pp->pr;
	struct conf_generic	*g = &pr->generic;
	const char		*dir;
	char			*path;
	int			 rc = 0;

	if (pr->name == NULL) {
		conf_error(p, n, "project: missing name");
		return (-1);
	}
	if (pr->repo == NULL) {
		conf_error(p, n, "project %s: missing repo (the clone URL)",
		    pr->name);
		rc = -1;
	}
	if (pr->handler == NULL && pr->provider == NULL) {
		conf_error(p, n, "project %s: missing provider", pr->name);
		rc = -1;
	}
	if (pp->nsecret != 1) {
		conf_error(p, pp->nsecret ? pp->secret_node : n,
		    "project %s: expected exactly one of secret_file, "
		    "secret_credential or secret", pr->name);
		return (-1);
	}
	if (pp->secret_file != NULL) {
		path = conf_path(p->conf, pp->secret_file);
		pr->secret = conf_read_secret(p, pp->secret_node, path,
		    &pr->secretlen);
		free(path);
		if (pr->secret == NULL)
			rc = -1;
	} else if (pp->secret_credential != NULL) {
		if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL) {
			conf_error(p, pp->secret_node, "secret_credential: "
			    "$CREDENTIALS_DIRECTORY is not set (systemd's "
			    "LoadCredential= sets it)");
			rc = -1;
		} else if (strchr(pp->secret_credential, '/') != NULL) {
			conf_error(p, pp->secret_node, "secret_credential: "
			    "a credential name has no \"/\"");
			rc = -1;
		} else {
			xasprintf(&path, "%s/%s", dir, pp->secret_credential);
			pr->secret = conf_read_secret(p, pp->secret_node,
			    path, &pr->secretlen);
			free(path);
			if (pr->secret == NULL)
				rc = -1;
		}
	} else if (pr->secretlen == 0) {
		conf_error(p, pp->secret_node, "project %s: empty secret",
		    pr->name);
		rc = -1;
	} else if (world_readable)
		conf_warning(p->conf, "%s: project %s has its secret inline "
		    "and the file is world-readable; use secret_file or "
		    "secret_credential", p->file, pr->name);
	if (pr->handler == &handler_generic) {
		if (g->signature_header == NULL || g->ref_pointer == NULL ||
		    g->sha_pointer == NULL) {
			conf_error(p, n, "project %s: the generic provider "
			    "needs generic.signature_header, "
			    "generic.ref_pointer and generic.sha_pointer",
			    pr->name);
			rc = -1;
		}
	} else if (pp->has_generic) {
		conf_error(p, n, "project %s: generic: settings need "
		    "provider: generic", pr->name);
		rc = -1;
	}
	return (rc);
}

static int
conf_api_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf	*conf = p->conf;

	if (strcmp(key, "socket") == 0) {
		free(conf->api_socket);
		return ((conf->api_socket = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "tokens_file") == 0) {
		free(conf->api_tokens_file);
		return ((conf->api_tokens_file = conf_string(p, v, key)) ==
		    NULL ? -1 : 0);
	}
	conf_error(p, k, "unknown api key \"%s\" (expected socket or "
	    "tokens_file)", key);
	return (-1);
}

static int
conf_limits_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf	*conf = p->conf;
	long long	 n;
	const char	*s;

	if (strcmp(key, "body_bytes") == 0) {
		if (conf_number(p, v, key, 1024, 1LL << 30, &n) != 0)
			return (-1);
		conf->body_bytes = (size_t)n;
		return (0);
	}
	if (strcmp(key, "inflight_bytes") == 0) {
		if (conf_number(p, v, key, 1024, 1LL << 40, &n) != 0)
			return (-1);
		conf->inflight_bytes = (size_t)n;
		return (0);
	}
	if (strcmp(key, "connections") == 0) {
		if (conf_number(p, v, key, 1, 100000, &n) != 0)
			return (-1);
		conf->connections = (int)n;
		return (0);
	}
	if (strcmp(key, "request_timeout") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (parse_duration(s, &conf->timeout_ms) != 0 ||
		    conf->timeout_ms < 100) {
			conf_error(p, v, "request_timeout: expected a duration "
			    "such as 30s or 500ms (at least 100ms), found "
			    "\"%s\"", s);
			return (-1);
		}
		return (0);
	}
	conf_error(p, k, "unknown limits key \"%s\" (expected body_bytes, "
	    "inflight_bytes, connections or request_timeout)", key);
	return (-1);
}

static int
conf_store_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	const char	*s;

	if (strcmp(key, "synchronous") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (strcmp(s, "full") == 0)
			p->conf->sync_full = 1;
		else if (strcmp(s, "normal") == 0)
			p->conf->sync_full = 0;
		else {
			conf_error(p, v, "synchronous: expected full or "
			    "normal, found \"%s\"", s);
			return (-1);
		}
		return (0);
	}
	conf_error(p, k, "unknown store key \"%s\" (expected synchronous)",
	    key);
	return (-1);
}

static int
conf_executor_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf	*conf = p->conf;
	const char	*s;
	int64_t		*ms = NULL;
	long long	 n;

	if (strcmp(key, "concurrency") == 0) {
		/* 0: queue runs but run none (a receive-only ferryd). */
		if (conf_number(p, v, key, 0, 256, &n) != 0)
			return (-1);
		conf->exec_concurrency = (int)n;
		return (0);
	}
	if (strcmp(key, "log_bytes") == 0) {
		if (conf_number(p, v, key, 4096, 1LL << 34, &n) != 0)
			return (-1);
		conf->exec_log_bytes = (size_t)n;
		return (0);
	}
	if (strcmp(key, "keep_failed_worktrees") == 0)
		return (conf_bool(p, v, key, &conf->exec_keep_failed));
	if (strcmp(key, "path") == 0) {
		free(conf->exec_path);
		return ((conf->exec_path = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "ferry") == 0) {
		free(conf->exec_ferry);
		return ((conf->exec_ferry = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "work_dir") == 0) {
		free(conf->exec_work_dir);
		if ((conf->exec_work_dir = conf_string(p, v, key)) == NULL)
			return (-1);
		if (conf->exec_work_dir[0] != '/') {
			char *abs = conf_path(conf, conf->exec_work_dir);
			free(conf->exec_work_dir);
			conf->exec_work_dir = abs;
		}
		return (0);
	}
	if (strcmp(key, "isolation") == 0) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (strcmp(s, "auto") == 0)
			conf->exec_isolation = EXEC_ISOLATE_AUTO;
		else if (strcmp(s, "namespaces") == 0)
			conf->exec_isolation = EXEC_ISOLATE_NAMESPACES;
		else if (strcmp(s, "none") == 0)
			conf->exec_isolation = EXEC_ISOLATE_NONE;
		else {
			conf_error(p, v, "isolation: expected auto, namespaces "
			    "or none, found \"%s\"", s);
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "kill_grace") == 0)
		ms = &conf->exec_grace_ms;
	else if (strcmp(key, "stage_timeout") == 0)
		ms = &conf->exec_stage_timeout_ms;
	else if (strcmp(key, "checkout_timeout") == 0)
		ms = &conf->exec_checkout_timeout_ms;
	if (ms != NULL) {
		if ((s = conf_scalar(p, v, key)) == NULL)
			return (-1);
		if (parse_duration(s, ms) != 0 || *ms < 1) {
			conf_error(p, v, "%s: expected a duration such as 90s, "
			    "10m or 1h, found \"%s\"", key, s);
			return (-1);
		}
		return (0);
	}
	conf_error(p, k, "unknown executor key \"%s\" (expected concurrency, "
	    "stage_timeout, checkout_timeout, kill_grace, log_bytes, path, "
	    "ferry, work_dir, keep_failed_worktrees or isolation)", key);
	return (-1);
}

static int
conf_registry_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf_registry	*rg = arg;
	char			*path, *abs, *cause = NULL;
	size_t			 len;

	if (strcmp(key, "host") == 0) {
		free(rg->host);
		return ((rg->host = conf_string(p, v, key)) == NULL ? -1 : 0);
	}
	if (strcmp(key, "username") == 0) {
		free(rg->username);
		return ((rg->username = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "insecure") == 0)
		return (conf_bool(p, v, key, &rg->insecure));
	if (strcmp(key, "max_requests") == 0) {
		long long n;
		if (conf_number(p, v, key, 1, 256, &n) != 0)
			return (-1);
		rg->max_requests = (int)n;
		return (0);
	}
	if (strcmp(key, "password_file") == 0) {
		if ((path = conf_string(p, v, key)) == NULL)
			return (-1);
		freezero_str(rg->password);
		abs = conf_path(p->conf, path);
		rg->password = read_secret(abs, &len, &cause);
		conf_secret_seen(p->conf, abs);
		free(abs);
		free(path);
		if (rg->password == NULL) {
			conf_error(p, v, "password_file: %s", cause);
			free(cause);
			return (-1);
		}
		return (0);
	}
	if (strcmp(key, "docker_config") == 0) {
		if ((path = conf_string(p, v, key)) == NULL)
			return (-1);
		free(rg->docker_config);
		rg->docker_config = conf_path(p->conf, path);
		conf_secret_seen(p->conf, rg->docker_config);
		free(path);
		return (0);
	}
	if (strcmp(key, "projects") == 0)
		return (conf_strings(p, v, key, &rg->projects,
		    &rg->nprojects));
	conf_error(p, k, "unknown registry key \"%s\" (expected host, "
	    "username, password_file, docker_config, projects, insecure or "
	    "max_requests)", key);
	return (-1);
}

/* Whether a run of project gets registry rg's settings: 0 or 1. */
int
conf_registry_for_project(const struct conf_registry *rg,
    const char *project)
{
	size_t	i;

	if (rg->nprojects == 0)
		return (1);
	for (i = 0; i < rg->nprojects; i++) {
		if (strcmp(rg->projects[i], project) == 0)
			return (1);
	}
	return (0);
}

/*
 * A registry's credentials from its docker_config: the file's entry for
 * its host ("auths", base64 "user:password"). Read now, so `ferryd -n`
 * finds a bad file and the watch and the runs get the same credentials.
 */
static int
conf_registry_docker(struct conf_parse *p, yaml_node_t *pn,
    struct conf_registry *rg)
{
	char	*cause = NULL;

	if (rg->username != NULL) {
		conf_error(p, pn, "registry %s: docker_config or username "
		    "with password_file, not both", rg->host);
		return (-1);
	}
	if (oci_proto_docker_config(rg->docker_config, rg->host,
	    &rg->username, &rg->password, &cause) != 0) {
		conf_error(p, pn, "registry %s: docker_config: %s", rg->host,
		    cause);
		free(cause);
		return (-1);
	}
	if (rg->username == NULL) {
		conf_error(p, pn, "registry %s: docker_config: %s has no "
		    "\"auth\" entry for %s under \"auths\"", rg->host,
		    rg->docker_config, rg->host);
		return (-1);
	}
	return (0);
}

/*
 * Each registry's projects must exist, and credentials that every
 * project's runs get while there are several projects deserve a word.
 */
static void
conf_registries_check(struct conf_parse *p)
{
	struct conf		*conf = p->conf;
	struct conf_registry	*rg;
	size_t			 i, j;

	for (i = 0; i < conf->nregistries; i++) {
		rg = &conf->registries[i];
		for (j = 0; j < rg->nprojects; j++) {
			if (conf_project_find(conf, rg->projects[j]) == NULL)
				conf_error(p, NULL, "registry %s: projects: "
				    "no project named \"%s\"", rg->host,
				    rg->projects[j]);
		}
		if (rg->username != NULL && rg->nprojects == 0 &&
		    conf->nprojects > 1)
			conf_warning(conf, "registry %s: the runs of all %zu "
			    "projects get its credentials; list those that "
			    "need them in its projects:", rg->host,
			    conf->nprojects);
	}
}

static int
conf_top_pair(struct conf_parse *p, const char *key, yaml_node_t *k,
    yaml_node_t *v, void *arg)
{
	struct conf			*conf = p->conf;
	struct conf_project_parse	 pp;
	yaml_node_item_t		*it;
	yaml_node_t			*pn;
	int				 rc = 0, *wr = arg;
	size_t				 i;

	if (strcmp(key, "listen") == 0)
		return (conf_strings(p, v, key, &conf->listen,
		    &conf->nlisten));
	if (strcmp(key, "state_dir") == 0) {
		free(conf->state_dir);
		return ((conf->state_dir = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "ready_file") == 0) {
		free(conf->ready_file);
		return ((conf->ready_file = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "api") == 0)
		return (conf_mapping(p, v, key, conf_api_pair, NULL));
	if (strcmp(key, "limits") == 0)
		return (conf_mapping(p, v, key, conf_limits_pair, NULL));
	if (strcmp(key, "store") == 0)
		return (conf_mapping(p, v, key, conf_store_pair, NULL));
	if (strcmp(key, "executor") == 0)
		return (conf_mapping(p, v, key, conf_executor_pair, NULL));
	if (strcmp(key, "registries") == 0) {
		if (v->type != YAML_SEQUENCE_NODE) {
			conf_error(p, v, "registries: expected a list, found %s",
			    conf_node_type(v));
			return (-1);
		}
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++) {
			struct conf_registry *rg;
			pn = yaml_document_get_node(p->doc, *it);
			conf->registries = xreallocarray(conf->registries,
			    conf->nregistries + 1, sizeof *conf->registries);
			rg = &conf->registries[conf->nregistries++];
			memset(rg, 0, sizeof *rg);
			if (conf_mapping(p, pn, "registry", conf_registry_pair,
			    rg) != 0)
				rc = -1;
			else if (rg->host == NULL || (rg->username == NULL) !=
			    (rg->password == NULL)) {
				conf_error(p, pn, "registry: needs host, and "
				    "username with password_file together");
				rc = -1;
			} else if (rg->docker_config != NULL &&
			    conf_registry_docker(p, pn, rg) != 0)
				rc = -1;
		}
		return (rc);
	}
	if (strcmp(key, "environments") == 0)
		return (conf_environments(p, v));
	if (strcmp(key, "chat") == 0)
		return (conf_chat(p, v));
	if (strcmp(key, "channels") == 0)
		return (conf_channels(p, v));
	if (strcmp(key, "people") == 0)
		return (conf_people(p, v));
	if (strcmp(key, "public_url") == 0) {
		free(conf->public_url);
		return ((conf->public_url = conf_string(p, v, key)) == NULL ?
		    -1 : 0);
	}
	if (strcmp(key, "registry_hooks") == 0)
		return (conf_registry_hooks(p, v));
	if (strcmp(key, "projects") == 0) {
		if (v->type != YAML_SEQUENCE_NODE) {
			conf_error(p, v, "projects: expected a list, found %s",
			    conf_node_type(v));
			return (-1);
		}
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++) {
			pn = yaml_document_get_node(p->doc, *it);
			conf->projects = xreallocarray(conf->projects,
			    conf->nprojects + 1, sizeof *conf->projects);
			memset(&pp, 0, sizeof pp);
			pp.pr = &conf->projects[conf->nprojects++];
			memset(pp.pr, 0, sizeof *pp.pr);
			pp.pr->supersede = 1;
			pp.pr->concurrency = 1;
			if (conf_mapping(p, pn, "project", conf_project_pair,
			    &pp) != 0 ||
			    conf_project_finish(p, pn, &pp, *wr) != 0)
				rc = -1;
			free(pp.secret_file);
			free(pp.secret_credential);
			for (i = 0; pp.pr->name != NULL &&
			    i + 1 < conf->nprojects; i++) {
				if (conf->projects[i].name != NULL &&
				    strcmp(conf->projects[i].name,
				    pp.pr->name) == 0) {
					conf_error(p, pn, "project %s: "
					    "defined twice", pp.pr->name);
					rc = -1;
				}
			}
		}
		return (rc);
	}
	conf_error(p, k, "unknown key \"%s\" (expected listen, state_dir, "
	    "ready_file, api, limits, store, executor, registries, "
	    "projects, environments, registry_hooks, public_url, chat, "
	    "channels or people)", key);
	return (-1);
}

/* Load the API bearer tokens: one per line, blank lines and # ignored. */
static int
conf_load_tokens(struct conf_parse *p)
{
	struct conf	*conf = p->conf;
	char		*path, *buf, *line, *save = NULL, *cause = NULL;
	char		*name, *sp;

	path = conf_path(conf, conf->api_tokens_file);
	buf = read_file(path, CONF_TOKENS_MAX, NULL, &cause);
	conf_secret_seen(conf, path);
	free(path);
	if (buf == NULL) {
		conf_error(p, NULL, "api.tokens_file: %s", cause);
		free(cause);
		return (-1);
	}
	for (line = strtok_r(buf, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		if (*line == '\0' || *line == '#')
			continue;
		/* "TOKEN", or "NAME TOKEN": a name says who used it. */
		name = NULL;
		if ((sp = strpbrk(line, " \t")) != NULL) {
			*sp++ = '\0';
			name = line;
			line = sp + strspn(sp, " \t");
			if (*line == '\0' || strpbrk(line, " \t") != NULL ||
			    !conf_name_is_valid(name)) {
				conf_error(p, NULL, "api.tokens_file: a line is "
				    "TOKEN or NAME TOKEN (NAME of letters, "
				    "digits, . _ -)");
				break;
			}
		}
		conf->api_tokens = xreallocarray(conf->api_tokens,
		    conf->napi_tokens + 1, sizeof *conf->api_tokens);
		conf->api_token_names = xreallocarray(conf->api_token_names,
		    conf->napi_tokens + 1, sizeof *conf->api_token_names);
		conf->api_token_names[conf->napi_tokens] = name != NULL ?
		    xstrdup(name) : NULL;
		conf->api_tokens[conf->napi_tokens++] = xstrdup(line);
	}
	explicit_bzero(buf, strlen(buf));
	free(buf);
	if (conf->napi_tokens == 0) {
		conf_error(p, NULL, "api.tokens_file holds no token");
		return (-1);
	}
	return (0);
}

/* Is a below b or b itself, as written or once resolved? */
static int
conf_path_below(const char *a, const char *b)
{
	const char	*as[2], *bs[2];
	char		*ra, *rb;
	size_t		 i, j, n;
	int		 below = 0;

	as[0] = a;
	as[1] = ra = realpath(a, NULL);
	bs[0] = b;
	bs[1] = rb = realpath(b, NULL);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			if (as[i] == NULL || bs[j] == NULL)
				continue;
			n = strlen(bs[j]);
			if (strncmp(as[i], bs[j], n) == 0 &&
			    (as[i][n] == '/' || as[i][n] == '\0'))
				below = 1;
		}
	free(ra);
	free(rb);
	return (below);
}

/*
 * The credential files the children read (fetch, GitOps, Argo CD) join
 * those read at load, so that secret_files is every secret path of the
 * configuration: covered for stages, held open, checked below.
 */
static void
conf_credentials_seen(struct conf *conf)
{
	const char	*v[4];
	size_t		 i, j;

	for (i = 0; i < conf->nprojects + conf->nenvironments; i++) {
		memset(v, 0, sizeof v);
		if (i < conf->nprojects) {
			v[0] = conf->projects[i].token_file;
			v[1] = conf->projects[i].password_file;
			v[2] = conf->projects[i].ssh_key_file;
		} else {
			j = i - conf->nprojects;
			v[0] = conf->environments[j].token_file;
			v[1] = conf->environments[j].password_file;
			v[2] = conf->environments[j].ssh_key_file;
			v[3] = conf->environments[j].argocd_token_file;
		}
		for (j = 0; j < 4; j++)
			if (v[j] != NULL)
				conf_secret_seen(conf, v[j]);
	}
}

/*
 * No secret where stages may write (their $HOME, the work folder): one
 * stage could move it, or a folder above it, out from under the covers
 * of the next (executor.isolation), or put its own in its place.
 */
static void
conf_secrets_check(struct conf_parse *p)
{
	struct conf	*conf = p->conf;
	char		*dirs[2];
	size_t		 i, k;

	xasprintf(&dirs[0], "%s/home", conf->state_dir);
	dirs[1] = conf->exec_work_dir;
	for (i = 0; i < conf->nsecret_files; i++)
		for (k = 0; k < 2; k++)
			if (conf_path_below(conf->secret_files[i], dirs[k]))
				conf_error(p, NULL, "%s is in %s, where stages "
				    "can write: move it out",
				    conf->secret_files[i], dirs[k]);
	free(dirs[0]);
}

/*
 * Load and check the configuration in path. Returns the configuration, or
 * NULL with *cause set to every error found, one per line.
 */
struct conf *
conf_load(const char *path, char **cause)
{
	struct conf_parse	 p;
	struct conf		*conf;
	struct stat		 st;
	yaml_parser_t		 parser;
	yaml_document_t		 doc;
	yaml_node_t		*root;
	FILE			*f;
	char			*tmp;
	int			 world_readable = 0;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
		world_readable = 1;
	conf = xcalloc(1, sizeof *conf);
	/* Absolute, so that relative paths stay right after a chdir. */
	if ((conf->path = realpath(path, NULL)) == NULL)
		conf->path = xstrdup(path);
	conf->body_bytes = 5 * 1024 * 1024;
	conf->connections = 1024;
	conf->timeout_ms = 30 * 1000;
	conf->sync_full = 1;
	conf->exec_concurrency = 4;
	conf->exec_grace_ms = 10 * 1000;
	conf->exec_stage_timeout_ms = 3600 * 1000;
	conf->exec_checkout_timeout_ms = 30 * 60 * 1000;
	conf->exec_log_bytes = 10 * 1024 * 1024;
	conf->exec_isolation = EXEC_ISOLATE_AUTO;

	memset(&p, 0, sizeof p);
	p.file = path;
	p.conf = conf;
	p.doc = &doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		xasprintf(cause, "%s:%zu:%zu: %s", path,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		fclose(f);
		conf_free(conf);
		return (NULL);
	}
	yaml_parser_delete(&parser);
	fclose(f);

	if ((root = yaml_document_get_root_node(&doc)) == NULL)
		conf_error(&p, NULL, "empty configuration");
	else
		conf_mapping(&p, root, "top level", conf_top_pair,
		    &world_readable);
	yaml_document_delete(&doc);

	if (conf->nlisten == 0)
		conf_error(&p, NULL, "listen: at least one address is needed");
	if (conf->inflight_bytes == 0)
		conf->inflight_bytes = conf->body_bytes * 16 > (64u << 20) ?
		    conf->body_bytes * 16 : (64u << 20);
	else if (conf->inflight_bytes < conf->body_bytes)
		conf_error(&p, NULL, "limits.inflight_bytes (%zu) is smaller "
		    "than limits.body_bytes (%zu)", conf->inflight_bytes,
		    conf->body_bytes);
	if (conf->state_dir == NULL)
		conf->state_dir = xstrdup("/var/lib/ferry");
	else if (conf->state_dir[0] != '/') {
		tmp = conf_path(conf, conf->state_dir);
		free(conf->state_dir);
		conf->state_dir = tmp;
	}
	if (conf->api_socket == NULL)
		xasprintf(&conf->api_socket, "%s/api.sock", conf->state_dir);
	else if (conf->api_socket[0] != '/') {
		tmp = conf_path(conf, conf->api_socket);
		free(conf->api_socket);
		conf->api_socket = tmp;
	}
	if (conf->ready_file != NULL && conf->ready_file[0] != '/') {
		tmp = conf_path(conf, conf->ready_file);
		free(conf->ready_file);
		conf->ready_file = tmp;
	}
	if (conf->exec_work_dir == NULL)
		xasprintf(&conf->exec_work_dir, "%s/work", conf->state_dir);
	if (conf->exec_path == NULL)
		conf->exec_path = xstrdup("/usr/local/sbin:/usr/local/bin:"
		    "/usr/sbin:/usr/bin:/sbin:/bin");
	conf_registries_check(&p);
	if (conf->api_tokens_file != NULL && p.nerrors == 0)
		conf_load_tokens(&p);
	if (p.nerrors == 0)
		conf_chat_finish(&p);
	if (p.nerrors == 0)
		conf_environments_finish(&p);
	if (p.nerrors == 0) {
		conf_credentials_seen(conf);
		conf_secrets_check(&p);
	}
	if (p.nerrors != 0) {
		*cause = p.errors;
		conf_free(conf);
		return (NULL);
	}
	return (conf);
}

static void
conf_trigger_free(struct conf_trigger *t)
{
	conf_strings_free(t->branches, t->nbranches, 0);
	conf_strings_free(t->tags, t->ntags, 0);
}

static void
conf_project_free(struct conf_project *pr)
{
	size_t	i;

	free(pr->name);
	free(pr->repo);
	free(pr->provider);
	if (pr->secret != NULL) {
		explicit_bzero(pr->secret, pr->secretlen);
		free(pr->secret);
	}
	for (i = 0; i < pr->ntriggers; i++)
		conf_trigger_free(&pr->triggers[i]);
	free(pr->triggers);
	conf_notify_free(pr->notify, pr->nnotify);
	conf_status_free(pr->status);
	free(pr->generic.signature_header);
	free(pr->generic.signature_prefix);
	free(pr->generic.event_header);
	free(pr->generic.delivery_header);
	free(pr->generic.ref_pointer);
	free(pr->generic.sha_pointer);
	free(pr->generic.before_pointer);
	free(pr->generic.repo_pointer);
	free(pr->generic.sender_pointer);
	conf_vars_free(pr->env, pr->nenv, 0);
	conf_vars_free(pr->secrets, pr->nsecrets, 1);
	conf_strings_free(pr->required_files, pr->nrequired_files, 0);
	free(pr->token_file);
	free(pr->username);
	free(pr->password_file);
	free(pr->ssh_key_file);
}

void
conf_free(struct conf *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	free(conf->path);
	conf_strings_free(conf->listen, conf->nlisten, 0);
	free(conf->state_dir);
	free(conf->ready_file);
	free(conf->api_socket);
	free(conf->api_tokens_file);
	conf_strings_free(conf->api_tokens, conf->napi_tokens, 1);
	conf_strings_free(conf->api_token_names, conf->napi_tokens, 0);
	free(conf->exec_path);
	free(conf->exec_ferry);
	free(conf->exec_work_dir);
	for (i = 0; i < conf->nsecret_files; i++)
		if (conf->secret_fds[i] != -1)
			close(conf->secret_fds[i]);
	free(conf->secret_fds);
	conf_strings_free(conf->secret_files, conf->nsecret_files, 0);
	for (i = 0; i < conf->nregistries; i++) {
		free(conf->registries[i].host);
		free(conf->registries[i].username);
		freezero_str(conf->registries[i].password);
		free(conf->registries[i].docker_config);
		conf_strings_free(conf->registries[i].projects,
		    conf->registries[i].nprojects, 0);
	}
	free(conf->registries);
	for (i = 0; i < conf->nprojects; i++)
		conf_project_free(&conf->projects[i]);
	free(conf->projects);
	conf_environments_free(conf);
	conf_chat_free(conf);
	conf_strings_free(conf->warnings, conf->nwarnings, 0);
	free(conf);
}

/* Project by name, borrowed from conf, or NULL. */
const struct conf_project *
conf_project_find(const struct conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->nprojects; i++) {
		if (strcmp(conf->projects[i].name, name) == 0)
			return (&conf->projects[i]);
	}
	return (NULL);
}

static int
conf_globs_match(char **globs, size_t n, const char *name)
{
	size_t	i;

	if (n == 0)
		return (1);
	for (i = 0; i < n; i++) {
		if (glob_match(globs[i], name))
			return (1);
	}
	return (0);
}

/*
 * Whether an event of kind (enum gitevent_kind) on ref starts a run in
 * project. Without trigger rules every push, tag and merge does. When it
 * does not, *why says so (a static string).
 */
int
conf_project_triggers(const struct conf_project *pr, int kind,
    const char *ref, const char **why)
{
	const struct conf_trigger	*t;
	const char			*name;
	int				 bit;
	size_t				 i;

	switch (kind) {
	case GITEVENT_PUSH:
		bit = CONF_TRIGGER_PUSH;
		break;
	case GITEVENT_TAG:
		bit = CONF_TRIGGER_TAG;
		break;
	case GITEVENT_MERGE:
		bit = CONF_TRIGGER_MERGE;
		break;
	default:
		*why = "not a push, tag or merge";
		return (0);
	}
	if (pr->ntriggers == 0)
		return (1);
	if (strncmp(ref, "refs/heads/", 11) == 0)
		name = ref + 11;
	else if (strncmp(ref, "refs/tags/", 10) == 0)
		name = ref + 10;
	else
		name = ref;
	for (i = 0; i < pr->ntriggers; i++) {
		t = &pr->triggers[i];
		if ((t->kinds & bit) == 0)
			continue;
		if (bit == CONF_TRIGGER_TAG) {
			if (conf_globs_match(t->tags, t->ntags, name))
				return (1);
		} else if (conf_globs_match(t->branches, t->nbranches, name))
			return (1);
	}
	*why = "no trigger rule of the project matches this event";
	return (0);
}
