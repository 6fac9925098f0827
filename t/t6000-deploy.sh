#!/bin/bash
# t6000-deploy: the registry watch and releases through ferryd, with a real
# docker-registry whose own notifications are pointed at ferryd, real git
# repositories (the project and a bare GitOps repository) and the gitops
# driver. A tag's pipeline publishes a bundle, the registry notifies, the
# release waits for acceptance and lands as a commit in the GitOps file with
# every other byte kept. Also: a failed acceptance is never deployed, a
# manual environment waits for approval, rollback, deploy by hand, a
# restart redeploys nothing, polling without notifications, a failing
# registry (fault-proxy, a stand-in for the failures only) causes no
# duplicate deployment, and bad notifications are refused. Neither another
# project's pipeline nor an acceptance stage can vouch for an artifact.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

need() {
	for t in docker-registry python3 git; do
		command -v $t >/dev/null || { echo "$t not installed"; return 1; }
	done
}
if ! why=$(need); then
	echo "1..0 # SKIP $why"
	exit 0
fi

PROXY_PID= KUBE_PID=
trap 'registry_stop; stop_daemon_quiet; kill $PROXY_PID $KUBE_PID 2>/dev/null' EXIT

# tag_push TAG: commit what is in work/, tag it, push both, deliver the tag
# push to ferryd; the run's id on stdout.
tag_push() {
	(cd work && $GIT add -A && $GIT commit -q --allow-empty -m "release $1" &&
		$GIT tag "$1" && git push -q origin HEAD:refs/heads/main "refs/tags/$1") &&
	deliver_push shop "refs/tags/$1" "$(git -C work rev-parse HEAD)"
}

# releases ENV: the environment's releases as JSON (newest first) in ./rel.
releases() {
	api "/api/v1/releases?env=$1" && jq .releases body >rel
}

# wait_release ENV TAG STATE [SECONDS]: until ENV's newest release of TAG
# is in STATE; its JSON in ./release.
wait_release() {
	n=0
	while :
	do
		releases "$1" &&
		jq "[.[] | select(.tag == \"$2\")][0]" rel >release &&
		test "$(jq -r .state release)" = "$3" && return 0
		n=$((n + 1))
		test $n -lt $((${4:-30} * 10)) || {
			echo "release of $2 in $1: $(jq -c . release), wanted $3"
			return 1
		}
		sleep 0.1
	done
}

# gitops_value: targetRevision in the GitOps repository's main branch.
gitops_file() {
	git -C gitops.git show main:apps/shop.yaml
}

# expected_app VERSION: the application file with only the value changed.
expected_app() {
	sed "s/targetRevision: \"0.0.1\"/targetRevision: \"$1\"/" app.orig
}

# start_kube: the Kubernetes API stand-in (t/helper/kube-standin) holding
# an Argo CD Application "shop"; sets KURL.
start_kube() {
	printf 'tok-%s\n' "$RANDOM$RANDOM" >kube.token &&
	printf '[{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"shop","namespace":"argocd"},"spec":{"project":"default","source":{"repoURL":"%s/acme","chart":"shop","targetRevision":"0.0.1"}},"status":{"sync":{"status":"Synced","revision":"0.0.1"},"health":{"status":"Healthy"}}}]' "$REG" >apps.json &&
	python3 "$T_SRCDIR/helper/kube-standin" --port-file kube.port --log kube.log \
		--apps apps.json --token-file kube.token --steps 1 2>kube.err &
	KUBE_PID=$!
	for _ in $(seq 100); do test -s kube.port && break; sleep 0.1; done
	test -s kube.port && KURL=http://127.0.0.1:$(cut -d" " -f1 kube.port)
}

# start_proxy: the fault proxy in front of the registry; sets PROXY.
start_proxy() {
	"$T_SRCDIR/helper/fault-proxy" "$REG" proxy.port proxy.log faults &
	for _ in $(seq 100); do test -s proxy.port && break; sleep 0.1; done
	read -r PROXY_PORT PROXY_PID <proxy.port || return 1
	PROXY=127.0.0.1:$PROXY_PORT
}

