#!/bin/bash
# t2100-queue: one run per (project, ref, commit); duplicates; a newer
# queued run of a branch supersedes older queued ones; runs survive a
# restart; the API and `ferry runs` show them.

. "$T_SRCDIR/lib.sh"

A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
C=cccccccccccccccccccccccccccccccccccccccc
D=dddddddddddddddddddddddddddddddddddddddd
Z=0000000000000000000000000000000000000000

push() { # REF SHA
	printf '{"ref":"%s","before":"%s","after":"%s","repository":{"full_name":"acme/shop"},"sender":{"login":"bob"}}' "$1" "$Z" "$2"
}
merge() { # BRANCH SHA NUMBER
	printf '{"action":"closed","number":%s,"pull_request":{"merged":true,"merge_commit_sha":"%s","base":{"ref":"%s"}},"repository":{"full_name":"acme/shop"}}' "$3" "$2" "$1"
}
# send PROJECT EVENT DELIVERY: the payload on stdin, signed.
send() {
	cat >payload.json &&
	s=$(sign s3cret payload.json) &&
	post "/hooks/$1" payload.json -H "X-GitHub-Event: $2" -H "X-GitHub-Delivery: $3" -H "X-Hub-Signature-256: $s"
}
state_of() { api "/api/v1/runs/$1" && jq -r .state body; }

