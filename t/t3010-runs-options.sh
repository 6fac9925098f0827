#!/bin/bash
# t3010-runs-options: what runs do besides running stages in order: the
# log size cap, failed worktrees kept to debug them, continue_on_failure,
# a running run left alone by newer pushes of its branch, required_files
# from the server config, `ferry runs` with its stage lines, `ferry logs
# RUN -f` over every stage, and a .ferry.yaml nested too deep or too
# large refused without hurting ferryd.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

# commit MSG: commit everything in the work clone, push main, print the id.
commit() {
	(cd work && $GIT add -A && $GIT commit -q --allow-empty -m "$1" &&
	    git push -q origin HEAD:refs/heads/main) &&
	git -C work rev-parse HEAD
}

# deliver PROJECT SHA: a signed GitHub push of main at SHA; the run's id.
deliver() {
	printf '{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"%s","repository":{"full_name":"acme/shop"}}' "$2" >push.json &&
	s=$(sign s3cret push.json) &&
	post /hooks/$1 push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-$RANDOM$RANDOM" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && jq -r ".runs[0]" body
}

# state ID: the run's state (its JSON in ./body).
state() {
	api "/api/v1/runs/$1" && jq -r .state body
}

# wait_state ID STATE: until the run is in STATE (60 s); its JSON in ./body.
wait_state() {
	wait_for "test \"\$(state $1)\" = $2" 60 || { cat body; return 1; }
}

stage_log() { # RUN STAGE
	cat "$T_TRASH/state/logs/$1/$2.log"
}

# gated NAME: a stage that says it started, then waits (at most 30 s) for
# the file gate-<run id> in the trash folder before it ends.
gated() {
	printf '  - name: %s\n    run: echo "%s started"; n=0; while ! test -e %s/gate-$FERRY_RUN_ID && test $n -lt 600; do sleep 0.05; n=$((n + 1)); done; echo "%s done"\n' "$1" "$1" "$T_TRASH" "$1"
}

test_expect 'setup: a repository, ferryd with a small log cap, kept failed worktrees' '
	mkdir git && git init -q --bare git/shop.git &&
	$GIT clone -q git/shop.git work 2>/dev/null &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 4, log_bytes: 4096, keep_failed_worktrees: true, kill_grace: 1s}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/git/shop.git", provider: github, secret_file: secret}
	  - name: req
	    repo: file://$T_TRASH/git/shop.git
	    provider: github
	    secret_file: secret
	    required_files: [werf.yaml, chart/Chart.yaml]
	EOF
	start_daemon
'

test_expect 'a stage log stops at executor.log_bytes with a note; the stage goes on' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: chatty
	    run: i=0; while test $i -lt 2000; do echo "line $i of a chatty stage"; i=$((i + 1)); done; echo "finished=yes" >"$FERRY_OUTPUT"
	  - name: after
	    run: echo after ran
	EOF
	id=$(deliver shop $(commit chatty)) && wait_state $id success &&
	jq -e ".outputs.finished == \"yes\"" body &&
	stage_log $id chatty >chatty.log &&
	grep "line 0 of" chatty.log &&
	! grep "line 1999 of" chatty.log &&
	grep "\[ferry: log truncated at 4096 bytes; further output dropped\]" chatty.log &&
	test "$(grep -c "log truncated" chatty.log)" = 1 &&
	size=$(wc -c <chatty.log) && test "$size" -le $((4096 + 512)) &&
	api "/api/v1/runs/$id/logs/chatty" && expect_code 200 &&
	grep "log truncated" body &&
	stage_log $id after | grep "after ran"
'

