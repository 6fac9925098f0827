#!/usr/bin/env bash
# t7100-githost-standin: the commit-status requests src/status.c builds,
# sent with curl to t/helper/githost-standin, a STAND-IN for the status
# APIs of GitHub, GitLab, Gitea/Forgejo and Bitbucket Cloud and Server (no
# real forge can run here). t/helper/status-probe prints the method, URL,
# body and auth header; the stand-in checks them as the real hosts do and
# logs every call as a JSON line.
. "$T_SRCDIR/lib.sh"

SI_PID=
t7100_cleanup() {
	test -n "$SI_PID" && kill "$SI_PID" 2>/dev/null && wait "$SI_PID" 2>/dev/null
	return 0
}
trap 't7100_cleanup' EXIT

TOKEN='s3cr3t-T0ken'
SHA=0123456789abcdef0123456789abcdef01234567
PROBE="$T_HELPER/status-probe"
python3 "$T_SRCDIR/helper/githost-standin" "$T_TRASH/si.port" "$T_TRASH/si.log" \
	"$TOKEN" "$T_TRASH/si.control" &
SI_PID=$!
wait_for "test -s si.port" 10
BASE="http://127.0.0.1:$(cut -d' ' -f1 si.port)"

api_of() {
	case $1 in
	github) echo "$BASE/github" ;;
	gitlab) echo "$BASE/gitlab/api/v4" ;;
	gitea) echo "$BASE/gitea/api/v1" ;;
	forgejo) echo "$BASE/forgejo/api/v1" ;;
	bitbucket) echo "$BASE/bitbucket/2.0" ;;
	bitbucket-server) echo "$BASE/bitbucket-server" ;;
	esac
}

# send PROVIDER REPO STATE CONTEXT DESC [TOKEN]: build the request with
# status-probe, send it with curl; the code goes to ./code, the answer to
# ./resp, the request's lines to ./req.
send() {
	"$PROBE" "$1" "$(api_of "$1")" "$2" "$SHA" "$3" "$4" "$5" \
	    "https://ferry.example/runs/7" "${6:-$TOKEN}" >req || return 1
	curl -sS -o resp -w '%{http_code}' -X "$(sed -n 1p req)" \
	    -H "$(sed -n 4p req)" -H 'Content-Type: application/json' \
	    --data-binary "$(sed -n 3p req)" "$(sed -n 2p req)" >code
}

# raw PROVIDER PATH BODY [CONTENT-TYPE] [AUTH-HEADER]: a hand-made call.
raw() {
	curl -sS -o resp -w '%{http_code}' -X POST \
	    -H "${5:-$("$PROBE" "$1" "$(api_of "$1")" a/b "$SHA" success x - \
	    https://x/ "$TOKEN" | sed -n 4p)}" \
	    -H "Content-Type: ${4:-application/json}" --data-binary "$3" \
	    "$(api_of "$1")$2" >code
}

last() { tail -n 1 si.log | jq -r "$1"; }

