/*
 * api_deploy.h: registry notifications and the environments/releases API
 * (routed from api.c).
 */
#ifndef API_DEPLOY_H
#define API_DEPLOY_H

struct api_deploy;
struct conf;
struct httpd_req;
struct release_mgr;
struct store;
struct watch;

struct api_deploy *api_deploy_new(struct store *, struct release_mgr *,
		    struct watch *, const struct conf *);
void		 api_deploy_set_conf(struct api_deploy *, const struct conf *);
void		 api_deploy_free(struct api_deploy *);
int		 api_deploy_head(struct api_deploy *, const struct httpd_req *,
		    const char *, const char **);
void		 api_deploy_registry_hook(struct api_deploy *,
		    struct httpd_req *, const char *);
int		 api_deploy_route(struct api_deploy *, struct httpd_req *,
		    const char *);

#endif
