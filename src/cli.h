/* cli.h: the subcommands of the ferry command-line tool. */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

/* Where the API is: a UNIX socket, or a URL with a bearer token. */
struct cli_target {
	const char	*config;
	const char	*socket;
	const char	*url;
	const char	*token;
};

struct json_t;

/* API helpers (cli_runs.c): a 2xx reply's JSON, or NULL after a message. */
struct json_t	*cli_request(const struct cli_target *, const char *,
		    const char *, const char *);
struct json_t	*cli_get(const struct cli_target *, const char *);
char		*cli_escape(const char *);
int		 cli_get_text(const struct cli_target *, const char *,
		    const char *);
void		 cli_print_json(struct json_t *);
void		 cli_time(struct json_t *, char *, size_t);
const char	*cli_str(struct json_t *, const char *);

int	cli_webhook_inspect(int, char **);
int	cli_webhook_sign(int, char **);
int	cli_runs(const struct cli_target *, int, char **);
int	cli_run_show(const struct cli_target *, int, char **);
int	cli_logs(const struct cli_target *, int, char **);
int	cli_run_action(const struct cli_target *, int, char **);
int	cli_trigger(const struct cli_target *, int, char **);
int	cli_checkout(int, char **);
int	cli_pipeline_run(int, char **);
int	cli_tag(int, char **);
int	cli_oci(int, char **);
int	cli_build(int, char **);
int	cli_run_image(int, char **);
int	cli_bundle(int, char **);
int	cli_artifacts(const struct cli_target *, int, char **);
int	cli_policy(int, char **);
int	cli_environments(const struct cli_target *, int, char **);
int	cli_releases(const struct cli_target *, int, char **);
int	cli_release_show(const struct cli_target *, int, char **);
int	cli_release_decide(const struct cli_target *, int, char **);
int	cli_env_action(const struct cli_target *, int, char **);
int	cli_audit(const struct cli_target *, int, char **);
int	cli_gitops(int, char **);
int	cli_argocd(int, char **);

#endif
