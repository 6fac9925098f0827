#!/bin/bash
# t3020-homes: each project's stages get a HOME of their own, so what one
# project's pipeline leaves in its HOME never reaches another's; project
# names that would make odd paths ("..", hidden) are refused.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

# repo NAME STAGE: a bare repository whose pipeline runs STAGE (sh).
repo() {
	git init -q --bare git/$1.git &&
	$GIT clone -q git/$1.git $1 2>/dev/null &&
	printf "stages:\n  - name: work\n    run: %s\n" "$2" >$1/.ferry.yaml &&
	(cd $1 && $GIT add -A && $GIT commit -q -m init && git push -q origin HEAD:refs/heads/main)
}

deliver() { # PROJECT
	printf '{"ref":"refs/heads/main","before":"%040d","after":"%s","repository":{"full_name":"acme/%s"}}' \
		0 "$(git -C $1 rev-parse HEAD)" "$1" >push.json &&
	post /hooks/$1 push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d-$1" \
		-H "X-Hub-Signature-256: $(sign s3cret push.json)" &&
	expect_code 202 && jq -r ".runs[0]" body
}

test_expect 'setup: two projects' '
	mkdir git &&
	repo first "echo \"home=\$HOME\"; echo planted >\"\$HOME/.planted\"; echo \"[user] name = evil\" >\"\$HOME/.gitconfig\"" &&
	repo second "echo \"home=\$HOME\"; ! test -e \"\$HOME/.planted\" && ! test -e \"\$HOME/.gitconfig\"" &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 2}" write_config <<-EOF &&
	projects:
	  - {name: first, repo: "file://$T_TRASH/git/first.git", provider: github, secret_file: secret}
	  - {name: second, repo: "file://$T_TRASH/git/second.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'what one project leaves in its HOME is not in the next project'"'"'s' '
	a=$(deliver first) && wait_run_end $a && jq -e ".state == \"success\"" body &&
	b=$(deliver second) && wait_run_end $b && jq -e ".state == \"success\"" body &&
	grep "home=$T_TRASH/state/home/first$" state/logs/$a/work.log &&
	grep "home=$T_TRASH/state/home/second$" state/logs/$b/work.log &&
	test -e state/home/first/.planted
'

test_expect 'project names that are not plain file names are refused' '
	for n in .. . .hidden; do
		printf "projects:\n  - {name: \"%s\", repo: r, provider: github, secret_file: secret}\n" "$n" >bad.yaml &&
		! "$FERRYD" -n -c bad.yaml >res 2>&1 &&
		grep "name: only letters, digits" res || return 1
	done
'

test_expect 'stop' '
	stop_daemon
'

test_done
