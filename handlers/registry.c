/*
 * Registry push notifications: CNCF distribution's envelope ({"events":
 * [...]}, media types ...events.v1+json and v2+json), Harbor's default
 * webhook payload (type PUSH_ARTIFACT) and Docker Hub's (push_data). Each
 * becomes a list of "this repository may have changed" notes; the watch
 * then asks the registry itself, so nothing here decides a deployment and
 * a forged note costs one check at most.
 *
 * Pulls, mounts, deletes, blob (layer and config) pushes and other Harbor
 * event types are not notes: only a pushed manifest can make a release.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "jv.h"
#include "oci.h"
#include "registry_hook.h"
#include "xmalloc.h"

/* Manifest media types a release can be; blobs are octet-stream. */
static int
registry_is_manifest(const char *mt)
{
	if (mt == NULL || *mt == '\0')
		return (1);	/* older registries leave it out */
	return (strcmp(mt, OCI_MT_MANIFEST) == 0 ||
	    strcmp(mt, OCI_MT_INDEX) == 0 ||
	    strcmp(mt, OCI_MT_DOCKER_MANIFEST) == 0 ||
	    strcmp(mt, OCI_MT_DOCKER_LIST) == 0);
}

static void
registry_note_add(struct registry_notes *rn, const char *host,
    const char *repository, const char *tag, const char *digest)
{
	struct registry_note	*n;
	size_t			 i;

	/* One note per repository and tag is enough for the watch. */
	for (i = 0; i < rn->n; i++) {
		if (strcmp(rn->v[i].repository, repository) == 0 &&
		    (rn->v[i].tag == NULL) == (tag == NULL || *tag == '\0') &&
		    (rn->v[i].tag == NULL || strcmp(rn->v[i].tag, tag) == 0))
			return;
	}
	if (rn->n >= REGISTRY_NOTES_MAX) {
		rn->skipped++;
		return;
	}

	rn->v = xreallocarray(rn->v, rn->n + 1, sizeof *rn->v);
	n = &rn->v[rn->n++];
	n->host = host != NULL && *host != '\0' ? xstrdup(host) : NULL;
	n->repository = xstrdup(repository);
	n->tag = tag != NULL && *tag != '\0' && oci_tag_is_valid(tag) ?
	    xstrdup(tag) : NULL;
	n->digest = digest != NULL && oci_digest_is_valid(digest) ?
	    xstrdup(digest) : NULL;
}

static int
registry_distribution(const struct jv *root, struct registry_notes *rn,
    char **cause)
{
	const struct jv	*events, *ev;
	const char	*action, *repo, *host;
	size_t		 i;

	events = jv_get(root, "events");
	if (!jv_is_array(events)) {
		xasprintf(cause, "distribution envelope: \"events\" is not a "
		    "list");
		return (-1);
	}
	rn->format = "distribution";
	for (i = 0; i < jv_size(events); i++) {
		/*
		 * A bad event is skipped, not the whole body refused:
		 * distribution resends a refused body forever, and the
		 * events after it would wait behind it.
		 */
		ev = jv_at(events, i);
		rn->events++;
		if (!jv_is_object(ev)) {
			rn->skipped++;
			continue;
		}
		action = hjson_str(ev, "action");
		if (action == NULL || strcmp(action, "push") != 0)
			continue;
		/*
		 * Registries before 2.3 or so labelled manifest pushes
		 * application/octet-stream too; their URL tells them apart.
		 */
		if (!registry_is_manifest(hjson_str(ev, "target.mediaType")) &&
		    (hjson_str(ev, "target.url") == NULL ||
		    strstr(hjson_str(ev, "target.url"), "/manifests/") == NULL))
			continue;
		repo = hjson_str(ev, "target.repository");
		if (repo == NULL || !oci_repo_is_valid(repo)) {
			rn->skipped++;
			continue;
		}
		host = hjson_str(ev, "request.host");
		registry_note_add(rn, host, repo, hjson_str(ev, "target.tag"),
		    hjson_str(ev, "target.digest"));
	}
	return (0);
}

