#!/bin/bash
# t1010-providers-http: each git host's deliveries over real HTTP, with
# their own authentication: GitLab's token, Gitea's and Forgejo's bare hex
# signatures, Bitbucket's X-Hub-Signature (SHA-256), and the generic
# provider's configured header and JSON pointers.

. "$T_SRCDIR/lib.sh"

FX=$T_SRCDIR/fixtures

# sig FILE [PREFIX]: HMAC-SHA256 of FILE under the shared secret.
sig() {
	"$T_HELPER/hmac-sign" s3cret "$1" "${2-sha256=}"
}

test_expect 'setup' '
	echo s3cret >secret && chmod 600 secret &&
	write_config <<-EOF &&
	projects:
	  - {name: gl, repo: https://gitlab.example.com/acme/shop.git, provider: gitlab, secret_file: secret}
	  - {name: gt, repo: https://git.example.com/acme/shop.git, provider: gitea, secret_file: secret}
	  - {name: fj, repo: https://codeberg.org/acme/shop.git, provider: forgejo, secret_file: secret}
	  - {name: bb, repo: https://bitbucket.org/acme/shop.git, provider: bitbucket, secret_file: secret}
	  - {name: bs, repo: https://bitbucket.example.com/scm/prj/shop.git, provider: bitbucket-server, secret_file: secret}
	  - name: gen
	    repo: https://ci.example.com/shop.git
	    provider: generic
	    secret_file: secret
	    generic:
	      signature_header: X-Signature
	      signature_prefix: "sha256="
	      event_header: X-Event
	      delivery_header: X-Delivery
	      ref_pointer: /data/refUpdate/refName
	      sha_pointer: /data/refUpdate/newRev
	      before_pointer: /data/refUpdate/oldRev
	      repo_pointer: /data/repository/name
	EOF
	start_daemon
'

test_expect 'GitLab push with the right X-Gitlab-Token is 202' '
	post /hooks/gl "$FX/gitlab-push.json" -H "X-Gitlab-Event: Push Hook" \
		-H "X-Gitlab-Token: s3cret" -H "X-Gitlab-Event-UUID: gl-1" &&
	expect_code 202 &&
	jq -e ".events[0] | .provider == \"gitlab\" and .kind == \"push\" and .ref == \"refs/heads/main\" and .delivery == \"gl-1\"" body
'

test_expect 'GitLab with a wrong token is 401' '
	post /hooks/gl "$FX/gitlab-push.json" -H "X-Gitlab-Event: Push Hook" -H "X-Gitlab-Token: s3cre" &&
	expect_code 401 && jq -e ".error | test(\"token\")" body
'

test_expect 'GitLab merge request merged is a merge run' '
	post /hooks/gl "$FX/gitlab-mr-merged.json" -H "X-Gitlab-Event: Merge Request Hook" \
		-H "X-Gitlab-Token: s3cret" -H "Idempotency-Key: gl-2" &&
	expect_code 202 && jq -e ".events[0].kind == \"merge\"" body
'

test_expect 'GitLab merge request closed is 200 ignore' '
	post /hooks/gl "$FX/gitlab-mr-closed.json" -H "X-Gitlab-Event: Merge Request Hook" \
		-H "X-Gitlab-Token: s3cret" -H "Idempotency-Key: gl-3" &&
	expect_code 200 && jq -e ".events[0].kind == \"ignore\" and (.events[0].reason | length > 0)" body
'

test_expect 'Gitea push signed with X-Gitea-Signature (bare hex) is 202' '
	s=$(sig "$FX/gitea-push.json" "") &&
	post /hooks/gt "$FX/gitea-push.json" -H "X-Gitea-Event: push" -H "X-GitHub-Event: push" \
		-H "X-Gitea-Signature: $s" -H "X-Hub-Signature-256: sha256=$s" -H "X-Gitea-Delivery: gt-1" &&
	expect_code 202 && jq -e ".events[0].provider == \"gitea\" and .events[0].kind == \"push\"" body
'

test_expect 'Gitea with only the GitHub-style header is 401' '
	s=$(sig "$FX/gitea-push.json") &&
	post /hooks/gt "$FX/gitea-push.json" -H "X-Gitea-Event: push" -H "X-Hub-Signature-256: $s" &&
	expect_code 401
'

test_expect 'Gitea branch deletion is 200 ignore' '
	s=$(sig "$FX/gitea-delete.json" "") &&
	post /hooks/gt "$FX/gitea-delete.json" -H "X-Gitea-Event: delete" -H "X-Gitea-Signature: $s" -H "X-Gitea-Delivery: gt-2" &&
	expect_code 200 && jq -e ".events[0].kind == \"ignore\" and .events[0].deleted == true" body
'

test_expect 'Gitea tag: create and push of the same tag make one run' '
	s=$(sig "$FX/gitea-create-tag.json" "") &&
	post /hooks/gt "$FX/gitea-create-tag.json" -H "X-Gitea-Event: create" -H "X-Gitea-Signature: $s" -H "X-Gitea-Delivery: gt-3" &&
	expect_code 202 && r1=$(jq ".runs[0]" body) &&
	s=$(sig "$FX/gitea-push-tag.json" "") &&
	post /hooks/gt "$FX/gitea-push-tag.json" -H "X-Gitea-Event: push" -H "X-Gitea-Signature: $s" -H "X-Gitea-Delivery: gt-4" &&
	expect_code 202 && r2=$(jq ".runs[0]" body) &&
	test "$r1" = "$r2"
'

test_expect 'Forgejo push signed with X-Forgejo-Signature is 202' '
	s=$(sig "$FX/forgejo-push.json" "") &&
	post /hooks/fj "$FX/forgejo-push.json" -H "X-Forgejo-Event: push" -H "X-Gitea-Event: push" \
		-H "X-Forgejo-Signature: $s" -H "X-Gitea-Signature: $s" -H "X-Forgejo-Delivery: fj-1" &&
	expect_code 202 && jq -e ".events[0].provider == \"forgejo\"" body
'

test_expect 'Bitbucket push with two ref changes makes two events and runs' '
	s=$(sig "$FX/bitbucket-push-two.json") &&
	post /hooks/bb "$FX/bitbucket-push-two.json" -H "X-Event-Key: repo:push" -H "X-Hook-UUID: {h}" \
		-H "X-Request-UUID: bb-1" -H "X-Hub-Signature: $s" &&
	expect_code 202 &&
	jq -e "(.events | length) == 2 and (.runs | length) == 2 and .runs[0] != .runs[1]" body &&
	jq -e "[.events[].kind] | sort == [\"push\", \"tag\"]" body
'

test_expect 'Bitbucket with a SHA-1 style signature is 401' '
	post /hooks/bb "$FX/bitbucket-push-two.json" -H "X-Event-Key: repo:push" -H "X-Hook-UUID: {h}" \
		-H "X-Hub-Signature: sha1=0123456789abcdef0123456789abcdef01234567" &&
	expect_code 401
'

test_expect 'Bitbucket pull request fulfilled is a merge run' '
	s=$(sig "$FX/bitbucket-pr-fulfilled.json") &&
	post /hooks/bb "$FX/bitbucket-pr-fulfilled.json" -H "X-Event-Key: pullrequest:fulfilled" -H "X-Hook-UUID: {h}" \
		-H "X-Request-UUID: bb-2" -H "X-Hub-Signature: $s" &&
	expect_code 202 && jq -e ".events[0].kind == \"merge\"" body
'

test_expect 'Bitbucket Server refs_changed is accepted, ping answered 200' '
	s=$(sig "$FX/bbserver-refs-changed.json") &&
	post /hooks/bs "$FX/bbserver-refs-changed.json" -H "X-Event-Key: repo:refs_changed" \
		-H "X-Request-Id: bs-1" -H "X-Hub-Signature: $s" &&
	expect_code 202 && jq -e "(.events | length) == 2" body &&
	s=$(sig "$FX/bbserver-ping.json") &&
	post /hooks/bs "$FX/bbserver-ping.json" -H "X-Event-Key: diagnostics:ping" \
		-H "X-Request-Id: bs-2" -H "X-Hub-Signature: $s" &&
	expect_code 200 && jq -e ".events[0].kind == \"ping\"" body
'

test_expect 'Bitbucket Server pr:merged is a merge run' '
	s=$(sig "$FX/bbserver-pr-merged.json") &&
	post /hooks/bs "$FX/bbserver-pr-merged.json" -H "X-Event-Key: pr:merged" \
		-H "X-Request-Id: bs-3" -H "X-Hub-Signature: $s" &&
	expect_code 202 && jq -e ".events[0].kind == \"merge\"" body
'

test_expect 'generic: configured header and JSON pointers' '
	s=$(sig "$FX/generic-push.json") &&
	post /hooks/gen "$FX/generic-push.json" -H "X-Event: ref-updated" -H "X-Delivery: g-1" -H "X-Signature: $s" &&
	expect_code 202 &&
	jq -e ".events[0] | .provider == \"generic\" and .event == \"ref-updated\" and .ref == \"refs/heads/release/2024.05\" and .sha == \"b68644d5aeb41266dcb2d6c76b6e8b2939be6289\" and .repo == \"acme/shop\" and .delivery == \"g-1\"" body
'

test_expect 'generic: a wrong signature is 401' '
	post /hooks/gen "$FX/generic-push.json" -H "X-Signature: sha256=00" &&
	expect_code 401
'

test_expect 'GitHub headers sent to a GitLab project are refused' '
	s=$(sig "$FX/github-push.json") &&
	post /hooks/gl "$FX/github-push.json" -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $s" &&
	expect_code 401
'

test_expect 'webhook inspect agrees with the daemon (Bitbucket, two changes)' '
	"$FERRY" webhook inspect -H "X-Event-Key: repo:push" -H "X-Hook-UUID: {h}" <"$FX/bitbucket-push-two.json" >insp.json &&
	jq -e "length == 2 and .[0].provider == \"bitbucket\"" insp.json
'

test_expect 'webhook inspect with -c and --project applies the project (generic)' '
	"$FERRY" webhook inspect -c ferry.yaml --project gen -H "X-Signature: $(sig "$FX/generic-push.json")" <"$FX/generic-push.json" >insp.json &&
	jq -e ".[0].ref == \"refs/heads/release/2024.05\"" insp.json &&
	! "$FERRY" webhook inspect -c ferry.yaml --project gen -H "X-Signature: sha256=00" <"$FX/generic-push.json" 2>err &&
	test "$(wc -l <err)" = 1
'

test_expect 'webhook inspect: unknown provider, undetectable headers, bad JSON' '
	! "$FERRY" webhook inspect --provider nosuch </dev/null 2>e1 && grep "unknown provider" e1 &&
	! "$FERRY" webhook inspect -H "X-Other: 1" </dev/null 2>e2 && grep "cannot tell the provider" e2 &&
	! echo "{" | "$FERRY" webhook inspect -H "X-GitHub-Event: push" 2>e3 && grep "malformed JSON" e3 &&
	! "$FERRY" webhook inspect -H "nocolon" </dev/null 2>e4 && grep "malformed header" e4 &&
	test "$(cat e1 e2 e3 e4 | wc -l)" = 4
'

test_expect 'stop' '
	stop_daemon
'

test_done
