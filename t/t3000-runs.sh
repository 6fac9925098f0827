#!/bin/bash
# t3000-runs: webhooks for real git repositories become real runs: the
# exact commit is checked out, the stages of its .ferry.yaml run in order
# with a clean environment, and people can follow, cancel and retry them.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"
export FERRYD_ONLY_VAR=should-not-leak

# commit MSG: commit everything in the work clone and push main.
commit() {
	(cd work && $GIT add -A && $GIT commit -q -m "$1" && git push -q origin HEAD:refs/heads/main) &&
	git -C work rev-parse HEAD
}

# deliver REF SHA [DELIVERY]: a signed GitHub push for REF at SHA.
deliver() {
	printf '{"ref":"%s","before":"0000000000000000000000000000000000000000","after":"%s","repository":{"full_name":"acme/shop"},"sender":{"login":"t"}}' "$1" "$2" >push.json &&
	s=$(sign s3cret push.json) &&
	post /hooks/${4:-shop} push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: ${3:-d-$RANDOM$RANDOM}" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && jq -r ".runs[0]" body
}

# wait_run ID STATE...: until the run reaches one of the states (60 s: a
# whole run under the sanitizers on a loaded machine).
wait_run() {
	id=$1; shift
	wr_end=$(($(date +%s) + 60))
	while test "$(date +%s)" -lt "$wr_end"; do
		api "/api/v1/runs/$id" && st=$(jq -r .state body)
		for want in "$@"; do test "$st" = "$want" && return 0; done
		case $st in success|failed|canceled) echo "run $id ended $st"; cat body; return 1;; esac
		sleep 0.1
	done
	echo "run $id still $st"; cat body; return 1
}

# gone PID: the process is dead (a zombie waiting for init counts).
gone() {
	! kill -0 $1 2>/dev/null || grep -q "^[0-9]* (.*) Z" /proc/$1/stat
}

stage_log() { # RUN STAGE
	cat "$T_TRASH/state/logs/$1/$2.log"
}

test_expect 'setup: a bare repository, a clone, ferryd that runs' '
	mkdir git && git init -q --bare git/shop.git &&
	$GIT clone -q git/shop.git work 2>/dev/null &&
	echo s3cret >secret && chmod 600 secret && echo "hunter2-secret-value" >api-key && chmod 600 api-key &&
	mkdir bin && printf "#!/bin/sh\necho mytool ran\n" >bin/mytool && chmod +x bin/mytool &&
	T_EXEC="{concurrency: 4, kill_grace: 1s, stage_timeout: 30s, path: \"$T_TRASH/bin:/usr/bin:/bin\"}" write_config <<-EOF &&
	projects:
	  - name: shop
	    repo: file://$T_TRASH/git/shop.git
	    provider: github
	    secret_file: secret
	    env: {GREETING_BASE: hello}
	    secrets: {API_KEY: api-key}
	EOF
	start_daemon
'

test_expect 'a push runs the stages in order with the FERRY_* environment' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: first
	    run: printf "greeting=%s world\n" "$GREETING_BASE" >"$FERRY_OUTPUT"; echo first-ran
	  - name: env
	    run: ["/usr/bin/env"]
	  - name: second
	    run: ["/bin/sh", "-c", "echo second sees $FERRY_OUT_GREETING; test -f README"]
	EOF
	echo hi >work/README &&
	sha=$(commit "first") &&
	id=$(deliver refs/heads/main $sha) && echo $id >run1 &&
	wait_run $id success &&
	jq -e "[.stages[].name] == [\"checkout\",\"pipeline\",\"first\",\"env\",\"second\"] and all(.stages[]; .state == \"success\")" body &&
	jq -e ".outputs.greeting == \"hello world\" and .sha == \"$sha\"" body &&
	stage_log $id env >env.log &&
	grep "FERRY_PROJECT=shop$" env.log && grep "FERRY_COMMIT=$sha$" env.log &&
	grep "FERRY_REF=refs/heads/main$" env.log && grep "FERRY_BRANCH=main$" env.log &&
	grep "FERRY_EVENT=push$" env.log && grep "FERRY_RUN_ID=$id$" env.log &&
	grep "FERRY_STAGE=env$" env.log && grep "CI=true$" env.log &&
	grep "FERRY_WORKTREE=$T_TRASH/state/work/" env.log &&
	grep "GREETING_BASE=hello$" env.log &&
	! grep FERRYD_ONLY_VAR env.log &&
	stage_log $id second | grep "second sees hello world"
