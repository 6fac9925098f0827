/*
 * The registry watch (watch.h). One check of an environment:
 *
 *   digest policy   HEAD the followed tag's manifest: its digest is the
 *                   candidate.
 *   other policies  list the tags (If-None-Match with the last ETag, so an
 *                   unchanged repository costs one request where the
 *                   registry supports it), keep those the policy matches,
 *                   for "latest" learn each new tag's creation time (the
 *                   manifest's org.opencontainers.image.created annotation,
 *                   else the config's "created"), select one, and HEAD it
 *                   unless its digest is already known.
 *
 * What a check learns (tag digests, creation times, the ETag, errors) is
 * stored, so a restart costs no extra requests and the release manager's
 * "have I seen this (tag, digest)" survives too. Errors back off
 * exponentially (1 s doubling to 5 min, never beyond the poll interval
 * unless polling is off); a notification checks at once regardless, since
 * it says the registry is up. At most one check per environment runs at a
 * time; a notification during a check makes it run once more afterwards.
 */
#include "config.h"

#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "httpc.h"
#include "log.h"
#include "oci.h"
#include "ocia.h"
#include "policy.h"
#include "release.h"
#include "store.h"
#include "util.h"
#include "watch.h"
#include "xmalloc.h"

#define WATCH_BACKOFF_MIN_MS	1000
#define WATCH_BACKOFF_MAX_MS	(5 * 60 * 1000)
#define WATCH_REGISTRY_LIMIT	4
#define WATCH_CONFIG_MAX	(1024 * 1024)
#define WATCH_HINT_TRIES	10	/* rechecks for a notified tag */
#define WATCH_HINT_MS		300

struct watch_reg {
	char			*host;
	struct ocia		*oc;
	LIST_ENTRY(watch_reg)	 entry;
};

struct watch_env;

/* One tag whose creation time a "latest" check is learning. */
struct watch_created {
	struct watch_env	*we;
	size_t			 index;
	struct ocia_op		*op;
};

struct watch_env {
	struct watch			*w;
	const struct conf_environment	*env;
	struct watch_reg		*reg;
	struct policy			*pol;
	struct event			*timer;
	struct ocia_op			*op;
	int				 checking;
	int				 recheck;
	int				 failures;
	char				*etag;		/* of the last good check */
	char				*new_etag;	/* of this check */
	/*
	 * A tag a notification named, until a check sees it. distribution
	 * notifies of a manifest push before it links the tag, so the
	 * first check may not see the tag yet.
	 */
	char				*hint;
	int				 hint_tries;
	int				 absent_tries;	/* listed, HEAD 404 */
	int				 soon;		/* look again shortly */
	/* A "latest" check in progress. */
	char				**tags;
	long long			*created;
	char				(*digests)[OCI_DIGEST_LEN];
	size_t				 ntags;
	struct watch_created		*fetch;
	size_t				 nfetch;
	size_t				 pending;
	char				*selected;
	LIST_ENTRY(watch_env)		 entry;
};

/* A digest lookup for a release asked for by tag (release_deploy). */
struct watch_resolve {
	struct watch			*w;
	char				*env;
	char				*tag;
	struct ocia_op			*op;
	struct watch_reg		*reg;
	LIST_ENTRY(watch_resolve)	 entry;
};

struct watch {
	struct event_base		*base;
	struct httpc			*httpc;
	struct store			*store;
	struct release_mgr		*rel;
	const struct conf		*conf;
	LIST_HEAD(, watch_reg)		 regs;
	LIST_HEAD(, watch_env)		 envs;
	LIST_HEAD(, watch_resolve)	 resolves;
	unsigned long long		 checks;
	unsigned long long		 requests;
	unsigned long long		 errors;
	unsigned long long		 notes;
};

static void	watch_start(struct watch_env *);
static void	watch_select(struct watch_env *);

