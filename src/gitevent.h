/*
 * gitevent.h: the normalized event, the contract between the handlers and
 * the core (DESIGN.md, "Normalized event").
 */
#ifndef GITEVENT_H
#define GITEVENT_H

#include <stddef.h>

#include "log.h"

struct buf;
struct json_t;

enum gitevent_kind {
	GITEVENT_PUSH,
	GITEVENT_TAG,
	GITEVENT_MERGE,
	GITEVENT_PING,
	GITEVENT_IGNORE
};

/* Every string is owned by the event; NULL means absent (JSON null). */
struct gitevent {
	const char		*provider;	/* static: the handler's name */
	char			*event;		/* the provider's own name */
	enum gitevent_kind	 kind;
	char			*delivery;
	char			*repo;
	char			*clone_url;
	char			*ref;
	char			*before;
	char			*sha;
	int			 created;	/* -1 unknown */
	int			 deleted;
	int			 forced;	/* -1 unknown */
	char			*target_branch;
	long long		 pr_number;	/* 0 none */
	char			*sender;
	char			*reason;
};

struct gitevent_list {
	struct gitevent	*v;
	size_t		 n;
};

const char	*gitevent_kind_name(enum gitevent_kind);
int		 gitevent_kind_parse(const char *);
struct gitevent	*gitevent_list_add(struct gitevent_list *, const char *,
		     const char *);
void		 gitevent_list_free(struct gitevent_list *);
void		 gitevent_ignore(struct gitevent *, const char *, ...)
		     printflike(2, 3);
void		 gitevent_set_ref_update(struct gitevent *, const char *,
		     const char *, const char *);
int		 gitevent_check(const struct gitevent *, char **);
void		 gitevent_write(const struct gitevent *, struct buf *);
void		 gitevent_list_write(const struct gitevent_list *,
		     struct buf *);
struct json_t	*gitevent_list_to_json(const struct gitevent_list *);
const char	*gitevent_branch(const struct gitevent *);

#endif
