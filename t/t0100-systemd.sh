#!/bin/sh
# t0100-systemd: readiness and shutdown are reported to systemd. The
# notification socket is a stand-in (systemd is not PID 1 here): a datagram
# socket bound by t/helper/notify-listen, exported as NOTIFY_SOCKET.

. "$T_SRCDIR/lib.sh"

test_expect 'setup' '
	write_config </dev/null &&
	"$T_HELPER/notify-listen" "$T_TRASH/notify.sock" >notes &
	NPID=$! &&
	wait_for "grep -q listening notes"
'

test_expect 'READY=1 is sent once ferryd listens' '
	NOTIFY_SOCKET="$T_TRASH/notify.sock" start_daemon &&
	wait_for "grep -q READY=1 notes" &&
	grep "READY=1|STATUS=listening on 127.0.0.1:" notes &&
	curl -sS "$T_URL/healthz" >/dev/null
'

test_expect 'SIGTERM sends STOPPING=1 and exits 0' '
	stop_daemon &&
	wait $NPID &&
	grep -x "STOPPING=1" notes
'

test_expect 'SIGHUP reloads the configuration and re-sends READY=1' '
	"$T_HELPER/notify-listen" "$T_TRASH/notify.sock" >notes2 &
	NPID=$! &&
	wait_for "grep -q listening notes2" &&
	NOTIFY_SOCKET="$T_TRASH/notify.sock" start_daemon &&
	printf "projects:\n  - {name: late, repo: r, provider: github, secret: x}\n" >>ferry.yaml &&
	curl -sS -o body -w "%{http_code}" -X POST -d "{}" "$T_URL/hooks/late" >code &&
	expect_code 404 &&
	hup_daemon && grep "configuration reloaded: 1 projects" ferryd.log &&
	wait_for "grep -qx READY=1 notes2" &&
	grep -B 1 -x READY=1 notes2 | grep -qx RELOADING=1 &&
	curl -sS -o body -w "%{http_code}" -X POST -d "{}" "$T_URL/hooks/late" >code &&
	expect_code 401 &&
	stop_daemon && wait $NPID
'

test_expect 'a broken configuration on SIGHUP keeps the old one' '
	start_daemon &&
	echo "bogus_key: 1" >>ferry.yaml &&
	hup_daemon --may-fail &&
	grep "reload failed, keeping the old configuration" ferryd.log &&
	grep "unknown key \"bogus_key\"" ferryd.log &&
	curl -sS -o body -w "%{http_code}" -X POST -d "{}" "$T_URL/hooks/late" >code &&
	expect_code 401 &&
	stop_daemon
'

test_expect 'systemd/ferryd.service is Type=notify and passes systemd-analyze' '
	grep -x "Type=notify" "$T_SRCDIR/../systemd/ferryd.service" &&
	if command -v systemd-analyze >/dev/null 2>&1; then
		systemd-analyze verify "$T_SRCDIR/../systemd/ferryd.service" >sa 2>&1 || true;
		! grep -i "unknown\|invalid\|failed to parse" sa;
	fi
'

test_done
