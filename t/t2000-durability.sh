#!/bin/bash
# t2000-durability: once a delivery is answered 202 its run is on disk.
# 2,000 signed webhooks from 16 concurrent connections; ferryd is killed
# with SIGKILL in the middle; after a restart every delivery that was
# answered 202 has its queued run, and the batching is visible.

. "$T_SRCDIR/lib.sh"

printf '%s\n' '{"ref":"refs/heads/main","before":"1111111111111111111111111111111111111111","after":"@SHA@","created":false,"deleted":false,"forced":false,"repository":{"full_name":"acme/shop","clone_url":"https://github.com/acme/shop.git"},"sender":{"login":"flood"}}' >tmpl.json

test_expect 'setup' '
	write_config <<-EOF &&
	projects:
	  - name: shop
	    repo: https://github.com/acme/shop.git
	    provider: github
	    secret_file: shop.secret
	    supersede: false
	EOF
	echo s3cret >shop.secret && chmod 600 shop.secret &&
	start_daemon &&
	hp=${T_URL#http://}
'

test_expect '2,000 concurrent deliveries, SIGKILL in the middle' '
	: >answers &&
	"$T_HELPER/hook-flood" "${hp%:*}" "${hp##*:}" /hooks/shop s3cret tmpl.json 2000 16 answers $T_PID:700 &&
	kill9_daemon &&
	test "$(wc -l <answers)" = 2000 &&
	accepted=$(awk "\$2 == 202" answers | wc -l) &&
	lost=$(awk "\$2 == 0" answers | wc -l) &&
	echo "accepted $accepted, unanswered $lost" &&
	test "$accepted" -ge 700 && test "$lost" -ge 1
'

test_expect 'after a restart every delivery answered 202 has its run' '
	start_daemon &&
	api "/api/v1/runs?project=shop&limit=10000" && expect_code 200 &&
	jq -r ".runs[] | select(.state == \"queued\") | .sha" body | sort >have &&
	awk "\$2 == 202 { print \$3 }" answers | sort >want &&
	comm -23 want have >missing &&
	test ! -s missing &&
	echo "runs on disk: $(wc -l <have), answered 202: $(wc -l <want)"
'

test_expect 'no delivery was refused' '
	awk "\$2 != 202 && \$2 != 0 { print }" answers >odd &&
	test ! -s odd
'

test_expect 'all 2,000 sent again: the unanswered are accepted, the rest are duplicates' '
	: >answers2 && hp=${T_URL#http://} &&
	"$T_HELPER/hook-flood" "${hp%:*}" "${hp##*:}" /hooks/shop s3cret tmpl.json 2000 4 answers2 &&
	awk "\$2 != 200 && \$2 != 202" answers2 >bad &&
	test ! -s bad &&
	api "/api/v1/runs?project=shop&limit=10000" &&
	test "$(jq ".runs | length" body)" = 2000
'

test_expect 'commits were batched: fewer commits than deliveries' '
	curl -sS "$T_URL/metrics" >metrics &&
	commits=$(awk "/^ferry_store_commits_total/ { print \$2 }" metrics) &&
	accepted=$(awk "/result=\"accepted\"/ { print \$2 }" metrics) &&
	dups=$(awk "/result=\"duplicate\"/ { print \$2 }" metrics) &&
	echo "commits $commits for $accepted accepted, $dups duplicates" &&
	test "$commits" -lt $((accepted + dups)) &&
	stop_daemon
'

test_done