test_expect 'setup: project, GitOps repository, fault proxy, ferryd, registry notifying ferryd' '
	REG=127.0.0.1:$(free_port) &&
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	mkdir -p work/.helm/templates &&
	printf "apiVersion: v2\nname: shop\nversion: 0.1.0\n" >work/.helm/Chart.yaml &&
	printf "replicas: 1\n" >work/.helm/values.yaml &&
	printf "kind: ConfigMap\nmetadata: {name: shop}\n" >work/.helm/templates/cm.yaml &&
	cat >work/.ferry.yaml <<-EOF &&
	stages:
	  - name: publish
	    run: ["ferry", "bundle", "publish", "--insecure", "--repo", "$REG/acme/shop"]
	  - name: acceptance
	    run: test ! -e fail-acceptance
	EOF
	cat >app.orig <<-\EOF &&
	# The shop, as Argo CD deploys it. ferry sets targetRevision.
	apiVersion: argoproj.io/v1alpha1
	kind: Application
	metadata:
	  name: shop        # keep this comment
	  namespace: argocd
	spec:
	  project: default
	  source:
	    repoURL: registry.example.com/acme   # Größe: UTF-8 before the value
	    chart: shop
	    targetRevision: "0.0.1"  # the version ferry deploys
	  destination: {server: "https://kubernetes.default.svc", namespace: shop}
	EOF
	git init -q --bare rogue.git && $GIT clone -q rogue.git rw 2>/dev/null &&
	git init -q --bare gitops.git && $GIT clone -q gitops.git gw 2>/dev/null &&
	mkdir gw/apps && cp app.orig gw/apps/shop.yaml &&
	(cd gw && $GIT add -A && $GIT commit -q -m init && git push -q origin HEAD:refs/heads/main) &&
	start_proxy && start_kube &&
	echo s3cret >secret && echo hook-s3cret >reghook.secret && chmod 600 secret reghook.secret &&
	T_EXEC="{concurrency: 2, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	registries:
	  - {host: "$REG", insecure: true}
	  - {host: "$PROXY", insecure: true}
	registry_hooks:
	  - {name: local, secret_file: reghook.secret}
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	  - {name: rogue, repo: "file://$T_TRASH/rogue.git", provider: github, secret_file: secret}
	environments:
	  - name: production
	    repository: $REG/acme/shop
	    project: shop
	    policy: {semver: ">=1.0.0"}
	    require_acceptance: true
	    poll_interval: off
	    deploy:
	      driver: gitops
	      repo: file://$T_TRASH/gitops.git
	      branch: main
	      file: apps/shop.yaml
	      key: spec.source.targetRevision
	  - name: approval
	    repository: $REG/acme/shop
	    policy: {semver: ">=1.0.0"}
	    mode: manual
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG \$FERRY_RELEASE_DIGEST\" >>$T_TRASH/approval.out"]
	  - name: argo
	    repository: $REG/acme/shop
	    policy: {semver: "~1.0"}
	    poll_interval: off
	    deploy:
	      driver: argocd
	      app: shop
	      server: "$KURL"
	      token_file: kube.token
	      timeout: 60s
	  - name: flaky
	    repository: $PROXY/acme/shop
	    policy: {semver: ">=1.0.0"}
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG\" >>$T_TRASH/flaky.out"]
	EOF
	start_daemon &&
	REG_NOTIFY_URL="$T_URL/hooks/registry/local" REG_NOTIFY_SECRET=hook-s3cret registry_start
'

test_expect 'a tag publishes 1.0.0; the notification makes a release that waits for acceptance, then the gitops driver commits it' '
	run=$(tag_push v1.0.0) && wait_run_end $run &&
	test "$(jq -r .state body)" = success &&
	wait_release production 1.0.0 deployed &&
	digest=$(jq -r .digest release) &&
	test "$(jq -r .source release)" = watch &&
	gitops_file >got && expected_app 1.0.0 >want && cmp want got &&
	git -C gitops.git log -1 --format=%B main >msg &&
	grep -F "$digest" msg && grep -F "$REG/acme/shop:1.0.0" msg &&
	test "$(git -C gitops.git rev-list --count main)" = 2 &&
	curl -sS "$T_URL/metrics" >metrics &&
	grep -E "^ferry_watch_notifications_total [1-9]" metrics
'

test_expect 'the argocd driver patches the Application and waits until it is Synced and Healthy' '
	wait_release argo 1.0.0 deployed &&
	jq -c "select(.method == \"PATCH\")" kube.log >patches &&
	test "$(wc -l <patches)" = 1 &&
	jq -e ".path == \"/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop\" and (.headers[\"Content-Type\"] // .headers[\"content-type\"]) == \"application/merge-patch+json\" and (.body | fromjson | .spec.source.targetRevision) == \"1.0.0\"" patches &&
	$FERRY -s "$T_SOCK" release log $(jq -r .id release) >alog &&
	grep "synced shop at 1.0.0 (Healthy)" alog
