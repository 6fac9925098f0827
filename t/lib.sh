# t/lib.sh: sourced by every t*.sh test. TAP output, a trash directory per
# script, and helpers that start the real ferryd on loopback.
#
# Environment (set by `make check`): FERRYD, FERRY, T_SRCDIR, T_BUILDDIR,
# T_HELPER, T_CORPUS.

set -u
: "${T_SRCDIR:?run through make check, or set T_SRCDIR}"
: "${T_BUILDDIR:=$T_SRCDIR}"
: "${FERRYD:=$T_BUILDDIR/../src/ferryd}"
: "${FERRY:=$T_BUILDDIR/../src/ferry}"
: "${T_HELPER:=$T_BUILDDIR/helper}"

T_NAME=$(basename "$0" .sh)
T_TRASH="$T_BUILDDIR/trash.$T_NAME"
rm -rf "$T_TRASH" && mkdir -p "$T_TRASH" && cd "$T_TRASH" || exit 1
T_COUNT=0
T_FAILED=0
T_PID=
T_URL=

# say_fail: show the test's output and the daemon's log tail as comments.
# On standard error, which prove shows without -v: CI logs then say why.
t_show_logs() {
	test -s out && sed 's/^/#   out: /' out | tail -n 20 >&2
	test -s ferryd.log && sed 's/^/#   ferryd: /' ferryd.log | tail -n 20 >&2
	return 0
}

# t_body BODY: BODY in a function of its own, so that a `return 1` in it
# (from a loop, say) fails the test instead of returning from test_expect
# before it says "not ok".
t_body() {
	eval "$1"
}

# test_expect TITLE BODY: run BODY (an &&-chain) in this shell.
test_expect() {
	T_COUNT=$((T_COUNT + 1))
	: >out
	if t_body "$2" >>out 2>&1; then
		echo "ok $T_COUNT - $1"
	else
		echo "not ok $T_COUNT - $1"
		T_FAILED=$((T_FAILED + 1))
		t_show_logs
	fi
}

# test_skip TITLE REASON
test_skip() {
	T_COUNT=$((T_COUNT + 1))
	echo "ok $T_COUNT - $1 # SKIP $2"
}

test_done() {
	stop_daemon_quiet
	echo "1..$T_COUNT"
	if test "$T_FAILED" -eq 0; then
		cd "$T_BUILDDIR" && rm -rf "$T_TRASH"
		exit 0
	fi
	exit 1
}

# write_config: a ferry.yaml on loopback port 0 with a ready file; stdin
# is appended (projects and so on). Runs are only queued unless the test
# sets T_EXEC to an executor block, e.g. T_EXEC="{concurrency: 2}".
write_config() {
	{
		echo "listen: [\"127.0.0.1:0\"]"
		echo "state_dir: $T_TRASH/state"
		echo "ready_file: $T_TRASH/ready"
		echo "executor: ${T_EXEC:-{concurrency: 0\}}"
		cat
	} >ferry.yaml
}

# wait_for CMD [SECONDS]: evaluate CMD until it succeeds, for at most
# SECONDS (default 20). Tests poll for the state they check (a log line, a
# file, an API answer, a process gone) instead of sleeping a fixed time:
# under the sanitizers on a loaded machine ferryd is many times slower than
# a plain build, while a poll costs the fast path only milliseconds.
wait_for() {
	wf_end=$(($(date +%s) + ${2:-20}))
	while ! eval "$1"
	do
		if test "$(date +%s)" -ge "$wf_end"; then
			echo "wait_for: gave up after ${2:-20} s: $1" >&2
			return 1
		fi
		sleep 0.05
	done
}

# start_daemon [ARGS]: run ferryd on ./ferry.yaml and wait for its ready
# file ("host:port"), for at most 20 seconds.
start_daemon() {
	rm -f "$T_TRASH/ready"
	"$FERRYD" -v -c "$T_TRASH/ferry.yaml" "$@" >>ferryd.log 2>&1 &
	T_PID=$!
	sd_end=$(($(date +%s) + 20))
	while ! test -s "$T_TRASH/ready"
	do
		if ! kill -0 "$T_PID" 2>/dev/null; then
			T_PID=
			echo "ferryd died at start-up"
			return 1
		fi
		test "$(date +%s)" -lt "$sd_end" ||
			{ echo "ferryd not ready after 20 s"; return 1; }
		sleep 0.05
	done
	T_URL="http://$(head -n 1 "$T_TRASH/ready")"
	T_SOCK="$T_TRASH/state/api.sock"
}

# stop_daemon: SIGTERM and expect a clean exit 0 (catches shutdown bugs and
# sanitizer reports).
stop_daemon() {
	test -n "$T_PID" || return 0
	kill -TERM "$T_PID" 2>/dev/null
	wait "$T_PID"
	rc=$?
	T_PID=
	test "$rc" -eq 0 || { echo "ferryd exited $rc"; return 1; }
}

