#!/bin/bash
# t7200-chatops: continuous delivery through chat, end to end. A real
# docker-registry and real git repositories; Slack, Mattermost and the git
# host cannot run here, so t/helper/hook-standin stands in for the chat
# incoming webhooks and response_url at the paths the real services use,
# answering as they do (it records what ferry posts), and
# t/helper/githost-standin for GitHub's status API (it checks the token and
# the JSON). Requests from "Slack" are signed here with the signing secret
# exactly as Slack signs them.
#
# A push by alice builds and publishes a bundle; commit statuses reach the
# git host. The manual environment posts an approval request with buttons;
# alice (who pushed) and a stranger are refused and audited; bob's button
# and carol's slash command make the two approvals; the gitops driver
# deploys and the success is posted. A Mattermost button by another
# approver makes a second approval; a button's token opens no slash command,
# and a reason that names a button's token posts no token. A release past
# its deadline expires.
# The outbox survives the receiver being down and ferryd being killed.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"
for t in docker-registry python3 git; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
HOOK_PID= GH_PID=
trap 'registry_stop; stop_daemon_quiet; kill $HOOK_PID $GH_PID 2>/dev/null' EXIT

SLACK_SECRET=8f742231b10e8888abcd99yyyzzz85a5
# Where the incoming webhooks are, shaped as Slack's and Mattermost's.
SLACK_HOOK=/services/T1/B07QZ3N5K/x4HkJ9mQ2rT8vW1yZ6bN3cLp
MM_HOOK=/hooks/k3z9w1x7p5q8r2t6y4u0i9o3ab

# start_hooks: the chat stand-in on a fixed port (so it can be restarted).
start_hooks() {
	rm -f hook.port
	python3 "$T_SRCDIR/helper/hook-standin" --log hooks.log --port-file hook.port \
		--chat --slack-response /actions/ ${HOOK_PORT:+--port $HOOK_PORT} 2>>hook.err &
	HOOK_PID=$!
	wait_for "test -s hook.port" && HOOK_PORT=$(cut -d" " -f1 hook.port)
}

# start_githost: the git host stand-in; sets GH_PORT.
start_githost() {
	python3 "$T_SRCDIR/helper/githost-standin" gh.port gh.log ghp-token 2>gh.err &
	GH_PID=$!
	wait_for "test -s gh.port" && GH_PORT=$(cut -d" " -f1 gh.port)
}

# slack FORM-BODY-FILE [TIMESTAMP]: POST /chat/slack signed as Slack does.
slack() {
	ts=${2:-$(date +%s)}
	{ printf "v0:%s:" "$ts"; cat "$1"; } >base.txt
	sig=$("$T_HELPER/hmac-sign" "$SLACK_SECRET" base.txt "v0=")
	curl -sS -o body -w '%{http_code}' -X POST --data-binary @"$1" \
		-H "Content-Type: application/x-www-form-urlencoded" \
		-H "X-Slack-Request-Timestamp: $ts" -H "X-Slack-Signature: $sig" \
		"$T_URL/chat/slack" >code
}

# slash USER TEXT [TIMESTAMP]: a /ferry slash command from user USER of team T1.
slash() {
	printf "token=x&team_id=T1&team_domain=acme&channel_id=C1&channel_name=ops&user_id=%s&user_name=%s&command=%%2Fferry&text=%s&response_url=%s&trigger_id=1.2.3" \
		"$1" "$1" "$(printf %s "$2" | jq -sRr @uri)" \
		"$(printf %s "http://127.0.0.1:$HOOK_PORT/commands/T1/1/abc" | jq -sRr @uri)" >slash.txt &&
	slack slash.txt "${3:-}"
}

# button USER ACTION RELEASE [RESPONSE_URL]: an Approve/Reject button press
# (block_actions).
button() {
	jq -nc --arg u "$1" --arg a "$2" --arg r "$3" --arg url "${4:-http://127.0.0.1:$HOOK_PORT/actions/T1/1234/kQ9xZ2}" \
		'{type: "block_actions", team: {id: "T1"}, user: {id: $u, username: $u}, channel: {id: "C1"},
		  response_url: $url, trigger_id: "1.2.3", actions: [{action_id: $a, block_id: "b", type: "button", value: $r}]}' >payload.json &&
	printf "payload=%s" "$(jq -sRr @uri <payload.json)" >button.txt &&
	slack button.txt
}

