/*
 * `ferry build`: build and push each image of the commit's .ferry.yaml
 * that the registry does not have yet. An image's tag is its content tag
 * (tag.c), so an image whose inputs did not change since it was last built
 * is found in the registry and reused without a build. Builds use buildah
 * (vfs storage, chroot isolation: no daemon, works as root), run directly
 * with an argv, never through a shell. Each image's reference with its
 * digest is printed and, in a stage, written to $FERRY_OUTPUT as
 * image.<name>, which records it as an artifact of the run, with
 * reused.<name> saying whether it was found instead of built.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "oci.h"
#include "pipeline.h"
#include "repo.h"
#include "tag.h"
#include "util.h"
#include "xmalloc.h"

struct build_opts {
	const char	*gitdir;
	const char	*worktree;
	const char	*storage_root;
	struct oci_auth	 auth;
	char		*password;
	int		 insecure;
};

/* Run argv and wait; returns its exit status, or -1. */
static int
build_spawn(char *const argv[], const char *authfile)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		if (authfile != NULL)
			setenv("REGISTRY_AUTH_FILE", authfile, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "ferry: build: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return (-1);
	}
	return (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
}

/* A registry auth file for buildah, so no password is on a command line. */
static char *
build_authfile(const char *host, const struct oci_auth *auth)
{
	char	 tmpl[] = "/tmp/ferry-auth.XXXXXX", *plain, *b64, *json;
	FILE	*f;
	int	 fd;

	if (auth->username == NULL || auth->password == NULL)
		return (NULL);
	if ((fd = mkstemp(tmpl)) == -1)
		return (NULL);
	xasprintf(&plain, "%s:%s", auth->username, auth->password);
	b64 = base64_encode(plain, strlen(plain));
	freezero_str(plain);
	xasprintf(&json, "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}\n", host, b64);
	freezero_str(b64);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		freezero_str(json);
		unlink(tmpl);
		return (NULL);
	}
	fputs(json, f);
	fclose(f);
	freezero_str(json);
	return (xstrdup(tmpl));
}

/* Whether path, with symlinks resolved, is inside dir. */
static int
build_inside(const char *dir, const char *path)
{
	char	*rd, *rp;
	size_t	 len;
	int	 in;

	if ((rd = realpath(dir, NULL)) == NULL)
		return (0);
	if ((rp = realpath(path, NULL)) == NULL) {
		free(rd);
		return (0);
	}
	len = strlen(rd);
	in = strncmp(rp, rd, len) == 0 && (rp[len] == '/' || rp[len] == '\0');
	free(rd);
	free(rp);
	return (in);
}

/*
 * Append image.<name>=<ref> and reused.<name>=true|false to $FERRY_OUTPUT
 * when there is one: the run records both, and later stages see
 * FERRY_OUT_REUSED_<NAME>. Not image.<name>.reused: image names may hold
 * dots, and every image.* key is read as an artifact reference.
 */
static void
build_output(const char *name, const char *ref, int reused)
{
	const char	*path = getenv("FERRY_OUTPUT");
	FILE		*f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "image.%s=%s\nreused.%s=%s\n", name, ref, name,
	    reused ? "true" : "false");
	fclose(f);
}