static int
registry_harbor(const struct jv *root, struct registry_notes *rn,
    char **cause)
{
	const struct jv	*res, *r;
	const char	*type, *repo, *url, *slash;
	char		*host = NULL;
	size_t		 i;

	rn->format = "harbor";
	rn->events = 1;
	type = hjson_str(root, "type");
	if (type == NULL) {
		xasprintf(cause, "harbor payload: missing type");
		return (-1);
	}
	if (strcmp(type, "PUSH_ARTIFACT") != 0)
		return (0);
	repo = hjson_str(root, "event_data.repository.repo_full_name");
	if (repo == NULL || !oci_repo_is_valid(repo)) {
		xasprintf(cause, "harbor payload: missing or invalid "
		    "event_data.repository.repo_full_name");
		return (-1);
	}
	res = hjson_get(root, "event_data.resources");
	if (!jv_is_array(res) || jv_size(res) == 0) {
		registry_note_add(rn, NULL, repo, NULL, NULL);
		return (0);
	}
	for (i = 0; i < jv_size(res); i++) {
		r = jv_at(res, i);
		url = hjson_str(r, "resource_url");
		free(host);
		host = NULL;
		if (url != NULL && (slash = strchr(url, '/')) != NULL)
			host = xstrndup(url, (size_t)(slash - url));
		registry_note_add(rn, host, repo, hjson_str(r, "tag"),
		    hjson_str(r, "digest"));
	}
	free(host);
	return (0);
}

static int
registry_dockerhub(const struct jv *root, struct registry_notes *rn,
    char **cause)
{
	const char	*repo;

	char		*full = NULL;

	rn->format = "dockerhub";
	rn->events = 1;
	repo = hjson_str(root, "repository.repo_name");
	if (repo == NULL || !oci_repo_is_valid(repo)) {
		xasprintf(cause, "docker hub payload: missing or invalid "
		    "repository.repo_name");
		return (-1);
	}
	/* Official images are "busybox" here, library/busybox in the API. */
	if (strchr(repo, '/') == NULL)
		xasprintf(&full, "library/%s", repo);
	registry_note_add(rn, "docker.io", full != NULL ? full : repo,
	    hjson_str(root, "push_data.tag"), NULL);
	free(full);
	return (0);
}

/*
 * Parse a notification body. Returns 0 with the notes (possibly none: a
 * pull, a blob) in rn, or -1 with *cause for a body no registry sends.
 */
int
registry_hook_parse(const char *body, size_t len, struct registry_notes *rn,
    char **cause)
{
	struct jv	*root;
	int		 rc;

	memset(rn, 0, sizeof *rn);
	if ((root = jv_parse(body, len, cause)) == NULL)
		return (-1);
	if (!jv_is_object(root)) {
		jv_free(root);
		xasprintf(cause, "the notification is not a JSON object");
		return (-1);
	}
	if (jv_get(root, "events") != NULL)
		rc = registry_distribution(root, rn, cause);
	else if (jv_get(root, "event_data") != NULL)
		rc = registry_harbor(root, rn, cause);
	else if (jv_get(root, "push_data") != NULL)
		rc = registry_dockerhub(root, rn, cause);
	else {
		xasprintf(cause, "not a registry notification (expected a "
		    "distribution envelope with \"events\", a Harbor payload "
		    "with \"event_data\" or a Docker Hub one with "
		    "\"push_data\")");
		rc = -1;
	}
	jv_free(root);
	if (rc != 0)
		registry_notes_free(rn);
	return (rc);
}

void
registry_notes_free(struct registry_notes *rn)
{
	size_t	i;

	for (i = 0; i < rn->n; i++) {
		free(rn->v[i].host);
		free(rn->v[i].repository);
		free(rn->v[i].tag);
		free(rn->v[i].digest);
	}
	free(rn->v);
	rn->v = NULL;
	rn->n = 0;
}
