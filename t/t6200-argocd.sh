#!/bin/bash
# t6200-argocd: the argocd deploy driver (`ferry argocd sync`) against
# t/helper/kube-standin, a stand-in for the Kubernetes API server with Argo
# CD's Application resource (no cluster can run here). The stand-in checks
# method, path, content type and token like the API server, applies the
# patch, logs every request, and fakes Argo CD's sync and health states.

. "$T_SRCDIR/lib.sh"

printf 'tok-%s\n' "$RANDOM$RANDOM$RANDOM" >token
APPS=/apis/argoproj.io/v1alpha1/namespaces

# app NAME [TARGET] [HEALTH]: a single-source Helm-from-OCI Application.
app() {
	printf '{"apiVersion":"argoproj.io/v1alpha1","kind":"Application",'
	printf '"metadata":{"name":"%s","namespace":"argocd","resourceVersion":"1"},' "$1"
	printf '"spec":{"project":"default","source":{"repoURL":"reg.example.com/charts","chart":"%s","targetRevision":"%s"},' "$1" "${2:-1.0.0}"
	printf '"destination":{"server":"https://kubernetes.default.svc","namespace":"prod"}},'
	printf '"status":{"sync":{"status":"Synced","revision":"%s"},"health":{"status":"%s"}}}' "${2:-1.0.0}" "${3:-Healthy}"
}

test_expect 'setup: the Kubernetes API stand-in with some Applications' '
	{
		echo "[" &&
		for a in web sick stuck locked junk big hostile again; do app $a && echo ,; done &&
		app recovering 0.9.0 Degraded && echo , &&
		echo "{\"metadata\":{\"name\":\"multi\",\"namespace\":\"argocd\"},\"spec\":{\"sources\":[" &&
		echo "{\"repoURL\":\"https://git.example.com/values.git\",\"targetRevision\":\"main\",\"ref\":\"values\"}," &&
		echo "{\"repoURL\":\"reg.example.com/charts\",\"chart\":\"api\",\"targetRevision\":\"2.0.0\"}]}," &&
		echo "\"status\":{\"sync\":{\"status\":\"Synced\",\"revisions\":[\"abc\",\"2.0.0\"]},\"health\":{\"status\":\"Healthy\"}}}," &&
		echo "{\"metadata\":{\"name\":\"solo\",\"namespace\":\"argocd\"},\"spec\":{\"sources\":[" &&
		echo "{\"repoURL\":\"reg.example.com/charts\",\"chart\":\"solo\",\"targetRevision\":\"1.0.0\"}]}}," &&
		echo "{\"metadata\":{\"name\":\"web\",\"namespace\":\"staging\"},\"spec\":{\"source\":{\"repoURL\":\"r\",\"targetRevision\":\"0.1.0\"}}}" &&
		echo "]"
	} >apps.json &&
	jq -e "length == 12" apps.json &&
	python3 "$T_SRCDIR/helper/kube-standin" --port-file kube.port --log kube.log \
		--apps apps.json --token-file token --steps 2 --degraded sick \
		--stuck stuck --forbid locked --garbage junk --huge big 2>standin.err &
	KPID=$! &&
	i=0 &&
	while ! test -s kube.port && test $i -lt 100 && kill -0 $KPID; do
		i=$((i + 1)) && sleep 0.05
	done &&
	test -s kube.port &&
	KURL=http://127.0.0.1:$(cut -d" " -f1 kube.port)
'
trap 'kill $KPID 2>/dev/null; stop_daemon_quiet' EXIT

sync() {
	"$FERRY" argocd sync --server "$KURL" --token-file "$T_TRASH/token" "$@"
}

# patches: the PATCH requests logged so far, one JSON object a line.
last_patch() {
	jq -s -c '[.[] | select(.method == "PATCH")] | last' kube.log
}

# kget NAME [NS]: the stored object, as the API server has it now.
kget() {
	curl -sS -H "Authorization: Bearer $(cat token)" "$KURL$APPS/${2:-argocd}/applications/$1"
}

nreq() {
	wc -l <kube.log
}

test_expect 'patch: merge patch with the right path, type, token and body' '
	sync --app web --revision 1.2.3 >o 2>err &&
	test "$(cat o)" = "patched web to 1.2.3" && test ! -s err &&
	last_patch >p &&
	jq -e ".path == \"$APPS/argocd/applications/web\"" p &&
	jq -e ".headers[\"Content-Type\"] == \"application/merge-patch+json\"" p &&
	jq -e ".headers.Authorization == \"Bearer $(cat token)\"" p &&
	jq -e ".headers.Accept == \"application/json\"" p &&
	test "$(jq -r .body p)" = "{\"spec\":{\"source\":{\"targetRevision\":\"1.2.3\"}}}" &&
	kget web >obj && jq -e ".spec.source.targetRevision == \"1.2.3\" and .spec.source.chart == \"web\"" obj &&
	kget web staging | jq -e ".spec.source.targetRevision == \"0.1.0\"" &&
	! grep -q "$(cat token)" o err
