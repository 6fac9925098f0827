/*
 * runner.h: runs queued runs. Picks runs within the global and per-project
 * limits, checks out the exact commit (`ferry checkout` as a child), reads
 * the pipeline from it, and runs the stages in order through exec.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdint.h>

struct conf;
struct event_base;
struct runner;
struct store;

/* run, project, ref, sha, stage (NULL: the run itself), state */
typedef void (*runner_observer_fn)(void *, int64_t, const char *,
    const char *, const char *, const char *, const char *);

struct runner	*runner_new(struct event_base *, struct store *,
		     const struct conf *);
void		 runner_set_conf(struct runner *, const struct conf *);
void		 runner_kick(struct runner *);
void		 runner_set_observer(struct runner *, runner_observer_fn,
		     void *);
void		 runner_set_acceptance_cb(struct runner *, void (*)(void *),
		     void *);
int		 runner_cancel(struct runner *, int64_t, char **);
int64_t		 runner_retry(struct runner *, int64_t, char **);
int64_t		 runner_trigger(struct runner *, const char *, const char *,
		     char **);
int		 runner_stage_open(struct runner *, int64_t, const char *);
char		*runner_log_path(const struct conf *, int64_t, const char *);
char		*runner_ferry_path(const struct conf *);
void		 runner_shutdown(struct runner *);
void		 runner_free(struct runner *);

#endif