stop_daemon_quiet() {
	test -n "$T_PID" || return 0
	kill -KILL "$T_PID" 2>/dev/null
	wait "$T_PID" 2>/dev/null
	T_PID=
}

# hup_daemon [--may-fail]: SIGHUP ferryd and wait until it has taken the
# new configuration or refused it (its log says which); a refusal fails,
# unless --may-fail.
hup_daemon() {
	hd_n=$(grep -c "configuration reloaded\|reload failed" ferryd.log)
	kill -HUP "$T_PID" &&
	wait_for 'test "$(grep -c "configuration reloaded\|reload failed" ferryd.log)" -gt "$hd_n"' &&
	# A reload that failed is the test's failure, said here (unless the
	# test asked for it: hup_daemon --may-fail).
	{ test "${1:-}" = --may-fail ||
	  ! grep "configuration reloaded\|reload failed" ferryd.log | tail -n 1 | grep "reload failed"; }
}

# kill9_daemon: the crash case.
kill9_daemon() {
	kill -KILL "$T_PID" 2>/dev/null
	wait "$T_PID" 2>/dev/null
	T_PID=
	return 0
}

trap 'stop_daemon_quiet' EXIT

# sign SECRET FILE: GitHub-style "sha256=<hex>" of FILE's bytes.
sign() {
	"$T_HELPER/hmac-sign" "$1" "$2"
}

# post PATH FILE [curl args...]: POST FILE's bytes; status to ./code, body
# to ./body.
post() {
	p=$1 f=$2
	shift 2
	curl -sS -o body -w '%{http_code}' -X POST --data-binary @"$f" \
		-H 'Content-Type: application/json' "$@" "$T_URL$p" >code
}

# api PATH [CURL-ARGS]: a request (GET unless the arguments say otherwise)
# over the API's UNIX socket; body to ./body, status to ./code.
api() {
	api_path=$1
	shift
	curl -sS -o body -w '%{http_code}' --unix-socket "$T_SOCK" "$@" \
		"http://ferry$api_path" >code
}

# expect_code N: the last request's status was N.
expect_code() {
	c=$(cat code)
	test "$c" = "$1" || { echo "status $c, want $1"; cat body; return 1; }
}

# free_port: a TCP port that is free on 127.0.0.1 right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# registry_start [HTPASSWD]: a real docker-registry on 127.0.0.1, storage in
# $T_TRASH/reg, with Basic auth when an htpasswd file is given, and sending
# its notifications to REG_NOTIFY_URL (with "Bearer $REG_NOTIFY_SECRET")
# when that is set. Sets REG (host:port) and REG_PID; returns 1 with REASON
# set when it cannot start.
registry_start() {
	test -n "${REG:-}" || REG=127.0.0.1:$(free_port)
	{
		echo "version: 0.1"
		echo "log: {level: error}"
		echo "storage: {filesystem: {rootdirectory: $T_TRASH/reg}, delete: {enabled: true}}"
		echo "http: {addr: $REG}"
		test -z "${1:-}" || echo "auth: {htpasswd: {realm: ferry-test, path: $1}}"
		# Its own notifications, to ferryd, when the test asks for them.
		if test -n "${REG_NOTIFY_URL:-}"
		then
			echo "notifications:"
			echo "  endpoints:"
			echo "    - name: ferry"
			echo "      url: $REG_NOTIFY_URL"
			echo "      headers: {Authorization: [\"Bearer $REG_NOTIFY_SECRET\"]}"
			echo "      timeout: 2s"
			echo "      threshold: 3"
			echo "      backoff: 1s"
			echo "      ignoredmediatypes: [application/octet-stream]"
		fi
	} >reg.yml
	docker-registry serve reg.yml >>registry.log 2>&1 &
	REG_PID=$!
	rs_end=$(($(date +%s) + 20))
	while test "$(date +%s)" -lt "$rs_end"
	do
		case $(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/") in
		200|401) return 0;;
		esac
		kill -0 "$REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	REASON="docker-registry did not start: $(tail -n 1 registry.log)"
	return 1
}

registry_stop() {
	test -n "${REG_PID:-}" && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
	REG_PID=
	return 0
}

# deliver_push PROJECT REF SHA: a signed GitHub push (secret "s3cret"); the
# run's id on stdout.
deliver_push() {
	printf '{"ref":"%s","before":"0000000000000000000000000000000000000000","after":"%s","repository":{"full_name":"acme/%s"}}' "$2" "$3" "$1" >push.json &&
	s=$(sign s3cret push.json) &&
	post "/hooks/$1" push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-$RANDOM$RANDOM" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && jq -r ".runs[0]" body
}

# wait_run_end ID: until the run has succeeded or failed (60 s); its JSON
# is in ./body.
wait_run_end() {
	for _ in $(seq 600); do
		api "/api/v1/runs/$1" && case $(jq -r .state body) in success|failed) return 0;; esac
		sleep 0.1
	done
	return 1
}