'

test_expect 'patch: --namespace picks the namespace; --refresh adds the annotation' '
	sync --app web --namespace staging --revision 0.2.0 --refresh hard >o &&
	last_patch >p &&
	jq -e ".path == \"$APPS/staging/applications/web\"" p &&
	jq -r .body p | jq -S -c . >body &&
	test "$(cat body)" = "{\"metadata\":{\"annotations\":{\"argocd.argoproj.io/refresh\":\"hard\"}},\"spec\":{\"source\":{\"targetRevision\":\"0.2.0\"}}}"
'

test_expect '--wait returns once Synced and Healthy at the revision' '
	sync --app web --revision 1.3.0 --wait --interval 50ms --timeout 20s >o 2>err &&
	test "$(cat o)" = "synced web at 1.3.0 (Healthy)" &&
	n=$(jq -s "(map(.method) | rindex(\"PATCH\")) as \$i | .[\$i+1:] | map(select(.method == \"GET\")) | length" kube.log) &&
	test "$n" = 3 &&
	kget web | jq -e ".status.sync.revision == \"1.3.0\" and .status.health.status == \"Healthy\""
'

test_expect '--wait goes through an old Degraded state to a healthy new one' '
	sync --app recovering --revision 1.0.1 --wait --interval 50ms --timeout 20s >o &&
	test "$(cat o)" = "synced recovering at 1.0.1 (Healthy)"
'

test_expect '--wait: timeout fails and names the last state seen' '
	start=$(date +%s%N) &&
	! sync --app stuck --revision 2.0.0 --wait --interval 100ms --timeout 1s >o 2>err &&
	cat err && test ! -s o &&
	grep -q "timed out after 1s waiting for argocd/stuck" err &&
	grep -q "last seen sync OutOfSync, health Progressing, revision 1.0.0" err &&
	ms=$(( ($(date +%s%N) - start) / 1000000 )) && test $ms -ge 1000 && test $ms -lt 8000
'

test_expect '--wait: Degraded at the new revision fails early with its message' '
	start=$(date +%s%N) &&
	! sync --app sick --revision 3.0.0 --wait --interval 50ms --timeout 60s >o 2>err &&
	cat err &&
	grep -q "argocd/sick at 3.0.0: Degraded" err &&
	grep -q "exceeded its progress deadline" err &&
	grep -q "SyncError: pod sick-7d4b9 is in CrashLoopBackOff" err &&
	! grep -q "timed out" err &&
	test $(( ($(date +%s%N) - start) / 1000000 )) -lt 10000
'

test_expect 'a wrong token: 401 surfaced, token not printed' '
	printf "not-the-token\n" >bad &&
	! "$FERRY" argocd sync --server "$KURL" --token-file bad --app web --revision 9 >o 2>err &&
	cat err &&
	grep -q "the API server rejected the token from bad" err &&
	grep -q "401 Unauthorized" err &&
	! grep -q not-the-token err
'

test_expect 'an unknown app: 404 with the API message' '
	! sync --app nosuch --revision 1 2>err && cat err &&
	grep -q "application argocd/nosuch not found" err &&
	grep -q "404 NotFound: applications.argoproj.io \"nosuch\" not found" err
'

test_expect 'no patch right: 403 with the API message' '
	! sync --app locked --revision 1 2>err && cat err &&
	grep -q "not allowed" err &&
	grep -q "403 Forbidden: .*cannot patch resource \"applications\"" err
'

test_expect 'a missing token file: a clear error, no request' '
	n=$(nreq) &&
	! "$FERRY" argocd sync --server "$KURL" --token-file nosuch.tok --app web --revision 1 2>err &&
	cat err && grep -q "nosuch.tok: No such file" err &&
	test "$(nreq)" = "$n"
'

test_expect 'hostile revisions travel as exact JSON strings' '
	(for v in "1.0.0\"},\"x\":{\"y\":\"z" "\$(touch pwned)" "\`touch pwned\`" "a\\\\b\\\\n" "é ü 中"; do
		sync --app hostile --revision "$v" >o &&
		test "$(cat o)" = "patched hostile to $v" &&
		kget hostile >obj &&
		test "$(jq -r .spec.source.targetRevision obj)" = "$v" &&
		jq -e "(.spec | has(\"x\") | not) and (has(\"x\") | not)" obj &&
		test "$(last_patch | jq -r .body | jq -r .spec.source.targetRevision)" = "$v" || exit 1
	done) &&
	test ! -e pwned
'

