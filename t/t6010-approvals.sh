#!/bin/bash
# t6010-approvals: who decides on a release, and what rollback goes back
# to. A real docker-registry holds bundles published by hand; ferryd's
# watch is asked to check by the API. Decisions are recorded under the
# identity of the connection (named API tokens over TCP, the user on the
# UNIX socket), so two approvals need two people, and approvers are
# enforced. A release nobody decides on expires. Rollback walks back through
# history and never forth again. In an environment that needs approvals,
# a deploy or rollback asked by anyone but its deployers waits for them
# too; and with self_approval off, neither the pusher nor an approver ferry
# cannot tell from the pusher may approve an artifact a run built.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

for t in docker-registry git; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
trap 'registry_stop; stop_daemon_quiet' EXIT

# publish VERSION: a bundle of the sample chart under that tag.
publish() {
	"$FERRY" bundle publish --insecure --repo "$REG/acme/shop" --tag "$1" \
		--git-dir chart.git --commit refs/heads/main >/dev/null
}

# image TAG CREATED [ANNOTATED]: an image manifest under TAG whose config
# says it was created at CREATED (RFC 3339); with ANNOTATED, the time is in
# the manifest's annotation instead and the config has none.
image() {
	if test -n "${3:-}"; then
		printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"t":"%s"}}}' "$1" >cfg.json
	else
		printf '{"architecture":"amd64","os":"linux","created":"%s","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"t":"%s"}}}' "$2" "$1" >cfg.json
	fi &&
	"$FERRY" oci --insecure put-blob "$REG/acme/app" cfg.json >dig &&
	cd_=$(grep -o "sha256:[0-9a-f]*" dig | head -n 1) &&
	printf "layer of %s\n" "$1" | gzip -n >layer.gz &&
	"$FERRY" oci --insecure put-blob "$REG/acme/app" layer.gz >dig &&
	ld_=$(grep -o "sha256:[0-9a-f]*" dig | head -n 1) &&
	ann= &&
	if test -n "${3:-}"; then
		ann=",\"annotations\":{\"org.opencontainers.image.created\":\"$2\"}"
	fi &&
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]%s}' \
		"$cd_" "$(wc -c <cfg.json)" "$ld_" "$(wc -c <layer.gz)" "$ann" >man.json &&
	"$FERRY" oci --insecure --media-type application/vnd.oci.image.manifest.v1+json \
		put-manifest "$REG/acme/app:$1" man.json >/dev/null
}

# tcp TOKEN PATH [curl args]: the API over TCP with a bearer token.
tcp() {
	t=$1 p=$2
	shift 2
	curl -sS -o body -w '%{http_code}' -H "Authorization: Bearer $t" "$@" \
		"$T_URL$p" >code
}

# newest ENV: the newest release of ENV as JSON in ./release.
newest() {
	api "/api/v1/releases?env=$1" && jq ".releases[0]" body >release
}

# wait_state ENV STATE TAG: until the newest release of ENV is TAG in STATE.
wait_state() {
	for _ in $(seq 200); do
		newest "$1" && test "$(jq -r .state release)" = "$2" &&
			test "$(jq -r .tag release)" = "$3" && return 0
		sleep 0.1
	done
	echo "newest of $1: $(jq -c . release), wanted $3 $2"
	return 1
}

