/*
 * `ferry gitops set --repo URL --file PATH --key KEY --value VALUE ...`:
 * the gitops deploy driver, which ferryd runs as a child process and a
 * person can run by hand. Prints "committed SHA" or "unchanged SHA".
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gitops.h"
#include "xmalloc.h"

static int
cli_gitops_usage(void)
{
	fprintf(stderr,
	    "usage: ferry gitops set --repo URL --file PATH --key KEY "
	    "--value VALUE\n"
	    "           [--branch BRANCH] [--message MSG] "
	    "[--author 'Name <email>']\n"
	    "           [--work-dir DIR] [--token-file F | --username U "
	    "--password-file F |\n"
	    "           --ssh-key-file F]\n");
	return (2);
}

int
cli_gitops(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "file", required_argument, NULL, 'f' },
		{ "key", required_argument, NULL, 'k' },
		{ "value", required_argument, NULL, 'v' },
		{ "branch", required_argument, NULL, 'b' },
		{ "message", required_argument, NULL, 'm' },
		{ "author", required_argument, NULL, 'a' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "token-file", required_argument, NULL, 't' },
		{ "username", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "ssh-key-file", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct gitops_change	 c;
	char			 sha[REPO_SHA_MAX + 1];
	char			*cause = NULL;
	int			 ch, changed;

	if (argc < 2 || strcmp(argv[1], "set") != 0)
		return (cli_gitops_usage());
	argc--;
	argv++;
	memset(&c, 0, sizeof c);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			c.url = optarg;
			break;
		case 'f':
			c.file = optarg;
			break;
		case 'k':
			c.key = optarg;
			break;
		case 'v':
			c.value = optarg;
			break;
		case 'b':
			c.branch = optarg;
			break;
		case 'm':
			c.message = optarg;
			break;
		case 'a':
			c.author = optarg;
			break;
		case 'w':
			c.work_dir = optarg;
			break;
		case 't':
			c.auth.token_file = optarg;
			break;
		case 'u':
			c.auth.username = optarg;
			break;
		case 'p':
			c.auth.password_file = optarg;
			break;
		case 's':
			c.auth.ssh_key_file = optarg;
			break;
		default:
			return (cli_gitops_usage());
		}
	}
	if (optind != argc || c.url == NULL || c.file == NULL ||
	    c.key == NULL || c.value == NULL)
		return (cli_gitops_usage());
	if ((c.auth.token_file != NULL) + (c.auth.password_file != NULL) +
	    (c.auth.ssh_key_file != NULL) > 1) {
		fprintf(stderr, "ferry: gitops: give one of --token-file, "
		    "--password-file and --ssh-key-file\n");
		return (2);
	}
	if (gitops_set(&c, &changed, sha, &cause) != 0) {
		fprintf(stderr, "ferry: gitops: %s\n", cause);
		free(cause);
		return (1);
	}
	printf("%s %s\n", changed ? "committed" : "unchanged", sha);
	return (0);
}
