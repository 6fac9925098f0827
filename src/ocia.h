/*
 * ocia.h: an asynchronous client for the OCI distribution API on httpc,
 * for ferryd's event loop (the registry watch). The blocking client for
 * the CLI is oci.h; both share their parsing in oci_proto.h.
 *
 * One struct ocia per registry host. It holds the credentials and a token
 * cache: with credentials, Basic is sent until the registry answers 401
 * with a Bearer challenge; from then on a token is fetched from the
 * challenge's realm (with Basic credentials when there are any), cached per
 * scope until its expires_in (default and minimum 60 s) minus a margin,
 * and the request is retried once with it. Operations that need the same
 * token while it is being fetched wait for that one fetch. A 401 with a
 * Basic challenge is retried once with Basic.
 *
 * Retries: on 429, 5xx and transport errors (connect failure, timeout,
 * reset) a request is retried after 0.5 s, 1 s, 2 s (doubling; by default
 * at most 3 retries), or after Retry-After seconds when the registry says
 * so, capped at the maximum delay (default 10 s). Retries wait on an event
 * timer, never sleep. Other 4xx are final.
 */
#ifndef OCIA_H
#define OCIA_H

#include <stddef.h>

#include "oci.h"

struct httpc;
struct ocia;
struct ocia_op;

/* Caps on response bodies (blobs take theirs from the caller). */
#define OCIA_MANIFEST_MAX	(8 * 1024 * 1024)
#define OCIA_TAGS_PAGE_MAX	(16 * 1024 * 1024)
#define OCIA_TAGS_PAGES_MAX	10000

/*
 * The outcome of one operation. error is NULL on success, else a one-line
 * message naming the method and path, the status and the registry's error
 * JSON when it sent one, e.g. "registry: HEAD /v2/acme/app/manifests/2:
 * 404 MANIFEST_UNKNOWN: manifest unknown"; credentials and tokens never
 * appear in it. status is the final HTTP status (0 when no response was
 * had). A 404 is an error with status 404, so "absent" is
 * (error != NULL && status == 404).
 *
 * Filled on success:
 *   tags_list      tags, ntags (in the registry's order, all pages); etag
 *                  when the registry sent one and the list came in one page
 *                  (an etag is never given for a multi-page list, so that
 *                  If-None-Match is only used where it is sound).
 *                  not_modified = 1, status 304 and no tags when the etag
 *                  passed in still matches.
 *   manifest_head  digest (Docker-Content-Digest, or the reference when it
 *                  is a digest), media_type (Content-Type) when sent.
 *   manifest_get   body, len (exact bytes, NUL-terminated), digest (of the
 *                  bytes, checked against a digest reference and against
 *                  Docker-Content-Digest), media_type.
 *   blob_get       body, len, digest (checked against the one asked for).
 * requests counts the HTTP requests the operation sent: retries, auth
 * round trips, token fetches and pages included.
 *
 * The result belongs to ocia and is freed after the callback returns; the
 * callback may take body, media_type, etag or tags by setting the field to
 * NULL (then it frees them; tags with oci_tags_free(tags, ntags)).
 */
struct ocia_result {
	long		 status;
	char		*error;
	char		 digest[OCI_DIGEST_LEN];
	char		*media_type;
	char		*body;
	size_t		 len;
	char		**tags;
	size_t		 ntags;
	char		*etag;
	int		 not_modified;
	int		 requests;
};

/*
 * Called exactly once per operation that was not cancelled, always from
 * the event loop (never from inside the call that started the operation,
 * even for invalid arguments). It may start and cancel other operations of
 * any ocia, but must not free the ocia the operation belongs to.
 */
typedef void (*ocia_cb)(struct ocia_result *, void *);

/*
 * ocia_new: registry is host[:port]; insecure means plain http (as oci.h)
 * and, for https, no certificate verification. auth may be NULL; a Docker
 * config.json named there is read now. NULL with *cause on bad arguments.
 * ocia_free cancels every pending operation without calling callbacks.
 */
struct ocia	*ocia_new(struct httpc *, const char *, const struct oci_auth *,
		    int, char **);
void		 ocia_free(struct ocia *);

/*
 * Settings; each applies to operations started afterwards.
 * set_limit: at most max_inflight requests to the registry at a time
 * (0: no limit); further requests queue in order. Token fetches to the
 * realm are not counted.
 * set_page_size: n= for tag listing; 0 lets the registry decide.
 * set_retry: retries after the first try, the first delay (doubled each
 * time) and the maximum delay, which also caps Retry-After.
 * set_timeout: connect and total time of one HTTP request, in ms.
 * set_cafile: a CA bundle for https instead of the system one.
 */
void	ocia_set_limit(struct ocia *, int);
void	ocia_set_page_size(struct ocia *, int);
void	ocia_set_retry(struct ocia *, int, long, long);
void	ocia_set_timeout(struct ocia *, long, long);
void	ocia_set_cafile(struct ocia *, const char *);

/*
 * Operations. Each returns a handle for ocia_cancel(), valid until its
 * callback returns or it is cancelled; it never returns NULL. repo, ref,
 * digest and etag are copied. Names, tags and digests are checked with
 * oci.h's validators before any request; a bad one fails the operation
 * (through the callback) with status 0.
 *   tags_list: every page, following Link: <...>; rel="next" (on the same
 *     host only); If-None-Match: etag on the first page when etag is given.
 *   manifest_head/get: ref is a tag or a digest; the Accept header lists
 *     the OCI and Docker manifest and index types.
 *   blob_get: follows redirects (Authorization stays with the registry
 *     host); max_bytes caps the body (0: HTTPC_MAX_BYTES); the sha256 of
 *     the bytes must equal digest.
 */
struct ocia_op	*ocia_tags_list(struct ocia *, const char *, const char *,
		    ocia_cb, void *);
struct ocia_op	*ocia_manifest_head(struct ocia *, const char *, const char *,
		    ocia_cb, void *);
struct ocia_op	*ocia_manifest_get(struct ocia *, const char *, const char *,
		    ocia_cb, void *);
struct ocia_op	*ocia_blob_get(struct ocia *, const char *, const char *,
		    size_t, ocia_cb, void *);

/* Cancel a pending operation: its callback is not called. */
void		 ocia_cancel(struct ocia *, struct ocia_op *);
size_t		 ocia_pending(const struct ocia *);

#endif