static struct watch_reg *
watch_reg_get(struct watch *w, const char *host)
{
	const struct conf_registry	*cr;
	struct watch_reg		*r;
	struct oci_auth			 auth;
	char				*cause = NULL;

	LIST_FOREACH(r, &w->regs, entry) {
		if (strcmp(r->host, host) == 0)
			return (r);
	}
	memset(&auth, 0, sizeof auth);
	if ((cr = conf_registry_find(w->conf, host)) != NULL) {
		auth.username = cr->username;
		auth.password = cr->password;
	}
	r = xcalloc(1, sizeof *r);
	r->host = xstrdup(host);
	r->oc = ocia_new(w->httpc, host, &auth, cr != NULL && cr->insecure,
	    &cause);
	if (r->oc == NULL) {
		log_warnx("watch: registry %s: %s", host, cause);
		free(cause);
		free(r->host);
		free(r);
		return (NULL);
	}
	ocia_set_limit(r->oc, cr != NULL && cr->max_requests > 0 ?
	    cr->max_requests : WATCH_REGISTRY_LIMIT);
	LIST_INSERT_HEAD(&w->regs, r, entry);
	return (r);
}

/* Forget a check in progress (its operations are cancelled). */
static void
watch_env_reset(struct watch_env *we)
{
	size_t	i;

	if (we->op != NULL)
		ocia_cancel(we->reg->oc, we->op);
	we->op = NULL;
	for (i = 0; i < we->nfetch; i++)
		if (we->fetch[i].op != NULL)
			ocia_cancel(we->reg->oc, we->fetch[i].op);
	free(we->fetch);
	we->fetch = NULL;
	we->nfetch = 0;
	we->pending = 0;
	if (we->tags != NULL)
		oci_tags_free(we->tags, we->ntags);
	we->tags = NULL;
	we->ntags = 0;
	free(we->created);
	we->created = NULL;
	free(we->digests);
	we->digests = NULL;
	free(we->selected);
	we->selected = NULL;
	free(we->new_etag);
	we->new_etag = NULL;
	we->checking = 0;
}

static void
watch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	watch_start(arg);
}

static void
watch_schedule(struct watch_env *we, int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(we->timer, &tv);
}

/* A check ended, with error NULL on success. */
static void
watch_done(struct watch_env *we, const char *error)
{
	int64_t	delay;
	int	i;

	if (error != NULL) {
		if (we->failures < 1000)
			we->failures++;
		we->w->errors++;
		log_warnx("watch %s: %s", we->env->name, error);
	} else {
		we->failures = 0;
		/*
		 * Only a check that got to the end may skip the next list
		 * by its ETag: one that failed after listing must list again.
		 */
		if (we->new_etag != NULL) {
			free(we->etag);
			we->etag = we->new_etag;
			we->new_etag = NULL;
		}
	}
	store_watch_set(we->w->store, we->env->name, we->etag, error,
	    we->failures);
	watch_env_reset(we);
	if (we->recheck) {
		we->recheck = 0;
		watch_schedule(we, 0);
		return;
	}
	if (we->soon) {
		we->soon = 0;
		watch_schedule(we, WATCH_HINT_MS);
		return;
	}
	if (we->hint != NULL && ++we->hint_tries <= WATCH_HINT_TRIES) {
		watch_schedule(we, WATCH_HINT_MS);
		return;
	}
	free(we->hint);
	we->hint = NULL;
	if (error != NULL) {
		delay = WATCH_BACKOFF_MIN_MS;
		for (i = 1; i < we->failures && delay < WATCH_BACKOFF_MAX_MS;
		    i++)
			delay *= 2;
		if (delay > WATCH_BACKOFF_MAX_MS)
			delay = WATCH_BACKOFF_MAX_MS;
		if (we->env->poll_ms > 0 && delay > we->env->poll_ms)
			delay = we->env->poll_ms;
		watch_schedule(we, delay);
	} else if (we->env->poll_ms > 0)
		watch_schedule(we, we->env->poll_ms);
}

/* The selected tag's digest is known: over to the release manager. */
static void
watch_found(struct watch_env *we, const char *tag, const char *digest)
{
	we->absent_tries = 0;
	release_detected(we->w->rel, we->env->name, tag, digest);
	watch_done(we, NULL);
}