test_expect 'revisions with control characters or bad UTF-8 are refused, unsent' '
	n=$(nreq) &&
	(for v in "$(printf "1.0\n2.0")" "$(printf "1.0\t")" "$(printf "1.0\033[2J")" "$(printf "\377")" ""; do
		sync --app hostile --revision "$v" 2>err
		test $? = 2 && cat err || exit 1
	done) &&
	test "$(nreq)" = "$n"
'

test_expect 'multi-source: refused without --source-index, JSON patch with it' '
	! sync --app multi --revision 2.1.0 2>err && cat err &&
	grep -q "has 2 sources (spec.sources): say which to change with --source-index" err &&
	sync --app multi --revision 2.1.0 --source-index 1 --wait --interval 50ms --timeout 20s >o &&
	test "$(cat o)" = "synced multi at 2.1.0 (Healthy)" &&
	jq -s -c "[.[] | select(.method == \"PATCH\" and (.path | endswith(\"/multi\")))] | last" kube.log >p &&
	jq -e ".headers[\"Content-Type\"] == \"application/json-patch+json\"" p &&
	test "$(jq -r .body p)" = "[{\"op\":\"test\",\"path\":\"/spec/sources/1/repoURL\",\"value\":\"reg.example.com/charts\"},{\"op\":\"add\",\"path\":\"/spec/sources/1/targetRevision\",\"value\":\"2.1.0\"}]" &&
	kget multi >obj &&
	jq -e ".spec.sources[0].targetRevision == \"main\" and .spec.sources[1].targetRevision == \"2.1.0\" and (.spec | has(\"source\") | not)" obj &&
	! sync --app multi --revision 2 --source-index 2 2>err && grep -q "only 2 sources" err &&
	! sync --app web --revision 2 --source-index 0 2>err && grep -q "single source" err
'

test_expect 'multi-source with one source: that one, refresh in a second patch' '
	sync --app solo --revision 1.1.0 --refresh normal >o &&
	jq -s -c "[.[] | select(.method == \"PATCH\" and (.path | endswith(\"/solo\")))]" kube.log >p &&
	jq -e "length == 2 and (.[0].body | fromjson | .[-1].path == \"/spec/sources/0/targetRevision\") and (.[1].body | fromjson == {metadata: {annotations: {\"argocd.argoproj.io/refresh\": \"normal\"}}})" p &&
	kget solo | jq -e ".spec.sources[0].targetRevision == \"1.1.0\""
'

test_expect 'bad answers from the server: not JSON, too large' '
	! sync --app junk --revision 1 2>err && cat err &&
	grep -q "200 but the answer is not a JSON object" err &&
	! sync --app big --revision 1 2>err && cat err &&
	grep -q "response larger than" err
'

test_expect 'the stand-in refuses other patch types (415) like the API server' '
	curl -sS -o body -w "%{http_code}" -X PATCH -H "Authorization: Bearer $(cat token)" \
		-H "Content-Type: application/json" --data "{}" "$KURL$APPS/argocd/applications/again" >code &&
	expect_code 415 && jq -e ".kind == \"Status\" and .reason == \"UnsupportedMediaType\"" body
'

test_expect 'usage errors exit 2' '
	"$FERRY" argocd sync --app web 2>err; test $? = 2 &&
	"$FERRY" argocd sync --app "../web" --revision 1 --server "$KURL" 2>err; test $? = 2 &&
	"$FERRY" argocd sync --app web --revision 1 --timeout soon 2>err; test $? = 2 &&
	"$FERRY" argocd sync --app web --revision 1 --refresh soft 2>err; test $? = 2 &&
	"$FERRY" argocd 2>err; test $? = 2
'

test_expect 'plain http is refused to a host that is not loopback' '
	! "$FERRY" argocd sync --server http://10.0.0.1:8080 --token-file token --app web --revision 1 2>err &&
	cat err && grep -q "refusing plain http to 10.0.0.1" err
'

# The stand-in speaks plain http, so https to it fails at once (no retry)
# with the URL that was built in the message.
test_expect 'in-cluster defaults: server from the environment, service account token' '
	! env -u KUBERNETES_SERVICE_HOST "$FERRY" argocd sync --app web --revision 1 2>err &&
	grep -q "not in a cluster" err &&
	p=${KURL##*:} &&
	! KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=1 KUBERNETES_SERVICE_PORT_HTTPS=$p \
		"$FERRY" argocd sync --token-file token --app web --revision 1 2>err &&
	cat err && grep -q "GET https://127.0.0.1:$p/apis/argoproj.io/" err &&
	! KUBERNETES_SERVICE_HOST=::1 KUBERNETES_SERVICE_PORT=$p \
		"$FERRY" argocd sync --token-file token --app web --revision 1 2>err &&
	cat err && grep -q "https://\[::1\]:$p/apis/" err &&
	if test ! -e /var/run/secrets/kubernetes.io/serviceaccount/token; then
		! KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$p \
			"$FERRY" argocd sync --app web --revision 1 2>err &&
		cat err && grep -q "/var/run/secrets/kubernetes.io/serviceaccount/token: No such file" err
	fi
'

test_done
