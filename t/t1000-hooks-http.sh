#!/bin/bash
# t1000-hooks-http: POST /hooks/<project> over real HTTP against ferryd:
# signed deliveries become queued runs; every kind of bad input gets a
# clear JSON error and changes nothing.

. "$T_SRCDIR/lib.sh"

SHA1=1111111111111111111111111111111111111111
SHA2=2222222222222222222222222222222222222222
ZERO=0000000000000000000000000000000000000000

# gh_push REF BEFORE AFTER [DELETED]: a GitHub push payload.
gh_push() {
	printf '{"ref":"%s","before":"%s","after":"%s","created":false,"deleted":%s,"forced":false,' \
		"$1" "$2" "$3" "${4:-false}"
	printf '"repository":{"full_name":"acme/shop","clone_url":"https://github.com/acme/shop.git"},'
	printf '"pusher":{"name":"alice"},"sender":{"login":"alice"},'
	printf '"head_commit":{"id":"%s","message":"Größe berücksichtigen – 修正"}}' "$3"
}

# hook FILE EVENT DELIVERY [SECRET] [PROJECT]: a signed GitHub delivery.
hook() {
	sig=$(sign "${4:-s3cret}" "$1") &&
	post "/hooks/${5:-shop}" "$1" -H "X-GitHub-Event: $2" \
		-H "X-GitHub-Delivery: $3" -H "X-Hub-Signature-256: $sig"
}

