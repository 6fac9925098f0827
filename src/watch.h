/*
 * watch.h: the registry watch. For each environment it lists the watched
 * repository's tags through the registry API (ocia, on ferryd's loop),
 * applies the environment's tag policy and hands the selected tag and
 * digest to the release manager. It checks every poll_interval, and at
 * once when a registry notification names the repository.
 */
#ifndef WATCH_H
#define WATCH_H

struct conf;
struct event_base;
struct httpc;
struct buf;
struct release_mgr;
struct store;
struct watch;

struct watch	*watch_new(struct event_base *, struct httpc *, struct store *,
		    struct release_mgr *, const struct conf *);
void		 watch_set_conf(struct watch *, const struct conf *);
void		 watch_free(struct watch *);
int		 watch_notify(struct watch *, const char *, const char *,
		    const char *);
int		 watch_check(struct watch *, const char *);
void		 watch_metrics(struct watch *, struct buf *);

#endif