'

test_expect 'a secret of the project reaches stages but never ferryd'"'"'s log' '
	grep -c "API_KEY=hunter2-secret-value" env.log &&
	! grep hunter2 ferryd.log
'

test_expect 'the worktree is removed after a successful run' '
	wait_for "test -z \"\$(ls state/work 2>/dev/null)\""
'

test_expect 'an invalid .ferry.yaml fails the run with line and column' '
	printf "stages:\n  - name: x\n    run: [true]\n    tiemout: 5s\n" >work/.ferry.yaml &&
	sha=$(commit "bad pipeline") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id failed &&
	jq -e ".error | test(\"invalid pipeline\")" body &&
	stage_log $id pipeline | grep ".ferry.yaml:4:5: unknown"
'

test_expect 'a commit that is not on the ref fails at checkout' '
	id=$(deliver refs/heads/main 0123456789abcdef0123456789abcdef01234567) &&
	wait_run $id failed &&
	stage_log $id checkout | grep -i "not found\|not on"
'

# $child is a pid in the stage's PID namespace: look for the command.
test_expect 'a stage past its timeout is killed with its children' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: slow
	    run: sleep 2992 & echo "child=$!" >"$FERRY_OUTPUT"; sleep 30
	    timeout: 1s
	  - name: never
	    run: ["true"]
	EOF
	sha=$(commit "slow") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id failed &&
	jq -e ".stages[2].state == \"failed\" and .stages[3].state == \"skipped\"" body &&
	stage_log $id slow | grep "timed out" &&
	child=$(jq -r .outputs.child body) && test -n "$child" &&
	wait_for "! pgrep -x -f \"sleep 2992\" >/dev/null"
'

# The stage's $! is a pid in its own PID namespace (executor.isolation),
# so the test looks for the leftover by its command line instead.
test_expect 'a bare command is found in the stages'"'"' PATH; leftovers die with the stage' '
	cat >work/.ferry.yaml <<-\EOF &&
	stages:
	  - name: tool
	    run: ["mytool"]
	  - name: leaves
	    run: sleep 2991 >/dev/null 2>&1 & echo "bg=$!" >"$FERRY_OUTPUT"
	EOF
	sha=$(commit "tool") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id success &&
	stage_log $id tool | grep "mytool ran" &&
	bg=$(jq -r .outputs.bg body) && test -n "$bg" &&
	wait_for "! pgrep -x -f \"sleep 2991\" >/dev/null"
'

test_expect 'cancel stops a running stage' '
	printf "stages:\n  - name: long\n    run: echo started; sleep 30\n" >work/.ferry.yaml &&
	sha=$(commit "long") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id running &&
	wait_for "stage_log $id long 2>/dev/null | grep -q started" &&
	api /api/v1/runs/$id/retry -X POST && expect_code 409 &&
	jq -e ".error | test(\"running\")" body &&
	"$FERRY" -s "$T_SOCK" cancel $id &&
	wait_run $id canceled &&
	jq -e ".stages[2].state == \"canceled\"" body &&
	echo $id >run-canceled
'

test_expect 'cancel of an ended run: 409, and the run stays as it ended' '
	id=$(cat run-canceled) &&
	api /api/v1/runs/$id/cancel -X POST && expect_code 409 &&
	jq -e ".error | test(\"canceled\")" body &&
	api /api/v1/runs/$(cat run1)/cancel -X POST && expect_code 409 &&
	api /api/v1/runs/$(cat run1) && jq -e ".state == \"success\"" body &&
	! "$FERRY" -s "$T_SOCK" cancel $id 2>err && grep "not queued or running" err
'

test_expect 'cancel, retry and logs of a run that does not exist: 404' '
	api /api/v1/runs/999999/cancel -X POST && expect_code 404 &&
	jq -e ".error == \"no run 999999\"" body &&
	api /api/v1/runs/999999/retry -X POST && expect_code 404 &&
	api /api/v1/runs/999999/logs/long && expect_code 404 &&
	api /api/v1/runs/999999 && expect_code 404 &&
	! "$FERRY" -s "$T_SOCK" retry 999999 2>err && grep "no run 999999" err &&
	api /api/v1/runs/$(cat run1)/logs/nosuch && expect_code 404 &&
	jq -e ".error | test(\"no log for stage nosuch\")" body
