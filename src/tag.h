/*
 * tag.h: content-based image tags. An image's tag is a digest of what goes
 * into it (the git ids of its build context and Dockerfile at the commit,
 * and its build arguments), so a commit that does not touch an image's
 * inputs gives the image the same tag, and its build can be skipped.
 */
#ifndef TAG_H
#define TAG_H

#define TAG_LEN	32		/* hex digits of the tag */

struct pipeline_image;

int	tag_compute(const char *, const char *, const struct pipeline_image *,
	    char [TAG_LEN + 1], char **);

#endif
