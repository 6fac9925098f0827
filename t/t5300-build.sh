#!/bin/bash
# t5300-build: a run's build stage (`ferry build`) builds each image of
# .ferry.yaml with buildah and pushes it to a real registry
# (docker-registry on loopback) under its content tag; a later commit that
# does not touch the image's inputs finds it there and reuses it without a
# build. The reference with its digest becomes an artifact of the run.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"


need() {
	for t in docker-registry buildah skopeo python3; do
		command -v $t >/dev/null || { echo "$t not installed"; return 1; }
	done
	test -x /bin/busybox || { echo "busybox-static not installed"; return 1; }
}
if ! why=$(need); then
	echo "1..0 # SKIP $why"
	exit 0
fi



trap 'registry_stop; stop_daemon_quiet' EXIT

test_expect 'setup: a registry, a repository with an image, ferryd' '
	registry_start &&
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	mkdir -p work/app && cp /bin/busybox work/app/busybox &&
	printf "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"echo\", \"hello\"]\n" >work/app/Dockerfile &&
	cat >work/.ferry.yaml <<-EOF &&
	images:
	  - {name: app, context: app, repository: "$REG/acme/app"}
	stages:
	  - name: build
	    run: ["ferry", "build", "--insecure", "--storage-root", "$T_TRASH/containers"]
	EOF
	echo readme >work/README &&
	(cd work && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 1, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'the first run builds the image and pushes it under its content tag' '
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "image app built $REG/acme/app:" state/logs/$id/build.log &&
	tag=$("$FERRY" tag --repo work --image app | cut -d" " -f2) &&
	skopeo inspect --tls-verify=false --raw "docker://$REG/acme/app:$tag" >manifest.json &&
	jq -e ".layers | length == 1" manifest.json &&
	api "/api/v1/artifacts?project=shop" &&
	jq -e ".artifacts[0] | .kind == \"image\" and .name == \"app\" and .tag == \"$tag\" and (.digest | startswith(\"sha256:\"))" body &&
	echo "$tag" >tag1
'

test_expect 'a commit outside the image'"'"'s inputs reuses it without a build' '
	echo more >>work/README && (cd work && $GIT commit -q -am two && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "image app reused $REG/acme/app:$(cat tag1)@sha256:" state/logs/$id/build.log &&
	! grep "building" state/logs/$id/build.log &&
	api "/api/v1/artifacts?project=shop" && jq -e ".artifacts[0].run == $id" body
'

test_expect 'a change to the image'"'"'s context builds a new tag' '
	echo "# change" >>work/app/Dockerfile && (cd work && $GIT commit -q -am three && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "image app built" state/logs/$id/build.log &&
	! grep "$(cat tag1)" state/logs/$id/build.log
'

test_expect 'a context that is a symlink out of the worktree is refused' '
	git clone -q -b main shop.git esc 2>/dev/null && ln -s / esc/out &&
	printf "images:\n  - {name: esc, context: out, dockerfile: app/Dockerfile, repository: \"$REG/acme/esc\"}\nstages:\n  - {name: b, run: \"true\"}\n" >esc/.ferry.yaml &&
	(cd esc && $GIT add -A && $GIT commit -q -m esc) &&
	! "$FERRY" build --insecure --git-dir esc/.git --worktree esc --commit $(git -C esc rev-parse HEAD) 2>err &&
	grep "leads out of the worktree" err
'

test_expect 'stop' '
	stop_daemon
'

test_done
