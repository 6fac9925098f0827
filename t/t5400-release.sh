#!/bin/bash
# t5400-release: the whole release flow through ferryd against a real
# registry (docker-registry on loopback) and real builds (buildah): a push
# builds and pushes the image, tests inside it, publishes the bundle with
# the image's digest in its values, and runs acceptance; a commit touching
# only the chart reuses the image; a registry that is down fails the stage
# with a readable error, and the run can be retried.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

need() {
	for t in docker-registry buildah skopeo python3 tar; do
		command -v $t >/dev/null || { echo "$t not installed"; return 1; }
	done
	test -x /bin/busybox || { echo "busybox-static not installed"; return 1; }
}
if ! why=$(need); then
	echo "1..0 # SKIP $why"
	exit 0
fi

push_commit() { # MSG
	(cd work && $GIT add -A && $GIT commit -q -m "$1" && git push -q origin HEAD:refs/heads/main) &&
	git -C work rev-parse HEAD
}

trap 'registry_stop; stop_daemon_quiet' EXIT

test_expect 'setup: registry, application with image and chart, ferryd' '
	registry_start &&
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	mkdir -p work/app work/.helm/templates && cp /bin/busybox work/app/busybox &&
	printf "FROM scratch\nCOPY busybox /bin/busybox\n" >work/app/Dockerfile &&
	printf "apiVersion: v2\nname: shop\nversion: 0.1.0\n" >work/.helm/Chart.yaml &&
	printf "replicas: 1\n" >work/.helm/values.yaml &&
	printf "kind: ConfigMap\nmetadata: {name: shop}\n" >work/.helm/templates/cm.yaml &&
	C="--storage-root $T_TRASH/containers" &&
	cat >work/.ferry.yaml <<-EOF &&
	images:
	  - {name: app, context: app, repository: "$REG/acme/app"}
	stages:
	  - name: build
	    run: ferry build --insecure $C
	  - name: test
	    run: ferry run-image app --insecure $C -- /bin/busybox sh -c "test -x /bin/busybox && echo in-image-ok"
	  - name: publish
	    run: ferry bundle publish --insecure --repo $REG/acme/shop --image "app=\$FERRY_OUT_IMAGE_APP"
	  - name: acceptance
	    run: echo "accepting in \$FERRY_ENV"
	EOF
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 1, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'a push builds, tests in the image, publishes the bundle, accepts it' '
	sha=$(push_commit one) && id=$(deliver_push shop refs/heads/main $sha) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "image app built" state/logs/$id/build.log &&
	grep "in-image-ok" state/logs/$id/test.log &&
	grep "accepting in test" state/logs/$id/acceptance.log &&
	api "/api/v1/artifacts?project=shop" &&
	jq -e "[.artifacts[] | select(.run == $id)] | length == 2" body &&
	bundle=$(jq -r "[.artifacts[] | select(.run == $id and .kind == \"bundle\")][0] | \"\(.repository):\(.tag)\"" body) &&
	jq -e "[.artifacts[] | select(.run == $id and .kind == \"bundle\")][0].acceptance == \"passed\"" body &&
	appdigest=$(jq -r "[.artifacts[] | select(.run == $id and .kind == \"image\")][0].digest" body) &&
	skopeo inspect --tls-verify=false --raw "docker://$bundle" >bm.json &&
	jq -e ".config.mediaType == \"application/vnd.cncf.helm.config.v1+json\" and .layers[0].mediaType == \"application/vnd.cncf.helm.chart.content.v1.tar+gzip\"" bm.json &&
	layer=$(jq -r ".layers[0].digest" bm.json | cut -d: -f2) &&
	curl -fsS "http://$REG/v2/acme/shop/blobs/sha256:$layer" -o chart.tgz &&
	tar -xzOf chart.tgz shop/values.yaml >values.yaml &&
	grep -F "$appdigest" values.yaml
'

test_expect 'a commit touching only the chart reuses the image' '
	printf "replicas: 2\n" >work/.helm/values.yaml &&
	sha=$(push_commit chart) && id=$(deliver_push shop refs/heads/main $sha) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "image app reused" state/logs/$id/build.log && ! grep "building" state/logs/$id/build.log &&
	grep "in-image-ok" state/logs/$id/test.log
'

test_expect 'registry down: the stage fails readably; the run can be retried' '
	registry_stop &&
	echo "# v3" >>work/app/Dockerfile && sha=$(push_commit down) && id=$(deliver_push shop refs/heads/main $sha) && wait_run_end $id &&
	jq -e ".state == \"failed\" and (.stages[] | select(.name == \"build\") | .state == \"failed\")" body &&
	grep "ferry: build: registry" state/logs/$id/build.log &&
	registry_start &&
	"$FERRY" -s "$T_SOCK" retry $id >retry.out && nid=$(awk "/queued/ {print \$2}" retry.out) &&
	wait_run_end $nid && jq -e ".state == \"success\"" body
'

test_expect 'stop' '
	stop_daemon
'

test_done