test_expect 'setup: a chart repository, a registry, ferryd with named API tokens' '
	registry_start &&
	$GIT init -q work && mkdir -p work/.helm/templates &&
	printf "apiVersion: v2\nname: shop\nversion: 0.1.0\n" >work/.helm/Chart.yaml &&
	printf "kind: ConfigMap\nmetadata: {name: shop}\n" >work/.helm/templates/cm.yaml &&
	(cd work && $GIT add -A && $GIT commit -q -m chart) &&
	git clone -q --bare work chart.git &&
	printf "alice tok-alice-1\nbob tok-bob-2\ncarol tok-carol-3\ntok-anon-4\ndave tok-dave-5\n" >tokens &&
	git init -q --bare signed.git && $GIT clone -q signed.git sw 2>/dev/null &&
	cp -r work/.helm sw/ && cat >sw/.ferry.yaml <<-EOF &&
	stages:
	  - name: publish
	    run: ["ferry", "bundle", "publish", "--insecure", "--repo", "$REG/acme/signed"]
	EOF
	(cd sw && $GIT add -A && $GIT commit -q -m signed && git push -q origin HEAD:refs/heads/main) &&
	echo s3cret >secret &&
	chmod 600 tokens secret &&
	T_EXEC="{concurrency: 2, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	api: {tokens_file: tokens}
	registries: [{host: "$REG", insecure: true}]
	people:
	  - {name: alice, git: [alice], ids: ["token:alice"]}
	  - {name: dave, git: [dave], ids: ["token:dave"]}
	  - {name: carol, ids: ["token:carol"]}
	projects:
	  - {name: signed, repo: "file://$T_TRASH/signed.git", provider: github, secret_file: secret}
	environments:
	  - name: twokeys
	    repository: $REG/acme/shop
	    policy: {semver: ">=1.0.0"}
	    mode: manual
	    approvals: 2
	    approvers: ["token:alice", "token:bob", "token:#4"]
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG\" >>$T_TRASH/twokeys.out"]
	  - name: brief
	    repository: $REG/acme/shop
	    policy: {semver: ">=1.0.0"}
	    mode: manual
	    deadline: 1s
	    poll_interval: off
	    deploy: {driver: command, run: ["true"]}
	  - name: newest
	    repository: $REG/acme/app
	    policy: {latest: true, allow: "^build-", ignore: ["-debug\$"]}
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG\" >>$T_TRASH/newest.out"]
	  - name: roll
	    repository: $REG/acme/shop
	    policy: {semver: ">=1.0.0"}
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG \$FERRY_RELEASE_SOURCE\" >>$T_TRASH/roll.out"]
	  - name: gated
	    repository: $REG/acme/shop
	    policy: {semver: ">=1.0.0"}
	    mode: manual
	    approvers: ["token:bob", "token:carol"]
	    deployers: ["token:alice"]
	    self_approval: true
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG \$FERRY_RELEASE_SOURCE\" >>$T_TRASH/gated.out; echo \"\$HOME\" >$T_TRASH/gated.home"]
	  - name: signed
	    repository: $REG/acme/signed
	    policy: {semver: ">=0.0.0-0"}
	    mode: manual
	    approvers: ["token:alice", "token:bob", "token:dave", "person:carol"]
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG\" >>$T_TRASH/signed.out"]
	EOF
	"$FERRYD" -n -c ferry.yaml >check 2>&1 &&
	grep "environment signed: approver token:bob is not mapped under people: with git names" check &&
	grep "environment signed: approver person:carol is not mapped under people: with git names" check &&
	! grep "approver token:alice\|approver token:dave\|environment gated" check &&
	start_daemon
'