static void
watch_head_cb(struct ocia_result *res, void *arg)
{
	struct watch_env	*we = arg;
	char			*tag;

	we->op = NULL;
	we->w->requests += (unsigned long long)res->requests;
	if (res->error != NULL && res->status == 404 && we->selected != NULL &&
	    we->absent_tries < WATCH_HINT_TRIES) {
		/*
		 * Listed, yet not there: docker-registry lists a tag a moment
		 * before its manifest answers. Look again shortly, as for a
		 * notified tag, instead of failing the check.
		 */
		log_debug("watch %s: %s listed but not found yet",
		    we->env->name, we->selected);
		we->absent_tries++;
		we->soon = 1;
		watch_done(we, NULL);
		return;
	}
	if (res->error != NULL) {
		watch_done(we, res->error);
		return;
	}
	tag = we->selected != NULL ? we->selected : we->env->policy.tag;
	if (we->hint != NULL && we->selected == NULL) {
		/*
		 * Following a mutable tag that was just pushed: the digest
		 * it had before may mean the tag is not moved yet.
		 */
		char known[OCI_DIGEST_LEN];
		if (store_watch_tag_get(we->w->store, we->env->name, tag,
		    known, sizeof known, NULL) != 1 ||
		    strcmp(known, res->digest) != 0) {
			free(we->hint);
			we->hint = NULL;
		}
	}
	store_watch_tag_set(we->w->store, we->env->name, tag, res->digest,
	    -2);
	watch_found(we, tag, res->digest);
}

/*
 * A creation time from a manifest (annotation) or an image config
 * ("created"), RFC 3339; -1 when there is none.
 */
static long long
watch_parse_time(const char *s)
{
	struct tm	 tm;
	const char	*end;

	if (s == NULL)
		return (-1);
	memset(&tm, 0, sizeof tm);
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return (-1);
	/* Fractions and a Z or numeric offset may follow; UTC is assumed
	 * for Z, and offsets are applied. */
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	{
		long long t = (long long)timegm(&tm);
		if ((end[0] == '+' || end[0] == '-') && strlen(end) >= 6) {
			int h = (end[1] - '0') * 10 + (end[2] - '0');
			int m = (end[4] - '0') * 10 + (end[5] - '0');
			t += (end[0] == '+' ? -1 : 1) * (h * 3600 + m * 60);
		}
		return (t);
	}
}

static void
watch_created_done(struct watch_created *c, long long created,
    const char *digest)
{
	struct watch_env	*we = c->we;

	c->op = NULL;
	we->created[c->index] = created;
	if (digest != NULL) {
		if (digest != we->digests[c->index])
			snprintf(we->digests[c->index], OCI_DIGEST_LEN, "%s",
			    digest);
		store_watch_tag_set(we->w->store, we->env->name,
		    we->tags[c->index], digest, created);
	}
	if (--we->pending == 0)
		watch_select(we);
}

static void
watch_config_cb(struct ocia_result *res, void *arg)
{
	struct watch_created	*c = arg;
	long long		 t = -1;
	json_t			*o;

	c->we->w->requests += (unsigned long long)res->requests;
	if (res->error != NULL) {
		/* Not learned: asked again next time. */
		log_warnx("watch %s: %s", c->we->env->name, res->error);
		watch_created_done(c, -1, NULL);
		return;
	}
	if ((o = json_loadb(res->body, res->len, 0, NULL)) != NULL) {
		t = watch_parse_time(json_string_value(json_object_get(o,
		    "created")));
		json_decref(o);
	}
	watch_created_done(c, t, c->we->digests[c->index][0] != '\0' ?
	    c->we->digests[c->index] : NULL);
}

