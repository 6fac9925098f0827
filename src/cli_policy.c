/*
 * `ferry policy check`: try a tag policy on a list of tags before trusting
 * it with an environment. Prints "TAG match" or "TAG no" per tag, then
 * "selected: TAG" or "selected: none"; exits 0 when a tag is selected, 1
 * when none is, 2 on a usage error or a bad constraint or pattern.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy.h"
#include "util.h"
#include "xmalloc.h"

static void
cli_policy_usage(void)
{
	fprintf(stderr,
	    "usage: ferry policy check (--semver CONSTRAINT | --regex RE |\n"
	    "           --latest [--allow RE] | --digest TAG)\n"
	    "           [--ignore RE]... TAG...\n"
	    "       with --latest each TAG is TAG=UNIXTIME (creation time)\n");
}

/* Parse "TAG=UNIXTIME" in place: cut at '=' and store the time. */
static int
cli_policy_timed(char *arg, long long *t)
{
	char	*eq, *end;

	if ((eq = strrchr(arg, '=')) == NULL || eq[1] == '\0')
		return (-1);
	errno = 0;
	*t = strtoll(eq + 1, &end, 10);
	if (errno != 0 || *end != '\0' || *t < 0)
		return (-1);
	*eq = '\0';
	return (0);
}

int
cli_policy(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "semver", required_argument, NULL, 's' },
		{ "regex", required_argument, NULL, 'r' },
		{ "latest", no_argument, NULL, 'l' },
		{ "digest", required_argument, NULL, 'd' },
		{ "allow", required_argument, NULL, 'a' },
		{ "ignore", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	struct policy_spec	 spec;
	struct policy		*p = NULL;
	struct buf		 ignore;
	const char		*regex = NULL;
	char			**tags = NULL, *cause = NULL;
	long long		*created = NULL;
	ssize_t			 sel;
	size_t			 n, i;
	int			 ch, nkinds = 0, rc = 2;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		cli_policy_usage();
		return (2);
	}
	argc--;
	argv++;
	memset(&spec, 0, sizeof spec);
	buf_init(&ignore);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			spec.kind = POLICY_SEMVER;
			spec.semver = optarg;
			nkinds++;
			break;
		case 'r':
			spec.kind = POLICY_REGEX;
			regex = optarg;
			nkinds++;
			break;
		case 'l':
			spec.kind = POLICY_LATEST;
			nkinds++;
			break;
		case 'd':
			spec.kind = POLICY_DIGEST;
			spec.tag = optarg;
			nkinds++;
			break;
		case 'a':
			spec.allow = optarg;
			break;
		case 'i':
			if (ignore.len > 0)
				buf_addstr(&ignore, "\n");
			buf_addstr(&ignore, optarg);
			break;
		default:
			cli_policy_usage();
			goto out;
		}
	}
	argc -= optind;
	argv += optind;
	if (nkinds != 1 || argc < 1) {
		cli_policy_usage();
		goto out;
	}
	if (spec.kind == POLICY_REGEX) {
		if (spec.allow != NULL) {
			fprintf(stderr, "ferry policy: --regex is the allow "
			    "pattern; give no --allow with it\n");
			goto out;
		}
		spec.allow = regex;
	}
	if (ignore.len > 0)
		spec.ignore = ignore.data;

	n = (size_t)argc;
	tags = xreallocarray(NULL, n, sizeof *tags);
	if (spec.kind == POLICY_LATEST)
		created = xreallocarray(NULL, n, sizeof *created);
	for (i = 0; i < n; i++) {
		tags[i] = argv[i];
		if (created != NULL && cli_policy_timed(argv[i],
		    &created[i]) != 0) {
			fprintf(stderr, "ferry policy: \"%s\" is not "
			    "TAG=UNIXTIME\n", argv[i]);
			goto out;
		}
	}
	if ((p = policy_new(&spec, &cause)) == NULL) {
		fprintf(stderr, "ferry policy: %s\n", cause);
		goto out;
	}

	for (i = 0; i < n; i++)
		printf("%s %s\n", tags[i], policy_match(p, tags[i]) ?
		    "match" : "no");
	sel = policy_select(p, tags, created, n);
	printf("selected: %s\n", sel >= 0 ? tags[sel] : "none");
	rc = sel >= 0 ? 0 : 1;

out:
	policy_free(p);
	free(cause);
	free(tags);
	free(created);
	buf_free(&ignore);
	return (rc);
}