test_expect 'a failed run keeps its worktree (keep_failed_worktrees); a good one does not' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: make
	    run: echo debris >made.txt; echo "wt=$FERRY_WORKTREE" >"$FERRY_OUTPUT"; exit 1
	EOF
	id=$(deliver shop $(commit keep)) && wait_state $id failed &&
	wt=$(jq -r .outputs.wt body) && test -n "$wt" && test "$wt" != null &&
	grep "run $id: worktree kept in $wt" ferryd.log &&
	test "$(cat "$wt/made.txt")" = debris && test -f "$wt/.ferry.yaml" &&
	printf "stages:\n  - name: make\n    run: echo \"wt=\$FERRY_WORKTREE\" >\"\$FERRY_OUTPUT\"\n" >work/.ferry.yaml &&
	id=$(deliver shop $(commit good)) && wait_state $id success &&
	wt=$(jq -r .outputs.wt body) && test -n "$wt" &&
	wait_for "! test -e \"$wt\"" &&
	! grep "run $id: worktree kept" ferryd.log
'

test_expect 'continue_on_failure: later stages run, the run still fails' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: lint
	    run: echo lint complains; exit 3
	    continue_on_failure: true
	  - name: build
	    run: echo build ran
	EOF
	id=$(deliver shop $(commit cof)) && wait_state $id failed &&
	jq -e "[.stages[] | {name, state, exit_code}] | .[2:] == [{name: \"lint\", state: \"failed\", exit_code: 3}, {name: \"build\", state: \"success\", exit_code: 0}]" body &&
	jq -e ".error == \"a stage failed (continue_on_failure)\"" body &&
	stage_log $id build | grep "build ran" &&
	echo $id >run-cof
'

test_expect 'continue_on_failure is per stage: a failing stage without it ends the run' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: lint
	    run: exit 3
	    continue_on_failure: true
	  - name: test
	    run: exit 4
	  - name: deploy
	    run: echo never
	EOF
	id=$(deliver shop $(commit cof2)) && wait_state $id failed &&
	jq -e "[.stages[2:][] | .state] == [\"failed\", \"failed\", \"skipped\"]" body &&
	jq -e ".stages[3].exit_code == 4 and .error == \"stage test failed\"" body &&
	! test -e state/logs/$id/deploy.log &&
	echo $id >run-cof2
'

test_expect 'ferry runs shows each stage'"'"'s state and duration under its run' '
	"$FERRY" -s "$T_SOCK" runs --project shop --limit 2 >runs.txt &&
	cat runs.txt &&
	test "$(grep -c "^ *checkout success [0-9.]*s | pipeline success [0-9.]*s | " runs.txt)" = 2 &&
	grep "| lint failed [0-9.]*s | test failed [0-9.]*s | deploy skipped -$" runs.txt &&
	grep "| lint failed [0-9.]*s | build success [0-9.]*s$" runs.txt &&
	grep "^$(cat run-cof2) *failed *shop" runs.txt &&
	"$FERRY" -s "$T_SOCK" run show $(cat run-cof2) >show.txt &&
	grep "^  test  *failed  *[0-9.]*s  exit 4$" show.txt &&
	grep "^  deploy  *skipped  *-$" show.txt
'

# runs_show RE: until `ferry runs` has a line matching RE (the run's
# state reaches the store a moment after the stage starts).
runs_show() {
	wait_for "\"\$FERRY\" -s \"\$T_SOCK\" runs --project shop --limit 3 >runs2.txt && grep -q \"$1\" runs2.txt"
}

test_expect 'a running run is neither superseded nor killed by newer pushes' '
	{ echo "stages:"; gated hold; } >work/.ferry.yaml &&
	a=$(deliver shop $(commit A)) && wait_state $a running &&
	wait_for "stage_log $a hold 2>/dev/null | grep -q \"hold started\"" &&
	b=$(deliver shop $(commit B)) &&
	c=$(deliver shop $(commit C)) &&
	wait_state $b superseded && jq -e ".superseded_by == $c" body &&
	test "$(state $a)" = running && test "$(state $c)" = queued &&
	runs_show "hold running [0-9.]*s$" &&
	: >gate-$a &&
	wait_state $a success &&
	stage_log $a hold | grep "hold done" && ! stage_log $a hold | grep -i "cancel" &&
	wait_state $c running && : >gate-$c && wait_state $c success &&
	test "$(state $b)" = superseded && ! test -e state/logs/$b
'

# follow_all ID: `ferry logs ID -f` in the background, into ./followed (a
# file, not a terminal: ferry must write what arrives at once, not when a
# stdio buffer fills).
follow_all() {
	timeout 60 "$FERRY" -s "$T_SOCK" logs "$1" -f >followed 2>follow.err &
	FPID=$!
}

