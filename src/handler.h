/*
 * handler.h: inbound sources. One file per source in handlers/, each a
 * `struct handler` found by name (OpenSMTPD's table backends). A handler
 * verifies one request and turns it into normalized events; it owns
 * nothing else.
 */
#ifndef HANDLER_H
#define HANDLER_H

#include <stddef.h>

struct conf_project;
struct gitevent_list;
struct headers;
struct jv;

/* One inbound request. Everything is borrowed from the caller. */
struct handler_request {
	const struct headers		*headers;
	const char			*body;
	size_t				 bodylen;
	const struct conf_project	*project;	/* may be NULL */
};

struct handler {
	const char	*name;
	/* 1 if the headers say the request comes from this source. */
	int		 (*detect)(const struct headers *);
	/* 0 if the request is authentic under secret; else -1, *cause. */
	int		 (*verify)(const struct handler_request *,
			     const char *, size_t, char **);
	/* Normalized events appended to the list; else -1, *cause. */
	int		 (*parse)(const struct handler_request *,
			     struct gitevent_list *, char **);
};

extern const struct handler handler_github;
extern const struct handler handler_gitlab;
extern const struct handler handler_gitea;
extern const struct handler handler_forgejo;
extern const struct handler handler_bitbucket;
extern const struct handler handler_bitbucket_server;
extern const struct handler handler_generic;

const struct handler	*handler_find(const char *);
const struct handler	*handler_detect(const struct headers *);
int			 handler_verify_hmac(const char *, const char *,
			     const char *, const char *, size_t, const void *,
			     size_t, char **);
struct jv		*handler_json(const struct handler_request *,
			     char **);
const char		*handler_delivery(const struct handler_request *,
			     const char *, char **);
const char		*hjson_str(const struct jv *, const char *);
int			 hjson_bool(const struct jv *, const char *);
long long		 hjson_int(const struct jv *, const char *);
const struct jv		*hjson_get(const struct jv *, const char *);
struct gitevent;
int			 handler_pull_request(struct gitevent *, const struct jv *,
			     char **);

#endif