# form PATH FILE: POST a form body.
form() {
	curl -sS -o body -w '%{http_code}' -X POST --data-binary @"$2" \
		-H 'Content-Type: application/x-www-form-urlencoded' "$T_URL$1" >code
}

# chat_ok: ferry posted to the chat paths, and Slack and Mattermost (the
# stand-in answering as they do) took every post. Only the outbox's posts
# count (they carry X-Ferry-Message), not the test's own probes.
chat_ok() {
	jq -s -e 'map(select(.protocol != null and .headers["X-Ferry-Message"] != null)) |
		length > 0 and all(.status == 200)' hooks.log >/dev/null
}

# posted PATH TEXT: the outbox posted to PATH a body holding TEXT.
posted() {
	jq -s -e --arg p "$1" --arg t "$2" \
		'any(.[]; .path == $p and .headers["X-Ferry-Message"] != null and (.body | contains($t)))' \
		hooks.log >/dev/null
}

# hook_post PATH TYPE BODY: post to the chat stand-in; prints "CODE ANSWER".
hook_post() {
	curl -sS -o hp.body -w '%{http_code}' -H "Content-Type: $2" --data-binary "$3" \
		"http://127.0.0.1:$HOOK_PORT$1" >hp.code
	printf "%s %s\n" "$(cat hp.code)" "$(jq -r .id hp.body 2>/dev/null || cat hp.body)"
}

# mm_token RELEASE: the token of RELEASE's Mattermost buttons, made here
# the way ferry makes it.
mm_token() {
	printf "ferry-approval:%s" "$1" >tok.txt && "$T_HELPER/hmac-sign" mm-actions tok.txt ""
}

# publish_more: a new commit, pushed by bob, built and accepted by ferryd.
publish_more() {
	(cd work && rm -f fail && echo "$RANDOM" >.helm/templates/n.txt && $GIT add -A &&
		$GIT commit -q -m more && git push -q origin HEAD:refs/heads/main) &&
	sha=$(git -C work rev-parse HEAD) &&
	sed "s/\"after\":\"[0-9a-f]*\"/\"after\":\"$sha\"/; s/alice/bob/" push.json >push3.json &&
	s=$(sign s3cret push3.json) &&
	post /hooks/shop push3.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d3" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && wait_run_end "$(jq ".runs[0]" body)" && test "$(jq -r .state body)" = success
}

# newest ENV: the newest release of ENV in ./release.
newest() {
	api "/api/v1/releases?env=$1" && jq ".releases[0]" body >release
}

wait_state() {
	wait_for "newest $1 && test \"\$(jq -r .state release)\" = $2" ${3:-30}
}