'

test_expect 'run actions: other methods are 405, malformed ids and stage names 400' '
	(for a in cancel retry; do
		api /api/v1/runs/$(cat run1)/$a && expect_code 405 || exit 1
		api /api/v1/runs/$(cat run1)/$a -X PUT && expect_code 405 || exit 1
	done) &&
	api /api/v1/runs/$(cat run1)/logs/first -X POST && expect_code 405 &&
	api /api/v1/runs/$(cat run1) -X DELETE && expect_code 405 &&
	(for bad in 0 -1 abc 1x 99999999999999999999 "%31"; do
		api "/api/v1/runs/$bad/cancel" -X POST && expect_code 400 || exit 1
		api "/api/v1/runs/$bad/logs/first" && expect_code 400 || exit 1
	done) &&
	long=$(printf "%065d" 0) &&
	(for st in .hidden .. a%2Fb "a%20b" "$long" "x;y" "a\$b"; do
		api "/api/v1/runs/$(cat run1)/logs/$st" --path-as-is && expect_code 400 &&
		jq -e ".error == \"invalid stage name\"" body || exit 1
	done) &&
	api "/api/v1/runs/$(cat run1)/logs/../../../../etc/passwd" --path-as-is &&
	case $(cat code) in 400|404) ;; *) false;; esac &&
	! grep -q "root:" body
'

test_expect 'retry runs an ended run again as a new run' '
	"$FERRY" -s "$T_SOCK" retry $(cat run1) >out1 &&
	nid=$(awk "/queued/ {print \$2}" out1) &&
	wait_run $nid success && jq -e ".retry_of == $(cat run1)" body
'

# The name's command would touch an absolute path in the trash folder
# (slashes are valid in a ref), which outlives the run's worktree: were
# anything executed from the name, the file would be there afterwards.
test_expect 'hostile but valid branch names run with nothing executed from them' '
	printf "stages:\n  - name: show\n    run: [\"/bin/sh\", \"-c\", \"echo branch=\$FERRY_BRANCH\"]\n  - name: shell\n    run: echo \"shell=\$FERRY_BRANCH\" \$FERRY_BRANCH\n" >work/.ferry.yaml &&
	sha=$(commit "names") &&
	(for b in "\$(touch\${IFS}$T_TRASH/pwned)" "\`touch\${IFS}$T_TRASH/pwned2\`" \
	    "\$(touch\${IFS}pwned)" "a;b" "x|y&z"; do
		git -C work push -q origin "HEAD:refs/heads/$b" || exit 1
		id=$(deliver "refs/heads/$b" $sha) && wait_run $id success || exit 1
		stage_log $id show | grep -F "branch=$b" || exit 1
		stage_log $id shell | grep -F "shell=$b" || exit 1
	done) &&
	! test -e "$T_TRASH/pwned" && ! test -e "$T_TRASH/pwned2" &&
	test -z "$(find "$T_TRASH" / /tmp -xdev -maxdepth 1 \( -name pwned -o -name pwned2 \) 2>/dev/null)" &&
	test -z "$(find "$T_TRASH" \( -name pwned -o -name pwned2 \) -print)"
'

test_expect 'ferry trigger runs the tip of a ref by hand' '
	"$FERRY" -s "$T_SOCK" trigger shop main >out2 &&
	id=$(awk "/queued/ {print \$2}" out2) &&
	wait_run $id success &&
	jq -e ".sha == \"$(git -C work rev-parse HEAD)\" and .manual == 1" body
'

# trigger BODY [PROJECT]: POST BODY (text) to start a run by hand.
trigger() {
	printf "%s" "$1" >trigger.json &&
	api "/api/v1/projects/${2-shop}/runs" -X POST --data-binary @trigger.json
}

