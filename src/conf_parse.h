/*
 * conf_parse.h: the YAML walking helpers of the configuration loader, shared
 * by the files that parse one section each (conf.c, conf_env.c). Not for
 * anything outside the loader.
 */
#ifndef CONF_PARSE_H
#define CONF_PARSE_H

#include <stdint.h>

#include <yaml.h>

#include "log.h"

struct conf;

/* The parse in progress: the document and the errors found so far. */
struct conf_parse {
	const char	*file;
	yaml_document_t	*doc;
	struct conf	*conf;
	char		*errors;
	int		 nerrors;
};

/* Where a credentials: mapping goes. */
struct conf_git_creds {
	char	**token_file;
	char	**username;
	char	**password_file;
	char	**ssh_key_file;
};

/* Called for each key/value pair of a mapping. */
typedef int (*conf_pair_fn)(struct conf_parse *, const char *, yaml_node_t *,
    yaml_node_t *, void *);

void		 conf_error(struct conf_parse *, yaml_node_t *, const char *,
		     ...) printflike(3, 4);
void		 conf_warning(struct conf *, const char *, ...)
		     printflike(2, 3);
const char	*conf_node_type(yaml_node_t *);
const char	*conf_scalar(struct conf_parse *, yaml_node_t *, const char *);
char		*conf_string(struct conf_parse *, yaml_node_t *, const char *);
int		 conf_bool(struct conf_parse *, yaml_node_t *, const char *,
		     int *);
int		 conf_number(struct conf_parse *, yaml_node_t *, const char *,
		     long long, long long, long long *);
int		 conf_duration(struct conf_parse *, yaml_node_t *,
		     const char *, int64_t, int64_t *);
int		 conf_strings(struct conf_parse *, yaml_node_t *, const char *,
		     char ***, size_t *);
void		 conf_strings_free(char **, size_t, int);
int		 conf_mapping(struct conf_parse *, yaml_node_t *, const char *,
		     conf_pair_fn, void *);
char		*conf_read_secret(struct conf_parse *, yaml_node_t *,
		     const char *, size_t *);
int		 conf_secret(struct conf_parse *, yaml_node_t *, const char *,
		     char **, size_t *);
int		 conf_name_is_valid(const char *);
int		 conf_git_credentials(struct conf_parse *, yaml_node_t *,
		     const struct conf_git_creds *);

/* conf_env.c */
int		 conf_environments(struct conf_parse *, yaml_node_t *);
int		 conf_registry_hooks(struct conf_parse *, yaml_node_t *);
void		 conf_environments_free(struct conf *);
void		 conf_environments_finish(struct conf_parse *);

/* conf_chat.c */
struct conf_notify;
struct conf_status;
int		 conf_chat(struct conf_parse *, yaml_node_t *);
int		 conf_channels(struct conf_parse *, yaml_node_t *);
int		 conf_people(struct conf_parse *, yaml_node_t *);
int		 conf_notify_list(struct conf_parse *, yaml_node_t *, int,
		     struct conf_notify **, size_t *);
void		 conf_notify_free(struct conf_notify *, size_t);
int		 conf_status(struct conf_parse *, yaml_node_t *,
		     struct conf_status **);
void		 conf_status_free(struct conf_status *);
int		 conf_chat_finish(struct conf_parse *);
void		 conf_chat_free(struct conf *);

#endif
