#!/bin/sh
# t0000-basic: ferryd -n checks configurations; ferryd starts, answers
# /healthz, and stops cleanly on SIGTERM.

. "$T_SRCDIR/lib.sh"

test_expect 'ferryd -V prints a version' '
	"$FERRYD" -V >v && grep "^ferryd [0-9]" v
'

test_expect 'ferryd -n accepts the shipped etc/ferry.yaml' '
	mkdir -p creds && echo a >creds/shop-webhook && echo b >creds/tools-webhook &&
	echo c >creds/legacy-webhook && echo d >creds/registry-hook &&
	echo e >creds/slack-signing-secret && echo f >creds/mattermost-command-token &&
	echo g >creds/mattermost-actions && echo https://hooks.slack.com/x >creds/slack-ops-webhook &&
	echo https://mm.example.com/hooks/x >creds/mm-ops-webhook && echo h >creds/audit-hook-key &&
	CREDENTIALS_DIRECTORY=$PWD/creds "$FERRYD" -n -c "$T_SRCDIR/../etc/ferry.yaml" >res 2>&1 &&
	grep -x "configuration OK" res
'

test_expect 'ferryd -n names file, line and column of each error' '
	cat >bad.yaml <<-\EOC &&
	listen: 127.0.0.1:0
	projects:
	  - name: shop
	    repo: https://example.com/shop.git
	    provider: gitbucket
	    secret: x
	    triggers:
	      - {kind: pull}
	EOC
	! "$FERRYD" -n -c bad.yaml >res 2>&1 &&
	grep "bad.yaml:5:15: provider: expected github" res &&
	grep "bad.yaml:8:16: kind: expected push, tag or merge" res &&
	! grep "configuration OK" res
'

test_expect 'ferryd -n warns about an inline secret in a world-readable file' '
	printf "listen: 127.0.0.1:0\nprojects:\n  - {name: a, repo: r, provider: github, secret: x}\n" >wr.yaml &&
	chmod 644 wr.yaml &&
	"$FERRYD" -n -c wr.yaml >res 2>&1 &&
	grep "world-readable" res && grep -x "configuration OK" res
'

# status_conf PROVIDER [PUBLIC_URL]: a project reporting commit statuses.
status_conf() {
	echo t >st.token && chmod 600 st.token &&
	{ test -z "${2:-}" || echo "public_url: $2"
	  printf "listen: 127.0.0.1:0\nprojects:\n  - {name: a, repo: r, provider: %s, secret_file: st.token,\n" "$1"
	  test "$1" != generic ||
		printf "     generic: {signature_header: X-Sig, ref_pointer: /ref, sha_pointer: /sha},\n"
	  printf "     status: {api_url: https://git.example.com/api, token_file: st.token}}\n"; } >st.yaml
}

test_expect 'ferryd -n refuses statuses a provider cannot take' '
	status_conf generic && ! "$FERRYD" -n -c st.yaml >res 2>&1 &&
	grep "project a: status: provider generic has no commit status API" res &&
	status_conf bitbucket && ! "$FERRYD" -n -c st.yaml >res 2>&1 &&
	grep "project a: status: Bitbucket needs a link for every status: set public_url" res &&
	status_conf bitbucket https://ferry.example.com && "$FERRYD" -n -c st.yaml >res 2>&1 &&
	grep -x "configuration OK" res && ! grep "link" res &&
	status_conf github && "$FERRYD" -n -c st.yaml >res 2>&1 &&
	grep "project a: status: without public_url the statuses link to nothing" res &&
	grep -x "configuration OK" res
'

test_expect 'ferryd -n: an environment names the project whose runs vouch for it' '
	echo t >p.token && chmod 600 p.token &&
	{ printf "listen: 127.0.0.1:0\nprojects:\n"
	  printf "  - {name: a, repo: r, provider: github, secret_file: p.token}\n"
	  printf "  - {name: b, repo: r, provider: github, secret_file: p.token}\n"
	  printf "environments:\n  - name: prod\n    repository: reg.example.com/a\n    policy: {semver: \">=1.0.0\"}\n"
	  printf "    require_acceptance: true\n    deploy: {driver: command, run: [\"true\"]}\n"; } >env.yaml &&
	"$FERRYD" -n -c env.yaml >res 2>&1 && grep -x "configuration OK" res &&
	grep "environment prod: with require_acceptance and several projects, set project:" res &&
	sed "s/^    require_acceptance: true/&\n    project: a/" env.yaml >env2.yaml &&
	"$FERRYD" -n -c env2.yaml >res 2>&1 && grep -x "configuration OK" res && ! grep "set project" res &&
	sed "s/^    require_acceptance: true/&\n    project: nosuch/" env.yaml >env3.yaml &&
	! "$FERRYD" -n -c env3.yaml >res 2>&1 && grep "environment prod: project: no project \"nosuch\"" res
'

test_expect 'a missing config file is a clear error' '
	! "$FERRYD" -n -c nonexistent.yaml 2>res &&
	grep "nonexistent.yaml: No such file" res
'

test_expect 'ferryd starts and answers /healthz' '
	write_config </dev/null &&
	start_daemon &&
	curl -sS "$T_URL/healthz" >health &&
	grep "\"status\":\"ok\"" health
'

test_expect 'the API socket has mode 0660' '
	test "$(stat -c %a "$T_SOCK")" = 660
'

test_expect 'unknown paths are 404 with a JSON error' '
	curl -sS -o body -w "%{http_code}" "$T_URL/nope" >code &&
	expect_code 404 && grep "\"error\"" body
'

test_expect 'SIGTERM stops ferryd with exit status 0' '
	stop_daemon
'

test_done