# tcp_open VAR: a raw TCP connection to ferryd on a descriptor that bash
# picks and stores in VAR. Fixed numbers are a trap: bash keeps its own
# saved descriptors at 10 and up while a redirection is in effect (as
# test_expect's is), and one of ours there can vanish when it restores them.
tcp_open() {
	hp=${T_URL#http://}
	eval "exec {$1}<>/dev/tcp/${hp%:*}/${hp##*:}"
}

tcp_close() { # VAR
	eval "exec {$1}>&-"
}

# cap_fill, cap_free: hold the 8 connections the setup's cap allows, and
# let them go.
cap_fill() {
	for i in 1 2 3 4 5 6 7 8; do tcp_open "cap$i" || return 1; done
}
cap_free() {
	for i in 1 2 3 4 5 6 7 8; do tcp_close "cap$i"; done
}

# healthz_until CODE: GET /healthz over TCP until it answers CODE (see
# wait_for). ferryd accepts and closes connections on its own loop, so a
# fixed sleep is a race under a slow (sanitized, loaded) build.
healthz_until() {
	wait_for "healthz_is $1" ||
		{ echo "healthz: $(cat code), wanted $1: $(cat curl.err)"; return 1; }
}

healthz_is() { # CODE
	curl -sS -o body -w "%{http_code}" "$T_URL/healthz" >code 2>curl.err
	test "$(cat code)" = "$1"
}

# post_d1 CODE: the signed delivery d-1 again (a duplicate: 200 when it
# gets through) answers CODE.
post_d1() {
	post /hooks/shop push.json -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $sig" -H "X-GitHub-Delivery: d-1" &&
	test "$(cat code)" = "$1"
}

# runs_count: how many runs the API lists.
runs_count() {
	api "/api/v1/runs?limit=1000" && jq '.runs | length' body
}

test_expect 'setup' '
	write_config <<-EOF &&
	limits: {body_bytes: 1048576, inflight_bytes: 2000000, connections: 8, request_timeout: 30s}
	projects:
	  - name: shop
	    repo: https://github.com/acme/shop.git
	    provider: github
	    secret_file: shop.secret
	    triggers:
	      - {kind: push, branches: [main, "feature/*", "a;b"]}
	      - {kind: tag, tags: ["v*"]}
	      - {kind: merge, branches: [main]}
	EOF
	printf "s3cret\n" >shop.secret && chmod 600 shop.secret &&
	start_daemon
'

test_expect 'a signed push is answered 202 with its event and run' '
	gh_push refs/heads/main $SHA1 $SHA2 >push.json &&
	hook push.json push d-1 &&
	expect_code 202 &&
	jq -e ".delivery == \"d-1\" and (.runs | length) == 1" body &&
	jq -e ".events[0] | .kind == \"push\" and .ref == \"refs/heads/main\" and .sha == \"$SHA2\" and .before == \"$SHA1\" and .repo == \"acme/shop\" and .sender == \"alice\" and .provider == \"github\"" body &&
	id=$(jq ".runs[0]" body) &&
	api /api/v1/runs/$id && expect_code 200 &&
	jq -e ".state == \"queued\" and .project == \"shop\" and .sha == \"$SHA2\" and .event.kind == \"push\"" body
'

test_expect 'the same delivery again is a duplicate and makes no run' '
	hook push.json push d-1 &&
	expect_code 200 &&
	jq -e ".duplicate == true and .delivery == \"d-1\"" body &&
	test "$(runs_count)" = 1
'

test_expect 'a wrong secret is 401 and makes no run' '
	gh_push refs/heads/main $SHA1 3333333333333333333333333333333333333333 >p3.json &&
	hook p3.json push d-2 wrong &&
	expect_code 401 && jq -e ".error | test(\"signature mismatch\")" body &&
	test "$(runs_count)" = 1
'

test_expect 'a missing signature is 401' '
	post /hooks/shop p3.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-3" &&
	expect_code 401 && jq -e ".error | test(\"missing signature\")" body
'

test_expect 'a malformed signature is 401' '
	post /hooks/shop p3.json -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: sha1=abc" &&
	expect_code 401 && jq -e ".error | test(\"malformed signature\")" body
'

test_expect 'a signature over other bytes (body changed in transit) is 401' '
	sig=$(sign s3cret push.json) &&
	post /hooks/shop p3.json -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $sig" &&
	expect_code 401
'

test_expect 'an unknown project is 404' '
	hook push.json push d-4 s3cret nosuch &&
	expect_code 404 && jq -e ".error | test(\"no such project\")" body
'

test_expect 'GET on a hook is 405' '
	curl -sS -o body -w "%{http_code}" "$T_URL/hooks/shop" >code &&
	expect_code 405 && jq -e ".error" body
'

test_expect 'a signed delivery without X-GitHub-Event is 400' '
	sig=$(sign s3cret p3.json) &&
	post /hooks/shop p3.json -H "X-Hub-Signature-256: $sig" &&
	expect_code 400 && jq -e ".error | test(\"X-GitHub-Event\")" body
'

test_expect 'malformed JSON (signed) is 400 with the position' '
	printf "{\"ref\": \"refs/heads/main\", \"after\": }" >bad.json &&
	hook bad.json push d-5 &&
	expect_code 400 && jq -e ".error | test(\"malformed JSON at line 1 column\")" body
'

test_expect 'a truncated body (signed as sent) is 400' '
	head -c 100 push.json >trunc.json &&
	hook trunc.json push d-6 &&
	expect_code 400 && jq -e ".error | test(\"malformed JSON\")" body
'

test_expect 'invalid UTF-8 is 400' '
	printf "{\"ref\":\"refs/heads/main\",\"after\":\"$SHA2\",\"x\":\"\377\376\"}" >utf.json &&
	hook utf.json push d-7 &&
	expect_code 400 && jq -e ".error | test(\"invalid UTF-8\")" body
'

test_expect 'deeply nested JSON is 400, not a crash' '
	{ head -c 20000 /dev/zero | tr "\0" "["; head -c 20000 /dev/zero | tr "\0" "]"; } >deep.json &&
	hook deep.json push d-8 &&
	expect_code 400 &&
	{ printf "{\"a\":"; head -c 5000 /dev/zero | tr "\0" "["; head -c 5000 /dev/zero | tr "\0" "]"; printf "}"; } >deep2.json &&
	hook deep2.json push d-9 &&
	expect_code 400 && jq -e ".error | test(\"too big|depth|nest\")" body
'

test_expect 'a push without ref is 400 naming the field' '
	printf "{\"after\":\"$SHA2\"}" >noref.json &&
	hook noref.json push d-10 &&
	expect_code 400 && jq -e ".error | test(\"without ref\")" body
'

test_expect 'a body over the limit is 413 before it is read' '
	head -c 100000000 /dev/zero >big.bin &&
	curl -sS -o body -w "%{http_code} %{size_upload}\n" -X POST --data-binary @big.bin \
		-H "X-GitHub-Event: push" "$T_URL/hooks/shop" >res 2>/dev/null;
	read c up <res && echo "$c $up" &&
	test "$c" = 413 && jq -e ".error | test(\"size limit\")" body &&
	test "${up%.*}" -lt 50000000
'

test_expect 'a Content-Length over the limit is 413 with nothing sent' '
	tcp_open c3 &&
	printf "POST /hooks/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n" >&$c3 &&
	timeout 20 head -n 1 <&$c3 >status && tcp_close c3 &&
	grep "^HTTP/1.1 413" status
'

test_expect 'hostile ref $(touch ...) with a space is 400 and runs nothing' '
	rm -f "$T_TRASH/pwned" &&
	gh_push "refs/heads/\$(touch $T_TRASH/pwned)" $SHA1 $SHA2 >h1.json &&
	hook h1.json push d-11 &&
	expect_code 400 && jq -e ".error | test(\"invalid ref\")" body &&
	test ! -e "$T_TRASH/pwned"
'

test_expect 'a ref with a newline is 400' '
	gh_push "refs/heads/main\\nrefs/heads/evil" $SHA1 $SHA2 >h2.json &&
	hook h2.json push d-12 &&
	expect_code 400 && jq -e ".error | test(\"invalid ref\")" body
'

test_expect 'a ref with .. is 400' '
	gh_push "refs/heads/../../etc/passwd" $SHA1 $SHA2 >h3.json &&
	hook h3.json push d-13 &&
	expect_code 400
'

test_expect 'a commit id that is not hex is 400' '
	gh_push refs/heads/main $SHA1 "\$(id)" >h4.json &&
	hook h4.json push d-14 &&
	expect_code 400 && jq -e ".error | test(\"invalid commit\")" body
'

test_expect 'ref a;b is a valid git ref: stored as data, verbatim' '
	gh_push "refs/heads/a;b" $SHA1 4444444444444444444444444444444444444444 >h5.json &&
	hook h5.json push d-15 &&
	expect_code 202 &&
	id=$(jq ".runs[0]" body) && api /api/v1/runs/$id &&
	jq -e ".ref == \"refs/heads/a;b\"" body
'

test_expect 'a branch deletion is 200 ignore with a reason' '
	gh_push refs/heads/main $SHA2 $ZERO true >del.json &&
	hook del.json push d-16 &&
	expect_code 200 &&
	jq -e ".events[0] | .kind == \"ignore\" and .deleted == true and .reason == \"branch deleted\" and .sha == null" body &&
	jq -e ".runs == []" body
'

test_expect 'a push to a branch without trigger is 200 ignore' '
	gh_push refs/heads/dev $SHA1 5555555555555555555555555555555555555555 >dev.json &&
	hook dev.json push d-17 &&
	expect_code 200 &&
	jq -e ".events[0] | .kind == \"ignore\" and (.reason | test(\"no trigger rule\"))" body
'

test_expect 'a ping is 200 and makes no run' '
	printf "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1,\"repository\":{\"full_name\":\"acme/shop\"}}" >ping.json &&
	hook ping.json ping d-18 &&
	expect_code 200 && jq -e ".events[0].kind == \"ping\" and .runs == []" body
'

test_expect 'a pull request closed without merge is 200 ignore' '
	printf "{\"action\":\"closed\",\"number\":7,\"pull_request\":{\"merged\":false,\"merge_commit_sha\":\"$SHA1\",\"base\":{\"ref\":\"main\",\"repo\":{\"full_name\":\"acme/shop\"}}},\"repository\":{\"full_name\":\"acme/shop\"}}" >prc.json &&
	hook prc.json pull_request d-19 &&
	expect_code 200 &&
	jq -e ".events[0] | .kind == \"ignore\" and .reason == \"pull request closed without merge\" and .pr_number == 7" body
'

test_expect 'a merged pull request of a pushed commit joins its run' '
	printf "{\"action\":\"closed\",\"number\":8,\"pull_request\":{\"merged\":true,\"merge_commit_sha\":\"$SHA2\",\"base\":{\"ref\":\"main\",\"repo\":{\"full_name\":\"acme/shop\"}}},\"repository\":{\"full_name\":\"acme/shop\"}}" >prm.json &&
	hook prm.json pull_request d-20 &&
	expect_code 202 &&
	jq -e ".events[0] | .kind == \"merge\" and .target_branch == \"main\" and .ref == \"refs/heads/main\"" body &&
	test "$(jq ".runs[0]" body)" = 1
'

# at_cap CHECK: run CHECK while the cap is full, then free the cap (even
# when CHECK failed, so that later tests are not refused) and wait for it.
at_cap() {
	cap_fill || return 1
	eval "$1"
	at_cap_rc=$?
	cap_free
	test "$at_cap_rc" = 0 && healthz_until 200
}

over_cap() {
	healthz_until 503 && jq -e ".error == \"too many connections\"" body &&
	api /healthz && expect_code 200
}

test_expect 'connections over the cap get 503, and the cap frees up' '
	at_cap over_cap
'

# Without the lingering close, ferryd's close() with the request unread (or
# the request reaching a closed socket) makes the kernel send a reset, and
# cat fails with "Connection reset by peer" instead of reading to the end.
# (The write is in a subshell: against such a server it may get SIGPIPE.)
refused_gently() {
	healthz_until 503 &&
	tcp_open c11 &&
	(printf "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" >&$c11) &&
	sleep 0.2 && timeout 10 cat <&$c11 >refused; rc=$?
	tcp_close c11
	test "$rc" = 0 &&
	grep "^HTTP/1.1 503" refused && tail -n 1 refused | jq -e ".error"
}

test_expect 'a refused connection is half-closed: its request is read, not reset' '
	at_cap refused_gently
'

test_expect 'keep-alive: several requests on one connection' '
	sig=$(sign s3cret push.json) &&
	curl -sS -o /dev/null -o /dev/null -w "%{http_code} %{num_connects}\n" \
		-H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $sig" -H "X-GitHub-Delivery: d-1" \
		--data-binary @push.json "$T_URL/hooks/shop" "$T_URL/hooks/shop" >res &&
	test "$(wc -l <res)" = 2 && test "$(sed -n 2p res)" = "200 0"
'

test_expect '20,000 pipelined requests on one connection are all answered' '
	tcp_open c3 &&
	{ for i in $(seq 19999); do printf "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"; done;
	  printf "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"; } >pipelined &&
	cat pipelined >&$c3 &&
	timeout 60 cat <&$c3 >responses; tcp_close c3 &&
	test "$(grep -c "^HTTP/1.1 200" responses)" = 20000 &&
	curl -sS -o /dev/null -w "%{http_code}" "$T_URL/healthz" >code && expect_code 200
'

test_expect 'a path that is not UTF-8 gets a JSON 404, and ferryd lives on' '
	tcp_open c3 &&
	printf "GET /\377\376 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >&$c3 &&
	timeout 20 cat <&$c3 >resp && tcp_close c3 &&
	grep "^HTTP/1.1 404" resp && tail -n 1 resp | jq -e ".error" &&
	curl -sS -o /dev/null -w "%{http_code}" "$T_URL/healthz" >code && expect_code 200
'

test_expect 'bare LF line endings are refused (no smuggling by ambiguity)' '
	tcp_open c3 &&
	printf "POST /hooks/shop HTTP/1.1\nA: b\n\nContent-Length: 5\r\n\r\nhello" >&$c3 &&
	timeout 20 head -n 1 <&$c3 >status && tcp_close c3 &&
	grep "^HTTP/1.1 400" status
'

test_expect 'a hook for no project is refused before its body is read' '
	tcp_open c3 &&
	printf "POST /hooks/nosuch HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n" >&$c3 &&
	timeout 10 head -n 1 <&$c3 >status && tcp_close c3 &&
	grep "^HTTP/1.1 404" status
'

test_expect 'bodies in flight are capped: the next one gets 503' '
	tcp_open c3 && tcp_open c4 &&
	printf "POST /hooks/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" >&$c3 &&
	printf "POST /hooks/shop HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" >&$c4 &&
	sig=$(sign s3cret push.json) &&
	wait_for "post_d1 503" &&
	post /hooks/shop push.json -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $sig" &&
	expect_code 503 && jq -e ".error | test(\"in flight\")" body &&
	tcp_close c3 && tcp_close c4 &&
	wait_for "post_d1 200"
'

test_expect 'HTTP/1.0 keep-alive is answered with Connection: keep-alive' '
	curl -sS -0 -H "Connection: keep-alive" -D hdrs -o /dev/null "$T_URL/healthz" &&
	grep -i "^Connection: keep-alive" hdrs &&
	curl -sS -D hdrs2 -o /dev/null -H "Connection: keep-alive, close" "$T_URL/healthz" &&
	grep -i "^Connection: close" hdrs2
'

test_expect 'everything accepted before is still there' '
	test "$(runs_count)" = 2
'

# The request asks for "100 Continue", which ferryd sends once it has read
# the head and waits for the body: then the request is surely in flight
# when SIGTERM comes, and the rest of it is sent only once ferryd has
# begun to stop.
test_expect 'SIGTERM waits for a request that is still arriving' '
	gh_push refs/heads/main $SHA1 6666666666666666666666666666666666666666 >late.json &&
	sig=$(sign s3cret late.json) && len=$(wc -c <late.json) &&
	tcp_open c3 &&
	printf "POST /hooks/shop HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: late\r\nX-Hub-Signature-256: %s\r\nExpect: 100-continue\r\nContent-Length: %s\r\n\r\n" "$sig" "$len" >&$c3 &&
	head -c 100 late.json >&$c3 &&
	read -t 20 -r cont <&$c3 && echo "$cont" && test "${cont%?}" = "HTTP/1.1 100 Continue" &&
	read -t 20 -r blank <&$c3 && test "$blank" = "$(printf "\r")" &&
	kill -TERM $T_PID &&
	wait_for "grep -q \"signal 15: stopping\" ferryd.log" &&
	tail -c +101 late.json >&$c3 &&
	timeout 20 cat <&$c3 >resp; tcp_close c3 &&
	grep "^HTTP/1.1 202" resp && grep -i "^Connection: close" resp &&
	wait $T_PID && T_PID=
'

# With a daemon of its own: a deadline this short would cut off the other
# tests' idle connections on a slow machine.
test_expect 'a slow client is cut off at the request deadline with 408' '
	sed -i "s/request_timeout: 30s/request_timeout: 1s/" ferry.yaml &&
	start_daemon &&
	tcp_open c3 &&
	printf "POST /hooks/shop HTTP/1.1\r\nHost: x\r\n" >&$c3 &&
	timeout 20 head -n 1 <&$c3 >status && tcp_close c3 &&
	grep "^HTTP/1.1 408" status &&
	stop_daemon
'

test_done
