#!/bin/bash
# t3400-isolation: a stage is code from whoever can push. Under
# executor.isolation (auto, the default, and namespaces) it cannot read
# ferryd's secret files, systemd credentials, the database or other
# projects' mirrors, nor talk to the API's UNIX socket, nor see ferryd's
# process or read its memory, nor lift the covers (even as root inside);
# it keeps its worktree, $HOME, $FERRY_OUTPUT, the registry auth
# file, its project's mirror (read-only) and the secrets configured for it.
# With isolation: none the same stage reaches all of it, which shows that
# the probes can see a leak.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

if ! unshare -Urm true 2>/dev/null; then
	echo "1..0 # SKIP user namespaces are not available here"
	exit 0
fi

# config [MODE [WORK_DIR]]: ferry.yaml with executor.isolation MODE (empty:
# the default) and executor.work_dir WORK_DIR.
config() {
	iso=${1:+, isolation: $1}${2:+, work_dir: $2}
	T_EXEC="{concurrency: 2, stage_timeout: 60s$iso}" write_config <<-EOF
	registries:
	  - {host: "127.0.0.1:1", username: bot, password_file: etc/registry-password}
	  - {host: "127.0.0.1:2", docker_config: dockercfg/config.json, projects: [other]}
	projects:
	  - name: shop
	    repo: file://$T_TRASH/git/shop.git
	    provider: github
	    secret_file: etc/shop-hook
	    env: {T: "$T_TRASH"}
	    secrets: {API_KEY: etc/api-key}
	  - name: other
	    repo: file://$T_TRASH/git/other.git
	    provider: github
	    secret_credential: other-hook
	EOF
}

# run_shop: a push of shop's main; waits for the end, the run's id in ./id.
run_shop() {
	(cd work && $GIT commit -q --allow-empty -m again && git push -q origin HEAD:refs/heads/main) &&
	deliver_push shop refs/heads/main "$(git -C work rev-parse HEAD)" >id &&
	wait_run_end "$(cat id)" && jq -e '.state == "success"' body
}

# write_probe: the stage. Each probe says LEAK when it got at something of
# ferryd's (SAFE when not), or OK when what a stage needs works.
write_probe() {
	cat <<-\EOF
	leak() {
		if (eval "$2") >/dev/null 2>&1; then echo "LEAK $1"; else echo "SAFE $1"; fi
	}
	ok() {
		if (eval "$2") >/dev/null 2>&1; then echo "OK $1"; else echo "BROKEN $1"; fi
	}
	leak secret-file 'grep -q s3cret "$T/etc/shop-hook"'
	leak credential 'grep -q other-hook-secret "$T/creds/other-hook"'
	leak registry-password 'grep -q registry-pw "$T/etc/registry-password"'
	leak docker-config 'grep -q auths "$T/dockercfg/config.json"'
	leak config 'grep -q secret_file "$T/ferry.yaml"'
	leak database 'head -c 16 "$T/state/ferry.db" | grep -q "SQLite format"'
	leak mirrors 'ls "$T/state/mirrors" | grep -q other'
	leak api-socket 'curl -sf --unix-socket "$T/state/api.sock" http://ferry/api/v1/runs'
	leak ferryd-process 'for p in /proc/[0-9]*; do test "$(cat $p/comm)" = ferryd && exit 0; done; exit 1'
	ok memscan-works 'python3 memscan.py control'
	leak memory 'python3 memscan.py'
	leak kernel-knobs 'umount /proc/sys; mount -o remount,bind,rw /proc/sys; h=$(cat /proc/sys/kernel/hostname) && echo "$h" >/proc/sys/kernel/hostname'
	leak sysfs 'mount -o remount,bind,rw /sys; f=$(find /sys/kernel/mm /sys/module -maxdepth 3 -type f -user 0 -perm -u=w 2>/dev/null | head -n 1) && test -n "$f" && python3 -c "import os, sys; os.open(sys.argv[1], os.O_WRONLY)" "$f"'
	cat >"$HOME/lift.sh" <<-\LIFT
	# The control: in this context, umount works on a mount of our own,
	# so a cover that stays on stays for being locked. Exit 2 if not.
	mkdir -p "$HOME/own-mount" && mount -t tmpfs own "$HOME/own-mount" &&
	    mountpoint -q "$HOME/own-mount" && umount "$HOME/own-mount" &&
	    ! mountpoint -q "$HOME/own-mount" || exit 2
	umount -l "$T/etc" "$T/state"
	grep -q s3cret "$T/etc/shop-hook" || test -e "$T/state/ferry.db"
	LIFT
	# As what the stage is, and as root of a user namespace of its own.
	for u in "unshare -m" "unshare -Urm"; do $u sh "$HOME/lift.sh" 2>/dev/null; echo $? >>"$HOME/lift.rc"; done
	ok umount-works 'grep -qx -e 0 -e 1 "$HOME/lift.rc"'
	leak uncover 'grep -qx 0 "$HOME/lift.rc"'
	rm -f "$HOME/lift.rc"
	ok worktree 'test -f "$FERRY_WORKTREE/README" && echo built >"$FERRY_WORKTREE/built" && test "$(pwd -P)" = "$(cd "$FERRY_WORKTREE" && pwd -P)"'
	ok home 'echo hi >"$HOME/.probe" && test "$(cat "$HOME/.probe")" = hi'
	ok secret-env 'test "$API_KEY" = hunter2-api-key'
	ok output 'echo wrote=yes >>"$FERRY_OUTPUT"'
	ok gitdir 'test -n "$(git --git-dir "$FERRY_GIT_DIR" rev-list --all -n 1)"'
	ok gitdir-readonly '! touch "$FERRY_GIT_DIR/probe"'
	ok regauth 'grep -q auths "$FERRY_REGISTRY_AUTH"'
	ok no-other-run '! test -e "$HOME/work/99.1"'
	EOF
}

