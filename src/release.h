/*
 * release.h: the release manager. A release is one artifact (tag and
 * digest of the watched repository) on its way into one environment:
 *
 *   detected -> awaiting-approval -> approved -> deploying -> deployed
 *                                                          -> failed
 *   and off the way: rejected, expired, superseded.
 *
 * A release waits in detected, with the reason shown, while its artifact
 * has not passed acceptance (when the environment requires it) or while
 * automatic deployment is paused. Only one deployment per environment runs
 * at a time; a newer release supersedes older ones still on their way.
 * Every step is written to the store before anything is done about it.
 */
#ifndef RELEASE_H
#define RELEASE_H

#include <stdint.h>

struct conf;
struct conf_environment;
struct event_base;
struct json_t;
struct release_mgr;
struct store;

/*
 * Why release_decide, _deploy, _rollback or _pause refused (with *cause
 * saying it for people): negative, so a release id is never one.
 */
#define RELEASE_E_NOTFOUND	(-2)	/* no such release or environment */
#define RELEASE_E_FORBIDDEN	(-3)	/* not this person */
#define RELEASE_E_CONFLICT	(-4)	/* not in this state */
#define RELEASE_E_INVALID	(-5)	/* a bad argument */

/* Asks the watch for the digest of env's tag; it calls release_resolved. */
typedef void (*release_resolve_fn)(const char *, const char *, void *);

/* A release (its row, state already changed) moved to another state. */
typedef void (*release_observer_fn)(void *, struct json_t *);

struct release_mgr *release_new(struct event_base *, struct store *,
		    const struct conf *);
void		 release_set_conf(struct release_mgr *, const struct conf *);
void		 release_set_observer(struct release_mgr *,
		    release_observer_fn, void *);
void		 release_set_resolver(struct release_mgr *,
		    release_resolve_fn, void *);
void		 release_shutdown(struct release_mgr *);
void		 release_free(struct release_mgr *);
void		 release_kick(struct release_mgr *);

int64_t		 release_detected(struct release_mgr *, const char *,
		    const char *, const char *);
void		 release_resolved(struct release_mgr *, const char *,
		    const char *, const char *, const char *);
int		 release_decide(struct release_mgr *, int64_t, const char *,
		    const char *, int, const char *, char **);
int64_t		 release_deploy(struct release_mgr *, const char *,
		    const char *, const char *, char **);
int64_t		 release_rollback(struct release_mgr *, const char *,
		    const char *, char **);
int		 release_pause(struct release_mgr *, const char *, int,
		    char **);
struct json_t	*release_environments(struct release_mgr *);
char		*release_log_path(const struct conf *, int64_t);

#endif
