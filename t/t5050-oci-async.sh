#!/usr/bin/env bash
# t5050-oci-async: the asynchronous OCI client (src/ocia.c on src/httpc.c)
# through t/helper/ocia-probe, which runs a libevent loop and prints one
# JSON line per finished operation.
#
# Against a REAL docker-registry with htpasswd Basic auth: tags, manifest
# HEAD (digest checked against skopeo's), manifest GET, blob GET with its
# digest check and a size cap, the registry's error JSON. The Bearer flow
# runs against t/helper/token-server, and paging, ETag, 500/429 retries,
# a registry that stays down, slowness and concurrency against
# t/helper/registry-standin: both are STAND-INS (Debian's distribution
# 2.8 has no token server, ignores n= on tags/list and cannot be made to
# fail on demand).
. "$T_SRCDIR/lib.sh"

REG_PID=
TOK_PID=
SI_PID=
t5050_cleanup() {
	registry_stop
	test -n "$TOK_PID" && kill "$TOK_PID" 2>/dev/null && wait "$TOK_PID" 2>/dev/null
	test -n "$SI_PID" && kill "$SI_PID" 2>/dev/null && wait "$SI_PID" 2>/dev/null
	return 0
}
trap 't5050_cleanup' EXIT

PROBE="$T_HELPER/ocia-probe"
sha() { echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"; }
# field N KEY: KEY of the result line of op N in ./res.
field() { jq -r "select(.op == $1) | .$2" res; }
ms() { date +%s%3N; }

# wait_portfile FILE: until a stand-in has written "PORT PID" (5 s).
wait_portfile() {
	for _ in $(seq 100); do test -s "$1" && return 0; sleep 0.05; done
	return 1
}

# --- the real registry ---------------------------------------------------
HAVE_REG=yes
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
	HAVE_REG=no
	REASON="docker-registry or htpasswd not installed (apt-get install docker-registry apache2-utils)"
fi
if test $HAVE_REG = yes; then
	htpasswd -Bbn user pass >htpasswd 2>/dev/null
	registry_start "$T_TRASH/htpasswd" || HAVE_REG=no
fi
R=${REG:-127.0.0.1:1}
RP="$PROBE --insecure --user user --password pass"

reg_test() {
	if test $HAVE_REG = yes; then
		test_expect "$1" "$2"
	else
		test_skip "$1" "$REASON"
	fi
}

reg_test 'setup: five tags of one manifest pushed with ferry oci' '
	printf "pass\n" >pw &&
	OCI="$FERRY oci --insecure --username user --password-file $T_TRASH/pw" &&
	printf "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}" >config.json &&
	head -c 100000 /dev/urandom >layer.bin &&
	$OCI put-blob $R/acme/app config.json >/dev/null &&
	$OCI put-blob $R/acme/app layer.bin >/dev/null &&
	printf "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%d},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%d}]}" \
	    "$(sha config.json)" "$(wc -c <config.json)" "$(sha layer.bin)" "$(wc -c <layer.bin)" >m.json &&
	for t in 1 2 3 4 5; do $OCI put-manifest $R/acme/app:$t m.json >/dev/null || return 1; done
'

reg_test 'Basic auth: tags, HEAD, GET and a blob at once' '
	$RP --save body $R tags acme/app head acme/app:3 get acme/app:1 \
	    blob "acme/app@$(sha layer.bin)" >res &&
	test "$(wc -l <res)" = 4 &&
	test "$(field 1 "tags | sort | join(\",\")")" = "1,2,3,4,5" &&
	test "$(field 1 requests)" = 1 &&
	test "$(field 2 status)" = 200 &&
	test "$(field 2 digest)" = "$(sha m.json)" &&
	test "$(field 2 media_type)" = application/vnd.oci.image.manifest.v1+json &&
	test "$(field 3 digest)" = "$(sha m.json)" &&
	cmp body.3 m.json &&
	test "$(field 4 digest)" = "$(sha layer.bin)" &&
	test "$(field 4 len)" = 100000 &&
	cmp body.4 layer.bin
'

reg_test 'manifest HEAD digest equals the digest of what skopeo fetches' '
	command -v skopeo >/dev/null || { echo "skopeo missing"; return 1; } &&
	skopeo inspect --tls-verify=false --creds user:pass --raw docker://$R/acme/app:5 >sk &&
	$RP $R head acme/app:5 >res &&
	test "$(field 1 digest)" = "$(sha sk)" &&
	$RP $R head "acme/app@$(sha sk)" >res &&
	test "$(field 1 digest)" = "$(sha sk)"
'

reg_test 'Basic auth with a wrong password: 401, credentials rejected, not shown' '
	! $PROBE --insecure --user user --password s3cr3tWr0ng $R tags acme/app >res &&
	test "$(field 1 status)" = 401 &&
	field 1 error | grep -q "401 UNAUTHORIZED.*(credentials rejected)" &&
	! grep -q s3cr3tWr0ng res &&
	! $PROBE --insecure $R head acme/app:1 >res &&
	field 1 error | grep -q "no credentials given"
'

reg_test 'the registry error JSON is in the message' '
	! $RP $R get acme/none:1 tags acme/none head acme/app:nope >res &&
	test "$(field 1 status)" = 404 &&
	field 1 error | grep -q "registry: GET /v2/acme/none/manifests/1: 404 MANIFEST_UNKNOWN: manifest unknown" &&
	field 2 error | grep -q "registry: GET /v2/acme/none/tags/list: 404 NAME_UNKNOWN: repository name not known" &&
	test "$(field 3 status)" = 404 &&
	field 3 error | grep -q "HEAD /v2/acme/app/manifests/nope: 404"
'

reg_test 'blob over the size cap fails cleanly, without retries' '
	! $RP --max-bytes 1000 $R blob "acme/app@$(sha layer.bin)" >res &&
	test "$(field 1 status)" = 0 &&
	field 1 error | grep -q "response body over 1000 bytes" &&
	test "$(field 1 requests)" = 1
'

reg_test 'an unknown blob: BLOB_UNKNOWN from the registry' '
	! $RP $R blob "acme/app@sha256:$(printf %064d 7)" >res &&
	test "$(field 1 status)" = 404 &&
	field 1 error | grep -q "BLOB_UNKNOWN"
'

test_expect 'bad names and references: failed before any request' '
	! $PROBE --insecure 127.0.0.1:1 head Acme/app:1 tags "a//b" get acme/app:-x blob acme/app@sha256:zz >res &&
	test "$(wc -l <res)" = 4 &&
	test "$(jq -s "map(.requests) | add" res)" = 0 &&
	field 1 error | grep -q "invalid repository name" &&
	field 2 error | grep -q "invalid repository name" &&
	field 3 error | grep -q "invalid tag or digest" &&
	field 4 error | grep -q "invalid digest"
'

# --- Bearer tokens: the token-server stand-in ------------------------------
python3 "$T_SRCDIR/helper/token-server" "$T_TRASH/tok.port" "$T_TRASH/tok.log" &
TOK_PID=$!
wait_portfile tok.port
TR=127.0.0.1:$(cut -d' ' -f1 tok.port)
TP="$PROBE --insecure --user tuser --password tpass"

test_expect 'bearer: one token, reused by the next operation' '
	: >tok.log &&
	$TP --sequential $TR tags x tags x >res &&
	test "$(field 1 "tags | join(\",\")")" = a,b,c &&
	test "$(field 2 "tags | join(\",\")")" = a,b,c &&
	test "$(grep -c "^token " tok.log)" = 1 &&
	grep -q "^token repository:x:pull$" tok.log &&
	test "$(field 1 requests)" = 3 &&
	test "$(field 2 requests)" = 1
'

test_expect 'bearer: concurrent operations wait for one token fetch' '
	: >tok.log &&
	$TP --repeat 4 $TR tags y >res &&
	test "$(wc -l <res)" = 4 &&
	test "$(grep -c "^token " tok.log)" = 1 &&
	test "$(grep -c "bearer=ok" tok.log)" = 4
'

test_expect 'bearer: wrong credentials at the token endpoint' '
	: >tok.log &&
	! $PROBE --insecure --user tuser --password n0pe $TR tags x >res &&
	field 1 error | grep -q "token /token: 401 (credentials rejected)" &&
	! grep -q n0pe res
'

# --- the misbehaving registry stand-in -------------------------------------
python3 "$T_SRCDIR/helper/registry-standin" "$T_TRASH/si.port" "$T_TRASH/si.log" &
SI_PID=$!
wait_portfile si.port
S=127.0.0.1:$(cut -d' ' -f1 si.port)

test_expect 'tags: page size 2 over 5 tags follows the Link header' '
	: >si.log &&
	$PROBE --insecure --page 2 $S tags paged >res &&
	test "$(field 1 "tags | join(\",\")")" = t1,t2,t3,t4,t5 &&
	test "$(field 1 requests)" = 3 &&
	test "$(grep -c "^paged 200 page" si.log)" = 3 &&
	test "$(field 1 etag)" = null
'

test_expect 'tags: ETag of a one-page list, then 304 with If-None-Match' '
	$PROBE --insecure $S tags paged >res &&
	test "$(field 1 etag)" = "\"v1\"" &&
	$PROBE --insecure --etag "\"v1\"" $S tags paged >res &&
	test "$(field 1 not_modified)" = 1 &&
	test "$(field 1 status)" = 304 &&
	test "$(field 1 requests)" = 1 &&
	$PROBE --insecure --etag "\"v0\"" $S tags paged >res &&
	test "$(field 1 not_modified)" = 0 &&
	test "$(field 1 "tags | length")" = 5
'

test_expect 'a Link to another host is refused' '
	! $PROBE --insecure $S tags offsite >res &&
	field 1 error | grep -q "Link to another host" &&
	test "$(field 1 "tags | length")" = 0
'

test_expect 'retry: 500 then 200, and 429 with Retry-After: 1 then 200' '
	: >si.log &&
	start=$(ms) &&
	$PROBE --insecure $S tags flaky500 tags flaky429 >res &&
	test "$(field 1 requests)" = 2 &&
	test "$(field 2 requests)" = 2 &&
	test "$(field 1 "tags | length")" = 5 &&
	test "$(field 2 "tags | length")" = 5 &&
	grep -q "^flaky500 500$" si.log &&
	grep -q "^flaky429 429$" si.log &&
	test $(( $(ms) - start )) -ge 900
'

test_expect 'a registry that stays down: a clear failure after 3 retries' '
	: >si.log &&
	! $PROBE --insecure --retry 3,100,1000 $S tags down >res &&
	test "$(field 1 status)" = 503 &&
	field 1 error | grep -q "registry: GET /v2/down/tags/list: 503 UNAVAILABLE: registry is down (after 4 tries)" &&
	test "$(field 1 requests)" = 4 &&
	test "$(grep -c "^down 503" si.log)" = 4
'

test_expect 'nothing listening: a transport error after the retries' '
	p=$(free_port) &&
	! $PROBE --insecure --retry 2,50,100 127.0.0.1:$p tags x >res &&
	test "$(field 1 status)" = 0 &&
	field 1 error | grep -q "registry: GET /v2/x/tags/list: .*onnect.*(after 3 tries)" &&
	test "$(field 1 requests)" = 3
'

test_expect 'a slow registry hits the timeout' '
	start=$(ms) &&
	! $PROBE --insecure --timeout 1000,500 --retry 0,1,1 $S tags slow >res &&
	test "$(field 1 status)" = 0 &&
	field 1 error | grep -qi "timed out" &&
	test $(( $(ms) - start )) -lt 3000
'

test_expect 'cancel: no callback for cancelled operations' '
	start=$(ms) &&
	$PROBE --insecure --cancel-after 300 $S tags slow tags slow >res &&
	test "$(cat res)" = "cancelled 2 pending 0" &&
	test $(( $(ms) - start )) -lt 3000 &&
	$PROBE --insecure --cancel-one 1 $S tags paged tags paged >res &&
	grep -q "^cancelled op 1$" res &&
	test "$(grep -c "^{" res)" = 1 &&
	test "$(jq -s ".[0].op" <(grep "^{" res))" = 2
'

test_expect 'per-registry limit 2: never more than 2 requests at once' '
	$PROBE --insecure --limit 2 --repeat 6 $S tags conc-a >res &&
	test "$(grep -c "\"status\":200" res)" = 6 &&
	test "$(curl -s http://$S/stats | jq .max)" = 2 &&
	$PROBE --insecure --repeat 6 $S tags conc-b >res &&
	test "$(curl -s http://$S/stats | jq .max)" -gt 2
'

test_done