test_expect 'setup: registry, project, GitOps repository, chat and git host stand-ins, ferryd' '
	registry_start && start_hooks && start_githost &&
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	mkdir -p work/.helm/templates &&
	printf "apiVersion: v2\nname: shop\nversion: 0.1.0\n" >work/.helm/Chart.yaml &&
	printf "kind: ConfigMap\nmetadata: {name: shop}\n" >work/.helm/templates/cm.yaml &&
	cat >work/.ferry.yaml <<-EOF &&
	stages:
	  - name: publish
	    run: ["ferry", "bundle", "publish", "--insecure", "--repo", "$REG/acme/shop"]
	  - name: acceptance
	    run: test ! -e fail
	EOF
	(cd work && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	git init -q --bare gitops.git && $GIT clone -q gitops.git gw 2>/dev/null && mkdir gw/apps &&
	printf "spec:\n  source:\n    targetRevision: \"0\"   # ferry\n" >gw/apps/shop.yaml &&
	(cd gw && $GIT add -A && $GIT commit -q -m init && git push -q origin HEAD:refs/heads/main) &&
	echo s3cret >secret && echo "$SLACK_SECRET" >slack.secret && echo mm-token >mm.token &&
	echo mm-actions >mm.actions && echo ghp-token >gh.token && echo hook-key >hook.key &&
	echo "http://127.0.0.1:$HOOK_PORT$SLACK_HOOK" >slack.url &&
	echo "http://127.0.0.1:$HOOK_PORT$MM_HOOK" >mm.url &&
	chmod 600 secret slack.secret mm.token mm.actions gh.token hook.key slack.url mm.url &&
	T_EXEC="{concurrency: 2, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	public_url: https://ferry.example.com
	registries: [{host: "$REG", insecure: true}]
	chat:
	  slack: {signing_secret_file: slack.secret, response_url_prefix: "http://127.0.0.1:$HOOK_PORT/actions/"}
	  mattermost: {token_file: mm.token, action_secret_file: mm.actions, action_url: "http://ferry.example.com/chat/mattermost"}
	channels:
	  - {name: ops, type: slack, url_file: slack.url}
	  - {name: mm, type: mattermost, url_file: mm.url}
	  - {name: hook, type: webhook, url: "http://127.0.0.1:$HOOK_PORT/webhook", secret_file: hook.key}
	people:
	  - {name: alice, git: [alice], ids: ["slack:T1:UALICE", "mattermost:team1:ualice"]}
	  - {name: bob, git: [bob], ids: ["slack:T1:UBOB", "mattermost:team1:ubob"]}
	  - {name: carol, git: [carol], ids: ["slack:T1:UCAROL", "mattermost:team1:ucarol"]}
	projects:
	  - name: shop
	    repo: file://$T_TRASH/shop.git
	    provider: github
	    secret_file: secret
	    status: {api_url: "http://127.0.0.1:$GH_PORT/github", token_file: gh.token}
	    notify: [{channel: ops, events: [run_failed], branches: [main]}]
	environments:
	  - name: production
	    repository: $REG/acme/shop
	    policy: {semver: ">=0.0.0-0"}
	    mode: manual
	    approvals: 2
	    approvers: ["person:alice", "person:bob", "person:carol"]
	    deployers: ["person:carol"]
	    require_acceptance: true
	    poll_interval: off
	    notify: [ops, mm, {channel: hook, events: [deploy]}]
	    deploy: {driver: gitops, repo: "file://$T_TRASH/gitops.git", branch: main, file: apps/shop.yaml, key: spec.source.targetRevision}
	  - name: brief
	    repository: $REG/acme/shop
	    policy: {semver: ">=0.0.0-0"}
	    mode: manual
	    deadline: 2s
	    poll_interval: off
	    notify: [{channel: ops, events: [approval, release]}]
	    deploy: {driver: command, run: ["true"]}
	  - name: staging
	    repository: $REG/acme/shop
	    policy: {semver: ">=0.0.0-0"}
	    mode: manual
	    approvers: ["person:carol"]
	    poll_interval: off
	    notify: [{channel: ops, events: [release]}, {channel: mm, events: [release]}, {channel: hook, events: [release]}]
	    deploy: {driver: command, run: ["true"]}
	EOF
	start_daemon
'

test_expect 'the chat stand-in refuses what Slack and Mattermost refuse' '
	test "$(hook_post "$SLACK_HOOK" application/json "{\"text\":\"hi\"}")" = "200 ok" &&
	test "$(hook_post "$SLACK_HOOK" application/x-www-form-urlencoded "text=hi")" = "400 invalid_payload" &&
	test "$(hook_post "$SLACK_HOOK" application/json "{\"text\":")" = "400 invalid_payload" &&
	test "$(hook_post "$SLACK_HOOK" application/json "{\"username\":\"x\"}")" = "400 no_text" &&
	test "$(hook_post /services/T1/nope application/json "{\"text\":\"hi\"}")" = "404 no_service" &&
	test "$(hook_post "$MM_HOOK" application/json "{\"text\":\"hi\"}")" = "200 ok" &&
	test "$(hook_post "$MM_HOOK" application/json "{\"username\":\"x\"}")" = "400 web.incoming_webhook.text.app_error" &&
	test "$(hook_post "$MM_HOOK" application/json "[1]")" = "400 web.incoming_webhook.parse.app_error" &&
	test "$(hook_post /hooks/short application/json "{\"text\":\"hi\"}")" = "400 web.incoming_webhook.invalid.app_error" &&
	test "$(hook_post /actions/T1/1/x application/json "{\"text\":\"hi\"}")" = "200 ok" &&
	test "$(hook_post /actions/T1/1/x application/json "{}")" = "400 no_text"
'

test_expect 'a push by alice runs; each stage reports its commit status to the git host' '
	sha=$(git -C work rev-parse HEAD) &&
	printf "{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\",\"repository\":{\"full_name\":\"acme/shop\"},\"sender\":{\"login\":\"alice\"}}" 0 "$sha" >push.json &&
	s=$(sign s3cret push.json) &&
	post /hooks/shop push.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d1" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && run=$(jq ".runs[0]" body) && wait_run_end $run &&
	test "$(jq -r .state body)" = success &&
	wait_for "test \$(jq -s \"[.[] | select(.json.context == \\\"ferry\\\")] | length\" gh.log) = 1" 20 &&
	jq -s "[.[] | select(.path == \"/github/repos/acme/shop/statuses/$sha\")]" gh.log >st.json &&
	jq -e "[.[] | .json.context] | unique | sort == [\"ferry\", \"ferry/acceptance\", \"ferry/checkout\", \"ferry/pipeline\", \"ferry/publish\"]" st.json &&
	jq -e "all(.[]; .status == 201 and .headers.authorization == \"Bearer ghp-token\")" st.json &&
	jq -e "[.[] | select(.json.context == \"ferry/publish\") | .json.state] | unique == [\"pending\", \"success\"]" st.json &&
	jq -e "[.[] | select(.json.context == \"ferry\")][-1].json | .state == \"success\" and .target_url == \"https://ferry.example.com/api/v1/runs/$run\"" st.json &&
	! grep -q ghp-token state/ferry.db* && ! grep -q "$SLACK_SECRET" state/ferry.db* &&
	! grep -q "${SLACK_HOOK##*/}" state/ferry.db* && ! grep -q "${MM_HOOK##*/}" state/ferry.db*
'

test_expect 'the release waits for approval; the request is posted with Approve and Reject buttons' '
	$FERRY -s "$T_SOCK" check production && wait_state production awaiting-approval &&
	id=$(jq -r .id release) &&
	wait_for "grep -q ferry_approve hooks.log" &&
	jq -s "[.[] | select(.path == \"$SLACK_HOOK\" and (.body | test(\"ferry_approve\")))][-1].body | fromjson" hooks.log >msg.json &&
	jq -e "[.. | objects | select(.action_id? == \"ferry_approve\" or .action_id? == \"ferry_reject\") | .value] == [\"$id\", \"$id\"]" msg.json &&
	wait_for "jq -s -e \"[.[] | select(.path == \\\"$MM_HOOK\\\")] | length >= 1\" hooks.log >/dev/null" &&
	jq -s "[.[] | select(.path == \"$MM_HOOK\" and (.body | test(\"integration\")))][-1].body | fromjson" hooks.log >mm.json &&
	chat_ok &&
	jq -e "[.. | objects | select(.integration?) | .integration.context.release] | map(tostring) | unique == [\"$id\"]" mm.json &&
	printf "ferry-approval:%s" "$id" >tok0.txt && tok0=$("$T_HELPER/hmac-sign" mm-actions tok0.txt "") &&
	jq -e "[.. | objects | select(.integration?) | .integration.context.token] | unique == [\"$tok0\"]" mm.json &&
	! grep -q "$tok0" state/ferry.db*
'

test_expect 'bad Slack requests are refused before anything: stale, tampered, unsigned, wrong secret' '
	slash UBOB "approve $id" && expect_code 200 && jq -e ".text | test(\"approved\")" body &&
	slash UBOB "approve $id" && expect_code 200 && jq -e ".text | test(\"already decided\")" body &&
	slash UCAROL "status" "$(( $(date +%s) - 400 ))" && expect_code 401 &&
	slash UCAROL "status" "$(( $(date +%s) + 400 ))" && expect_code 401 &&
	{ printf "v0:%s:" "$(date +%s)"; cat slash.txt; } >base.txt &&
	sig=$("$T_HELPER/hmac-sign" "$SLACK_SECRET" base.txt "v0=") &&
	sed "s/status/approve%20$id/" slash.txt >tampered.txt &&
	post /chat/slack tampered.txt -H "X-Slack-Request-Timestamp: $(date +%s)" -H "X-Slack-Signature: $sig" &&
	expect_code 401 &&
	post /chat/slack slash.txt && expect_code 401 &&
	sig=$("$T_HELPER/hmac-sign" wrong-secret base.txt "v0=") &&
	post /chat/slack slash.txt -H "X-Slack-Request-Timestamp: $(date +%s)" -H "X-Slack-Signature: $sig" &&
	expect_code 401 &&
	api /chat/slack && expect_code 405 &&
	api /api/v1/releases/$id && jq -e ".state == \"awaiting-approval\" and [.approvals[].who] == [\"slack:T1:UBOB\"]" body
'

test_expect 'the pusher and a stranger are refused, privately, and audited' '
	button UALICE ferry_approve $id && expect_code 200 &&
	wait_for "grep -q \"pushed the commit\" hooks.log" &&
	slash UMALLORY "approve $id" && expect_code 200 &&
	jq -e ".response_type == \"ephemeral\" and (.text | test(\"not among the approvers\"))" body &&
	$FERRY -s "$T_SOCK" audit --json >audit.json &&
	jq -e "[.[] | select(.who == \"slack:T1:UALICE\" and .result == \"refused\" and .via == \"slack\")] | length == 1" audit.json &&
	jq -e "[.[] | select(.who == \"slack:T1:UMALLORY\" and .result == \"refused\")] | length == 1" audit.json &&
	button UEVE ferry_approve $id "http://127.0.0.1:$HOOK_PORT/webhook" && expect_code 200 &&
	grep -q "response_url outside http://127.0.0.1:$HOOK_PORT/actions/ is not used" ferryd.log &&
	newest production && test "$(jq -r .state release)" = awaiting-approval
'

test_expect 'a second approval by button deploys; the result reaches chat and the signed webhook' '
	button UCAROL ferry_approve $id && expect_code 200 &&
	wait_state production deployed &&
	git -C gitops.git show main:apps/shop.yaml | grep "targetRevision: \"$(jq -r .tag release)\"   # ferry" &&
	wait_for "grep -q \"Deployed release $id\" hooks.log" &&
	wait_for "jq -s -e \"[.[] | select(.path == \\\"/webhook\\\")] | length >= 2\" hooks.log >/dev/null" &&
	jq -s -c ".[] | select(.path == \"/webhook\")" hooks.log | tail -n 1 >wh.json &&
	jq -r .body wh.json | tr -d "\n" >wh.body && jq -j .body wh.json >wh.body &&
	test "$(jq -r ".headers[\"X-Ferry-Signature\"]" wh.json)" = "$("$T_HELPER/hmac-sign" hook-key wh.body)" &&
	jq -e ".event == \"release\" and .state == \"deployed\"" wh.body &&
	wait_for "grep -q \"Release $id approved\" hooks.log"
'

test_expect 'deploy and rollback from chat: only deployers' '
	slash UBOB "rollback production" && expect_code 200 &&
	jq -e ".text | test(\"may not deploy\")" body &&
	slash UCAROL "deploy production 9.9.9" && expect_code 200 &&
	jq -e ".response_type == \"in_channel\" and (.text | test(\"deploying 9.9.9 to production\"))" body &&
	slash UCAROL "deploy production bad;tag" && expect_code 200 &&
	jq -e ".response_type == \"ephemeral\"" body &&
	slash UCAROL "help" && expect_code 200 && jq -e ".text | test(\"approve\")" body &&
	slash UCAROL "status production" && expect_code 200 && jq -e ".text | test(\"production\")" body
'

test_expect 'Mattermost: the slash command token, and a button with a forged token' '
	printf "token=mm-token&team_id=team1&user_id=ucarol&user_name=carol&channel_id=c&command=%%2Fferry&text=status" >mm.txt &&
	form /chat/mattermost mm.txt && expect_code 200 &&
	jq -e ".text | test(\"production\")" body &&
	curl -sS -o body -w "%{http_code}" "$T_URL/chat/mattermost?$(cat mm.txt)" >code &&
	expect_code 200 && jq -e ".text | test(\"production\")" body &&
	curl -sS -o body -w "%{http_code}" "$T_URL/chat/mattermost?$(sed s/mm-token/bad/ mm.txt)" >code &&
	expect_code 401 &&
	sed "s/mm-token/nope/" mm.txt >mmbad.txt &&
	form /chat/mattermost mmbad.txt && expect_code 401 &&
	printf "{\"user_id\":\"ucarol\",\"team_id\":\"team1\",\"channel_id\":\"c\",\"context\":{\"action\":\"approve\",\"release\":\"%s\",\"token\":\"forged\"}}" "$id" >mmb.json &&
	post /chat/mattermost mmb.json && expect_code 401 &&
	printf "ferry-approval:%s" "$id" >tok.txt &&
	tok=$("$T_HELPER/hmac-sign" mm-actions tok.txt "") &&
	printf "{\"user_id\":\"ucarol\",\"team_id\":\"team1\",\"channel_id\":\"c\",\"context\":{\"action\":\"approve\",\"release\":\"%s\",\"token\":\"%s\"}}" "$id" "$tok" >mmb.json &&
	post /chat/mattermost mmb.json && expect_code 200 &&
	jq -e ".ephemeral_text | test(\"not awaiting approval\")" body &&
	printf "{\"user_id\":\"ucarol\",\"team_id\":\"team1\",\"channel_id\":\"c\",\"context\":{\"action\":\"approve\",\"release\":\"%s\",\"token\":\"%s\"}}" "$((id + 1))" "$tok" >mmb2.json &&
	post /chat/mattermost mmb2.json && expect_code 401
'

test_expect 'a button token is no slash command token, whatever the body looks like' '
	tok=$(mm_token "$id") &&
	$FERRY -s "$T_SOCK" audit --json >audit0.json &&
	printf "{\"context\":{\"release\":\"%s\"},\"x\":\"&token=%s&team_id=team1&user_id=ucarol&user_name=carol&channel_id=c&command=%%2Fferry&text=rollback+production&y=\"}" "$id" "$tok" >cross.txt &&
	jq -e ".context.release == \"$id\"" cross.txt &&
	form /chat/mattermost cross.txt && expect_code 401 &&
	jq -e ".error | test(\"token mismatch\")" body &&
	curl -sS -o body -w "%{http_code}" -X POST -H "Content-Type:" --data-binary @cross.txt \
		"$T_URL/chat/mattermost" >code &&
	expect_code 401 && jq -e ".error | test(\"without a token\")" body &&
	$FERRY -s "$T_SOCK" audit --json >audit1.json &&
	test "$(jq length audit0.json)" = "$(jq length audit1.json)"
'

test_expect 'one person is one approval, whatever the platform; chat needs listed approvers' '
	$FERRY -s "$T_SOCK" check brief && wait_state brief awaiting-approval 20 &&
	bid=$(jq -r .id release) &&
	slash UCAROL "approve $bid" && expect_code 200 &&
	jq -e ".text | test(\"not among the approvers of brief\")" body &&
	newest production && pid=$(jq -r .id release) &&
	publish_more && $FERRY -s "$T_SOCK" check production && wait_for "newest production && test \$(jq -r .id release) != $pid && test \$(jq -r .state release) = awaiting-approval" 20 &&
	nid=$(jq -r .id release) &&
	slash UCAROL "approve $nid" && expect_code 200 && jq -e ".text | test(\"approved\")" body &&
	printf "ferry-approval:%s" "$nid" >tok.txt && tok=$("$T_HELPER/hmac-sign" mm-actions tok.txt "") &&
	printf "{\"user_id\":\"ucarol\",\"team_id\":\"team1\",\"channel_id\":\"c\",\"context\":{\"action\":\"approve\",\"release\":\"%s\",\"token\":\"%s\"}}" "$nid" "$tok" >mmb3.json &&
	post /chat/mattermost mmb3.json && expect_code 200 &&
	jq -e ".ephemeral_text | test(\"already approved release $nid as slack:T1:UCAROL\")" body &&
	newest production && test "$(jq -r .state release)" = awaiting-approval
'

# bob pushed this release's commit (publish_more), so alice presses it.
test_expect 'a Mattermost button by another approver is the second approval: it deploys' '
	tok=$(mm_token "$nid") &&
	printf "{\"user_id\":\"ubob\",\"user_name\":\"bob\",\"team_id\":\"team1\",\"channel_id\":\"cops\",\"context\":{\"action\":\"approve\",\"release\":\"%s\",\"token\":\"%s\"}}" "$nid" "$tok" >mmbob.json &&
	post /chat/mattermost mmbob.json && expect_code 200 &&
	jq -e ".ephemeral_text | test(\"ubob pushed the commit of release $nid\")" body &&
	printf "{\"user_id\":\"ualice\",\"user_name\":\"alice\",\"team_id\":\"team1\",\"channel_id\":\"cops\",\"post_id\":\"p1\",\"context\":{\"action\":\"approve\",\"release\":\"%s\",\"token\":\"%s\"}}" "$nid" "$tok" >mmb4.json &&
	post /chat/mattermost mmb4.json && expect_code 200 &&
	jq -e ".ephemeral_text | test(\"Release $nid approved by alice\")" body &&
	api /api/v1/releases/$nid &&
	jq -e "[.approvals[].who] | sort == [\"mattermost:team1:ualice\", \"slack:T1:UCAROL\"]" body &&
	wait_state production deployed 30 && test "$(jq -r .id release)" = "$nid" &&
	$FERRY -s "$T_SOCK" audit --json >audit.json &&
	jq -e "[.[] | select(.who == \"mattermost:team1:ualice\" and .via == \"mattermost\" and .action == \"approve\" and .result == \"ok\" and .target == \"release $nid\" and (.origin | endswith(\" channel cops\")))] | length == 1" audit.json &&
	jq -e "[.[] | select(.who == \"slack:T1:UCAROL\" and .target == \"release $nid\")][0].origin | endswith(\" channel C1\")" audit.json
'

# The approval requests of releases $id and $nid carry their real tokens
# (that is what their buttons are for); the posts of the reason must not.
test_expect 'a reason that names a button token posts the reason, never the token' '
	$FERRY -s "$T_SOCK" check staging && wait_state staging awaiting-approval 20 &&
	sid=$(jq -r .id release) &&
	slash UCAROL "reject $sid @@ferry-button:$sid@@ and @@ferry-button:$nid@@" && expect_code 200 &&
	jq -e ".text | test(\"rejected\")" body &&
	wait_state staging rejected &&
	said="Release $sid of staging is rejected: rejected by slack:T1:UCAROL: @@ferry-button:$sid@@ and @@ferry-button:$nid@@" &&
	wait_for "posted $SLACK_HOOK \"\$said\"" && wait_for "posted $MM_HOOK \"\$said\"" &&
	wait_for "posted /webhook \"@@ferry-button:$sid@@ and @@ferry-button:$nid@@\"" &&
	jq -r "select(.body | contains(\"@@ferry-button:$sid@@\")) | .body" hooks.log >reason-posts &&
	test "$(grep -c "@@ferry-button:$nid@@" reason-posts)" -ge 3 &&
	for r in "$sid" "$nid" "$id"; do
		! grep -q "$(mm_token "$r")" reason-posts || return 1
	done &&
	chat_ok
'

test_expect 'a release past its deadline expires, and chat hears of it' '
	wait_state brief expired 20 &&
	wait_for "grep -q \"Release $(jq -r .id release) of brief is expired\" hooks.log"
'

test_expect 'the outbox: the receiver down for a while, then ferryd killed with messages pending' '
	kill $HOOK_PID && wait $HOOK_PID 2>/dev/null; HOOK_PID= &&
	touch work/fail && (cd work && $GIT add -A && $GIT commit -q -m fail && git push -q origin HEAD:refs/heads/main) &&
	sha=$(git -C work rev-parse HEAD) &&
	sed "s/\"after\":\"[0-9a-f]*\"/\"after\":\"$sha\"/" push.json >push2.json &&
	s=$(sign s3cret push2.json) &&
	post /hooks/shop push2.json -H "X-GitHub-Event: push" -H "X-GitHub-Delivery: d2" -H "X-Hub-Signature-256: $s" &&
	expect_code 202 && run=$(jq ".runs[0]" body) && wait_run_end $run &&
	test "$(jq -r .state body)" = failed &&
	wait_for "api \"/api/v1/outbox?state=pending\" && jq -e \".outbox | map(.dedupe) | index(\\\"run:$run:failed:ops\\\")\" body >/dev/null" 20 &&
	kill -KILL $T_PID && wait $T_PID 2>/dev/null; T_PID= &&
	start_hooks && start_daemon &&
	wait_for "grep -q \"Run $run of shop failed\" hooks.log" 30 &&
	wait_for "api \"/api/v1/outbox?state=sent\" && jq -e \".outbox | map(.dedupe) | index(\\\"run:$run:failed:ops\\\")\" body >/dev/null" 20 &&
	test "$(grep -c "Run $run of shop failed" hooks.log)" = 1
'

stop_daemon_quiet
test_done