static void
watch_manifest_cb(struct ocia_result *res, void *arg)
{
	struct watch_created	*c = arg;
	struct watch_env	*we = c->we;
	const char		*cfg;
	long long		 t;
	json_t			*o;

	c->op = NULL;
	we->w->requests += (unsigned long long)res->requests;
	if (res->error != NULL ||
	    (o = json_loadb(res->body, res->len, 0, NULL)) == NULL) {
		log_warnx("watch %s: %s: %s", we->env->name,
		    we->tags[c->index], res->error != NULL ? res->error :
		    "manifest is not JSON");
		watch_created_done(c, -1, NULL);
		return;
	}
	snprintf(we->digests[c->index], OCI_DIGEST_LEN, "%s", res->digest);
	t = watch_parse_time(json_string_value(json_object_get(
	    json_object_get(o, "annotations"),
	    "org.opencontainers.image.created")));
	cfg = json_string_value(json_object_get(json_object_get(o, "config"),
	    "digest"));
	if (t < 0 && cfg != NULL && oci_digest_is_valid(cfg)) {
		c->op = ocia_blob_get(we->reg->oc, we->env->repo_path, cfg,
		    WATCH_CONFIG_MAX, watch_config_cb, c);
		json_decref(o);
		return;
	}
	json_decref(o);
	watch_created_done(c, t, res->digest);
}

/* Every matching tag has what the policy needs: choose one. */
static void
watch_select(struct watch_env *we)
{
	char		 digest[OCI_DIGEST_LEN];
	ssize_t		 i;

	i = policy_select(we->pol, we->tags, we->created, we->ntags);
	if (i < 0) {
		log_debug("watch %s: no tag matches the policy",
		    we->env->name);
		watch_done(we, NULL);
		return;
	}
	we->selected = xstrdup(we->tags[i]);
	if (we->digests != NULL && we->digests[i][0] != '\0') {
		watch_found(we, we->selected, we->digests[i]);
		return;
	}
	if (store_watch_tag_get(we->w->store, we->env->name, we->selected,
	    digest, sizeof digest, NULL) == 1) {
		watch_found(we, we->selected, digest);
		return;
	}
	we->op = ocia_manifest_head(we->reg->oc, we->env->repo_path,
	    we->selected, watch_head_cb, we);
}

static void
watch_tags_cb(struct ocia_result *res, void *arg)
{
	struct watch_env	*we = arg;
	json_t			*known, *k;
	size_t			 i, n;

	we->op = NULL;
	we->w->requests += (unsigned long long)res->requests;
	if (res->error != NULL) {
		if (res->status == 404) {
			/* Nothing pushed there yet: not a failure. */
			log_debug("watch %s: %s", we->env->name, res->error);
			watch_done(we, NULL);
		} else
			watch_done(we, res->error);
		return;
	}
	if (res->not_modified) {
		watch_done(we, NULL);
		return;
	}
	free(we->new_etag);
	we->new_etag = res->etag;
	res->etag = NULL;
	we->tags = res->tags;
	we->ntags = res->ntags;
	res->tags = NULL;
	res->ntags = 0;
	for (i = 0; we->hint != NULL && i < we->ntags; i++) {
		if (strcmp(we->tags[i], we->hint) == 0) {
			free(we->hint);
			we->hint = NULL;
		}
	}
	if (!policy_needs_created(we->pol)) {
		watch_select(we);
		return;
	}
	/* "latest": the creation time of each matching tag, once. */
	we->created = xcalloc(we->ntags ? we->ntags : 1, sizeof *we->created);
	we->digests = xcalloc(we->ntags ? we->ntags : 1, sizeof *we->digests);
	we->fetch = xcalloc(we->ntags ? we->ntags : 1, sizeof *we->fetch);
	/* What the store knows of every tag, in one query, not one a tag. */
	known = store_watch_tags(we->w->store, we->env->name);
	for (i = 0, n = 0; i < we->ntags; i++) {
		we->created[i] = -1;
		if (!policy_match(we->pol, we->tags[i]))
			continue;
		/* created: -1 it has none; null: not learned yet. */
		k = json_object_get(known, we->tags[i]);
		if (json_is_integer(json_object_get(k, "created")) &&
		    json_is_string(json_object_get(k, "digest"))) {
			we->created[i] = json_integer_value(json_object_get(k,
			    "created"));
			snprintf(we->digests[i], OCI_DIGEST_LEN, "%s",
			    json_string_value(json_object_get(k, "digest")));
			continue;
		}
		we->fetch[n].we = we;
		we->fetch[n].index = i;
		n++;
	}
	json_decref(known);
	we->nfetch = n;
	we->pending = n;
	if (n == 0) {
		watch_select(we);
		return;
	}
	for (i = 0; i < n; i++)
		we->fetch[i].op = ocia_manifest_get(we->reg->oc,
		    we->env->repo_path, we->tags[we->fetch[i].index],
		    watch_manifest_cb, &we->fetch[i]);
}