for p in github gitlab gitea forgejo bitbucket bitbucket-server; do
	case $p in
	gitlab) repo=group/sub/app ;;
	bitbucket-server) repo=PRJ/app ;;
	*) repo=acme/app ;;
	esac
	case $p in
	bitbucket-server) want=204 ;;
	*) want=201 ;;
	esac
	test_expect "$p: every state 2xx, and the stand-in saw the exact requests" '
		: >exp &&
		(for st in pending running success failure error canceled; do
			send $p $repo $st ferry/build "Stage \"build\" $st" &&
			test "$(cat code)" = $want || exit 1
			url=$(sed -n 2p req) &&
			printf "%s\nPOST\n%s\n%s\napplication/json\n%s\n" $p \
			    "${url#$BASE}" "$(sed -n 3p req)" $want >>exp
		done) &&
		tail -n 6 si.log | jq -r ".provider, .method, .path, .body,
		    .headers[\"content-type\"], .status" >got &&
		diff exp got
	'
done

test_expect 'github: the 201 answer is a status with our fields' '
	send github acme/app failure ferry/test "it broke" &&
	test "$(cat code)" = 201 &&
	test "$(jq -r .state resp)" = failure &&
	test "$(jq -r .context resp)" = ferry/test &&
	test "$(jq -r .target_url resp)" = https://ferry.example/runs/7 &&
	test "$(last .headers.authorization)" = "Bearer $TOKEN"
'

test_expect 'gitlab: the project path went URL-encoded, PRIVATE-TOKEN sent' '
	send gitlab group/sub/app canceled ferry/test "stopped" &&
	test "$(cat code)" = 201 &&
	last .path | grep -q "^/gitlab/api/v4/projects/group%2Fsub%2Fapp/statuses/$SHA$" &&
	test "$(last .headers[\"private-token\"])" = "$TOKEN" &&
	test "$(jq -r .status resp)" = canceled &&
	test "$(jq -r .name resp)" = ferry/test
'

test_expect 'gitlab: an unencoded project path is 404' '
	raw gitlab "/projects/group/sub/app/statuses/$SHA" "{\"state\":\"success\"}" &&
	test "$(cat code)" = 404
'

test_expect 'gitea and forgejo: Authorization: token, 201 with status' '
	send gitea acme/app success ferry/test ok &&
	test "$(cat code)" = 201 && test "$(jq -r .status resp)" = success &&
	test "$(last .headers.authorization)" = "token $TOKEN" &&
	send forgejo acme/app running ferry/test ok &&
	test "$(cat code)" = 201 && test "$(jq -r .status resp)" = pending
'

test_expect 'bitbucket: a long context gets a 40-byte key the API takes' '
	ctx=ferry/a-very-long-pipeline-name/with-a-long-stage-name &&
	send bitbucket acme/app success "$ctx" ok &&
	test "$(cat code)" = 201 &&
	test "$(jq -r .key resp | wc -c)" -le 41 &&
	test "$(jq -r .name resp)" = "$ctx" &&
	test "$(jq -r .state resp)" = SUCCESSFUL &&
	raw bitbucket "/repositories/acme/app/commit/$SHA/statuses/build" \
	    "{\"key\":\"$ctx\",\"state\":\"SUCCESSFUL\",\"url\":\"https://x/\"}" &&
	test "$(cat code)" = 400 &&
	test "$(jq -r .type resp)" = error
'

test_expect 'github: a long description is cut so the API takes it' '
	d=$(printf "%0200d" 0) &&
	send github acme/app failure ferry/test "$d" &&
	test "$(cat code)" = 201 &&
	test "$(jq -r .description resp | wc -m)" = 141 &&
	raw github "/repos/acme/app/statuses/$SHA" \
	    "{\"state\":\"failure\",\"description\":\"$d\"}" &&
	test "$(cat code)" = 422 &&
	test "$(jq -r ".errors[0].field" resp)" = description
'

# --- refusals --------------------------------------------------------------
for p in github gitlab gitea forgejo bitbucket bitbucket-server; do
	test_expect "$p: a wrong token is 401 in the host's error shape" '
		send $p PRJ/app success ferry/build x wrong-token &&
		test "$(cat code)" = 401 &&
		test "$(last .status)" = 401 &&
		case $p in
		github) test "$(jq -r .message resp)" = "Bad credentials" ;;
		gitlab) test "$(jq -r .message resp)" = "401 Unauthorized" ;;
		gitea|forgejo) jq -e ".message and .url" resp >/dev/null ;;
		bitbucket) test "$(jq -r .type resp)" = error ;;
		bitbucket-server) jq -e ".errors[0].message" resp >/dev/null ;;
		esac
	'
done

