/*
 * Content-based image tags. The digest covers, in a fixed order: a format
 * line, the image's name, the tree id of its build context, the blob id of
 * its Dockerfile and its build arguments (sorted by the parser). Git ids
 * name content exactly, so the tag changes when, and only when, one of the
 * image's inputs changes; files outside the context do not move it. The
 * format line lets a later ferry change the recipe without ever giving old
 * content a new meaning.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "repo.h"
#include "tag.h"
#include "util.h"
#include "xmalloc.h"

/*
 * The tag of image at commit sha of the repository in gitdir. Returns 0,
 * or -1 with *cause set (a context or Dockerfile that is not committed).
 */
int
tag_compute(const char *gitdir, const char *sha,
    const struct pipeline_image *im, char tag[TAG_LEN + 1], char **cause)
{
	struct buf	 b;
	char		 ctx[REPO_SHA_MAX + 1], df[REPO_SHA_MAX + 1];
	char		 hex[SHA256_HEX_LEN + 1];
	size_t		 i;
	int		 rc;

	if ((rc = repo_path_id(gitdir, sha, im->context, ctx, NULL,
	    cause)) != 0) {
		if (rc == 1)
			xasprintf(cause, "image %s: its context %s is not in "
			    "commit %.12s", im->name, im->context, sha);
		return (-1);
	}
	if ((rc = repo_path_id(gitdir, sha, im->dockerfile, df, NULL,
	    cause)) != 0) {
		if (rc == 1)
			xasprintf(cause, "image %s: %s is not committed at "
			    "%.12s", im->name, im->dockerfile, sha);
		return (-1);
	}
	buf_init(&b);
	buf_addstr(&b, "ferry content tag 1\nimage ");
	buf_addstr(&b, im->name);
	buf_addstr(&b, "\ncontext ");
	buf_addstr(&b, ctx);
	buf_addstr(&b, "\ndockerfile ");
	buf_addstr(&b, df);
	buf_addstr(&b, "\n");
	/* Lengths first: a value with a newline cannot pose as two. */
	for (i = 0; i < im->nargs; i++) {
		buf_addstr(&b, "arg ");
		buf_add_int(&b, (long long)strlen(im->args[i]));
		buf_addstr(&b, " ");
		buf_addstr(&b, im->args[i]);
		buf_addstr(&b, "\n");
	}
	sha256_hex(b.data, b.len, hex);
	buf_free(&b);
	memcpy(tag, hex, TAG_LEN);
	tag[TAG_LEN] = '\0';
	return (0);
}
