/*
 * kube.h: a small blocking client for the Kubernetes API over HTTPS (see
 * PROTOCOLS.md section 6), for `ferry` child processes and CLI commands.
 * It knows the in-cluster defaults, sends the service account's bearer
 * token, and turns the API's Status objects into one-line causes.
 */
#ifndef KUBE_H
#define KUBE_H

/* In-cluster service account files (PROTOCOLS.md 6.1). */
#define KUBE_SA_DIR		"/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_SA_TOKEN		KUBE_SA_DIR "/token"
#define KUBE_SA_CA		KUBE_SA_DIR "/ca.crt"

/* Largest response body accepted; an Application with its status is far
 * smaller (etcd caps objects at about 1.5 MB). */
#define KUBE_BODY_MAX		(8 * 1024 * 1024)

/*
 * What the caller gives; every field may be NULL or 0 for the in-cluster
 * default: server from $KUBERNETES_SERVICE_HOST and _PORT(_HTTPS), the
 * service account's token and CA. A CA given alone is used with any
 * server; with an explicit server and no CA the system's CAs apply.
 */
struct kube_config {
	const char	*server;	/* https://host:port, or http to loopback */
	const char	*ca_file;
	const char	*token_file;
	int		 insecure;	/* skip TLS verification */
};

struct json_t;
struct kube;

struct kube	*kube_new(const struct kube_config *, char **);
void		 kube_free(struct kube *);
const char	*kube_server(const struct kube *);
void		 kube_set_timeout(struct kube *, long);
int		 kube_request(struct kube *, const char *, const char *,
		    const char *, const struct json_t *, long *,
		    struct json_t **, char **);
int		 kube_name_is_valid(const char *);
char		*kube_clean(const char *);

#endif