test_expect 'setup' '
	echo s3cret >secret && chmod 600 secret &&
	write_config <<-EOF &&
	projects:
	  - {name: shop, repo: https://github.com/acme/shop.git, provider: github, secret_file: secret}
	  - {name: keep, repo: https://github.com/acme/keep.git, provider: github, secret_file: secret, supersede: false}
	  - {name: bb, repo: https://bitbucket.org/brydzewski/foo.git, provider: bitbucket, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'push then merge of the same commit make one run' '
	push refs/heads/main $A | send shop push p-1 && expect_code 202 && r1=$(jq ".runs[0]" body) &&
	merge main $A 1 | send shop pull_request p-2 && expect_code 202 && r2=$(jq ".runs[0]" body) &&
	test "$r1" = "$r2" && echo $r1 >run_a
'

test_expect 'merge then push of the same commit make one run' '
	merge main $B 2 | send shop pull_request p-3 && expect_code 202 && r1=$(jq ".runs[0]" body) &&
	push refs/heads/main $B | send shop push p-4 && expect_code 202 && r2=$(jq ".runs[0]" body) &&
	test "$r1" = "$r2" && echo $r1 >run_b &&
	api "/api/v1/runs?project=shop" && test "$(jq ".runs | length" body)" = 2
'

test_expect 'the newer queued run superseded the older one of the branch' '
	test "$(state_of $(cat run_a))" = superseded &&
	jq -e ".superseded_by == $(cat run_b)" body &&
	test "$(state_of $(cat run_b))" = queued
'

test_expect 'a force push back to an older commit queues its run again' '
	push refs/heads/back $A | send shop push f-1 && expect_code 202 && fa=$(jq ".runs[0]" body) &&
	push refs/heads/back $B | send shop push f-2 && expect_code 202 && fb=$(jq ".runs[0]" body) &&
	test "$(state_of $fa)" = superseded &&
	push refs/heads/back $A | send shop push f-3 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" = "$fa" &&
	test "$(state_of $fa)" = queued && test "$(state_of $fb)" = superseded &&
	jq -e ".superseded_by == $fa" body
'

test_expect 'a late merge event of a superseded commit does not queue it again' '
	merge back $B 9 | send shop pull_request f-4 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" = "$fb" &&
	test "$(state_of $fb)" = superseded && test "$(state_of $fa)" = queued
'

test_expect 'a run of another branch and a tag are not superseded' '
	push refs/heads/dev $C | send shop push p-5 && expect_code 202 && dev=$(jq ".runs[0]" body) &&
	push refs/tags/v1.0.0 $C | send shop push p-6 && expect_code 202 && tag=$(jq ".runs[0]" body) &&
	push refs/tags/v1.0.1 $D | send shop push p-7 && expect_code 202 &&
	test "$(state_of $dev)" = queued && test "$(state_of $tag)" = queued &&
	test "$(state_of $(cat run_b))" = queued
'

test_expect 'the same commit on another branch is its own run' '
	push refs/heads/release $A | send shop push p-8 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" != "$(cat run_a)"
'

test_expect 'supersede: false keeps every queued run' '
	push refs/heads/main $A | send keep push k-1 && expect_code 202 && k1=$(jq ".runs[0]" body) &&
	push refs/heads/main $B | send keep push k-2 && expect_code 202 &&
	test "$(state_of $k1)" = queued
'

test_expect 'a delivery id is per project: the same id elsewhere is new' '
	push refs/heads/main $C | send keep push p-1 && expect_code 202
'

test_expect 'a redelivery with the same id is a duplicate even with another body' '
	push refs/heads/main $D | send shop push p-4 && expect_code 200 &&
	jq -e ".duplicate == true" body
'

test_expect 'without a delivery id the body hash stands in' '
	push refs/heads/hash $D >payload.json && s=$(sign s3cret payload.json) &&
	post /hooks/shop payload.json -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && jq -e ".delivery | startswith(\"sha256:\")" body &&
	post /hooks/shop payload.json -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $s" &&
	expect_code 200 && jq -e ".duplicate == true" body
'

# Bitbucket Cloud names a merge commit by 12 hex digits and a push by 40.
# The corpus payloads are read here, at run time; jq points a push at the
# merge commit (or a merge at a pushed commit) and at a branch.
BBC=$T_CORPUS/bitbucket-cloud
# bb_push BRANCH SHA, bb_merge BRANCH SHA: a payload on stdout.
bb_push() {
	jq --arg b "$1" --arg h "$2" '.push.changes[0].new.name = $b | .push.changes[0].new.target.hash = $h' "$BBC/repo_push-2.json"
}
bb_merge() {
	jq --arg b "$1" --arg h "$2" '.pullrequest.destination.branch.name = $b | .pullrequest.merge_commit.hash = $h' "$BBC/pullrequest-2.json"
}
# bb_send EVENT-KEY DELIVERY: the payload on stdin, signed.
bb_send() {
	cat >payload.json &&
	s=$(sign s3cret payload.json) &&
	post /hooks/bb payload.json -H "X-Event-Key: $1" -H "X-Request-UUID: $2" -H "X-Hub-Signature: $s"
}
run_sha() { api "/api/v1/runs/$1" && jq -r .sha body; }

test_expect 'Bitbucket: the corpus merge names its commit by 12 digits' '
	test "$(jq -r .pullrequest.merge_commit.hash "$BBC/pullrequest-2.json")" = 4f8f6de9d0ff &&
	bb_send pullrequest:fulfilled bb-0 <"$BBC/pullrequest-2.json" && expect_code 202 &&
	jq -e ".events[0].kind == \"merge\" and .events[0].sha == \"4f8f6de9d0ff\"" body &&
	jq ".runs[0]" body >run_bb0
'

test_expect 'Bitbucket: a push of that commit in full is the same run, now with the full id' '
	full=4f8f6de9d0ff$(printf %028d 7) &&
	bb_push master $full | bb_send repo:push bb-1 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" = "$(cat run_bb0)" &&
	test "$(run_sha $(cat run_bb0))" = "$full"
'

test_expect 'Bitbucket: push then merge of one commit make one run' '
	full=$(printf %040d 1 | tr 0 e) &&
	bb_push dev $full | bb_send repo:push bb-2 && expect_code 202 && r1=$(jq ".runs[0]" body) &&
	bb_merge dev $(echo $full | cut -c1-12) | bb_send pullrequest:fulfilled bb-3 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" = "$r1" && test "$(run_sha $r1)" = "$full"
'

test_expect 'Bitbucket: another commit or branch is another run, a 6-digit id is refused' '
	bb_push dev $(printf %040d 2 | tr 0 e) | bb_send repo:push bb-4 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" != "$r1" &&
	bb_merge other eeeeeeeeeeee | bb_send pullrequest:fulfilled bb-5 && expect_code 202 &&
	test "$(jq ".runs[0]" body)" != "$r1" &&
	bb_merge dev eeeeee | bb_send pullrequest:fulfilled bb-6 && expect_code 400
'

test_expect 'runs and their states survive a restart' '
	api "/api/v1/runs?limit=1000" && jq -c "[.runs[] | [.id, .state]]" body >before &&
	stop_daemon && start_daemon &&
	api "/api/v1/runs?limit=1000" && jq -c "[.runs[] | [.id, .state]]" body >after &&
	cmp before after &&
	push refs/heads/main $A | send shop push p-1 && expect_code 200 && jq -e ".duplicate" body
'

test_expect 'API filters: project, state, limit' '
	api "/api/v1/runs?project=keep" && jq -e "[.runs[].project] | unique == [\"keep\"]" body &&
	api "/api/v1/runs?state=superseded" && jq -e "(.runs | length) >= 1 and ([.runs[].state] | unique == [\"superseded\"])" body &&
	api "/api/v1/runs?limit=2" && jq -e "(.runs | length) == 2" body &&
	api "/api/v1/runs?limit=0" && expect_code 400 &&
	api "/api/v1/runs?limit=abc" && expect_code 400 &&
	api "/api/v1/runs/999999" && expect_code 404 &&
	api "/api/v1/runs/x1" && expect_code 400
'

test_expect 'ferry runs prints a table, --json the same runs' '
	"$FERRY" -s "$T_SOCK" runs >table &&
	head -n 1 table | grep "^ID *STATE *PROJECT *REF" &&
	grep "superseded *shop *refs/heads/main" table &&
	"$FERRY" -s "$T_SOCK" runs --json --project shop >runs.json &&
	jq -e "length >= 5 and all(.[]; .project == \"shop\")" runs.json
'

test_expect 'ferry run show prints one run' '
	"$FERRY" -s "$T_SOCK" run show $(cat run_b) >show &&
	grep "^state: *queued" show && grep "^commit: *$B" show &&
	"$FERRY" -s "$T_SOCK" run show $(cat run_b) --json >show.json &&
	jq -e ".sha == \"$B\"" show.json &&
	! "$FERRY" -s "$T_SOCK" run show 424242 2>err && grep "no run 424242" err
'

test_expect 'ferry finds the socket through -c' '
	"$FERRY" -c ferry.yaml runs --limit 1 >t1 && test "$(wc -l <t1)" = 2
'

test_expect 'ferry says so when ferryd is not running' '
	stop_daemon &&
	! "$FERRY" -s "$T_SOCK" runs 2>err && grep "cannot reach ferryd" err
'

test_done
