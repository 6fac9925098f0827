#!/bin/bash
# t3100-runs-concurrency: one project's runs are serialized (concurrency 1,
# the default) while another project's run goes on in parallel; a run that
# was running when ferryd was killed is marked interrupted and runs again
# after the restart.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

# repo NAME [GATE]: a bare repository and a clone with a pipeline; with
# GATE its stage waits until the test creates that file (for at most 30 s),
# so that it is surely still running while the test looks.
repo() {
	git init -q --bare git/$1.git &&
	$GIT clone -q git/$1.git $1 2>/dev/null &&
	pipeline "${2:-}" >$1/.ferry.yaml &&
	(cd $1 && $GIT add -A && $GIT commit -q -m init && git push -q origin HEAD:refs/heads/main)
}

pipeline() { # [GATE]
	printf "stages:\n  - name: work\n    run: echo begun; "
	test -z "$1" ||
		printf "n=0; while ! test -e $T_TRASH/$1 && test \$n -lt 600; do sleep 0.05; n=\$((n + 1)); done; "
	printf "echo worked\n"
}

deliver() { # PROJECT REF SHA
	printf '{"ref":"%s","before":"0000000000000000000000000000000000000000","after":"%s","repository":{"full_name":"acme/x"}}' "$2" "$3" >push.json &&
	s=$(sign s3cret push.json) &&
	post /hooks/$1 push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-$RANDOM$RANDOM" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && jq -r ".runs[0]" body
}

wait_run() { # ID STATE
	wait_for "api /api/v1/runs/$1 && test \"\$(jq -r .state body)\" = $2" 60 || { cat body; return 1; }
}

stage_time() { # ID FIELD: the work stage's started_at or finished_at
	api "/api/v1/runs/$1" && jq -r ".stages[] | select(.name == \"work\") | .$2" body
}