'

test_expect 'the release log tells the story' '
	wait_release production 1.0.0 deployed && id=$(jq -r .id release) &&
	$FERRY -s "$T_SOCK" release log $id >log &&
	grep "detected $REG/acme/shop:1.0.0@" log && grep "deploying" log &&
	grep "committed " log && grep "deployed" log
'

test_expect 'a manual environment waits for approval, and deploys after it' '
	wait_release approval 1.0.0 awaiting-approval &&
	test ! -e approval.out &&
	id=$(jq -r .id release) &&
	$FERRY -s "$T_SOCK" approve $id >res &&
	wait_release approval 1.0.0 deployed &&
	test "$(cat approval.out)" = "1.0.0 $(jq -r .digest release)" &&
	api /api/v1/releases/$id &&
	jq -e ".approvals[0].who == \"unix:$(id -un)\" and .approvals[0].via == \"api\" and .approvals[0].decision == \"approve\"" body
'

test_expect 'a second decision by the same person, or on a deployed release, is refused' '
	$FERRY -s "$T_SOCK" approve $id 2>err; test $? = 1 &&
	grep "not awaiting approval" err &&
	api /api/v1/releases/999999/approve -X POST -d "{}" && expect_code 404
'

test_expect 'an artifact that failed acceptance is not deployed where acceptance is required' '
	touch work/fail-acceptance &&
	run=$(tag_push v1.1.0) && wait_run_end $run &&
	test "$(jq -r .state body)" = failed &&
	wait_release production 1.1.0 detected &&
	for _ in $(seq 50); do releases production && jq -e ".[0].reason // \"\" | test(\"acceptance failed\")" rel >/dev/null && break; sleep 0.1; done &&
	jq -e ".[0].tag == \"1.1.0\" and (.[0].reason | test(\"acceptance failed\"))" rel &&
	gitops_file >got && cmp want got
'

test_expect 'a rejected release is not deployed, and the reason is kept' '
	wait_release approval 1.1.0 awaiting-approval &&
	id=$(jq -r .id release) &&
	$FERRY -s "$T_SOCK" reject $id --reason "not on a Friday" &&
	wait_release approval 1.1.0 rejected &&
	jq -e ".reason | test(\"rejected by unix:$(id -un): not on a Friday\")" release &&
	test "$(wc -l <approval.out)" = 1
'

test_expect 'a deploy by hand of an artifact that failed acceptance waits, visibly' '
	$FERRY -s "$T_SOCK" deploy production 1.1.0 >res &&
	id=$(sed -n "s/^release \([0-9]*\):.*/\1/p" res) &&
	for _ in $(seq 50); do api /api/v1/releases/$id && jq -e ".reason // \"\" | test(\"acceptance failed\")" body >/dev/null && break; sleep 0.1; done &&
	jq -e ".state == \"detected\" and .source == \"manual\" and (.reason | test(\"acceptance failed\"))" body &&
	gitops_file >got && cmp want got
'

test_expect 'a newer good release supersedes the waiting one and deploys' '
	rm work/fail-acceptance &&
	run=$(tag_push v1.2.0) && wait_run_end $run &&
	test "$(jq -r .state body)" = success &&
	wait_release production 1.2.0 deployed &&
	gitops_file >got && expected_app 1.2.0 >want && cmp want got &&
	api /api/v1/releases/$id && test "$(jq -r .state body)" = superseded
'

test_expect 'rollback deploys the artifact that ran before' '
	$FERRY -s "$T_SOCK" rollback production --wait >res &&
	grep "deployed" res &&
	gitops_file >got && expected_app 1.0.0 >want && cmp want got &&
	releases production && jq -e ".[0].source == \"rollback\" and .[0].tag == \"1.0.0\" and .[0].state == \"deployed\"" rel
'