/* Build (if missing) and push one image. Returns 0 or -1. */
static int
build_image(struct build_opts *o, const char *sha,
    const struct pipeline_image *im)
{
	struct oci_client	*c = NULL;
	char			 tag[TAG_LEN + 1], digest[80];
	char			*cause = NULL, *host = NULL, *path, *full = NULL;
	char			*ctx = NULL, *df = NULL, *digestfile = NULL;
	char			*mediatype = NULL, *dest = NULL, *buf, **argv;
	char			*authfile = NULL;
	struct oci_auth		 auth;
	size_t			 n = 0, i;
	int			 rc = -1, found, insecure;

	if (im->repository == NULL) {
		fprintf(stderr, "ferry: build: image %s has no repository\n",
		    im->name);
		return (-1);
	}
	if (tag_compute(o->gitdir, sha, im, tag, &cause) != 0)
		goto out;
	if ((path = strchr(im->repository, '/')) == NULL) {
		xasprintf(&cause, "image %s: repository %s has no registry "
		    "host", im->name, im->repository);
		goto out;
	}
	host = xstrndup(im->repository, (size_t)(path - im->repository));
	path++;
	if (host[strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")] != '\0') {
		xasprintf(&cause, "image %s: bad registry host in %s",
		    im->name, im->repository);
		goto out;
	}
	xasprintf(&full, "%s:%s", im->repository, tag);
	/* Per image: another image may live on another registry. */
	auth = o->auth;
	insecure = o->insecure;
	oci_auth_from_env(host, &auth, &insecure);
	if ((c = oci_new(host, &auth, insecure, &cause)) == NULL)
		goto out;
	found = oci_manifest_head(c, path, tag, digest, &mediatype, &cause);
	if (found == -1)
		goto out;
	if (found == 0) {
		printf("image %s reused %s@%s (its inputs are unchanged)\n",
		    im->name, full, digest);
		xasprintf(&buf, "%s@%s", full, digest);
		build_output(im->name, buf, 1);
		free(buf);
		rc = 0;
		goto out;
	}
	xasprintf(&ctx, "%s/%s", o->worktree, im->context);
	xasprintf(&df, "%s/%s", o->worktree, im->dockerfile);
	/* A committed symlink must not lead the build out of the worktree. */
	if (!build_inside(o->worktree, ctx) || !build_inside(o->worktree, df)) {
		xasprintf(&cause, "image %s: its context or Dockerfile leads "
		    "out of the worktree", im->name);
		goto out;
	}
	argv = xcalloc(16 + 2 * im->nargs, sizeof *argv);
	argv[n++] = xstrdup("buildah");
	if (o->storage_root != NULL) {
		xasprintf(&argv[n++], "--root=%s/root", o->storage_root);
		xasprintf(&argv[n++], "--runroot=%s/run", o->storage_root);
	}
	argv[n++] = xstrdup("--storage-driver=vfs");
	argv[n++] = xstrdup("bud");
	argv[n++] = xstrdup("--isolation=chroot");
	argv[n++] = xstrdup("-f");
	argv[n++] = xstrdup(df);
	argv[n++] = xstrdup("-t");
	argv[n++] = xstrdup(full);
	for (i = 0; i < im->nargs; i++) {
		argv[n++] = xstrdup("--build-arg");
		argv[n++] = xstrdup(im->args[i]);
	}
	argv[n++] = xstrdup(ctx);
	printf("image %s: building %s\n", im->name, full);
	if (build_spawn(argv, NULL) != 0) {
		xasprintf(&cause, "image %s: buildah bud failed", im->name);
		goto argv_out;
	}
	/* The same array again: every slot cleared, so it ends with NULL. */
	for (i = 0; i < n; i++) {
		free(argv[i]);
		argv[i] = NULL;
	}
	n = 0;
	xasprintf(&digestfile, "%s/.ferry-digest-%s", o->worktree, im->name);
	xasprintf(&dest, "docker://%s", full);
	argv[n++] = xstrdup("buildah");
	if (o->storage_root != NULL) {
		xasprintf(&argv[n++], "--root=%s/root", o->storage_root);
		xasprintf(&argv[n++], "--runroot=%s/run", o->storage_root);
	}
	argv[n++] = xstrdup("--storage-driver=vfs");
	argv[n++] = xstrdup("push");
	if (insecure)
		argv[n++] = xstrdup("--tls-verify=false");
	xasprintf(&argv[n++], "--digestfile=%s", digestfile);
	argv[n++] = xstrdup(full);
	argv[n++] = xstrdup(dest);
	authfile = build_authfile(host, &auth);
	if (build_spawn(argv, authfile != NULL ? authfile :
	    auth.docker_config) != 0) {
		xasprintf(&cause, "image %s: buildah push failed", im->name);
		goto argv_out;
	}
	if ((buf = read_file(digestfile, 256, NULL, &cause)) == NULL)
		goto argv_out;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!oci_digest_is_valid(buf)) {
		xasprintf(&cause, "image %s: buildah gave no digest", im->name);
		free(buf);
		goto argv_out;
	}
	printf("image %s built %s@%s\n", im->name, full, buf);
	snprintf(digest, sizeof digest, "%s", buf);
	free(buf);
	xasprintf(&buf, "%s@%s", full, digest);
	build_output(im->name, buf, 0);
	free(buf);
	rc = 0;
argv_out:
	for (i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	if (digestfile != NULL)
		unlink(digestfile);
	if (authfile != NULL) {
		unlink(authfile);
		free(authfile);
	}
out:
	if (cause != NULL)
		fprintf(stderr, "ferry: build: %s\n", cause);
	free(cause);
	free(mediatype);
	free(host);
	free(full);
	free(ctx);
	free(df);
	free(dest);
	free(digestfile);
	oci_free(c);
	return (rc);
}

int
cli_build(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "git-dir", required_argument, NULL, 'g' },
		{ "worktree", required_argument, NULL, 'w' },
		{ "commit", required_argument, NULL, 'c' },
		{ "image", required_argument, NULL, 'i' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "username", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "password-env", required_argument, NULL, 'E' },
		{ "docker-config", required_argument, NULL, 'D' },
		{ "storage-root", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct build_opts		 o;
	struct pipeline			*pl = NULL;
	const char			*sha, *only = NULL, *v;
	char				*text = NULL, *cause = NULL;
	char				 full[REPO_SHA_MAX + 1], id[REPO_SHA_MAX + 1];
	size_t				 len, i, len2;
	int				 ch, rc = 1, done = 0;

	memset(&o, 0, sizeof o);
	o.gitdir = getenv("FERRY_GIT_DIR");
	o.worktree = getenv("FERRY_WORKTREE");
	sha = getenv("FERRY_COMMIT");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g': o.gitdir = optarg; break;
		case 'w': o.worktree = optarg; break;
		case 'c': sha = optarg; break;
		case 'i': only = optarg; break;
		case 'k': o.insecure = 1; break;
		case 'U': o.auth.username = optarg; break;
		case 'P':
			freezero_str(o.password);
			if ((o.password = read_secret(optarg, &len2,
			    &cause)) == NULL)
				goto out;
			break;
		case 'E':
			freezero_str(o.password);
			if ((v = getenv(optarg)) == NULL) {
				xasprintf(&cause, "$%s is not set", optarg);
				goto out;
			}
			o.password = xstrdup(v);
			break;
		case 'D': o.auth.docker_config = optarg; break;
		case 'S': o.storage_root = optarg; break;
		default:
			fprintf(stderr, "usage: ferry build [--git-dir DIR] "
			    "[--worktree DIR] [--commit SHA] [--image NAME] "
			    "[--insecure] [--username U (--password-file F | "
			    "--password-env VAR) | --docker-config F] "
			    "[--storage-root DIR]\n");
			return (2);
		}
	}
	o.auth.password = o.password;
	if ((o.auth.username == NULL) != (o.password == NULL)) {
		xasprintf(&cause, "--username and a password go together");
		goto out;
	}
	if (o.gitdir == NULL || o.worktree == NULL || sha == NULL) {
		xasprintf(&cause, "needs --git-dir, --worktree and --commit "
		    "(in a stage: $FERRY_GIT_DIR, $FERRY_WORKTREE and "
		    "$FERRY_COMMIT)");
		goto out;
	}
	if (repo_path_id(o.gitdir, sha, ".", id, full, &cause) != 0)
		goto out;
	if ((text = repo_read_file(o.gitdir, full, PIPELINE_FILE,
	    PIPELINE_MAX_BYTES, &len, &cause)) == NULL) {
		if (cause == NULL)
			xasprintf(&cause, "no .ferry.yaml at %.12s", full);
		goto out;
	}
	if ((pl = pipeline_parse(text, len, PIPELINE_FILE, &cause)) == NULL)
		goto out;
	for (i = 0; i < pl->nimages; i++) {
		if (only != NULL && strcmp(pl->images[i].name, only) != 0)
			continue;
		if (build_image(&o, full, &pl->images[i]) != 0)
			goto out;
		done++;
	}
	if (only != NULL && done == 0) {
		xasprintf(&cause, "no image named %s", only);
		goto out;
	}
	rc = 0;
