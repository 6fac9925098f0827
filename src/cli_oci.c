/*
 * `ferry oci`: a small tool to talk to an OCI registry by hand and from the
 * tests, over the client in oci.c. Results go to standard output (a
 * digest, one tag per line, a manifest's bytes); the one-line error goes
 * to standard error. Exit status: 0 done, 1 failed or not found, 2 usage.
 *
 *   ping HOST                     GET /v2/
 *   tags HOST/REPO                every tag, following pagination
 *   head HOST/REPO:REF            the manifest's digest and media type
 *   get HOST/REPO:REF             the manifest's bytes
 *   put-blob HOST/REPO FILE       upload a blob, print its digest
 *   blob HOST/REPO@DIGEST         "present" or "absent" (exit 1)
 *   put-manifest HOST/REPO:REF FILE
 *                                 push a manifest (media type from the
 *                                 file's mediaType unless --media-type)
 *   mount HOST/REPO DIGEST FROM   mount a blob from repository FROM
 *
 * $FERRY_OCI_PAGE sets the page size of tag listing (the n= parameter).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "oci.h"
#include "util.h"
#include "xmalloc.h"

#define OCI_FILE_MAX	(512 * 1024 * 1024)

static void
oci_usage(void)
{
	fprintf(stderr,
	    "usage: ferry oci [--insecure] [--username U --password-file F |"
	    " --docker-config F]\n"
	    "                 [--chunk BYTES] [--media-type T] command args\n"
	    "commands: ping HOST | tags HOST/REPO | head HOST/REPO:REF |\n"
	    "          get HOST/REPO:REF | put-blob HOST/REPO FILE |\n"
	    "          blob HOST/REPO@DIGEST | put-manifest HOST/REPO:REF FILE"
	    " |\n"
	    "          mount HOST/REPO DIGEST FROM-REPO\n");
}

/*
 * Split "HOST/REPO[:TAG|@DIGEST]" in place. *ref is NULL without one; a
 * reference is required when want_ref is set and refused otherwise.
 */
static int
oci_split(char *s, char **host, char **repo, char **ref, int want_ref)
{
	char	*slash, *at, *colon;

	*ref = NULL;
	if ((slash = strchr(s, '/')) == NULL || slash == s)
		return (-1);
	*slash = '\0';
	*host = s;
	*repo = slash + 1;
	if ((at = strchr(*repo, '@')) != NULL) {
		*at = '\0';
		*ref = at + 1;
	} else if ((colon = strrchr(*repo, ':')) != NULL) {
		*colon = '\0';
		*ref = colon + 1;
	}
	if ((*ref != NULL) != want_ref)
		return (-1);
	return (0);
}

static int
oci_fail(const char *cause)
{
	fprintf(stderr, "ferry oci: %s\n", cause);
	return (1);
}

