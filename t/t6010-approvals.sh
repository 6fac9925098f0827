#!/bin/bash
# t6010-approvals: who decides on a release, and what rollback goes back
# to. A real docker-registry holds bundles published by hand; ferryd's
# watch is asked to check by the API. Decisions are recorded under the
# identity of the connection (named API tokens over TCP, the user on the
# UNIX socket), so two approvals need two people, and approvers are
# enforced. A release nobody decides on expires. Rollback walks back through
# history and never forth again.

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
	printf "alice tok-alice-1\nbob tok-bob-2\ncarol tok-carol-3\ntok-anon-4\n" >tokens &&
	chmod 600 tokens &&
	write_config <<-EOF &&
	api: {tokens_file: tokens}
	registries: [{host: "$REG", insecure: true}]
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
	  - name: roll
	    repository: $REG/acme/shop
	    policy: {semver: ">=1.0.0"}
	    poll_interval: off
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG \$FERRY_RELEASE_SOURCE\" >>$T_TRASH/roll.out"]
	EOF
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

test_expect 'pause and resume are recorded with who asked' '
	$FERRY -s "$T_SOCK" pause roll && $FERRY -s "$T_SOCK" resume roll &&
	grep "environment roll: pause by unix:" ferryd.log &&
	grep "environment roll: resume by unix:" ferryd.log
'

stop_daemon_quiet
test_done
