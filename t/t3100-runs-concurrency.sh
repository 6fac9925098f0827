#!/bin/bash
# t3100-runs-concurrency: one project's runs are serialized (concurrency 1,
# the default) while another project's run goes on in parallel; a run that
# was running when ferryd was killed is marked interrupted and runs again
# after the restart.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

# repo NAME: a bare repository and a clone with a pipeline that sleeps.
repo() {
	git init -q --bare git/$1.git &&
	$GIT clone -q git/$1.git $1 2>/dev/null &&
	printf "stages:\n  - name: work\n    run: sleep 1; echo worked\n" >$1/.ferry.yaml &&
	(cd $1 && $GIT add -A && $GIT commit -q -m init && git push -q origin HEAD:refs/heads/main)
}

deliver() { # PROJECT REF SHA
	printf '{"ref":"%s","before":"0000000000000000000000000000000000000000","after":"%s","repository":{"full_name":"acme/x"}}' "$2" "$3" >push.json &&
	s=$(sign s3cret push.json) &&
	post /hooks/$1 push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-$RANDOM$RANDOM" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && jq -r ".runs[0]" body
}

wait_run() { # ID STATE
	for _ in $(seq 300); do
		api "/api/v1/runs/$1" && test "$(jq -r .state body)" = "$2" && return 0
		sleep 0.05
	done
	cat body; return 1
}

stage_time() { # ID FIELD: the work stage's started_at or finished_at
	api "/api/v1/runs/$1" && jq -r ".stages[] | select(.name == \"work\") | .$2" body
}

test_expect 'setup' '
	mkdir git && repo shop && repo tools &&
	git -C shop push -q origin HEAD:refs/heads/other &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 4}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/git/shop.git", provider: github, secret_file: secret}
	  - {name: tools, repo: "file://$T_TRASH/git/tools.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'one project runs one at a time; another runs beside it' '
	a=$(deliver shop refs/heads/main $(git -C shop rev-parse HEAD)) &&
	b=$(deliver shop refs/heads/other $(git -C shop rev-parse HEAD)) &&
	c=$(deliver tools refs/heads/main $(git -C tools rev-parse HEAD)) &&
	wait_run $a success && wait_run $b success && wait_run $c success &&
	a_end=$(stage_time $a finished_at) && b_start=$(stage_time $b started_at) &&
	c_start=$(stage_time $c started_at) && a_start=$(stage_time $a started_at) &&
	echo "a $a_start-$a_end b $b_start c $c_start" &&
	test "$b_start" -ge "$a_end" &&
	test "$c_start" -lt "$a_end"
'

test_expect 'SIGKILL during a run: interrupted, then run again after restart' '
	(cd shop && printf "stages:\n  - name: work\n    run: echo begun; sleep 2; echo worked\n" >.ferry.yaml &&
	 $GIT commit -q -am slow && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver shop refs/heads/main $(git -C shop rev-parse HEAD)) &&
	wait_run $id running &&
	for _ in $(seq 100); do grep -q begun "$T_TRASH/state/logs/$id/work.log" 2>/dev/null && break; sleep 0.05; done &&
	kill9_daemon &&
	start_daemon &&
	grep "interrupted by a stop" ferryd.log &&
	wait_run $id success &&
	jq -e ".interruptions == 1 and .attempts == 2" body &&
	grep "attempt after an interruption" "$T_TRASH/state/logs/$id/checkout.log"
'

test_expect 'stop' '
	stop_daemon
'

test_done
