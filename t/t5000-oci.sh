#!/usr/bin/env bash
# t5000-oci: the OCI registry client (src/oci.c) through `ferry oci`,
# against a real CNCF distribution registry (docker-registry) with
# htpasswd Basic auth on loopback, and the Bearer token flow against
# t/helper/token-server, a stand-in that follows PROTOCOLS.md section 4.5.
. "$T_SRCDIR/lib.sh"

REG_PID=
TOK_PID=
t5000_cleanup() {
	test -n "$REG_PID" && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
	test -n "$TOK_PID" && kill "$TOK_PID" 2>/dev/null && wait "$TOK_PID" 2>/dev/null
	stop_daemon_quiet
}
trap 't5000_cleanup' EXIT


sha() { echo "sha256:$(sha256sum <"$1" | cut -d' ' -f1)"; }

# --- the real registry -------------------------------------------------
HAVE_REG=yes
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
	HAVE_REG=no
	REASON="docker-registry or htpasswd not installed (apt-get install docker-registry apache2-utils)"
fi
if test $HAVE_REG = yes; then
	htpasswd -Bbn user pass >htpasswd 2>/dev/null
	registry_start "$T_TRASH/htpasswd" || HAVE_REG=no
	PORT=${REG##*:}
fi
R=127.0.0.1:${PORT:-0}
printf 'pass\n' >pw
printf 'wrong\n' >badpw
OCI="$FERRY oci --insecure --username user --password-file $T_TRASH/pw"

reg_test() {
	if test $HAVE_REG = yes; then
		test_expect "$1" "$2"
	else
		test_skip "$1" "$REASON"
	fi
}

reg_test 'ping without credentials: 401 with a clear message' '
	! $FERRY oci --insecure ping $R 2>err &&
	cat err &&
	grep -q "registry: GET /v2/: 401 UNAUTHORIZED" err &&
	grep -q "no credentials given" err
'

reg_test 'ping with credentials, and with a wrong password' '
	$OCI ping $R >o && test "$(cat o)" = ok &&
	! $FERRY oci --insecure --username user --password-file badpw ping $R 2>err &&
	grep -q "credentials rejected" err
'

reg_test 'names and references are checked before any request' '
	! $OCI head $R/Acme/app:1 2>err && grep -q "invalid repository name" err &&
	! $OCI head $R/acme/app:-x 2>err && grep -q "invalid tag or digest" err &&
	! $OCI head "$R/acme/app@sha256:zz" 2>err && grep -q "invalid tag or digest" err &&
	! $OCI tags "$R/a//b" 2>err && grep -q "invalid repository name" err
'

reg_test 'put-blob: a monolithic upload the registry serves back' '
	printf "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}" >config.json &&
	head -c 100000 /dev/urandom >layer.bin &&
	d=$($OCI put-blob $R/acme/app config.json) &&
	test "$d" = "$(sha config.json)" &&
	d=$($OCI put-blob $R/acme/app layer.bin) &&
	test "$d" = "$(sha layer.bin)" &&
	curl -sf -u user:pass "http://$R/v2/acme/app/blobs/$d" >back.bin &&
	cmp layer.bin back.bin &&
	test "$($OCI blob "$R/acme/app@$d")" = present &&
	d2=$($OCI put-blob $R/acme/app layer.bin) && test "$d2" = "$d"
'

reg_test 'put-blob --chunk: PATCH chunks with Content-Range, then PUT' '
	head -c 70001 /dev/urandom >big.bin &&
	d=$($OCI --chunk 16384 -v put-blob $R/acme/app big.bin 2>log) &&
	test "$d" = "$(sha big.bin)" &&
	test "$(grep -c "registry: PATCH" log)" = 5 &&
	curl -sf -u user:pass "http://$R/v2/acme/app/blobs/$d" | cmp - big.bin
'

write_manifest() {
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}' \
	    "$(sha config.json)" "$(wc -c <config.json)" "$1" "$2"
}

reg_test 'manifest put, then head and get give the same digest' '
	write_manifest "$(sha layer.bin)" "$(wc -c <layer.bin)" >m.json &&
	d=$($OCI put-manifest $R/acme/app:1 m.json) &&
	test "$d" = "$(sha m.json)" &&
	$OCI head $R/acme/app:1 >h &&
	test "$(cat h)" = "$d application/vnd.oci.image.manifest.v1+json" &&
	$OCI get $R/acme/app:1 >got 2>err && cmp got m.json &&
	grep -q "digest $d" err &&
	$OCI get "$R/acme/app@$d" >got2 && cmp got2 m.json &&
	! $OCI head $R/acme/app:nope 2>err && grep -q "not found" err &&
	if command -v skopeo >/dev/null; then
		skopeo inspect --tls-verify=false --creds user:pass --raw docker://$R/acme/app:1 >sk &&
		cmp sk m.json
	fi
'

