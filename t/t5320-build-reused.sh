#!/bin/bash
# t5320-build-reused: the run records whether `ferry build` reused each
# image (its content tag was in the registry) or built it: the output
# reused.<name> (true or false) beside image.<name>, seen by later stages as
# FERRY_OUT_REUSED_<NAME> and through the API. A real docker-registry on
# loopback and real buildah builds.

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

# push_commit MSG: commit the work clone, push main, deliver; the run id.
push_commit() {
	(cd work && $GIT add -A && $GIT commit -q -m "$1" && git push -q origin HEAD:refs/heads/main) &&
	deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)
}

test_expect 'setup: a registry, a repository with two images, ferryd' '
	registry_start &&
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	(for d in app tool; do
		mkdir -p work/$d && cp /bin/busybox work/$d/busybox &&
		printf "FROM scratch\nCOPY busybox /bin/busybox\n" >work/$d/Dockerfile || exit 1
	done) &&
	cat >work/.ferry.yaml <<-EOF &&
	images:
	  - {name: app, context: app, repository: "$REG/acme/app"}
	  - {name: tool, context: tool, repository: "$REG/acme/tool"}
	stages:
	  - name: build
	    run: ["ferry", "build", "--insecure", "--storage-root", "$T_TRASH/containers"]
	  - name: report
	    run: echo "app reused=\$FERRY_OUT_REUSED_APP tool reused=\$FERRY_OUT_REUSED_TOOL"
	EOF
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 1, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'the first run builds both images and records reused=false for each' '
	id=$(push_commit one) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	jq -e ".outputs[\"reused.app\"] == \"false\" and .outputs[\"reused.tool\"] == \"false\"" body &&
	jq -e ".outputs[\"image.app\"] | startswith(\"$REG/acme/app:\")" body &&
	grep "app reused=false tool reused=false" state/logs/$id/report.log &&
	! grep "ignored" state/logs/$id/build.log
'

test_expect 'a commit touching one image reuses the other and records which' '
	echo "# tool changes" >>work/tool/Dockerfile &&
	id=$(push_commit two) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	jq -e ".outputs[\"reused.app\"] == \"true\" and .outputs[\"reused.tool\"] == \"false\"" body &&
	grep "image app reused $REG/acme/app:" state/logs/$id/build.log &&
	grep "image tool built $REG/acme/tool:" state/logs/$id/build.log &&
	grep "app reused=true tool reused=false" state/logs/$id/report.log &&
	api "/api/v1/artifacts?project=shop" &&
	jq -e "[.artifacts[] | select(.run == $id) | .name] | sort == [\"app\", \"tool\"]" body &&
	jq -e "[.artifacts[] | select(.run == $id) | {(.name): .reused}] | add == {app: true, tool: false}" body &&
	"$FERRY" -s "$T_SOCK" artifacts --project shop >arts &&
	grep -E "^$id +image +app +[0-9a-f]+ +[a-z-]+ +reused " arts &&
	grep -E "^$id +image +tool +[0-9a-f]+ +[a-z-]+ +built " arts
'

test_expect 'ferry build by hand prints what it reused' '
	"$FERRY" build --insecure --storage-root "$T_TRASH/containers" --git-dir work/.git --worktree work \
	    --commit $(git -C work rev-parse HEAD) >hand.out 2>&1 &&
	grep "image app reused" hand.out && grep "image tool reused" hand.out
'

test_expect 'stop' '
	stop_daemon
'

test_done
