/* cli.h: the subcommands of the ferry command-line tool. */
#ifndef CLI_H
#define CLI_H

/* Where the API is: a UNIX socket, or a URL with a bearer token. */
struct cli_target {
	const char	*config;
	const char	*socket;
	const char	*url;
	const char	*token;
};

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
int	cli_argocd(int, char **);

#endif