# write_memscan: look for ferryd's secrets in the memory of every other
# process the stage can see (ferryd's, or a fork of it).
write_memscan() {
	cat <<-\EOF
	import os, re, subprocess, sys
	# "control": the same scan finds a marker in a child of our own, so
	# a scan that finds nothing found nothing for want of access, not of
	# a working scan. The marker is whole only in the child's memory.
	control = sys.argv[1:] == ["control"]
	marker = ("ctl-marker-" + str(31337)).encode()
	pids = filter(str.isdigit, os.listdir("/proc"))
	if control:
	    child = subprocess.Popen([sys.executable, "-c", "import sys; m = sys.argv[1] + str(31337); print(len(m), flush=True); sys.stdin.read()", "ctl-marker-"],
	                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
	    child.stdout.readline()
	    pids = [str(child.pid)]
	me = {os.getpid(), os.getppid()}
	for pid in pids:
	    if int(pid) in me:
	        continue
	    try:
	        maps = open("/proc/%s/maps" % pid).read().splitlines()
	        mem = open("/proc/%s/mem" % pid, "rb", 0)
	    except OSError:
	        continue
	    for line in maps:
	        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
	        if not m:
	            continue
	        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
	        try:
	            mem.seek(lo)
	            data = mem.read(hi - lo)
	        except (OSError, OverflowError, ValueError):
	            continue
	        if control and marker in data:
	            sys.exit(0)
	        if not control and (b"other-hook-secret-99" in data or b"registry-pw-77" in data):
	            sys.exit(0)
	sys.exit(1)
	EOF
}

probe_log() {
	cat "state/logs/$(cat id)/probe.log"
}

test_expect 'setup: two projects, secrets in files and a credential' '
	mkdir git etc creds &&
	echo s3cret >etc/shop-hook && echo hunter2-api-key >etc/api-key &&
	echo registry-pw-77 >etc/registry-password &&
	mkdir dockercfg && printf "{\"auths\": {\"127.0.0.1:2\": {\"auth\": \"%s\"}}}\n" \
		"$(printf bot:docker-pw-55 | base64)" >dockercfg/config.json &&
	echo other-hook-secret-99 >creds/other-hook &&
	chmod 600 etc/* creds/* dockercfg/* &&
	git init -q --bare git/shop.git && git init -q --bare git/other.git &&
	$GIT clone -q git/other.git other 2>/dev/null &&
	printf "stages:\n  - name: noop\n    run: [\"true\"]\n" >other/.ferry.yaml &&
	(cd other && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	$GIT clone -q git/shop.git work 2>/dev/null &&
	write_probe >work/probe.sh && write_memscan >work/memscan.py &&
	printf "stages:\n  - name: probe\n    run: [\"sh\", \"probe.sh\"]\n  - name: after\n    run: test \"\$FERRY_OUT_WROTE\" = yes\n" >work/.ferry.yaml &&
	echo readme >work/README && cp work/.ferry.yaml probe.yaml &&
	(cd work && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	export CREDENTIALS_DIRECTORY="$T_TRASH/creds" &&
	config && start_daemon &&
	printf "{\"ref\":\"refs/heads/main\",\"after\":\"%s\",\"repository\":{\"full_name\":\"acme/other\"}}" "$(git -C other rev-parse HEAD)" >push.json &&
	post /hooks/other push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-other" \
		-H "X-Hub-Signature-256: $(sign other-hook-secret-99 push.json)" &&
	expect_code 202 && jq -r ".runs[0]" body >oid &&
	wait_run_end "$(cat oid)" && jq -e ".state == \"success\"" body &&
	test -d state/mirrors/other.git
'

test_expect 'isolated by default: nothing of ferryd'"'"'s is reachable' '
	run_shop && probe_log >log &&
	! grep LEAK log &&
	test "$(grep -c SAFE log)" -eq 13 &&
	grep "OK memscan-works" log && grep "OK umount-works" log &&
	! grep -e s3cret -e other-hook-secret -e registry-pw -e "SQLite format" log
'

test_expect 'what the stage needs still works' '
	probe_log >log &&
	grep "OK worktree" log && grep "OK home" log && grep "OK secret-env" log &&
	grep "OK output" log && grep "OK gitdir" log && grep "OK regauth" log &&
	grep "OK gitdir-readonly" log &&
	api "/api/v1/runs/$(cat id)" && jq -e ".outputs.wrote == \"yes\"" body
'

test_expect 'the API socket still works for ferryd'"'"'s own users' '
	api /api/v1/runs && expect_code 200
'

test_expect 'isolation: namespaces gives the same result' '
	config namespaces && hup_daemon &&
	run_shop && probe_log >log &&
	! grep LEAK log && test "$(grep -c SAFE log)" -eq 13 && grep "OK home" log &&
	grep "OK memscan-works" log && grep "OK umount-works" log
'

test_expect 'isolation: none, and the same stage reaches all of it' '
	config none && hup_daemon &&
	run_shop && probe_log >log &&
	grep "LEAK secret-file" log && grep "LEAK credential" log &&
	grep "LEAK database" log && grep "LEAK mirrors" log &&
	grep "LEAK api-socket" log && grep "LEAK config" log &&
	grep "LEAK registry-password" log && grep "LEAK ferryd-process" log &&
	grep "LEAK docker-config" log && grep "OK memscan-works" log &&
	{ test "$(id -u)" != 0 || grep "LEAK memory" log; } &&
	{ test "$(id -u)" != 0 || grep "LEAK kernel-knobs" log; } &&
	{ test "$(id -u)" != 0 || grep "LEAK sysfs" log; } &&
	grep "OK worktree" log && grep "OK secret-env" log
'

test_expect 'an unknown isolation value is refused with its place' '
	config sandbox &&
	! "$FERRYD" -n -c ferry.yaml >check.out 2>&1 &&
	grep "ferry.yaml:.*isolation: expected auto, namespaces or none, found \"sandbox\"" check.out
'

test_expect 'a failing isolated stage passes its exit status on' '
	config && hup_daemon &&
	printf "stages:\n  - name: probe\n    run: exit 7\n" >work/.ferry.yaml &&
	(cd work && $GIT commit -q -am seven && git push -q origin HEAD:refs/heads/main) &&
	deliver_push shop refs/heads/main "$(git -C work rev-parse HEAD)" >id &&
	wait_run_end "$(cat id)" && jq -e ".state == \"failed\"" body &&
	probe_log | grep "stage exited 7" &&
	cp probe.yaml work/.ferry.yaml && (cd work && $GIT commit -q -am back)
'

# Covers and kept paths go on outside in: a work_dir inside $HOME (kept)
# is covered again, and the run's own folder in it comes back.
test_expect 'a work_dir inside HOME: the run keeps its folder, no other' '
	mkdir -p state/home/shop/work/99.1 && config auto state/home/shop/work && hup_daemon &&
	run_shop && probe_log >log &&
	! grep LEAK log && test "$(grep -c SAFE log)" -eq 13 &&
	grep "OK worktree" log && grep "OK home" log && grep "OK output" log &&
	! grep BROKEN log &&
	grep "OK no-other-run" log
'

# A stage that renames a folder above a secret must not have the next
# stage's covers miss it: secrets are refused where stages write, and a
# secret not there at a stage's start fails it under isolation: namespaces.
test_expect 'ferryd -n refuses a secret where stages can write (HOME, work_dir)' '
	mkdir -p state/home/.config wd/x && cp etc/api-key state/home/.config/ &&
	cp etc/registry-password wd/x/ && ln -s state/home/.config cfglink &&
	config && sed "s|API_KEY: etc/api-key|API_KEY: state/home/.config/api-key|" ferry.yaml >home.yaml &&
	! "$FERRYD" -n -c home.yaml >check.out 2>&1 &&
	grep "home.yaml: .*/state/home/.config/api-key is in .*/state/home, where stages can write" check.out &&
	sed "s|API_KEY: etc/api-key|API_KEY: cfglink/api-key|" ferry.yaml >link.yaml &&
	! "$FERRYD" -n -c link.yaml >check.out 2>&1 &&
	grep "cfglink/api-key is in .*/state/home, where stages can write" check.out &&
	config auto "$T_TRASH/wd" &&
	sed "s|password_file: etc/registry-password|password_file: wd/x/registry-password|" ferry.yaml >wd.yaml &&
	! "$FERRYD" -n -c wd.yaml >check.out 2>&1 &&
	grep "wd/x/registry-password is in .*/wd, where stages can write" check.out &&
	config && "$FERRYD" -n -c ferry.yaml
'

test_expect 'a secret moved away: auto says so in the stage log, namespaces fails the stage' '
	config && hup_daemon && mv dockercfg dockercfg.moved &&
	run_shop && probe_log >log &&
	grep "ferry: .*/dockercfg/config.json is not there to cover (moved?)" log &&
	mv dockercfg.moved dockercfg && config namespaces && hup_daemon &&
	mv dockercfg dockercfg.moved &&
	(cd work && $GIT commit -q --allow-empty -m moved && git push -q origin HEAD:refs/heads/main) &&
	deliver_push shop refs/heads/main "$(git -C work rev-parse HEAD)" >id &&
	wait_run_end "$(cat id)"; rc=$?; mv dockercfg.moved dockercfg &&
	test $rc = 0 && jq -e ".state == \"failed\"" body &&
	probe_log | grep "isolation: namespaces: .*/dockercfg/config.json is not there to cover" &&
	! probe_log | grep -e LEAK -e SAFE
'

# wrap NAME UNSHARE SETUP: ./NAME runs ferryd in the namespaces of
# unshare(1) options UNSHARE after the shell commands SETUP.
wrap() {
	printf '#!/bin/sh\nexec unshare %s "%s" "$@"\n' "$2" "$T_TRASH/$1.in" >"$1" &&
	printf '#!/bin/sh\n%s && exec "%s" "$@"\n' "$3" "$FERRYD" >"$1.in" &&
	chmod +x "$1" "$1.in"
}

test_expect 'where /proc cannot be mounted (ProtectKernelTunables=), files are still covered' '
	stop_daemon && config &&
	wrap ferryd-noproc -Urm "mount --bind -o ro /proc/sys /proc/sys" &&
	FERRYD="$T_TRASH/ferryd-noproc" start_daemon &&
	run_shop && probe_log >log &&
	grep "stages can see other processes (no PID namespace" ferryd.log &&
	test "$(grep -c SAFE log)" -eq 12 && grep "LEAK ferryd-process" log &&
	grep "SAFE memory" log && grep "SAFE uncover" log && grep "OK home" log &&
	grep "OK memscan-works" log && grep "OK umount-works" log &&
	grep "ferry: this stage shares ferryd.s process ids (no PID namespace: mount /proc" log
'

# Without a PID namespace nothing kills what is left in it: the stage
# has to die with its parents by itself (PR_SET_PDEATHSIG), and what it
# started in the background with its group. The next ferryd runs the
# interrupted run again: then the stage ends at once.
test_expect 'without a PID namespace, a stage and its background still die with ferryd' '
	printf "stages:\n  - name: probe\n    run: test -e \"\$T/stage.pid\" || { sleep 300 & echo \$! >\"\$T/bg.pid\" && echo \$\$ >\"\$T/stage.pid\" && exec sleep 300; }\n" >work/.ferry.yaml &&
	(cd work && $GIT commit -q -am orphan && git push -q origin HEAD:refs/heads/main) &&
	rm -f stage.pid && deliver_push shop refs/heads/main "$(git -C work rev-parse HEAD)" >id &&
	wait_for "test -s stage.pid" && p=$(cat stage.pid) && b=$(cat bg.pid) &&
	test -d "/proc/$p" && test -d "/proc/$b" &&
	kill9_daemon &&
	wait_for "! test -d /proc/$p || grep -q \"^State:.Z\" /proc/$p/status" 10 &&
	wait_for "! test -d /proc/$b || grep -q \"^State:.Z\" /proc/$b/status" 10 &&
	cp probe.yaml work/.ferry.yaml && (cd work && $GIT commit -q -am back)
'

test_expect 'without user namespaces, auto runs stages as before and says so once' '
	stop_daemon &&
	wrap ferryd-nouserns -Ur "echo 0 >/proc/sys/user/max_user_namespaces" &&
	FERRYD="$T_TRASH/ferryd-nouserns" start_daemon &&
	run_shop && run_shop && probe_log >log &&
	grep "LEAK secret-file" log && grep "OK worktree" log &&
	grep "ferry: this stage is not isolated: clone: No space left" log &&
	test "$(grep -c "stage isolation is unavailable" ferryd.log)" -eq 1
'

test_expect 'without user namespaces, isolation: namespaces fails the stage' '
	config namespaces && hup_daemon &&
	(cd work && $GIT commit -q --allow-empty -m ns && git push -q origin HEAD:refs/heads/main) &&
	deliver_push shop refs/heads/main "$(git -C work rev-parse HEAD)" >id &&
	wait_run_end "$(cat id)" && jq -e ".state == \"failed\"" body &&
	probe_log | grep "isolation: namespaces is set but unavailable" &&
	! probe_log | grep LEAK
'

# The limit was a lack of resources, which passes: it is not remembered.
test_expect 'once user namespaces are there again, stages are isolated again' '
	nsenter --preserve-credentials -U -t "$T_PID" sh -c "echo 100 >/proc/sys/user/max_user_namespaces" &&
	run_shop && probe_log >log &&
	! grep LEAK log && test "$(grep -c SAFE log)" -eq 13 &&
	! grep "this stage is not isolated" log &&
	grep "stage isolation is available again" ferryd.log &&
	config && hup_daemon && run_shop && probe_log >log && ! grep LEAK log
'

# write_seccomp FERRYD: a ferryd whose clone3(2) fails with EPERM, as
# seccomp profiles older than the call (Docker's, once) have it.
write_seccomp() {
	cat <<-EOF
	#!/usr/bin/env python3
	import ctypes, os, struct, sys
	libc = ctypes.CDLL(None, use_errno=True)
	insns = [(0x20, 0, 0, 0),            # ld [nr]
	         (0x15, 0, 1, 435),          # jeq #clone3
	         (0x06, 0, 0, 0x00050001),   # ret ERRNO(EPERM)
	         (0x06, 0, 0, 0x7fff0000)]   # ret ALLOW
	code = b"".join(struct.pack("HBBI", *i) for i in insns)
	buf = ctypes.create_string_buffer(code)
	class Prog(ctypes.Structure):
	    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
	prog = Prog(len(insns), ctypes.addressof(buf))
	if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
	    sys.exit("seccomp: %s" % os.strerror(ctypes.get_errno()))
	os.execv("$1", ["$1"] + sys.argv[1:])
	EOF
}

test_expect 'clone3 refused with EPERM (a seccomp profile): clone(2) instead' '
	stop_daemon && config &&
	write_seccomp "$FERRYD" >ferryd-seccomp && chmod +x ferryd-seccomp &&
	FERRYD="$T_TRASH/ferryd-seccomp" start_daemon &&
	run_shop && probe_log >log &&
	! grep LEAK log && test "$(grep -c SAFE log)" -eq 13 &&
	! grep "this stage is not isolated" log
'

test_expect 'stop' 'stop_daemon'

test_done
