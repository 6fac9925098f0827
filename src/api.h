/*
 * api.h: request routing for ferryd's HTTP surface: webhooks, /healthz,
 * /metrics and the JSON API under /api/v1 (bearer token over TCP, trusted
 * over the UNIX socket).
 */
#ifndef API_H
#define API_H

struct api;
struct api_deploy;
struct chatops;
struct outbox;
struct watch;
struct conf;
struct httpd_req;
struct ingest;
struct store;

struct event_base;
struct runner;

struct api	*api_new(struct event_base *, struct store *, struct ingest *,
		     struct runner *, const struct conf *);
void		 api_shutdown(struct api *);
void		 api_set_conf(struct api *, const struct conf *);
void		 api_set_chat(struct api *, struct chatops *,
		     struct outbox *);
void		 api_set_deploy(struct api *, struct api_deploy *,
		     struct watch *);
void		 api_request_cb(struct httpd_req *, void *);
int		 api_head_cb(const struct httpd_req *, void *, const char **);
void		 api_free(struct api *);
char		*api_identity(const struct conf *, const struct httpd_req *);
long long	 api_parse_id(const char *, size_t);

#endif
