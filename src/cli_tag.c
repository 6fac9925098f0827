/*
 * `ferry tag [--repo DIR] [--commit REV] [--image NAME]`: print the content
 * tag of each image that the commit's .ferry.yaml declares, "NAME TAG" per
 * line, as a build stage would compute it. REV is HEAD (the default), a
 * full ref, or a commit id.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pipeline.h"
#include "repo.h"
#include "tag.h"
#include "util.h"
#include "xmalloc.h"

int
cli_tag(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "repo", required_argument, NULL, 'C' },
		{ "git-dir", required_argument, NULL, 'g' },
		{ "commit", required_argument, NULL, 'c' },
		{ "image", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	const struct pipeline_image	*im;
	struct pipeline			*pl = NULL;
	const char			*dir = ".", *rev = "HEAD", *only = NULL;
	char				*gitdir = NULL, *top = NULL, *ref = NULL;
	char				*text = NULL, *cause = NULL;
	char				 full[REPO_SHA_MAX + 1], tag[TAG_LEN + 1];
	size_t				 len, i;
	int				 ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "C:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			dir = optarg;
			break;
		case 'g':
			gitdir = xstrdup(optarg);
			break;
		case 'c':
			rev = optarg;
			break;
		case 'i':
			only = optarg;
			break;
		default:
			fprintf(stderr, "usage: ferry tag [--repo DIR | --git-dir "
			    "DIR] [--commit REV] [--image NAME]\n");
			return (2);
		}
	}
	if (gitdir == NULL && ((top = repo_toplevel(dir, &cause)) == NULL ||
	    (gitdir = repo_gitdir(top, &cause)) == NULL))
		goto out;
	if (repo_resolve_rev(top, gitdir, rev, &ref, full, &cause) != 0)
		goto out;
	text = repo_read_file(gitdir, full, PIPELINE_FILE, PIPELINE_MAX_BYTES,
	    &len, &cause);
	if (text == NULL) {
		if (cause == NULL)
			xasprintf(&cause, "no .ferry.yaml at %.12s", full);
		goto out;
	}
	if ((pl = pipeline_parse(text, len, PIPELINE_FILE, &cause)) == NULL)
		goto out;
	if (only != NULL && pipeline_image_find(pl, only) == NULL) {
		xasprintf(&cause, "no image named %s in .ferry.yaml at %.12s",
		    only, full);
		goto out;
	}
	for (i = 0; i < pl->nimages; i++) {
		im = &pl->images[i];
		if (only != NULL && strcmp(im->name, only) != 0)
			continue;
		if (tag_compute(gitdir, full, im, tag, &cause) != 0)
			goto out;
		printf("%s %s\n", im->name, tag);
	}
	rc = 0;
out:
	if (cause != NULL)
		fprintf(stderr, "ferry: tag: %s\n", cause);
	free(cause);
	free(text);
	free(ref);
	free(top);
	free(gitdir);
	pipeline_free(pl);
	return (rc);
}