test_expect 'deploy by hand: a version the watch did not select, its digest looked up' '
	$FERRY -s "$T_SOCK" deploy production 1.2.0 --wait >res &&
	gitops_file >got && expected_app 1.2.0 >want && cmp want got &&
	$FERRY -s "$T_SOCK" deploy production 7.7.7 --wait >res 2>&1; test $? = 1 &&
	grep "failed" res &&
	releases production && jq -e ".[0].tag == \"7.7.7\" and .[0].state == \"failed\" and (.[0].reason | test(\"MANIFEST_UNKNOWN|404\"))" rel
'

test_expect 'the value already set: the driver makes no commit' '
	before=$(git -C gitops.git rev-list --count main) &&
	$FERRY -s "$T_SOCK" deploy production 1.2.0 --wait >res &&
	test "$(git -C gitops.git rev-list --count main)" = "$before"
'

# rogue_run PUBLISH ACCEPTANCE: a run of the rogue project whose stages
# write these lines to $FERRY_OUTPUT (nothing is published); both pass.
rogue_run() {
	cat >rw/.ferry.yaml <<-EOF &&
	stages:
	  - name: publish
	    run: printf "$1" >"\$FERRY_OUTPUT"
	  - name: acceptance
	    run: printf "$2" >"\$FERRY_OUTPUT"
	EOF
	(cd rw && $GIT add -A && $GIT commit -q -m rogue && git push -q origin HEAD:refs/heads/main) &&
	run=$(deliver_push rogue refs/heads/main "$(git -C rw rev-parse HEAD)") && wait_run_end $run &&
	test "$(jq -r .state body)" = success
}

# held_for_acceptance: a deploy of 1.1.0 by hand waits, as it failed.
held_for_acceptance() {
	$FERRY -s "$T_SOCK" deploy production 1.1.0 >res &&
	id=$(sed -n "s/^release \([0-9]*\):.*/\1/p" res) &&
	for _ in $(seq 50); do api /api/v1/releases/$id && jq -e ".reason // \"\" | test(\"acceptance failed\")" body >/dev/null && break; sleep 0.1; done &&
	jq -e ".state == \"detected\" and (.reason | test(\"acceptance failed\"))" body &&
	gitops_file >got && expected_app 1.2.0 >want && cmp want got
}

# without_project: production without project: shop, so that the checks
# below are made by the repository match and the stage rule alone.
without_project() {
	sed -i "/^    project: shop$/d" ferry.yaml && hup_daemon
}

with_project() {
	sed -i "s|^    repository: $REG/acme/shop$|&\\n    project: shop|" ferry.yaml &&
	sed -i "0,/^    project: shop$/!{/^    project: shop$/d}" ferry.yaml && hup_daemon
}

test_expect 'another project cannot vouch for an artifact by its digest' '
	releases production && bad=$(jq -r "[.[] | select(.tag == \"1.1.0\")][0].digest" rel) &&
	without_project && grep -c "project: shop" ferry.yaml | grep -x 0 &&
	rogue_run "bundle=$REG/acme/rogue:1.1.0@$bad\\n" "" &&
	held_for_acceptance
'

test_expect 'an acceptance stage cannot vouch for an artifact by naming it' '
	rogue_run "" "bundle=$REG/acme/shop:1.1.0@$bad\\nimage.shop=$REG/acme/shop:1.1.0@$bad\\n" &&
	grep "output bundle ignored: the acceptance stage and the stages after it may not name release artifacts" state/logs/$run/acceptance.log &&
	grep "output image.shop ignored" state/logs/$run/acceptance.log &&
	held_for_acceptance
'

# rogue names shop's own repository and the failed digest from a publish
# stage, then passes its acceptance: production takes only shop's runs.
test_expect 'another project cannot vouch even by naming the same repository' '
	with_project && grep -c "^    project: shop$" ferry.yaml | grep -x 1 &&
	rogue_run "bundle=$REG/acme/shop:1.1.0@$bad\\n" "" &&
	api "/api/v1/artifacts?project=rogue" &&
	jq -e "any(.artifacts[]; .repository == \"$REG/acme/shop\" and .digest == \"$bad\")" body &&
	held_for_acceptance
'

test_expect 'unknown environments and bad requests get clear errors' '
	$FERRY -s "$T_SOCK" deploy nosuch 1.0.0 2>err; test $? = 1 && grep "no environment" err &&
	api /api/v1/environments/production/deploy -X POST -d "{\"version\": \"bad tag!\"}" &&
	expect_code 400 &&
	api /api/v1/environments/production/deploy -X POST -d "[1]" && expect_code 400 &&
	api /api/v1/environments/production/launch -X POST -d "{}" && expect_code 404 &&
	api /api/v1/releases/abc && expect_code 400
