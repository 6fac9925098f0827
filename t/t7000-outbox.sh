#!/bin/bash
# t7000-outbox: the durable outbox (src/outbox.c), driven by
# t/helper/outbox-probe, delivering to t/helper/hook-standin, a stand-in
# for Slack's and Mattermost's incoming webhooks and a generic webhook
# receiver (the real services cannot be reached here). The stand-in
# records every request; it is made to fail through a control file or the
# URL's query, and made "down" by killing it.

. "$T_SRCDIR/lib.sh"

DB=$T_TRASH/outbox.db
SECRET=s3cr3t-$RANDOM$RANDOM
SPID=
PPID_RUN=

probe() {
	"$T_HELPER/outbox-probe" "$DB" "$@"
}

# standin_start: (re)start the stand-in, on the same port once it has one.
standin_start() {
	rm -f standin.port
	python3 "$T_SRCDIR/helper/hook-standin" --log hook.log \
		--port-file standin.port --control ctl \
		${PORT:+--port "$PORT"} 2>>standin.err &
	SPID=$!
	wait_for 'test -s standin.port' 10 &&
	PORT=$(cut -d" " -f1 standin.port) &&
	URL=http://127.0.0.1:$PORT
}

standin_kill() {
	kill -KILL "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
	return 0
}
trap 'standin_kill; test -z "$PPID_RUN" || kill -KILL "$PPID_RUN" 2>/dev/null' EXIT

# row ID: the message's row as listed.
row() {
	probe list >list.out && jq -c "select(.id == $1)" list.out
}

# field ID KEY: one field of the message's row.
field() {
	row "$1" | jq -r ".$2"
}

# requests ID [STATUS]: how many requests the stand-in had for message ID
# (only those it answered with STATUS, when given).
requests() {
	jq -s "[.[] | select(.headers[\"X-Ferry-Message\"] == \"$1\")
		${2:+| select(.status == $2)}] | length" hook.log
}

# exits N CMD...: CMD exits with status N.
exits() {
	ex_want=$1
	shift
	"$@"
	test $? -eq "$ex_want"
}

# run_bg ARGS: a delivering probe in the background; PPID_RUN is the
# probe's own pid (not a subshell's), so that kill -9 reaches it.
run_bg() {
	"$T_HELPER/outbox-probe" "$DB" run "$@" >run.out 2>run.err &
	PPID_RUN=$!
}

run_wait() {
	wait "$PPID_RUN"
	rw_rc=$?
	PPID_RUN=
	return $rw_rc
}

test_expect 'setup: the webhook stand-in' '
	: >hook.log &&
	standin_start
'

