#!/bin/bash
# t1200-api-tcp: the API over TCP needs a bearer token from
# api.tokens_file; without one it is off. Tokens never show in logs.

. "$T_SRCDIR/lib.sh"

get() { # PATH [curl args]
	p=$1; shift
	curl -sS -o body -w "%{http_code}" "$@" "$T_URL$p" >code
}

test_expect 'without tokens_file the TCP API is 403' '
	write_config </dev/null &&
	start_daemon &&
	get /api/v1/runs && expect_code 403 && jq -e ".error | test(\"UNIX socket\")" body &&
	api /api/v1/runs && expect_code 200 &&
	stop_daemon
'

test_expect 'with tokens_file: missing, wrong and right tokens' '
	printf "# API tokens\n\ntok-one-1234567890\ntok-two-abcdefghij\n" >tokens && chmod 600 tokens &&
	write_config <<-EOF &&
	api: {tokens_file: tokens}
	EOF
	start_daemon &&
	get /api/v1/runs && expect_code 401 &&
	get /api/v1/runs -H "Authorization: Bearer tok-one-123456789" && expect_code 401 &&
	get /api/v1/runs -H "Authorization: Basic dG9rLW9uZQ==" && expect_code 401 &&
	get /api/v1/runs -H "Authorization: Bearer tok-two-abcdefghij" && expect_code 200 &&
	get /api/v1/runs -H "Authorization: bearer tok-one-1234567890" && expect_code 200
'

test_expect 'the CLI reaches the TCP API with -u and FERRY_TOKEN' '
	FERRY_TOKEN=tok-one-1234567890 "$FERRY" -u "$T_URL" runs >out1 &&
	head -n 1 out1 | grep "^ID" &&
	! FERRY_TOKEN=nope "$FERRY" -u "$T_URL" runs 2>err && grep "invalid bearer token" err
'

test_expect 'no token appears in the log' '
	! grep -e tok-one -e tok-two ferryd.log
'

test_expect 'an empty tokens file is a configuration error' '
	stop_daemon && : >tokens &&
	! "$FERRYD" -n -c ferry.yaml 2>err && grep "holds no token" err
'

test_expect 'webhook secrets never appear in the log' '
	echo "very-secret-value" >secret && chmod 600 secret &&
	write_config <<-EOF &&
	projects:
	  - {name: shop, repo: r, provider: gitlab, secret_file: secret}
	EOF
	start_daemon &&
	printf "{}" >e.json &&
	post /hooks/shop e.json -H "X-Gitlab-Event: Push Hook" -H "X-Gitlab-Token: very-secret-valu" &&
	expect_code 401 &&
	stop_daemon &&
	! grep "very-secret" ferryd.log
'

test_done