static void
watch_start(struct watch_env *we)
{
	if (we->checking) {
		we->recheck = 1;
		return;
	}
	evtimer_del(we->timer);
	we->checking = 1;
	we->w->checks++;
	if (we->env->policy.tag != NULL && strcmp(we->env->policy.kind,
	    "digest") == 0)
		we->op = ocia_manifest_head(we->reg->oc, we->env->repo_path,
		    we->env->policy.tag, watch_head_cb, we);
	else
		we->op = ocia_tags_list(we->reg->oc, we->env->repo_path,
		    we->etag, watch_tags_cb, we);
}

static void
watch_env_free(struct watch_env *we)
{
	watch_env_reset(we);
	event_free(we->timer);
	policy_free(we->pol);
	free(we->etag);
	free(we->new_etag);
	free(we->hint);
	free(we);
}

static void
watch_resolve_free(struct watch_resolve *r)
{
	LIST_REMOVE(r, entry);
	free(r->env);
	free(r->tag);
	free(r);
}

/* Drop every environment and registry, then build them from conf. */
static void
watch_build(struct watch *w)
{
	const struct conf_environment	*env;
	struct watch_env		*we;
	struct watch_reg		*r;
	struct watch_resolve		*rs;
	struct policy_spec		 spec;
	char				*cause = NULL;
	size_t				 i;

	while ((we = LIST_FIRST(&w->envs)) != NULL) {
		LIST_REMOVE(we, entry);
		watch_env_free(we);
	}
	while ((rs = LIST_FIRST(&w->resolves)) != NULL) {
		ocia_cancel(rs->reg->oc, rs->op);
		release_resolved(w->rel, rs->env, rs->tag, NULL, "the "
		    "configuration was reloaded during the lookup");
		watch_resolve_free(rs);
	}
	while ((r = LIST_FIRST(&w->regs)) != NULL) {
		LIST_REMOVE(r, entry);
		ocia_free(r->oc);
		free(r->host);
		free(r);
	}
	for (i = 0; i < w->conf->nenvironments; i++) {
		env = &w->conf->environments[i];
		we = xcalloc(1, sizeof *we);
		we->w = w;
		we->env = env;
		if (conf_policy_spec(&env->policy, &spec) != 0 ||
		    (we->pol = policy_new(&spec, &cause)) == NULL ||
		    (we->reg = watch_reg_get(w, env->registry)) == NULL) {
			log_warnx("watch %s: not watched: %s", env->name,
			    cause != NULL ? cause : "bad policy or registry");
			free(cause);
			cause = NULL;
			policy_free(we->pol);
			free(we);
			continue;
		}
		we->timer = evtimer_new(w->base, watch_timer_cb, we);
		/*
		 * No ETag from before: the policy or repository may have
		 * changed with the configuration, so the first check lists.
		 */
		LIST_INSERT_HEAD(&w->envs, we, entry);
		/* At start-up: whatever was pushed while we were away. */
		watch_schedule(we, 0);
	}
}

static void
watch_resolve_cb(struct ocia_result *res, void *arg)
{
	struct watch_resolve	*r = arg;
	struct watch		*w = r->w;

	w->requests += (unsigned long long)res->requests;
	if (res->error == NULL)
		store_watch_tag_set(w->store, r->env, r->tag, res->digest, -2);
	release_resolved(w->rel, r->env, r->tag, res->error == NULL ?
	    res->digest : NULL, res->error);
	watch_resolve_free(r);
}

static struct watch_env *
watch_env_find(struct watch *w, const char *envname)
{
	struct watch_env	*we;

	LIST_FOREACH(we, &w->envs, entry) {
		if (strcmp(we->env->name, envname) == 0)
			return (we);
	}
	return (NULL);
}