test_expect 'add stores messages without sending them' '
	printf "{\"text\":\"deploy of web to prod succeeded\"}" >slack.json &&
	printf "{\"event\":\"release\",\"id\":7,\"note\":\"caf\xc3\xa9\"}" >hook.json &&
	printf "{\"state\":\"success\",\"context\":\"ferry/build\"}" >status.json &&
	S=$(probe add slack "$URL/services/T0/B0/XYZ" @slack.json) &&
	W=$(probe add webhook "$URL/hooks/generic" @hook.json --auth hmac) &&
	G=$(probe add status "$URL/repos/acme/web/statuses/abc" @status.json --auth bearer:tok123) &&
	P=$(probe add webhook "$URL/put" "plain text" --method PUT --content-type "text/plain; charset=utf-8") &&
	test "$W" -gt "$S" && test "$G" -gt "$W" && test "$P" -gt "$G" &&
	probe list >list.out &&
	test "$(jq -s "[.[] | select(.state == \"pending\" and .attempts == 0)] | length" list.out)" = 4 &&
	test ! -s hook.log
'

test_expect 'run delivers each message once, with method, type, body and auth' '
	probe run --until-empty --seconds 20 --secret "$SECRET" >run.out 2>run.err &&
	test "$(wc -l <hook.log)" = 4 &&
	jq -c "select(.headers[\"X-Ferry-Message\"] == \"$S\")" hook.log >s.rec &&
	jq -e ".method == \"POST\" and .path == \"/services/T0/B0/XYZ\" and .status == 200" s.rec &&
	jq -e ".headers[\"Content-Type\"] == \"application/json\"" s.rec &&
	jq -e ".headers | has(\"Authorization\") or has(\"X-Ferry-Signature\") | not" s.rec &&
	test "$(jq -r .body s.rec)" = "$(cat slack.json)" &&
	jq -c "select(.headers[\"X-Ferry-Message\"] == \"$W\")" hook.log >w.rec &&
	jq -j .body w.rec >w.body && cmp w.body hook.json &&
	test "$(jq -r ".headers[\"X-Ferry-Signature\"]" w.rec)" = "$("$T_HELPER/hmac-sign" "$SECRET" hook.json)" &&
	jq -c "select(.headers[\"X-Ferry-Message\"] == \"$G\")" hook.log >g.rec &&
	jq -e ".headers.Authorization == \"Bearer tok123\" and .path == \"/repos/acme/web/statuses/abc\"" g.rec &&
	jq -c "select(.headers[\"X-Ferry-Message\"] == \"$P\")" hook.log >p.rec &&
	jq -e ".method == \"PUT\" and .body == \"plain text\"" p.rec &&
	jq -e ".headers[\"Content-Type\"] == \"text/plain; charset=utf-8\"" p.rec &&
	probe list >list.out &&
	test "$(jq -s "[.[] | select(.state == \"sent\" and .attempts == 1 and .sent_at > 0 and .last_error == null)] | length" list.out)" = 4 &&
	grep -q "^ferry_outbox_sent_total 4$" run.out &&
	grep -q "^ferry_outbox_pending 0$" run.out
'

test_expect 'a signature check on the receiver side would catch a wrong secret' '
	bad=$("$T_HELPER/hmac-sign" wrong hook.json) &&
	test -n "$bad" &&
	test "$(jq -r ".headers[\"X-Ferry-Signature\"]" w.rec)" != "$bad"
'

test_expect 'the secret and the bodies appear in neither the database nor the output' '
	for f in "$DB"*; do ! grep -a -q "$SECRET" "$f" || return 1; done &&
	! grep -q "$SECRET" run.out run.err list.out &&
	! grep -q "succeeded\|XYZ\|tok123" run.out run.err &&
	grep -q "outbox $S (slack, 127.0.0.1:$PORT): sent, HTTP 200" run.err &&
	! grep -q "body\|services" list.out
'

test_expect 'a second run sends nothing again' '
	probe run --until-empty --seconds 5 >run.out 2>run.err &&
	test "$(wc -l <hook.log)" = 4 &&
	grep -q "^ferry_outbox_sent_total 0$" run.out
'

test_expect 'receiver answering 503 for a while: each message arrives once after' '
	echo 503 >ctl &&
	A=$(probe add mattermost "$URL/hooks/mm1" "{\"text\":\"a\"}") &&
	B=$(probe add slack "$URL/services/T1/B1/abc" "{\"text\":\"b\"}") &&
	run_bg --until-empty --seconds 30 --max-delay 300 &&
	wait_for "test \$(requests $A 503) -ge 2 && test \$(requests $B 503) -ge 2" &&
	rm ctl &&
	run_wait &&
	test "$(requests "$A" 200)" = 1 && test "$(requests "$B" 200)" = 1 &&
	test "$(field "$A" state)" = sent && test "$(field "$B" state)" = sent &&
	test "$(field "$A" attempts)" = "$(requests "$A")" &&
	test "$(field "$B" attempts)" = "$(requests "$B")" &&
	test "$(field "$A" attempts)" -ge 3 &&
	grep -q "^ferry_outbox_retries_total [1-9]" run.out &&
	grep -q "outbox $A (mattermost, 127.0.0.1:$PORT): attempt 1 failed: HTTP 503; again in" run.err
'

test_expect '429 with Retry-After: the next attempt waits as long as asked' '
	R=$(probe add webhook "$URL/ra?fail=429&times=1&retry_after=2" "{}") &&
	probe run --until-empty --seconds 20 --max-delay 5000 >run.out 2>run.err &&
	test "$(requests "$R")" = 2 && test "$(requests "$R" 200)" = 1 &&
	jq -s "[.[] | select(.headers[\"X-Ferry-Message\"] == \"$R\") | .at] | .[1] - .[0] >= 1.9" hook.log | grep -q true
'

test_expect 'receiver down: messages arrive after it is started again' '
	standin_kill &&
	A=$(probe add slack "$URL/services/down/1" "{\"text\":\"c\"}") &&
	B=$(probe add webhook "$URL/hooks/down2" "{\"n\":2}" --auth hmac) &&
	run_bg --until-empty --seconds 30 --max-delay 300 --secret "$SECRET" &&
	wait_for "test \"\$(field $A attempts)\" -ge 2 && test \"\$(field $B attempts)\" -ge 2" &&
	field "$A" last_error >err.txt &&
	grep -qi "connect\|refused" err.txt &&
	standin_start &&
	run_wait &&
	test "$(requests "$A")" = 1 && test "$(requests "$B")" = 1 &&
	test "$(field "$A" state)" = sent && test "$(field "$B" state)" = sent &&
	test "$(field "$B" last_error)" = null
'

test_expect 'probe killed with messages pending: a new run delivers them' '
	standin_kill &&
	A=$(probe add slack "$URL/services/crash/1" "{\"text\":\"d\"}") &&
	B=$(probe add slack "$URL/services/crash/2" "{\"text\":\"e\"}") &&
	run_bg --seconds 30 --max-delay 200 &&
	wait_for "test \"\$(field $A attempts)\" -ge 1 && test \"\$(field $B attempts)\" -ge 1" &&
	kill -KILL "$PPID_RUN" && { run_wait; true; } &&
	test "$(field "$A" state)" = pending && test "$(field "$B" state)" = pending &&
	standin_start &&
	probe run --until-empty --seconds 20 >run.out 2>run.err &&
	test "$(requests "$A")" = 1 && test "$(requests "$B")" = 1 &&
	test "$(field "$A" state)" = sent && test "$(field "$B" state)" = sent
'

test_expect '404: dead at once, with the status and a clean start of the answer' '
	D=$(probe add slack "$URL/services/gone?fail=404" "{\"text\":\"f\"}") &&
	probe run --until-empty --seconds 20 --max-delay 100 >run.out 2>run.err &&
	test "$(requests "$D")" = 1 &&
	row "$D" >d.row &&
	jq -e ".state == \"dead\" and .attempts == 1" d.row &&
	jq -e ".last_error | startswith(\"HTTP 404: no_service \")" d.row &&
	jq -e ".last_error | explode | map(select(. < 32 or . == 127)) | length == 0" d.row &&
	jq -e ".last_error | length == 210" d.row &&
	grep -q "^ferry_outbox_dead_total 1$" run.out &&
	grep -q "outbox $D (slack, 127.0.0.1:$PORT): given up after 1 attempt in [0-9]* s: HTTP 404" run.err &&
	! grep -q no_service run.err
'

test_expect 'max_attempts reached: dead, after exactly that many requests' '
	M=$(probe add webhook "$URL/always?fail=503" "{}") &&
	probe run --until-empty --seconds 20 --max-attempts 3 --max-delay 100 >run.out 2>run.err &&
	test "$(requests "$M")" = 3 &&
	row "$M" >m.row &&
	jq -e ".state == \"dead\" and .attempts == 3 and .last_error == \"HTTP 503: busy\"" m.row &&
	grep -q "given up after 3 attempts in [0-9]* s: HTTP 503" run.err
'

# By default a message is retried for a day, however many attempts that
# takes; --max-age shortens the day to 2 s. The last attempt falls on the
# deadline (not one backoff past it), and nothing is sent after it.
test_expect 'retried until its age limit, not for a number of attempts' '
	G=$(probe add webhook "$URL/always?fail=503" "{}") &&
	probe run --until-empty --seconds 20 --max-age 2000 --max-delay 300 >run.out 2>run.err &&
	n=$(requests "$G") && test "$n" -ge 4 &&
	row "$G" >g.row &&
	jq -e ".state == \"dead\" and .attempts == $n and .last_error == \"HTTP 503: busy\"" g.row &&
	grep -q "outbox $G (webhook, 127.0.0.1:$PORT): given up after $n attempts in [23] s: HTTP 503" run.err
'

test_expect 'an auth reference that fails: dead without any request' '
	X=$(probe add webhook "$URL/hooks/x" "{}" --auth bad) &&
	Y=$(probe add webhook "$URL/hooks/y" "{}" --auth hmac) &&
	probe run --until-empty --seconds 10 >run.out 2>run.err &&
	test "$(requests "$X")" = 0 && test "$(requests "$Y")" = 0 &&
	row "$X" >x.row && row "$Y" >y.row &&
	jq -e ".state == \"dead\" and (.last_error | startswith(\"auth: unknown auth reference\"))" x.row &&
	jq -e ".state == \"dead\" and .last_error == \"auth: no secret given\"" y.row
'

test_expect 'rows that end without a request do not hold the slots: the ones behind go' '
	B1=$(probe add webhook "$URL/hooks/b1" "{}" --auth bad) &&
	B2=$(probe add webhook "$URL/hooks/b2" "{}" --auth bad) &&
	G=$(probe add webhook "$URL/hooks/g" "{}") &&
	probe run --until-empty --seconds 5 --max-inflight 2 >run.out 2>run.err &&
	test "$(field "$B1" state)" = dead && test "$(field "$B2" state)" = dead &&
	test "$(field "$G" state)" = sent && test "$(requests "$G")" = 1
'

test_expect 'dedupe: a second message with the same key is the first' '
	K1=$(probe add status "$URL/statuses/sha1" "{\"state\":\"pending\"}" --dedupe run-9-build) &&
	K2=$(probe add status "$URL/statuses/sha1" "{\"state\":\"other\"}" --dedupe run-9-build) &&
	K3=$(probe add status "$URL/statuses/sha1" "{\"state\":\"pending\"}" --dedupe run-9-test) &&
	test "$K1" = "$K2" && test "$K3" != "$K1" &&
	probe run --until-empty --seconds 10 >run.out 2>run.err &&
	test "$(requests "$K1")" = 1 && test "$(requests "$K3")" = 1 &&
	jq -c "select(.headers[\"X-Ferry-Message\"] == \"$K1\")" hook.log | jq -e ".body == \"{\\\"state\\\":\\\"pending\\\"}\"" &&
	K4=$(probe add status "$URL/statuses/sha1" "{}" --dedupe run-9-build) &&
	test "$K4" = "$K1" &&
	probe run --until-empty --seconds 10 >run.out 2>run.err &&
	test "$(requests "$K1")" = 1
'

test_expect 'never more than max_inflight on the wire' '
	: >hook.log &&
	for i in 1 2 3 4 5 6; do
		probe add webhook "$URL/slow/$i?slow=0.3" "{}" >/dev/null || return 1
	done &&
	probe run --until-empty --seconds 20 --max-inflight 2 >run.out 2>run.err &&
	test "$(wc -l <hook.log)" = 6 &&
	test "$(jq -s "map(.concurrent) | max" hook.log)" = 2
'

test_expect 'bad messages are refused by add and not stored' '
	n=$(probe list | wc -l) &&
	printf "\xff\xfe" >bad.body &&
	exits 1 probe add webhook "ftp://127.0.0.1/x" "{}" &&
	exits 1 probe add webhook "file:///etc/passwd" "{}" &&
	exits 1 probe add webhook "http://127.0.0.1/a b" "{}" &&
	exits 1 probe add webhook "$URL/x" "{}" --method FROB &&
	exits 1 probe add webhook "$URL/x" @bad.body &&
	exits 1 probe add webhook "$URL/x" "{}" --content-type "$(printf "a\r\nX-Evil: 1")" &&
	test "$(probe list | wc -l)" = "$n" &&
	probe list --state pending >p.out && test ! -s p.out
'

test_expect 'usage errors exit 2' '
	exits 2 probe frob &&
	exits 2 probe add slack &&
	exits 2 probe run --seconds &&
	exits 2 probe list --state
'

test_done