test_expect 'a run by hand for an unknown project: 404, nothing queued' '
	api "/api/v1/runs?limit=1" && n=$(jq ".runs[0].id" body) &&
	trigger "{\"ref\": \"main\"}" nosuch && expect_code 404 &&
	jq -e ".error | test(\"no project\")" body &&
	trigger "{\"ref\": \"main\"}" "" && expect_code 404 &&
	! "$FERRY" -s "$T_SOCK" trigger nosuch main 2>err && grep "no project" err &&
	api "/api/v1/runs?limit=1" && test "$(jq ".runs[0].id" body)" = "$n"
'

test_expect 'a run by hand with a malformed body or ref: 400, nothing queued' '
	api "/api/v1/runs?limit=1" && n=$(jq ".runs[0].id" body) &&
	(for b in "" "main" "{" "[]" "[\"main\"]" "{\"ref\": 5}" "{\"ref\": null}" \
	    "{\"ref\": [\"main\"]}" "{\"branch\": \"main\"}" "{\"ref\": \"a\\u0000b\"}" \
	    "{\"ref\": \"main\"} trailing"; do
		trigger "$b" && expect_code 400 || { echo "body: $b"; exit 1; }
		jq -e ".error | test(\"JSON body\")" body || exit 1
	done) &&
	(for r in "" "a..b" "bad ref" "a:b" "x~1" "main.lock" "/main" "main/" "refs/heads/" \
	    "refs/pull/1/head" "refs/remotes/origin/main" "refs/notes/x" "a\\u0001b" "@{-1}"; do
		trigger "{\"ref\": \"$r\"}" && expect_code 400 || { echo "ref: $r"; exit 1; }
	done) &&
	trigger "{\"ref\": \"$(printf "%01100d" 0)\"}" && expect_code 400 &&
	! "$FERRY" -s "$T_SOCK" trigger shop "a..b" 2>err && grep "invalid ref" err &&
	api "/api/v1/runs?limit=1" && test "$(jq ".runs[0].id" body)" = "$n"
'

test_expect 'a run by hand is a POST' '
	api /api/v1/projects/shop/runs && expect_code 405 &&
	api /api/v1/projects/shop/runs -X PUT --data-binary "{\"ref\": \"main\"}" && expect_code 405
'

# follow_check: start a chatty stage, follow its log, check it streams.
# The stage prints three lines, then waits for the test to create ./gate
# (for at most 30 s) before it prints three more and ends: so the follower
# must show the first lines while the stage still runs, however slow the
# machine.
follow_check() {
	rm -f gate &&
	cat >work/.ferry.yaml <<-EOF &&
	stages:
	  - name: talk
	    run: for i in 1 2 3; do echo line-\$i; done; n=0; while ! test -e $T_TRASH/gate && test \$n -lt 600; do sleep 0.05; n=\$((n + 1)); done; for i in 4 5 6; do echo line-\$i; done
	EOF
	sha=$(commit "talk") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id running &&
	wait_for "test -f $T_TRASH/state/logs/$id/talk.log" || return 1
	timeout 60 curl -sS -N --unix-socket "$T_SOCK" "http://ferry/api/v1/runs/$id/logs/talk?follow=1" >followed &
	CPID=$!
	wait_for "grep -q line-3 followed" &&
	api "/api/v1/runs/$id" && test "$(jq -r .state body)" = running &&
	grep -q "line-1" followed && ! grep -q "line-4" followed &&
	: >gate &&
	wait $CPID &&
	test "$(grep -c "line-" followed)" = 6 &&
	"$FERRY" -s "$T_SOCK" logs $id talk >cli.log && test "$(grep -c "line-" cli.log)" = 6
}

test_expect 'log follow streams while a stage prints, and ends with it' '
	follow_check
'

test_expect 'no .ferry.yaml and no werf.yaml: the run says what to add' '
	git -C work rm -q .ferry.yaml && sha=$(commit "no pipeline") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id failed &&
	stage_log $id pipeline | grep "add a .ferry.yaml"
'

test_expect 'a werf.yaml without .ferry.yaml selects the werf flow' '
	echo "project: shop" >work/werf.yaml && sha=$(commit "werf") &&
	id=$(deliver refs/heads/main $sha) &&
	wait_run $id failed &&
	jq -e ".stages[2].name == \"build\"" body &&
	stage_log $id pipeline | grep "werf flow"
'

test_expect 'stop' '
	stop_daemon
'

test_done
