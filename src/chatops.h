/*
 * chatops.h: POST /chat/slack and POST /chat/mattermost, verified, run
 * against the release manager under chat identities, audited.
 */
#ifndef CHATOPS_H
#define CHATOPS_H

struct chatops;
struct conf;
struct httpd_req;
struct outbox;
struct release_mgr;
struct store;

struct chatops	*chatops_new(struct store *, struct release_mgr *,
		    struct outbox *, const struct conf *);
void		 chatops_set_conf(struct chatops *, const struct conf *);
void		 chatops_free(struct chatops *);
int		 chatops_head(const struct conf *, const char *, const char **);
void		 chatops_slack(struct chatops *, struct httpd_req *);
void		 chatops_mattermost(struct chatops *, struct httpd_req *);

#endif