test_expect 'the wrong header form is 401 even with the right token' '
	raw gitlab "/projects/a%2Fb/statuses/$SHA" "{\"state\":\"success\"}" \
	    application/json "Authorization: token $TOKEN" &&
	test "$(cat code)" = 401 &&
	raw gitea "/repos/a/b/statuses/$SHA" "{\"state\":\"success\"}" \
	    application/json "PRIVATE-TOKEN: $TOKEN" &&
	test "$(cat code)" = 401 &&
	raw bitbucket "/repositories/a/b/commit/$SHA/statuses/build" \
	    "{\"key\":\"k\",\"state\":\"SUCCESSFUL\",\"url\":\"https://x/\"}" \
	    application/json "Authorization: token $TOKEN" &&
	test "$(cat code)" = 401
'

test_expect 'a body missing a required field is 4xx' '
	raw github "/repos/a/b/statuses/$SHA" "{\"context\":\"x\"}" &&
	test "$(cat code)" = 422 &&
	test "$(jq -r .message resp)" = "Validation Failed" &&
	raw gitlab "/projects/a%2Fb/statuses/$SHA" "{\"name\":\"x\"}" &&
	test "$(cat code)" = 400 &&
	test "$(jq -r .error resp)" = "state is missing" &&
	raw gitea "/repos/a/b/statuses/$SHA" "{}" &&
	test "$(cat code)" = 422 &&
	raw bitbucket "/repositories/a/b/commit/$SHA/statuses/build" \
	    "{\"key\":\"k\",\"state\":\"SUCCESSFUL\"}" &&
	test "$(cat code)" = 400 &&
	raw bitbucket-server "/rest/api/latest/projects/P/repos/a/commits/$SHA/builds" \
	    "{\"state\":\"SUCCESSFUL\",\"url\":\"https://x/\"}" &&
	test "$(cat code)" = 400
'

test_expect 'a state the host does not know is refused' '
	raw github "/repos/a/b/statuses/$SHA" "{\"state\":\"running\"}" &&
	test "$(cat code)" = 422 &&
	raw gitlab "/projects/a%2Fb/statuses/$SHA" "{\"state\":\"failure\"}" &&
	test "$(cat code)" = 400 &&
	raw bitbucket "/repositories/a/b/commit/$SHA/statuses/build" \
	    "{\"key\":\"k\",\"state\":\"CANCELLED\",\"url\":\"https://x/\"}" &&
	test "$(cat code)" = 400
'

test_expect 'not application/json, or not JSON, is 400' '
	raw github "/repos/a/b/statuses/$SHA" "state=success" \
	    application/x-www-form-urlencoded &&
	test "$(cat code)" = 400 &&
	raw gitea "/repos/a/b/statuses/$SHA" "{\"state\":" &&
	test "$(cat code)" = 400 &&
	raw gitlab "/projects/a%2Fb/statuses/$SHA" "[1]" &&
	test "$(cat code)" = 400
'

test_expect 'github: no User-Agent is 403' '
	curl -sS -o resp -w "%{http_code}" -X POST -H "User-Agent:" \
	    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
	    --data-binary "{\"state\":\"success\"}" \
	    "$BASE/github/repos/a/b/statuses/$SHA" >code &&
	test "$(cat code)" = 403
'

test_expect 'the control file makes the next N calls answer 500' '
	echo 2 >si.control &&
	send github acme/app success ferry/build x && test "$(cat code)" = 500 &&
	send gitlab a/b success ferry/build x && test "$(cat code)" = 500 &&
	send github acme/app success ferry/build x && test "$(cat code)" = 201 &&
	test "$(tail -n 3 si.log | jq -r .status | tr "\n" " ")" = "500 500 201 " &&
	test "$(cat si.control)" = 0
'

test_expect 'status-probe refuses a hostile repository before any call' '
	n=$(wc -l <si.log) &&
	! "$PROBE" github "$BASE/github" "../../x" "$SHA" success c - - 2>err &&
	grep -q "bad repository path" err &&
	! "$PROBE" gitlab "$BASE/gitlab/api/v4" "a/b?x" "$SHA" success c - - &&
	test "$(wc -l <si.log)" = "$n"
'

test_done