# Debian's docker-registry (distribution 2.8) ignores n= and sends no Link
# header; paging through Link is checked against the stand-in below.
reg_test 'tags: the full list (FERRY_OCI_PAGE=1 accepted)' '
	$OCI put-manifest $R/acme/app:2 m.json >/dev/null &&
	$OCI put-manifest $R/acme/app:3 m.json >/dev/null &&
	FERRY_OCI_PAGE=1 $OCI tags $R/acme/app | sort >tags &&
	printf "1\n2\n3\n" | cmp - tags &&
	$OCI tags $R/acme/app | sort | cmp - tags &&
	! $OCI tags $R/acme/none 2>err && grep -q "404 NAME_UNKNOWN" err
'

reg_test 'a manifest naming a missing blob: the registry error in the message' '
	write_manifest sha256:0000000000000000000000000000000000000000000000000000000000000001 5 >bad.json &&
	! $OCI put-manifest $R/acme/app:bad bad.json 2>err &&
	cat err &&
	grep -q "registry: PUT /v2/acme/app/manifests/bad: 400 MANIFEST_BLOB_UNKNOWN" err
'

reg_test 'blob mount between two repositories' '
	d=$(sha layer.bin) &&
	test "$($OCI blob "$R/acme/other@$d")" = absent;
	test "$($OCI mount $R/acme/other $d acme/app)" = mounted &&
	test "$($OCI blob "$R/acme/other@$d")" = present &&
	! $OCI mount $R/acme/other sha256:0000000000000000000000000000000000000000000000000000000000000002 acme/app >o &&
	test "$(cat o)" = "not mounted"
'

reg_test 'credentials from a Docker config.json' '
	a=$(printf user:pass | base64) &&
	printf "{\"auths\":{\"other.example\":{\"auth\":\"eDp5\"},\"$R\":{\"auth\":\"$a\"}}}" >docker.json &&
	$FERRY oci --insecure --docker-config docker.json ping $R &&
	$FERRY oci --insecure --docker-config docker.json tags $R/acme/app | sort | cmp - tags &&
	printf "{\"auths\":{\"http://$R/v1/\":{\"auth\":\"$a\"}}}" >docker2.json &&
	$FERRY oci --insecure --docker-config docker2.json ping $R &&
	printf "{\"auths\":{\"other.example\":{\"auth\":\"$a\"}}}" >docker3.json &&
	! $FERRY oci --insecure --docker-config docker3.json ping $R 2>err &&
	grep -q "no credentials given" err
'

reg_test 'credentials never appear in verbose output' '
	$OCI -v tags $R/acme/app >/dev/null 2>log &&
	! grep -q pass log && ! grep -q "$(printf user:pass | base64)" log
'

test_expect 'registry down: a readable error after retries' '
	p=$(free_port) &&
	start=$(date +%s) &&
	! $FERRY oci --insecure ping 127.0.0.1:$p 2>err &&
	cat err &&
	grep -q "registry: GET /v2/: .*onnect" err &&
	test $(( $(date +%s) - start )) -ge 3
'

# --- the Bearer token flow against the stand-in ---------------------------
python3 "$T_SRCDIR/helper/token-server" "$T_TRASH/tok.port" "$T_TRASH/tok.log" &
TOK_PID=$!
wait_for "test -s tok.port"
TR=127.0.0.1:$(cut -d' ' -f1 tok.port)
printf 'tpass\n' >tpw
TOCI="$FERRY oci --insecure --username tuser --password-file $T_TRASH/tpw"

test_expect 'bearer: ping gets a token from the realm' '
	: >tok.log &&
	$TOCI ping $TR >o && test "$(cat o)" = ok &&
	grep -q "^token repository:x:pull$" tok.log &&
	grep -q "^GET /v2/ bearer=ok$" tok.log
'

test_expect 'bearer: one token reused across pages followed by Link' '
	: >tok.log &&
	FERRY_OCI_PAGE=1 $TOCI tags $TR/x >tags &&
	printf "a\nb\nc\n" | cmp - tags &&
	grep -q "^GET /v2/x/tags/list bearer=none$" tok.log &&
	test "$(grep -c "^token " tok.log)" = 1 &&
	test "$(grep -c "bearer=ok" tok.log)" = 3
'

test_expect 'bearer: wrong credentials at the token endpoint' '
	printf "nope\n" >tbad &&
	! $FERRY oci --insecure --username tuser --password-file tbad tags $TR/x 2>err &&
	cat err &&
	grep -q "token /token: 401 (credentials rejected)" err &&
	! grep -q nope err
'

test_expect 'bearer push: relative Location with a query kept, digest added' '
	: >tok.log &&
	printf hello >hello &&
	d=$($TOCI put-blob $TR/x hello) &&
	test "$d" = "$(sha hello)" &&
	grep -q "^PUT stored $d$" tok.log &&
	grep -q "^token repository:x:pull$" tok.log
'

test_expect 'retry: 503 with Retry-After then 200' '
	: >tok.log &&
	start=$(date +%s%N) &&
	$TOCI tags $TR/flaky >tags &&
	printf "a\nb\nc\n" | cmp - tags &&
	grep -q "^503 " tok.log &&
	test "$(grep -c "^token " tok.log)" = 1 &&
	test $(( ($(date +%s%N) - start) / 1000000 )) -ge 900
'

test_done