'

# hook BODY-FILE [AUTH]: POST a registry notification.
hook() {
	post /hooks/registry/local "$1" -H "Content-Type: application/vnd.docker.distribution.events.v1+json" \
		-H "Authorization: ${2:-Bearer hook-s3cret}"
}

test_expect 'registry notifications: wrong or missing secret, unknown hook, bad bodies' '
	printf "{\"events\":[]}" >empty.json &&
	hook empty.json "Bearer wrong" && expect_code 401 &&
	post /hooks/registry/local empty.json && expect_code 401 &&
	post /hooks/registry/nosuch empty.json -H "Authorization: Bearer hook-s3cret" && expect_code 404 &&
	api /hooks/registry/local && expect_code 405 &&
	printf "{\"events\": [" >trunc.json && hook trunc.json && expect_code 400 &&
	printf "{\"hello\": 1}" >other.json && hook other.json && expect_code 400 &&
	jq -e ".error | test(\"not a registry notification\")" body &&
	printf "{\"events\": 5}" >notlist.json && hook notlist.json && expect_code 400 &&
	printf "{\"events\":[{\"action\":\"push\",\"target\":{\"repository\":\"../../etc\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}}]}" >evil.json &&
	hook evil.json && expect_code 200 && jq -e ".skipped == 1 and .pushes == 0" body &&
	head -c 6000000 /dev/zero | tr "\0" " " >huge.json && hook huge.json && expect_code 413 &&
	hook empty.json && expect_code 200 && jq -e ".format == \"distribution\" and .pushes == 0" body
'

