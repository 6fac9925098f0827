/*
 * ingest.h: the webhook path. Verify a delivery with its project's handler,
 * normalize it, apply the trigger rules, and queue its runs; replies wait
 * for the batched commit that makes them durable.
 */
#ifndef INGEST_H
#define INGEST_H

struct conf;
struct event_base;
struct httpd_req;
struct ingest;
struct runner;
struct store;

struct ingest	*ingest_new(struct event_base *, struct store *,
		     struct runner *, const struct conf *);
void		 ingest_set_conf(struct ingest *, const struct conf *);
void		 ingest_hook(struct ingest *, struct httpd_req *, const char *);
void		 ingest_flush(struct ingest *);
char		*ingest_metrics(struct ingest *);
void		 ingest_free(struct ingest *);

#endif
