/*
 * ferry: the command-line tool. It talks to ferryd's API (over the UNIX
 * socket by default) and carries the local tools that need no daemon, such
 * as `ferry webhook inspect`.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static void
ferry_usage(FILE *f)
{
	fprintf(f,
	    "usage: ferry [-c config] [-s socket] [-u url] command [args]\n"
	    "\n"
	    "commands:\n"
	    "  webhook inspect -H 'Name: value'... [--provider P] [--secret S]\n"
	    "                  [--secret-file F] [-c config --project NAME] < body\n"
	    "      print the normalized events of a webhook delivery as JSON\n"
	    "  webhook sign (--secret S | --secret-file F) [--prefix P] < body\n"
	    "      print the HMAC-SHA256 signature header value for a body\n"
	    "  runs [--project P] [--state S] [--limit N] [--json]\n"
	    "      list runs, newest first\n"
	    "  run show ID [--json]\n"
	    "      show one run, its stages and outputs\n"
	    "  logs RUN [STAGE] [-f]\n"
	    "      print a stage's log, or every stage's; -f follows it live\n"
	    "  cancel RUN | retry RUN\n"
	    "      stop a queued or running run; run an ended run's commit again\n"
	    "  trigger PROJECT REF\n"
	    "      start a run of REF's tip by hand\n"
	    "  checkout --mirror DIR --url URL --ref REF [--sha SHA] [--worktree DIR]\n"
	    "           [--pipeline-out FILE] [--result FILE] [--require PATH]...\n"
	    "           [--token-file F] [--username U] [--password-file F] [--ssh-key F]\n"
	    "      fetch the mirror, check the commit is on its ref, write its\n"
	    "      .ferry.yaml and a clean worktree of it\n"
	    "  pipeline run [--dev] [--follow] [--stage NAME] [--repo DIR]\n"
	    "      run the pipeline of HEAD here, without a daemon; --dev runs the\n"
	    "      working tree, --follow runs again whenever HEAD moves\n"
	    "  artifacts [--project P] [--json]\n"
	    "      list the images and bundles runs published, with acceptance\n"
	    "  build [--image NAME] [--insecure] [--username U --password-env VAR]\n"
	    "      in a stage: build and push the images the registry lacks\n"
	    "  run-image NAME [--insecure] -- CMD...\n"
	    "      in a stage: run CMD inside the image built earlier in the run\n"
	    "  bundle publish --repo HOST/PATH [--tag VERSION] [--repo-dir DIR |\n"
	    "      --git-dir DIR] [--commit REV] [--chart-dir DIR] [--image NAME=REF]...\n"
	    "      [--insecure] [--username U --password-file F | --docker-config F]\n"
	    "      publish the commit's Helm chart to an OCI registry, never\n"
	    "      overwriting a tag; bundle package --out FILE writes the archive\n"
	    "  tag [--repo DIR | --git-dir DIR] [--commit REV] [--image NAME]\n"
	    "      print the content tag of each image of .ferry.yaml at a commit\n"
	    "  policy check (--semver C | --regex RE | --latest [--allow RE] |\n"
	    "               --digest TAG) [--ignore RE]... TAG...\n"
	    "      try a tag policy: each tag's match or no, then the one\n"
	    "      selected (with --latest, each TAG is TAG=UNIXTIME)\n"
	    "  oci [--insecure] [--username U --password-file F | --docker-config F]\n"
	    "      ping HOST | tags HOST/REPO | head|get HOST/REPO:REF |\n"
	    "      put-blob HOST/REPO FILE | put-manifest HOST/REPO:REF FILE |\n"
	    "      blob HOST/REPO@DIGEST | mount HOST/REPO DIGEST FROM-REPO\n"
	    "      talk to an OCI registry by hand\n"
	    "  environments [--json]            environments and what runs there\n"
	    "  releases [ENV] [--json]          releases, newest first\n"
	    "  release show|log RELEASE\n"
	    "  approve|reject RELEASE [--reason TEXT]\n"
	    "  deploy ENV VERSION [--wait]      deploy a tag of ENV's repository\n"
	    "  rollback ENV [--wait]            deploy what ran before\n"
	    "  pause|resume ENV                 stop or restart automatic deployment\n"
	    "  check ENV                        ask the registry now\n"
	    "  audit [--json]                   who decided what, and refusals\n"
	    "  gitops set --repo URL --file PATH --key KEY --value VALUE\n"
	    "      [--branch B] [--message M] [--author 'Name <email>'] [--work-dir D]\n"
	    "      [--token-file F | --username U --password-file F | --ssh-key-file F]\n"
	    "      set one YAML scalar in a file of a GitOps repository in place,\n"
	    "      commit and push it (the gitops deploy driver)\n"
	    "  argocd sync --app NAME --revision REV [--namespace NS] [--server URL]\n"
	    "      [--ca-file F] [--token-file F] [--insecure] [--refresh MODE]\n"
	    "      [--source-index N] [--wait [--timeout D] [--interval D]]\n"
	    "      point an Argo CD Application at REV through the Kubernetes\n"
	    "      API; --wait until it is Synced and Healthy there\n"
	    "  version\n"
	    "\n"
	    "The API is reached on the UNIX socket named by -s, $FERRY_SOCKET or\n"
	    "the configuration (-c, default /etc/ferry/ferry.yaml), or over TCP\n"
	    "with -u URL and a bearer token in $FERRY_TOKEN.\n");
}

int
main(int argc, char **argv)
{
	struct cli_target	 t;
	int			 i;

	log_init("ferry", 0);
	memset(&t, 0, sizeof t);
	t.socket = getenv("FERRY_SOCKET");
	t.url = getenv("FERRY_URL");
	t.token = getenv("FERRY_TOKEN");
	/* Global options come before the command. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			ferry_usage(stdout);
			return (0);
		}
		if (i + 1 >= argc) {
			ferry_usage(stderr);
			return (2);
		}
		if (strcmp(argv[i], "-c") == 0)
			t.config = argv[++i];
		else if (strcmp(argv[i], "-s") == 0)
			t.socket = argv[++i];
		else if (strcmp(argv[i], "-u") == 0)
			t.url = argv[++i];
		else {
			ferry_usage(stderr);
			return (2);
		}
	}
	argc -= i;
	argv += i;
	if (argc < 1) {
		ferry_usage(stderr);
		return (2);
	}
	if (strcmp(argv[0], "version") == 0) {
		printf("ferry %s\n", PACKAGE_VERSION);
		return (0);
	}
	if (strcmp(argv[0], "webhook") == 0 && argc >= 2 &&
	    strcmp(argv[1], "inspect") == 0)
		return (cli_webhook_inspect(argc - 1, argv + 1));
	if (strcmp(argv[0], "webhook") == 0 && argc >= 2 &&
	    strcmp(argv[1], "sign") == 0)
		return (cli_webhook_sign(argc - 1, argv + 1));
	if (strcmp(argv[0], "runs") == 0)
		return (cli_runs(&t, argc, argv));
	if (strcmp(argv[0], "run") == 0 && argc >= 2 &&
	    strcmp(argv[1], "show") == 0)
		return (cli_run_show(&t, argc - 1, argv + 1));
	if (strcmp(argv[0], "checkout") == 0)
		return (cli_checkout(argc, argv));
	if (strcmp(argv[0], "pipeline") == 0 && argc >= 2 &&
	    strcmp(argv[1], "run") == 0)
		return (cli_pipeline_run(argc - 1, argv + 1));
	if (strcmp(argv[0], "artifacts") == 0)
		return (cli_artifacts(&t, argc, argv));
	if (strcmp(argv[0], "run-image") == 0)
		return (cli_run_image(argc, argv));
	if (strcmp(argv[0], "build") == 0)
		return (cli_build(argc, argv));
	if (strcmp(argv[0], "bundle") == 0)
		return (cli_bundle(argc, argv));
	if (strcmp(argv[0], "oci") == 0)
		return (cli_oci(argc, argv));
	if (strcmp(argv[0], "argocd") == 0)
		return (cli_argocd(argc, argv));
	if (strcmp(argv[0], "tag") == 0)
		return (cli_tag(argc, argv));
	if (strcmp(argv[0], "policy") == 0)
		return (cli_policy(argc, argv));
	if (strcmp(argv[0], "gitops") == 0)
		return (cli_gitops(argc, argv));
	if (strcmp(argv[0], "logs") == 0)
		return (cli_logs(&t, argc, argv));
	if (strcmp(argv[0], "cancel") == 0 || strcmp(argv[0], "retry") == 0)
		return (cli_run_action(&t, argc, argv));
	if (strcmp(argv[0], "trigger") == 0)
		return (cli_trigger(&t, argc, argv));
	if (strcmp(argv[0], "environments") == 0 ||
	    strcmp(argv[0], "envs") == 0)
		return (cli_environments(&t, argc, argv));
	if (strcmp(argv[0], "releases") == 0)
		return (cli_releases(&t, argc, argv));
	if (strcmp(argv[0], "audit") == 0)
		return (cli_audit(&t, argc, argv));
	if (strcmp(argv[0], "release") == 0)
		return (cli_release_show(&t, argc, argv));
	if (strcmp(argv[0], "approve") == 0 || strcmp(argv[0], "reject") == 0)
		return (cli_release_decide(&t, argc, argv));
	if (strcmp(argv[0], "deploy") == 0 || strcmp(argv[0], "rollback") ==
	    0 || strcmp(argv[0], "pause") == 0 || strcmp(argv[0], "resume") ==
	    0 || strcmp(argv[0], "check") == 0)
		return (cli_env_action(&t, argc, argv));
	fprintf(stderr, "ferry: unknown command \"%s\"\n", argv[0]);
	ferry_usage(stderr);
	return (2);
}