test_expect 'ferry logs RUN -f follows every stage in order until the run ends' '
	{ echo "stages:"; echo "  - {name: one, run: echo one-said-this}";
	  gated two; echo "  - {name: skip, run: echo never, when: {kinds: [tag]}}";
	  echo "  - {name: three, run: echo three-said-this}"; } >work/.ferry.yaml &&
	id=$(deliver shop $(commit follow)) &&
	follow_all $id &&
	wait_for "grep -q \"two started\" followed" &&
	test "$(state $id)" = running && ! grep -q "two done" followed &&
	: >gate-$id &&
	wait $FPID &&
	test "$(state $id)" = success &&
	sed -n "s/^==> \([a-z]*\) (.*)$/\1/p" followed | tr "\n" " " >heads &&
	test "$(cat heads)" = "checkout pipeline one two three " &&
	grep -o "one-said-this\|two started\|two done\|three-said-this" followed | tr "\n" " " >said &&
	test "$(cat said)" = "one-said-this two started two done three-said-this " &&
	! grep "never" followed && ! grep "==> skip" followed
'

test_expect 'required_files from the server config: a missing one fails the run before any stage' '
	printf "stages:\n  - name: first\n    run: echo first ran\n" >work/.ferry.yaml &&
	echo "project: shop" >work/werf.yaml &&
	id=$(deliver req $(commit "no chart")) && wait_state $id failed &&
	stage_log $id checkout | grep "required file chart/Chart.yaml is not committed at" &&
	jq -e "[.stages[].name] | index(\"first\") == null" body &&
	! test -e state/logs/$id/first.log &&
	mkdir -p work/chart && echo "name: shop" >work/chart/Chart.yaml &&
	id=$(deliver req $(commit "with chart")) && wait_state $id success &&
	stage_log $id first | grep "first ran"
'

test_expect 'a required file only in a working tree does not count' '
	echo werf.yaml >work/.gitignore && git -C work rm -q --cached werf.yaml &&
	id=$(deliver req $(commit "werf.yaml not committed")) &&
	test -f work/werf.yaml &&
	wait_state $id failed &&
	stage_log $id checkout | grep "required file werf.yaml is not committed"
'

# deep_yaml N: a pipeline whose first stage's env is N nested lists.
deep_yaml() {
	printf "stages:\n  - name: x\n    run: [\"true\"]\n    env: "
	head -c "$1" /dev/zero | tr "\0" "["
	head -c "$1" /dev/zero | tr "\0" "]"
	echo
}

test_expect 'a .ferry.yaml nested 10,000 levels deep fails its run; ferryd lives on' '
	deep_yaml 10000 >work/.ferry.yaml &&
	test "$(wc -c <work/.ferry.yaml)" -gt 20000 &&
	id=$(deliver shop $(commit deep)) && wait_state $id failed &&
	jq -e ".error | test(\"invalid pipeline\")" body &&
	stage_log $id pipeline | grep -F ".ferry.yaml:4:71: nested deeper than 64 levels" &&
	kill -0 $T_PID &&
	curl -sS -o /dev/null -w "%{http_code}" "$T_URL/healthz" | grep -x 200 &&
	printf "stages:\n  - name: x\n    run: echo fine again\n" >work/.ferry.yaml &&
	id=$(deliver shop $(commit shallow)) && wait_state $id success
'

test_expect 'a .ferry.yaml over 1 MiB fails its run at checkout, saying so' '
	{ printf "stages:\n  - name: x\n    run: echo big\n"; head -c 1100000 /dev/zero | tr "\0" "#"; echo; } >work/.ferry.yaml &&
	id=$(deliver shop $(commit big)) && wait_state $id failed &&
	stage_log $id checkout | grep -F ".ferry.yaml at $(git -C work rev-parse --short=12 HEAD): larger than 1048576 bytes" &&
	! test -e state/logs/$id/x.log
'

test_expect 'stop' '
	stop_daemon
'

test_done