out:
	if (cause != NULL)
		fprintf(stderr, "ferry: build: %s\n", cause);
	freezero_str(o.password);
	free(cause);
	free(text);
	pipeline_free(pl);
	return (rc);
}

/* Run argv and capture the first line of its standard output. */
static char *
build_capture(char *const argv[])
{
	char	 buf[512];
	pid_t	 pid;
	ssize_t	 n;
	size_t	 len = 0;
	int	 p[2], status = 0;

	if (pipe(p) == -1)
		return (NULL);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return (NULL);
	}
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof buf - 1 &&
	    (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return (NULL);
	buf[strcspn(buf, "\r\n")] = '\0';
	return (buf[0] != '\0' ? xstrdup(buf) : NULL);
}

/*
 * `ferry run-image NAME [--ref REF] [--insecure] [--storage-root DIR] --
 * CMD...`: run a command inside an image built earlier in the run (its
 * reference from $FERRY_OUT_IMAGE_<NAME>, which `ferry build` set) with
 * buildah from + buildah run; the command's exit status decides.
 */
int
cli_run_image(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "ref", required_argument, NULL, 'r' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "storage-root", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*ref = NULL, *root = NULL, *name;
	char		 var[160], *cid = NULL, **av;
	char		*prepo, *ptag, *pdigest;
	size_t		 n = 0, i;
	int		 ch, insecure = 0, rc = 1, k;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': ref = optarg; break;
		case 'k': insecure = 1; break;
		case 'S': root = optarg; break;
		default: goto usage;
		}
	}
	if (optind + 2 > argc)
		goto usage;
	name = argv[optind++];
	if (ref == NULL) {
		xasprintf(&cid, "image.%s", name);
		pipeline_output_env_name(cid, var, sizeof var);
		free(cid);
		cid = NULL;
		if ((ref = getenv(var)) == NULL) {
			fprintf(stderr, "ferry: run-image: $%s is not set: "
			    "build the image first (ferry build) or give "
			    "--ref\n", var);
			return (1);
		}
	}
	av = xcalloc((size_t)argc + 12, sizeof *av);
	av[n++] = xstrdup("buildah");
	if (root != NULL) {
		xasprintf(&av[n++], "--root=%s/root", root);
		xasprintf(&av[n++], "--runroot=%s/run", root);
	}
	av[n++] = xstrdup("--storage-driver=vfs");
	k = (int)n;
	av[n++] = xstrdup("from");
	if (insecure)
		av[n++] = xstrdup("--tls-verify=false");
	/* buildah takes repository@digest, not repository:tag@digest. */
	if (oci_artifact_parse(ref, &prepo, &ptag, &pdigest) == 0) {
		struct oci_auth none;
		char *h = xstrndup(prepo, strcspn(prepo, "/"));
		memset(&none, 0, sizeof none);
		oci_auth_from_env(h, &none, &insecure);
		free(h);
		if (insecure && strcmp(av[n - 1], "from") == 0)
			av[n++] = xstrdup("--tls-verify=false");
		xasprintf(&av[n++], "docker://%s@%s", prepo, pdigest);
		free(prepo);
		free(ptag);
		free(pdigest);
	} else
		xasprintf(&av[n++], "docker://%s", ref);
	if ((cid = build_capture(av)) == NULL) {
		fprintf(stderr, "ferry: run-image: buildah from %s failed\n",
		    ref);
		goto out;
	}
	for (i = (size_t)k; i < n; i++) {
		free(av[i]);
		av[i] = NULL;
	}
	n = (size_t)k;
	av[n++] = xstrdup("run");
	av[n++] = xstrdup("--isolation=chroot");
	av[n++] = xstrdup(cid);
	av[n++] = xstrdup("--");
	for (k = optind; k < argc; k++)
		av[n++] = xstrdup(argv[k]);
	fprintf(stderr, "ferry: run-image: %s in %s\n", argv[optind], ref);
	rc = build_spawn(av, NULL);
	/* Remove the working container whatever the command said. */
	for (i = 0; i < n; i++) {
		free(av[i]);
		av[i] = NULL;
	}
	n = 0;
	av[n++] = xstrdup("buildah");
	if (root != NULL) {
		xasprintf(&av[n++], "--root=%s/root", root);
		xasprintf(&av[n++], "--runroot=%s/run", root);
	}
	av[n++] = xstrdup("--storage-driver=vfs");
	av[n++] = xstrdup("rm");
	av[n++] = xstrdup(cid);
	free(build_capture(av));
out:
	for (i = 0; i < n; i++)
		free(av[i]);
	free(av);
	free(cid);
	return (rc);
usage:
	fprintf(stderr, "usage: ferry run-image NAME [--ref REF] [--insecure] "
	    "[--storage-root DIR] -- CMD [ARG...]\n");
	return (2);
}
