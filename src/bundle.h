/*
 * bundle.h: a Helm chart read from a commit's tree, given its version and
 * the digests of the images built for the commit, packaged as a
 * reproducible chart archive and published to an OCI registry as a Helm
 * chart (PROTOCOLS.md section 5.1). Published tags are never overwritten.
 */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <stddef.h>

#include "oci.h"

#define BUNDLE_CHART_DIR	".helm"
#define BUNDLE_VERSION_MAX	128	/* an OCI tag is at most 128 bytes */
#define BUNDLE_VERSION_PATTERN	"0.0.0-<branch>.<commit-timestamp>.<short-sha>"

#define BUNDLE_MT_CONFIG	"application/vnd.cncf.helm.config.v1+json"
#define BUNDLE_MT_CHART		\
	"application/vnd.cncf.helm.chart.content.v1.tar+gzip"

/* An image the chart references: NAME and REPO[:TAG]@sha256:... */
struct bundle_image {
	const char	*name;
	const char	*ref;
};

int	bundle_semver_is_valid(const char *);
int	bundle_image_is_valid(const char *, const char *);
int	bundle_version(const char *, long long, const char *, const char *,
	    char [BUNDLE_VERSION_MAX + 1], char **);
void	bundle_tag_of(const char *, char [BUNDLE_VERSION_MAX + 1]);
int	bundle_package(const char *, const char *, const char *,
	    const struct bundle_image *, size_t, const char *,
	    unsigned char **, size_t *, char **);
int	bundle_publish(struct oci_client *, const char *, const char *,
	    const unsigned char *, size_t, char [OCI_DIGEST_LEN], char **);

#endif