test_expect 'a forged notification decides nothing: the watch asks the registry' '
	releases production && n=$(jq length rel) &&
	printf "{\"events\":[{\"id\":\"x\",\"action\":\"push\",\"target\":{\"repository\":\"acme/shop\",\"tag\":\"9.9.9\",\"digest\":\"sha256:%064d\",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}},{\"action\":\"push\",\"target\":{\"repository\":\"acme/shop\",\"mediaType\":\"application/octet-stream\"}},{\"action\":\"pull\",\"target\":{\"repository\":\"acme/shop\"}}]}" 0 >forged.json &&
	hook forged.json && expect_code 200 &&
	jq -e ".events == 3 and .pushes == 1 and .checks >= 1" body &&
	api /api/v1/environments && c0=$(jq "[.environments[] | select(.name == \"production\")][0].watch.checked_at" body) &&
	for _ in $(seq 50); do api /api/v1/environments && test "$(jq "[.environments[] | select(.name == \"production\")][0].watch.checked_at" body)" != "$c0" && break; sleep 0.1; done &&
	sleep 0.5 && releases production && test "$(jq length rel)" = "$n" &&
	! jq -e ".[] | select(.tag == \"9.9.9\")" rel
'

test_expect 'Harbor and Docker Hub payloads are understood' '
	printf "{\"type\":\"PUSH_ARTIFACT\",\"occur_at\":1,\"operator\":\"admin\",\"event_data\":{\"resources\":[{\"digest\":\"sha256:%064d\",\"tag\":\"1.2.0\",\"resource_url\":\"harbor.example.com/acme/shop:1.2.0\"}],\"repository\":{\"name\":\"shop\",\"namespace\":\"acme\",\"repo_full_name\":\"acme/shop\"}}}" 0 >harbor.json &&
	hook harbor.json "hook-s3cret" && expect_code 200 &&
	jq -e ".format == \"harbor\" and .pushes == 1 and .checks >= 1" body &&
	printf "{\"callback_url\":\"x\",\"push_data\":{\"tag\":\"1.2.0\"},\"repository\":{\"repo_name\":\"acme/shop\"}}" >hub.json &&
	post "/hooks/registry/local?token=hook-s3cret" hub.json && expect_code 200 &&
	jq -e ".format == \"dockerhub\" and .pushes == 1" body
'

# watch_ok_flaky: the last check of the flaky environment went well.
watch_ok_flaky() {
	api /api/v1/environments &&
	jq -e '[.environments[] | select(.name == "flaky")][0].watch | .error == null and .failures == 0' body >/dev/null
}

# faults_then_200: the proxy injected its three faults, then passed a
# request through.
faults_then_200() {
	test "$(grep -c fault proxy.log)" = 3 && tail -n 1 proxy.log | grep -q " 200$"
}

test_expect 'a failing registry: retries with backoff, one release, one deployment' '
	wait_for "test -s flaky.out" &&
	test "$(sort -u flaky.out | tail -n 1)" = 1.2.0 &&
	lines=$(wc -l <flaky.out) &&
	printf "500\n429 1\n503\n" >faults &&
	: >proxy.log &&
	$FERRY -s "$T_SOCK" check flaky &&
	wait_for faults_then_200 30 &&
	grep " 500 fault" proxy.log && grep " 429 fault" proxy.log && grep " 503 fault" proxy.log &&
	wait_for watch_ok_flaky 30 &&
	$FERRY -s "$T_SOCK" check flaky && $FERRY -s "$T_SOCK" check flaky &&
	sleep 1 && test "$(wc -l <flaky.out)" = "$lines"
'

test_expect 'a registry that stays down: the error is shown and checks back off' '
	printf "503\n503\n503\n503\n503\n503\n503\n503\n" >faults &&
	$FERRY -s "$T_SOCK" check flaky &&
	for _ in $(seq 150); do api /api/v1/environments && jq -e "[.environments[] | select(.name == \"flaky\")][0].watch.error != null" body >/dev/null && break; sleep 0.1; done &&
	jq -e "[.environments[] | select(.name == \"flaky\")][0].watch | (.error | test(\"503\")) and .failures >= 1" body &&
	$FERRY -s "$T_SOCK" environments >envs && grep "^flaky .*error: " envs &&
	: >faults
'

test_expect 'a restart neither redeploys nor misses anything' '
	releases production && n=$(jq length rel) &&
	commits=$(git -C gitops.git rev-list --count main) && lines=$(wc -l <approval.out) &&
	stop_daemon && start_daemon &&
	for _ in $(seq 100); do api /api/v1/environments && jq -e "[.environments[] | select(.name == \"production\")][0].watch.checked_at != null" body >/dev/null && break; sleep 0.1; done &&
	$FERRY -s "$T_SOCK" check production && sleep 1 &&
	releases production && test "$(jq length rel)" = "$n" &&
	test "$(git -C gitops.git rev-list --count main)" = "$commits" &&
	test "$(wc -l <approval.out)" = "$lines"
'

test_expect 'pause holds automatic deployment; resume lets it go' '
	$FERRY -s "$T_SOCK" pause flaky &&
	$FERRY -s "$T_SOCK" environments >envs && grep "^flaky *paused" envs &&
	lines=$(wc -l <flaky.out) &&
	$FERRY bundle publish --insecure --repo "$REG/acme/shop" --tag 1.3.0 --git-dir shop.git --commit refs/heads/main >pub &&
	$FERRY -s "$T_SOCK" check flaky &&
	wait_release flaky 1.3.0 detected &&
	jq -e ".reason | test(\"automatic deployment is paused\")" release &&
	test "$(wc -l <flaky.out)" = "$lines" &&
	$FERRY -s "$T_SOCK" resume flaky &&
	wait_release flaky 1.3.0 deployed &&
	test "$(wc -l <flaky.out)" = $((lines + 1)) && test "$(tail -n 1 flaky.out)" = 1.3.0 &&
	$FERRY -s "$T_SOCK" environments >envs && ! grep "^flaky *paused" envs
'

test_expect 'without notifications, polling finds a new release' '
	registry_stop && REG_NOTIFY_URL= registry_start &&
	! grep notifications reg.yml &&
	cat >>ferry.yaml <<-EOF &&
	  - name: polled
	    repository: $REG/acme/shop
	    policy: {semver: ">=2.0.0"}
	    poll_interval: 1s
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG\" >>$T_TRASH/polled.out"]
	EOF
	kill -HUP $T_PID &&
	wait_for "grep -q \"configuration reloaded: 2 projects, 5 environments\" ferryd.log" &&
	$FERRY bundle publish --insecure --repo "$REG/acme/shop" --tag 2.0.0 --git-dir shop.git --commit refs/heads/main >pub &&
	for _ in $(seq 100); do test -s polled.out && break; sleep 0.1; done &&
	test "$(cat polled.out)" = 2.0.0 &&
	releases polled && jq -e ".[0].tag == \"2.0.0\" and .[0].state == \"deployed\"" rel
'

stop_daemon_quiet
test_done