test_expect 'a release needing two approvals waits for two different people' '
	publish 1.0.0 &&
	for e in twokeys brief roll; do $FERRY -s "$T_SOCK" check $e || return 1; done &&
	wait_state twokeys awaiting-approval 1.0.0 && id=$(jq -r .id release) &&
	tcp tok-alice-1 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 200 &&
	jq -e ".state == \"awaiting-approval\" and .approvals[0].who == \"token:alice\"" body &&
	tcp tok-alice-1 /api/v1/releases/$id/approve -X POST -d "{\"by\": \"bob\"}" && expect_code 409 &&
	jq -e ".error | test(\"token:alice has already decided\")" body &&
	tcp tok-carol-3 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error | test(\"token:carol is not among the approvers of twokeys\")" body &&
	$FERRY -s "$T_SOCK" approve $id 2>err; test $? = 1 && grep "unix:.* is not among the approvers" err &&
	test ! -e twokeys.out &&
	tcp tok-bob-2 /api/v1/releases/$id/approve -X POST -d "{\"reason\": \"looks good\"}" && expect_code 200 &&
	wait_state twokeys deployed 1.0.0 && test "$(cat twokeys.out)" = 1.0.0 &&
	api /api/v1/releases/$id &&
	jq -e "[.approvals[].who] | sort == [\"token:alice\", \"token:bob\"]" body
'

test_expect 'a wrong token or none decides nothing; an unnamed token is token:#N' '
	publish 1.1.0 &&
	for e in twokeys brief roll; do $FERRY -s "$T_SOCK" check $e || return 1; done &&
	wait_state twokeys awaiting-approval 1.1.0 && id=$(jq -r .id release) &&
	tcp nope /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 401 &&
	curl -sS -o body -w "%{http_code}" -X POST -d "{}" "$T_URL/api/v1/releases/$id/approve" >code &&
	expect_code 401 &&
	tcp tok-anon-4 /api/v1/releases/$id/reject -X POST -d "{\"reason\": \"two\nlines\"}" && expect_code 400 &&
	tcp tok-anon-4 /api/v1/releases/$id/reject -X POST -d "{\"reason\": \"not today\"}" && expect_code 200 &&
	jq -e ".state == \"rejected\" and (.reason | test(\"rejected by token:#4: not today\"))" body &&
	test "$(wc -l <twokeys.out)" = 1
'

test_expect 'a release nobody decides on expires at its deadline' '
	wait_state brief expired 1.1.0 &&
	jq -e ".reason | test(\"deadline\")" release &&
	api "/api/v1/releases?env=brief" &&
	jq -e "[.releases[] | select(.tag == \"1.0.0\")][0].state | . == \"expired\" or . == \"superseded\"" body &&
	test "$(jq "[.releases[] | select(.state == \"deployed\")] | length" body)" = 0
'

test_expect 'rollback goes back through history, never forth again' '
	wait_state roll deployed 1.1.0 &&
	publish 1.2.0 && $FERRY -s "$T_SOCK" check roll && wait_state roll deployed 1.2.0 &&
	$FERRY -s "$T_SOCK" rollback roll --wait >res && wait_state roll deployed 1.1.0 &&
	$FERRY -s "$T_SOCK" rollback roll --wait >res && wait_state roll deployed 1.0.0 &&
	jq -e ".source == \"rollback\" and .requested_by == \"unix:$(id -un)\"" release &&
	$FERRY -s "$T_SOCK" rollback roll 2>err; test $? = 1 &&
	grep "no earlier deployment" err &&
	tail -n 3 roll.out >last && printf "1.2.0 watch\n1.1.0 rollback\n1.0.0 rollback\n" >want &&
	cmp want last
'

test_expect 'a check after rollbacks does not bring the newest version back' '
	n=$(wc -l <roll.out) &&
	$FERRY -s "$T_SOCK" check roll && sleep 1 &&
	test "$(wc -l <roll.out)" = "$n" && newest roll && test "$(jq -r .tag release)" = 1.0.0
'

# env_post TOKEN ENV ACTION [BODY]: an environment action over TCP.
env_post() {
	tcp "$1" "/api/v1/environments/$2/$3" -X POST -d "${4:-{\}}"
}

test_expect 'a deploy by someone not among the deployers waits for approval; a deployer deploys' '
	$FERRY -s "$T_SOCK" check gated && wait_state gated awaiting-approval 1.2.0 &&
	env_post tok-carol-3 gated deploy "{\"version\": \"1.2.0\"}" && expect_code 202 &&
	jq -e ".state == \"awaiting-approval\" and (.reason | test(\"requested by token:carol, not a deployer of gated: 1 approval needed\"))" body &&
	cid=$(jq -r .release body) &&
	api /api/v1/releases/$cid && jq -e ".state == \"awaiting-approval\" and .source == \"manual\" and .requested_by == \"token:carol\"" body &&
	test ! -e gated.out &&
	$FERRY -s "$T_SOCK" deploy gated 1.2.0 >res && id=$(sed -n "s/^release \([0-9]*\):.*/\1/p" res) &&
	grep "^release $id: deploy of gated requested: awaiting-approval: requested by unix:$(id -un), not a deployer of gated" res &&
	api /api/v1/releases/$id && jq -e ".state == \"awaiting-approval\"" body &&
	test ! -e gated.out &&
	env_post tok-alice-1 gated deploy "{\"version\": \"1.1.0\"}" && expect_code 202 &&
	jq -e ".state == \"detected\" or .state == \"deploying\" or .state == \"deployed\"" body &&
	wait_state gated deployed 1.1.0 &&
	jq -e ".reason == null or (.reason | test(\"a deployer of gated\"))" release &&
	api /api/v1/releases/$cid && test "$(jq -r .state body)" = superseded &&
	test "$(cat gated.out)" = "1.1.0 manual" &&
	test "$(cat gated.home)" = "$T_TRASH/state/deploy-home"
'

# carol is an approver of gated, but not of her own request.
test_expect 'a non-deployer deploy goes in once someone else approved it' '
	env_post tok-carol-3 gated deploy "{\"version\": \"1.2.0\"}" && expect_code 202 &&
	test "$(jq -r .state body)" = awaiting-approval && cid=$(jq -r .release body) &&
	tcp tok-carol-3 /api/v1/releases/$cid/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error == \"token:carol asked for release $cid; someone else must approve it\"" body &&
	tcp tok-bob-2 /api/v1/releases/$cid/approve -X POST -d "{}" && expect_code 200 &&
	wait_state gated deployed 1.2.0 &&
	printf "1.1.0 manual\n1.2.0 manual\n" >want && cmp want gated.out
'

test_expect 'a rollback by a non-deployer waits for approval; a deployer rolls back' '
	env_post tok-carol-3 gated rollback && expect_code 202 &&
	jq -e ".state == \"awaiting-approval\" and (.reason | test(\"not a deployer\"))" body &&
	cid=$(jq -r .release body) &&
	api /api/v1/releases/$cid && jq -e ".source == \"rollback\" and .tag == \"1.1.0\" and .state == \"awaiting-approval\"" body &&
	test "$(wc -l <gated.out)" = 2 &&
	env_post tok-alice-1 gated rollback && expect_code 202 &&
	wait_state gated deployed 1.1.0 && test "$(jq -r .source release)" = rollback &&
	api /api/v1/releases/$cid && test "$(jq -r .state body)" = superseded &&
	tail -n 1 gated.out >last && echo "1.1.0 rollback" >want && cmp want last
'

# push_signed SENDER: a push to signed.git by SENDER, delivered; waits for
# its run to succeed.
push_signed() {
	(cd sw && $GIT commit -q --allow-empty -m "by $1" && git push -q origin HEAD:refs/heads/main) &&
	printf "{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\",\"repository\":{\"full_name\":\"acme/signed\"},\"sender\":{\"login\":\"%s\"}}" 0 "$(git -C sw rev-parse HEAD)" "$1" >push.json &&
	post /hooks/signed push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: s-$RANDOM$RANDOM" \
		-H "X-Hub-Signature-256: $(sign s3cret push.json)" &&
	expect_code 202 && run=$(jq ".runs[0]" body) && wait_run_end $run &&
	test "$(jq -r .state body)" = success
}

test_expect 'self_approval off: the pusher may not approve, nor an approver ferry cannot tell from them' '
	push_signed dave && $FERRY -s "$T_SOCK" check signed &&
	for _ in $(seq 200); do newest signed && test "$(jq -r .state release)" = awaiting-approval && break; sleep 0.1; done &&
	test "$(jq -r .state release)" = awaiting-approval && id=$(jq -r .id release) &&
	tcp tok-dave-5 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error | test(\"token:dave pushed the commit of release $id\")" body &&
	tcp tok-bob-2 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error | test(\"cannot tell whether token:bob pushed this commit; map it under people:\")" body &&
	tcp tok-carol-3 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error | test(\"cannot tell whether token:carol pushed this commit\")" body &&
	api /api/v1/releases/$id && jq -e ".state == \"awaiting-approval\" and (.approvals | length) == 0" body &&
	test ! -e signed.out &&
	tcp tok-alice-1 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 200 &&
	wait_state signed deployed "$(jq -r .tag release)"
'

# One run stands for a push by alice and the merge of the same commit by
# dave: the rule asks both of them, whichever delivery came first.
# (Committed a minute ahead: in the same second as the last commit its
# version would sort by commit id, and might not be the newest.)
test_expect 'a push and a merge of one commit: neither the pusher nor the merger may approve' '
	later=$(date -d "+1 minute" -R) &&
	GIT_COMMITTER_DATE=$later GIT_AUTHOR_DATE=$later push_signed alice &&
	printf "{\"action\":\"closed\",\"number\":9,\"pull_request\":{\"merged\":true,\"merge_commit_sha\":\"%s\",\"base\":{\"ref\":\"main\",\"repo\":{\"full_name\":\"acme/signed\"}}},\"repository\":{\"full_name\":\"acme/signed\"},\"sender\":{\"login\":\"dave\"}}" \
		"$(git -C sw rev-parse HEAD)" >merge.json &&
	post /hooks/signed merge.json -H "X-GitHub-Event: pull_request" -H "X-GitHub-Delivery: m-$RANDOM$RANDOM" \
		-H "X-Hub-Signature-256: $(sign s3cret merge.json)" &&
	expect_code 202 && test "$(jq ".runs[0]" body)" = "$run" &&
	$FERRY -s "$T_SOCK" check signed &&
	for _ in $(seq 200); do newest signed && test "$(jq -r .state release)" = awaiting-approval && break; sleep 0.1; done &&
	test "$(jq -r .state release)" = awaiting-approval && id=$(jq -r .id release) &&
	tcp tok-dave-5 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error | test(\"token:dave pushed the commit of release $id\")" body &&
	tcp tok-alice-1 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 403 &&
	jq -e ".error | test(\"token:alice pushed the commit of release $id\")" body
'

test_expect 'an artifact published by hand has no pusher: any approver may approve' '
	"$FERRY" bundle publish --insecure --repo "$REG/acme/signed" --tag 9.0.0 \
		--git-dir chart.git --commit refs/heads/main >/dev/null &&
	$FERRY -s "$T_SOCK" check signed && wait_state signed awaiting-approval 9.0.0 &&
	id=$(jq -r .id release) &&
	tcp tok-bob-2 /api/v1/releases/$id/approve -X POST -d "{}" && expect_code 200 &&
	wait_state signed deployed 9.0.0
'

test_expect 'latest: the newest image by its creation time, from the config or the annotation' '
	image build-b 2026-01-02T10:00:00Z && image build-a 2026-03-01T08:00:00.123456789Z &&
	image build-c 2026-02-01T00:00:00+01:00 annotated && image build-z-debug 2027-01-01T00:00:00Z &&
	image other 2028-01-01T00:00:00Z &&
	$FERRY -s "$T_SOCK" check newest && wait_state newest deployed build-a &&
	image build-d 2026-03-01T09:00:00+00:00 annotated &&
	$FERRY -s "$T_SOCK" check newest && wait_state newest deployed build-d &&
	printf "build-a\nbuild-d\n" >want && cmp want newest.out
'

test_expect 'latest learns a creation time once: a check with nothing new costs one request' '
	curl -sS "$T_URL/metrics" >m1 && r1=$(sed -n "s/^ferry_watch_requests_total //p" m1) &&
	$FERRY -s "$T_SOCK" check newest &&
	wait_for "curl -sS \"\$T_URL/metrics\" >m2 && test \$(sed -n \"s/^ferry_watch_requests_total //p\" m2) -gt $r1" &&
	sleep 0.5 && curl -sS "$T_URL/metrics" >m2 &&
	test "$(sed -n "s/^ferry_watch_requests_total //p" m2)" = $((r1 + 1))
'

test_expect 'pause and resume are recorded with who asked' '
	$FERRY -s "$T_SOCK" pause roll && $FERRY -s "$T_SOCK" resume roll &&
	grep "environment roll: pause by unix:" ferryd.log &&
	grep "environment roll: resume by unix:" ferryd.log
'

test_expect 'every decision and refusal is in the audit, with who and from where' '
	$FERRY -s "$T_SOCK" audit --json >audit.json &&
	jq -e "[.[] | select(.who == \"token:carol\" and .action == \"approve\" and .result == \"refused\" and (.detail // \"\" | test(\"not among\")) and (.origin // \"\" | test(\"^127.0.0.1:\")))] | length == 1" audit.json &&
	jq -e "[.[] | select(.who == \"token:carol\" and .action == \"approve\" and .result == \"refused\" and (.detail // \"\" | test(\"asked for release\")))] | length == 1" audit.json &&
	jq -e "[.[] | select(.who == \"token:bob\" and .action == \"approve\" and .result == \"refused\" and (.detail // \"\" | test(\"cannot tell whether\")))] | length == 1" audit.json &&
	jq -e "[.[] | select(.who == \"token:carol\" and .action == \"deploy\" and .result == \"ok\" and .detail == \"1.2.0 (awaiting-approval)\")] | length == 2" audit.json &&
	jq -e "[.[] | select(.who == \"token:bob\" and .action == \"approve\" and .result == \"ok\" and .detail == \"looks good\")] | length == 1" audit.json &&
	jq -e "[.[] | select(.action == \"rollback\" and .result == \"refused\")] | length == 1" audit.json &&
	jq -e "[.[] | select(.action == \"pause\" and .target == \"roll\" and (.who // \"\" | startswith(\"unix:\")))] | length == 1" audit.json &&
	$FERRY -s "$T_SOCK" audit >audit.txt && grep "token:carol" audit.txt
'

stop_daemon_quiet
test_done
