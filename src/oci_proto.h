/*
 * oci_proto.h: the pure parts of the OCI distribution protocol shared by
 * the blocking client (oci.c) and the asynchronous one (ocia.c): auth
 * challenges, token responses, error JSON, Link pagination, URL handling
 * and Docker config.json credentials. No I/O here except reading the
 * config file. See PROTOCOLS.md section 4.
 */
#ifndef OCI_PROTO_H
#define OCI_PROTO_H

#include <stddef.h>

#include "oci.h"

/* The Accept value for manifests: every type a multi-format client takes. */
#define OCI_PROTO_MANIFEST_ACCEPT \
	OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " \
	OCI_MT_DOCKER_MANIFEST ", " OCI_MT_DOCKER_LIST

#define OCI_PROTO_TOKEN_TTL	60		/* seconds, when absent */
#define OCI_PROTO_TOKEN_TTL_MAX	86400
#define OCI_PROTO_TOKEN_MARGIN	5		/* seconds */
#define OCI_PROTO_CONFIG_MAX	(1024 * 1024)

/* A parsed WWW-Authenticate challenge. */
enum oci_proto_scheme {
	OCI_PROTO_OTHER,
	OCI_PROTO_BASIC,
	OCI_PROTO_BEARER
};

struct oci_proto_challenge {
	enum oci_proto_scheme	 scheme;
	char			*realm;
	char			*service;	/* may be NULL */
	char			*scope;		/* may be NULL */
};

int	 oci_proto_challenge_parse(const char *, struct oci_proto_challenge *);
void	 oci_proto_challenge_clear(struct oci_proto_challenge *);
char	*oci_proto_token_url(const char *, const char *, const char *,
	     int, char **);
int	 oci_proto_token_parse(const char *, size_t, char **, long long *,
	     char **);
char	*oci_proto_basic(const char *, const char *);
char	*oci_proto_error(const char *, const char *, long, const char *,
	     size_t, const char *);
char	*oci_proto_link_next(const char *, const char *);
char	*oci_proto_resolve(const char *, const char *, const char *);
char	*oci_proto_url_path(const char *);
int	 oci_proto_same_origin(const char *, const char *);
long	 oci_proto_retry_after(const char *);
int	 oci_proto_docker_config(const char *, const char *, char **, char **,
	     char **);
int	 oci_proto_registry_is_valid(const char *);
int	 oci_proto_ref_check(const char *, const char *, char **);
void	 oci_proto_digest_of(const void *, size_t, char [OCI_DIGEST_LEN]);
char	*oci_proto_scope(const char *, const char *);

#endif