/* The release manager wants the digest of env's tag. */
static void
watch_resolve(const char *envname, const char *tag, void *arg)
{
	struct watch		*w = arg;
	struct watch_env	*we;
	struct watch_resolve	*r;

	if ((we = watch_env_find(w, envname)) == NULL) {
		release_resolved(w->rel, envname, tag, NULL, "the "
		    "environment's repository is not watched (see the log)");
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->w = w;
	r->env = xstrdup(envname);
	r->tag = xstrdup(tag);
	r->reg = we->reg;
	LIST_INSERT_HEAD(&w->resolves, r, entry);
	r->op = ocia_manifest_head(we->reg->oc, we->env->repo_path, tag,
	    watch_resolve_cb, r);
}

struct watch *
watch_new(struct event_base *base, struct httpc *httpc, struct store *st,
    struct release_mgr *rel, const struct conf *conf)
{
	struct watch	*w;

	w = xcalloc(1, sizeof *w);
	w->base = base;
	w->httpc = httpc;
	w->store = st;
	w->rel = rel;
	w->conf = conf;
	LIST_INIT(&w->regs);
	LIST_INIT(&w->envs);
	LIST_INIT(&w->resolves);
	release_set_resolver(rel, watch_resolve, w);
	watch_build(w);
	return (w);
}

void
watch_set_conf(struct watch *w, const struct conf *conf)
{
	w->conf = conf;
	watch_build(w);
}

void
watch_free(struct watch *w)
{
	struct watch_env	*we;
	struct watch_reg	*r;
	struct watch_resolve	*rs;

	if (w == NULL)
		return;
	while ((we = LIST_FIRST(&w->envs)) != NULL) {
		LIST_REMOVE(we, entry);
		watch_env_free(we);
	}
	while ((rs = LIST_FIRST(&w->resolves)) != NULL) {
		ocia_cancel(rs->reg->oc, rs->op);
		watch_resolve_free(rs);
	}
	while ((r = LIST_FIRST(&w->regs)) != NULL) {
		LIST_REMOVE(r, entry);
		ocia_free(r->oc);
		free(r->host);
		free(r);
	}
	free(w);
}

/*
 * A registry says repository (path) changed: check every environment that
 * watches it, now. A tag named in the note loses its cached digest, so a
 * tag pushed again is looked up again. Returns how many environments.
 */
int
watch_notify(struct watch *w, const char *host, const char *repository,
    const char *tag)
{
	struct watch_env	*we;
	int			 n = 0;

	w->notes++;
	LIST_FOREACH(we, &w->envs, entry) {
		if (strcmp(we->env->repo_path, repository) != 0)
			continue;
		if (tag != NULL && policy_match(we->pol, tag)) {
			/* A tag followed by digest keeps what it was, so
			 * the check can tell whether it moved yet. */
			if (strcmp(we->env->policy.kind, "digest") != 0)
				store_watch_tag_forget(w->store,
				    we->env->name, tag);
			free(we->hint);
			we->hint = xstrdup(tag);
			we->hint_tries = 0;
		}
		log_debug("watch %s: notified by %s", we->env->name,
		    host != NULL ? host : "a registry");
		watch_start(we);
		n++;
	}
	return (n);
}

/* Check one environment now (API). Returns -1 if it is not watched. */
int
watch_check(struct watch *w, const char *envname)
{
	struct watch_env	*we;

	if ((we = watch_env_find(w, envname)) == NULL)
		return (-1);
	watch_start(we);
	return (0);
}

/* Counters for /metrics, in Prometheus' text format. */
void
watch_metrics(struct watch *w, struct buf *b)
{
	char	line[256];

	snprintf(line, sizeof line,
	    "# TYPE ferry_watch_checks_total counter\n"
	    "ferry_watch_checks_total %llu\n"
	    "# TYPE ferry_watch_requests_total counter\n"
	    "ferry_watch_requests_total %llu\n", w->checks, w->requests);
	buf_addstr(b, line);
	snprintf(line, sizeof line,
	    "# TYPE ferry_watch_errors_total counter\n"
	    "ferry_watch_errors_total %llu\n"
	    "# TYPE ferry_watch_notifications_total counter\n"
	    "ferry_watch_notifications_total %llu\n", w->errors, w->notes);
	buf_addstr(b, line);
}
