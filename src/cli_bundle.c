/*
 * `ferry bundle`: the Helm chart of a commit, packaged and published to an
 * OCI registry (bundle.c).
 *
 *   publish --repo HOST/PATH [--tag VERSION] [--git-dir DIR | --repo-dir DIR]
 *           [--commit REV] [--chart-dir DIR] [--image NAME=REF]...
 *           [--version-pattern P] [--insecure]
 *           [--username U --password-file F | --docker-config F]
 *       prints HOST/PATH:TAG@sha256:... on success
 *   package --out FILE [the same options but --repo and credentials]
 *       writes the chart archive, prints its sha256 digest
 *
 * REV is HEAD (the default; needs a working tree), a full ref or a commit
 * id. Without --tag the version comes from the ref: refs/tags/v1.4.2 gives
 * 1.4.2, anything else the pattern (default BUNDLE_VERSION_PATTERN).
 * Exit status: 0 done (also when the tag held this very bundle already),
 * 1 failed, 2 usage.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cli.h"
#include "log.h"
#include "oci.h"
#include "repo.h"
#include "util.h"
#include "xmalloc.h"

static void
bundle_usage(void)
{
	fprintf(stderr,
	    "usage: ferry bundle publish --repo HOST/PATH [--tag VERSION]\n"
	    "           [--git-dir DIR | --repo-dir DIR] [--commit REV]"
	    " [--chart-dir DIR]\n"
	    "           [--image NAME=REPO@sha256:...]... [--version-pattern P]"
	    " [--insecure]\n"
	    "           [--username U --password-file F | --docker-config F]\n"
	    "       ferry bundle package --out FILE [--tag VERSION]"
	    " [--git-dir DIR | --repo-dir DIR]\n"
	    "           [--commit REV] [--chart-dir DIR]"
	    " [--image NAME=REF]... [--version-pattern P]\n");
}

static int
write_out(const char *path, const unsigned char *data, size_t len,
    char **cause)
{
	char	*tmp;
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	xasprintf(&tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return (-1);
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, "%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			free(tmp);
			return (-1);
		}
		off += (size_t)n;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	free(tmp);
	return (0);
}

int
cli_bundle(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "tag", required_argument, NULL, 't' },
		{ "git-dir", required_argument, NULL, 'g' },
		{ "repo-dir", required_argument, NULL, 'C' },
		{ "commit", required_argument, NULL, 'c' },
		{ "chart-dir", required_argument, NULL, 'd' },
		{ "image", required_argument, NULL, 'm' },
		{ "version-pattern", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "username", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "docker-config", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct oci_auth		 auth;
	struct oci_client	*c = NULL;
	struct bundle_image	*images = NULL;
	const char		*cmd, *dir = NULL, *rev = "HEAD", *chart = NULL;
	const char		*tagopt = NULL, *pattern = NULL, *outfile = NULL;
	const char		*dest = NULL, *pwfile = NULL;
	const char		*stage_ref = NULL;
	char			*gitdir = NULL, *top = NULL, *ref = NULL;
	char			*cause = NULL, *password = NULL, *host = NULL;
	char			*eq, *slash;
	char			 full[REPO_SHA_MAX + 1];
	char			 version[BUNDLE_VERSION_MAX + 1];
	char			 tag[BUNDLE_VERSION_MAX + 1];
	char			 digest[OCI_DIGEST_LEN], hex[SHA256_HEX_LEN + 1];
	unsigned char		*tgz = NULL;
	size_t			 nimages = 0, len = 0, pwlen, i;
	int			 ch, insecure = 0, rc = 1, r, publish;
	const char		*outpath;
	FILE			*outf;

	if (argc < 2) {
		bundle_usage();
		return (2);
	}
	cmd = argv[1];
	if (strcmp(cmd, "publish") == 0)
		publish = 1;
	else if (strcmp(cmd, "package") == 0)
		publish = 0;
	else {
		bundle_usage();
		return (2);
	}
	argc--;
	argv++;
	memset(&auth, 0, sizeof auth);
	images = xcalloc((size_t)argc, sizeof *images);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			dest = optarg;
			break;
		case 't':
			tagopt = optarg;
			break;
		case 'g':
			free(gitdir);
			gitdir = xstrdup(optarg);
			break;
		case 'C':
			dir = optarg;
			break;
		case 'c':
			rev = optarg;
			break;
		case 'd':
			chart = optarg;
			break;
		case 'm':
			if ((eq = strchr(optarg, '=')) == NULL)
				goto usage;
			*eq = '\0';
			images[nimages].name = optarg;
			images[nimages].ref = eq + 1;
			if (!bundle_image_is_valid(optarg, eq + 1)) {
				xasprintf(&cause, "--image %s=%s: expected "
				    "NAME=REPO[:TAG]@sha256:DIGEST", optarg,
				    eq + 1);
				goto out;
			}
			for (i = 0; i < nimages; i++)
				if (strcmp(images[i].name, optarg) == 0) {
					xasprintf(&cause, "--image %s given "
					    "twice", optarg);
					goto out;
				}
			nimages++;
			break;
		case 'p':
			pattern = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
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
		case 'v':
			log_set_verbose(1);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || (gitdir != NULL && dir != NULL) ||
	    (publish && dest == NULL) || (!publish && outfile == NULL) ||
	    (!publish && dest != NULL) ||
	    (auth.username != NULL) != (pwfile != NULL) ||
	    (auth.username != NULL && auth.docker_config != NULL))
		goto usage;

	/*
	 * In a stage the worktree is no repository: the project's mirror,
	 * the commit and its ref come from the environment.
	 */
	if (gitdir == NULL && dir == NULL && strcmp(rev, "HEAD") == 0 &&
	    getenv("FERRY_GIT_DIR") != NULL && getenv("FERRY_COMMIT") != NULL) {
		gitdir = xstrdup(getenv("FERRY_GIT_DIR"));
		rev = getenv("FERRY_COMMIT");
		stage_ref = getenv("FERRY_REF");
	}
	/* The commit, and its ref for the version. */
	if (gitdir == NULL && ((top = repo_toplevel(dir != NULL ? dir : ".",
	    &cause)) == NULL || (gitdir = repo_gitdir(top, &cause)) == NULL))
		goto out;
	if (repo_resolve_rev(top, gitdir, rev, &ref, full, &cause) != 0)
		goto out;
	if (ref == NULL)	/* a bare commit id: the stage's ref, if any */
		ref = xstrdup(stage_ref != NULL ? stage_ref : "HEAD");

	if (tagopt != NULL) {
		if (!bundle_semver_is_valid(tagopt) ||
		    strlen(tagopt) > BUNDLE_VERSION_MAX) {
			xasprintf(&cause, "--tag %s: not a semantic version",
			    tagopt);
			goto out;
		}
		snprintf(version, sizeof version, "%s", tagopt);
	} else if (bundle_version(ref, repo_commit_time(gitdir, full), full,
	    pattern, version, &cause) != 0)
		goto out;
	bundle_tag_of(version, tag);

	if (bundle_package(gitdir, full, chart, images, nimages, version,
	    &tgz, &len, &cause) != 0)
		goto out;

	if (!publish) {
		if (write_out(outfile, tgz, len, &cause) != 0)
			goto out;
		sha256_hex(tgz, len, hex);
		printf("sha256:%s %s\n", hex, version);
		rc = 0;
		goto out;
	}

	host = xstrdup(dest);
	if ((slash = strchr(host, '/')) == NULL || slash == host ||
	    slash[1] == '\0') {
		xasprintf(&cause, "--repo %s: expected HOST/PATH", dest);
		goto out;
	}
	*slash = '\0';
	if (!oci_repo_is_valid(slash + 1)) {
		xasprintf(&cause, "--repo %s: invalid repository name", dest);
		goto out;
	}
	if (pwfile != NULL) {
		if ((password = read_secret(pwfile, &pwlen, &cause)) == NULL)
			goto out;
		auth.password = password;
	}
	oci_auth_from_env(host, &auth, &insecure);
	if ((c = oci_new(host, &auth, insecure, &cause)) == NULL)
		goto out;
	r = bundle_publish(c, slash + 1, tag, tgz, len, digest, &cause);
	if (r == -1)
		goto out;
	if (r == 1)
		fprintf(stderr, "ferry: bundle: %s:%s already published, "
		    "identical\n", dest, tag);
	printf("%s:%s@%s\n", dest, tag, digest);
	/* In a stage: record the bundle as the run's artifact. */
	if ((outpath = getenv("FERRY_OUTPUT")) != NULL &&
	    (outf = fopen(outpath, "a")) != NULL) {
		fprintf(outf, "bundle=%s:%s@%s\n", dest, tag, digest);
		fclose(outf);
	}
	rc = 0;
	goto out;

usage:
	bundle_usage();
	rc = 2;
out:
	if (cause != NULL)
		fprintf(stderr, "ferry: bundle: %s\n", cause);
	free(cause);
	oci_free(c);
	if (password != NULL)
		freezero_str(password);
	free(host);
	free(tgz);
	free(ref);
	free(top);
	free(gitdir);
	free(images);
	return (rc);
}
