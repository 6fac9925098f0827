/*
 * oci.h: a blocking client for the OCI distribution API (registry v2):
 * ping, manifests, blobs, mounts and tag listing, with Basic auth and the
 * Bearer token flow. See PROTOCOLS.md section 4.
 */
#ifndef OCI_H
#define OCI_H

#include <stddef.h>

/* "sha256:" + 64 hex digits + NUL. */
#define OCI_DIGEST_LEN	72

/* Media types a multi-format client accepts for manifests. */
#define OCI_MT_MANIFEST		"application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX		"application/vnd.oci.image.index.v1+json"
#define OCI_MT_DOCKER_MANIFEST	\
	"application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_LIST	\
	"application/vnd.docker.distribution.manifest.list.v2+json"

/*
 * Credentials: a username and password, or the path of a Docker-style
 * config.json whose auths.<registry>.auth holds base64 "user:password".
 * Everything may be NULL for anonymous access.
 */
struct oci_auth {
	const char	*username;
	const char	*password;
	const char	*docker_config;
};

struct oci_client;

struct oci_client	*oci_new(const char *, const struct oci_auth *, int,
			    char **);
void			 oci_free(struct oci_client *);
void			 oci_set_page_size(struct oci_client *, int);

int	oci_repo_is_valid(const char *);
int	oci_tag_is_valid(const char *);
int	oci_digest_is_valid(const char *);
int	oci_artifact_parse(const char *, char **, char **, char **);
void	oci_auth_from_env(const char *, struct oci_auth *, int *);

int	oci_ping(struct oci_client *, char **);
int	oci_manifest_head(struct oci_client *, const char *, const char *,
	    char [OCI_DIGEST_LEN], char **, char **);
int	oci_manifest_get(struct oci_client *, const char *, const char *,
	    char **, size_t *, char **, char [OCI_DIGEST_LEN], char **);
int	oci_manifest_put(struct oci_client *, const char *, const char *,
	    const char *, const char *, size_t, char [OCI_DIGEST_LEN],
	    char **);
int	oci_blob_exists(struct oci_client *, const char *, const char *,
	    char **);
int	oci_blob_upload(struct oci_client *, const char *, const void *,
	    size_t, char [OCI_DIGEST_LEN], char **);
int	oci_blob_upload_chunked(struct oci_client *, const char *,
	    const void *, size_t, size_t, char [OCI_DIGEST_LEN], char **);
int	oci_blob_mount(struct oci_client *, const char *, const char *,
	    const char *, char **);
int	oci_tags_list(struct oci_client *, const char *, char ***, size_t *,
	    char **);
void	oci_tags_free(char **, size_t);

#endif