test_expect 'setup' '
	mkdir git && repo shop gate-a && repo tools &&
	git -C shop push -q origin HEAD:refs/heads/other &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 4, keep_failed_worktrees: true}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/git/shop.git", provider: github, secret_file: secret}
	  - {name: tools, repo: "file://$T_TRASH/git/tools.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

# Run a (shop) holds its stage until ./gate-a exists: b (shop too) must wait
# for it, c (tools) must run to its end meanwhile.
test_expect 'one project runs one at a time; another runs beside it' '
	a=$(deliver shop refs/heads/main $(git -C shop rev-parse HEAD)) &&
	b=$(deliver shop refs/heads/other $(git -C shop rev-parse HEAD)) &&
	c=$(deliver tools refs/heads/main $(git -C tools rev-parse HEAD)) &&
	wait_run $a running && wait_run $c success &&
	api /api/v1/runs/$a && jq -e ".state == \"running\"" body &&
	api /api/v1/runs/$b && jq -e ".state == \"queued\"" body &&
	: >gate-a &&
	wait_run $a success && wait_run $b success &&
	a_end=$(stage_time $a finished_at) && b_start=$(stage_time $b started_at) &&
	c_start=$(stage_time $c started_at) && c_end=$(stage_time $c finished_at) &&
	a_start=$(stage_time $a started_at) &&
	echo "a $a_start-$a_end b $b_start c $c_start-$c_end" &&
	test "$b_start" -ge "$a_end" &&
	test "$c_end" -le "$a_end"
'

test_expect 'SIGKILL during a run: interrupted, then run again after restart' '
	pipeline gate-k >shop/.ferry.yaml &&
	(cd shop && $GIT commit -q -am slow && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver shop refs/heads/main $(git -C shop rev-parse HEAD)) &&
	wait_run $id running &&
	wait_for "grep -q begun $T_TRASH/state/logs/$id/work.log 2>/dev/null" &&
	kill9_daemon &&
	: >gate-k &&
	start_daemon &&
	grep "interrupted by a stop" ferryd.log &&
	wait_run $id success &&
	jq -e ".interruptions == 1 and .attempts == 2" body &&
	grep "attempt after an interruption" "$T_TRASH/state/logs/$id/checkout.log" &&
	echo $id >killed_run
'

test_expect 'the killed attempt'"'"'s folder was swept at the restart' '
	W=$T_TRASH/state/work &&
	wait_for "! test -e $W/$(cat killed_run).1 && ! test -e $W/$(cat killed_run).1.stale"
'

test_expect 'a restart sweeps stale run folders only' '
	W=$T_TRASH/state/work &&
	printf "stages:\n  - name: work\n    run: echo failing; exit 3\n" >shop/.ferry.yaml &&
	(cd shop && $GIT commit -q -am fail && git push -q origin HEAD:refs/heads/bad) &&
	f=$(deliver shop refs/heads/bad $(git -C shop rev-parse HEAD)) &&
	wait_run $f failed &&
	grep "run $f: worktree kept in $W/$f.1/src" ferryd.log &&
	test -f $W/$f.1/src/.ferry.yaml &&
	echo mine >$W/notes.txt && mkdir -p $W/cache/7.1 $W/77.x &&
	mkdir -p $W/4242.1/src $W/4243.2.stale/src && echo old >$W/4242.1/src/file &&
	stop_daemon && start_daemon &&
	wait_for "! test -e $W/4242.1 && ! test -e $W/4242.1.stale && ! test -e $W/4243.2.stale" &&
	grep "removing stale $W/4242.1.stale" ferryd.log &&
	test -f $W/$f.1/src/.ferry.yaml &&
	test "$(cat $W/notes.txt)" = mine && test -d $W/cache/7.1 && test -d $W/77.x
'

# A checkout that hangs (a stand-in for `ferry checkout` that sleeps) is
# ended after executor.checkout_timeout.
hang_ferry() {
	printf '#!/bin/sh\nsleep 60\n' >hang-ferry && chmod +x hang-ferry
}

test_expect 'a checkout longer than executor.checkout_timeout fails the run' '
	hang_ferry &&
	T_EXEC="{concurrency: 4, checkout_timeout: 1s, kill_grace: 1s, ferry: $T_TRASH/hang-ferry}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/git/shop.git", provider: github, secret_file: secret}
	EOF
	hup_daemon && grep "configuration reloaded" ferryd.log &&
	t=$(deliver shop refs/heads/slow $(git -C shop rev-parse HEAD)) &&
	wait_run $t failed &&
	jq -e ".error == \"checkout timed out after 1 s (executor.checkout_timeout)\"" body &&
	grep "checkout timed out after 1 s" "$T_TRASH/state/logs/$t/checkout.log"
'

# A stand-in for ferry that writes down how it was called, then runs the
# real one: the webhook's ref and commit must come in the environment.
spy_ferry() {
	printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/spy.argv"\nenv >"%s/spy.env"\nexec "%s" "$@"\n' \
		"$T_TRASH" "$T_TRASH" "$FERRY" >spy-ferry && chmod +x spy-ferry
}

test_expect 'the checkout gets the ref and commit in its environment, not as arguments' '
	spy_ferry &&
	T_EXEC="{concurrency: 4, ferry: $T_TRASH/spy-ferry}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/git/shop.git", provider: github, secret_file: secret}
	EOF
	hup_daemon && wait_for "test \$(grep -c \"configuration reloaded\" ferryd.log) -ge 2" &&
	git -C git/shop.git branch spy main && sha=$(git -C git/shop.git rev-parse refs/heads/spy) &&
	t=$(deliver shop refs/heads/spy $sha) &&
	wait_run $t success &&
	grep -x "checkout" spy.argv && ! grep "refs/heads/spy" spy.argv && ! grep "$sha" spy.argv &&
	grep -x "HOME=$T_TRASH/state/git-home" spy.env &&
	grep -x "FERRY_CHECKOUT_REF=refs/heads/spy" spy.env && grep -x "FERRY_CHECKOUT_SHA=$sha" spy.env
'

test_expect 'stop' '
	stop_daemon
'

test_done