int
cli_oci(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "insecure", no_argument, NULL, 'i' },
		{ "username", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "docker-config", required_argument, NULL, 'D' },
		{ "chunk", required_argument, NULL, 'C' },
		{ "media-type", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct oci_auth		 auth;
	struct oci_client	*c = NULL;
	const char		*pwfile = NULL, *mt = NULL, *cmd, *page;
	char			*host, *repo = NULL, *ref = NULL, *cause = NULL;
	char			*password = NULL, *data = NULL, *mtype = NULL;
	char			 digest[OCI_DIGEST_LEN], **tags;
	json_t			*root;
	size_t			 len, n, i, chunk = 0;
	int			 ch, insecure = 0, rc = 1, r;

	memset(&auth, 0, sizeof auth);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			insecure = 1;
			break;
		case 'U':
			auth.username = optarg;
			break;
		case 'P':
			pwfile = optarg;
			break;
		case 'D':
			auth.docker_config = optarg;
			break;
		case 'C':
			chunk = strtoul(optarg, NULL, 10);
			if (chunk == 0) {
				oci_usage();
				return (2);
			}
			break;
		case 'M':
			mt = optarg;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		default:
			oci_usage();
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || (auth.username != NULL) != (pwfile != NULL) ||
	    (auth.username != NULL && auth.docker_config != NULL)) {
		oci_usage();
		return (2);
	}
	cmd = argv[0];
	if (pwfile != NULL) {
		if ((password = read_secret(pwfile, &len, &cause)) == NULL)
			goto fail;
		auth.password = password;
	}
	if (strcmp(cmd, "ping") == 0) {
		if (argc != 2) {
			oci_usage();
			goto out2;
		}
		host = argv[1];
	} else {
		r = strcmp(cmd, "head") == 0 || strcmp(cmd, "get") == 0 ||
		    strcmp(cmd, "blob") == 0 ||
		    strcmp(cmd, "put-manifest") == 0;
		if (oci_split(argv[1], &host, &repo, &ref, r) == -1) {
			oci_usage();
			goto out2;
		}
	}
	if ((c = oci_new(host, &auth, insecure, &cause)) == NULL)
		goto fail;
	if ((page = getenv("FERRY_OCI_PAGE")) != NULL)
		oci_set_page_size(c, atoi(page));

	if (strcmp(cmd, "ping") == 0) {
		if (oci_ping(c, &cause) == -1)
			goto fail;
		printf("ok\n");
	} else if (strcmp(cmd, "tags") == 0 && argc == 2) {
		if (oci_tags_list(c, repo, &tags, &n, &cause) == -1)
			goto fail;
		for (i = 0; i < n; i++)
			printf("%s\n", tags[i]);
		oci_tags_free(tags, n);
	} else if (strcmp(cmd, "head") == 0 && argc == 2) {
		if ((r = oci_manifest_head(c, repo, ref, digest, &mtype,
		    &cause)) == -1)
			goto fail;
		if (r == 1) {
			fprintf(stderr, "ferry oci: %s:%s: not found\n", repo,
			    ref);
			goto out;
		}
		printf("%s %s\n", digest, mtype != NULL ? mtype : "-");
	} else if (strcmp(cmd, "get") == 0 && argc == 2) {
		if ((r = oci_manifest_get(c, repo, ref, &data, &len, &mtype,
		    digest, &cause)) == -1)
			goto fail;
		if (r == 1) {
			fprintf(stderr, "ferry oci: %s:%s: not found\n", repo,
			    ref);
			goto out;
		}
		fwrite(data, 1, len, stdout);
		fprintf(stderr, "digest %s\n", digest);
	} else if (strcmp(cmd, "blob") == 0 && argc == 2) {
		if ((r = oci_blob_exists(c, repo, ref, &cause)) == -1)
			goto fail;
		printf("%s\n", r == 0 ? "present" : "absent");
		if (r == 1)
			goto out;
	} else if (strcmp(cmd, "put-blob") == 0 && argc == 3) {
		if ((data = read_file(argv[2], OCI_FILE_MAX, &len,
		    &cause)) == NULL)
			goto fail;
		if ((chunk != 0 ? oci_blob_upload_chunked(c, repo, data, len,
		    chunk, digest, &cause) : oci_blob_upload(c, repo, data,
		    len, digest, &cause)) == -1)
			goto fail;
		printf("%s\n", digest);
	} else if (strcmp(cmd, "put-manifest") == 0 && argc == 3) {
		if ((data = read_file(argv[2], OCI_FILE_MAX, &len,
		    &cause)) == NULL)
			goto fail;
		if (mt == NULL) {
			root = json_loadb(data, len, 0, NULL);
			if (json_string_value(json_object_get(root,
			    "mediaType")) != NULL)
				mtype = xstrdup(json_string_value(
				    json_object_get(root, "mediaType")));
			json_decref(root);
			mt = mtype != NULL ? mtype : OCI_MT_MANIFEST;
		}
		if (oci_manifest_put(c, repo, ref, mt, data, len, digest,
		    &cause) == -1)
			goto fail;
		printf("%s\n", digest);
	} else if (strcmp(cmd, "mount") == 0 && argc == 4) {
		if ((r = oci_blob_mount(c, repo, argv[2], argv[3],
		    &cause)) == -1)
			goto fail;
		printf("%s\n", r == 0 ? "mounted" : "not mounted");
		if (r == 1)
			goto out;
	} else {
		oci_usage();
		goto out2;
	}
	rc = 0;
	goto out;
fail:
	oci_fail(cause);
	goto out;
out2:
	rc = 2;
out:
	free(cause);
	free(data);
	free(mtype);
	if (password != NULL)
		freezero_str(password);
	oci_free(c);
	return (rc);
}
