#!/usr/bin/env bash
# t5200-bundle: `ferry bundle package` and `ferry bundle publish`
# (src/bundle.c): a Helm chart read from a commit's tree, its version and
# image values set, packaged reproducibly with libarchive, and published
# as an OCI Helm chart to a real docker-registry (htpasswd Basic auth on
# loopback, as in t5000) that never gets a tag overwritten.
#
# helm is not installed here, so `helm pull`/`helm template` of the
# published chart is not tested; the archive and the manifest are checked
# with tar, python3's tarfile and gzip modules, and skopeo.
. "$T_SRCDIR/lib.sh"

REG_PID=
t5200_cleanup() {
	test -n "$REG_PID" && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
	stop_daemon_quiet
}
trap 't5200_cleanup' EXIT


DIG1=sha256:$(printf one | sha256sum | cut -d' ' -f1)
DIG2=sha256:$(printf two | sha256sum | cut -d' ' -f1)
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
export GIT_CONFIG_NOSYSTEM=1 HOME=$T_TRASH

# The sample repository: a chart in .helm, committed at a fixed time.
git init -q -b main app
mkdir -p app/.helm/templates app/.helm/files
cat >app/.helm/Chart.yaml <<'EOT'
apiVersion: v2
name: demo
description: A demo chart
version: 0.1.0
appVersion: "1.0"
EOT
cat >app/.helm/values.yaml <<'EOT'
# a comment that libyaml does not keep
replicas: 2
port: "8080"
werf:
  env: test
EOT
cat >app/.helm/templates/deployment.yaml <<'EOT'
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - image: {{ .Values.werf.image.app }}
EOT
printf '#!/bin/sh\necho hook\n' >app/.helm/files/hook.sh
chmod +x app/.helm/files/hook.sh
(cd app && git add . && GIT_COMMITTER_DATE='2024-03-05T10:20:30Z' \
    git commit -qm one && git tag v1.4.2)
C1=$(git -C app rev-parse HEAD)
IMG="--image app=registry.example/acme/app@$DIG1 --image worker=registry.example/acme/worker:c0ffee@$DIG2"

test_expect 'package: a branch build gets 0.0.0-main.<timestamp>.<sha12>' '
	(cd app && $FERRY bundle package --out ../a.tgz $IMG) >o &&
	cat o &&
	test "$(cut -d" " -f2 o)" = "0.0.0-main.20240305102030.$(echo $C1 | cut -c1-12)" &&
	test "$(cut -d" " -f1 o)" = "sha256:$(sha256sum <a.tgz | cut -d" " -f1)"
'

test_expect 'package again a second later: the same bytes' '
	sleep 1.1 &&
	touch app/.helm/Chart.yaml &&
	(cd app && $FERRY bundle package --out ../b.tgz $IMG) >o2 &&
	cmp a.tgz b.tgz && cmp o o2
'

test_expect 'the archive: sorted <chart>/ entries, commit time, 0/0, modes' '
	TZ=UTC tar -tvzf a.tgz >list && cat list &&
	awk "{print \$6}" list >names &&
	printf "%s\n" demo/Chart.yaml demo/files/hook.sh \
	    demo/templates/deployment.yaml demo/values.yaml >want &&
	diff want names &&
	! grep -v " 0/0 .* 2024-03-05 10:20 demo/" list &&
	grep -q "^-rwxr-xr-x .*demo/files/hook.sh" list &&
	grep -q "^-rw-r--r-- .*demo/Chart.yaml" list &&
	python3 -c "
import gzip, sys, tarfile
raw = open(\"a.tgz\", \"rb\").read()
assert raw[:3] == b\"\\x1f\\x8b\\x08\", raw[:4]
assert raw[3] == 0, \"gzip flags (a file name?) %d\" % raw[3]
assert raw[4:8] == b\"\\0\\0\\0\\0\", \"gzip timestamp set\"
t = tarfile.open(\"a.tgz\")
for m in t.getmembers():
    assert m.mtime == 1709634030, m.mtime
    assert m.uname == \"\" and m.gname == \"\", (m.uname, m.gname)
    assert not m.pax_headers, m.pax_headers
    assert m.isfile()
"
'

test_expect 'Chart.yaml carries the version, the rest is kept' '
	tar -xzOf a.tgz demo/Chart.yaml >Chart.yaml && cat Chart.yaml &&
	grep -qx "version: \"0.0.0-main.20240305102030.$(echo $C1 | cut -c1-12)\"" Chart.yaml &&
	grep -qx "appVersion: \"1.0\"" Chart.yaml &&
	grep -qx "description: A demo chart" Chart.yaml
'

test_expect 'values.yaml references every image by digest, both forms' '
	tar -xzOf a.tgz demo/values.yaml >values.yaml && cat values.yaml &&
	grep -q "registry.example/acme/app@$DIG1" values.yaml &&
	python3 - <<EOP
import re
s = open("values.yaml").read()
# no PyYAML here: check the emitted block structure line by line
assert "replicas: 2" in s and "port: \"8080\"" in s and "env: test" in s, s
assert re.search(r"^werf:\n(  .*\n)*  image:\n    app: \"registry.example/acme/app@$DIG1\"\n    worker: \"registry.example/acme/worker:c0ffee@$DIG2\"", s, re.M), s
assert re.search(r"^images:\n  app:\n    repository: \"registry.example/acme/app\"\n    tag: \"\"\n    digest: \"$DIG1\"\n  worker:\n    repository: \"registry.example/acme/worker\"\n    tag: \"c0ffee\"\n    digest: \"$DIG2\"", s, re.M), s
assert "a comment" not in s
EOP
'

test_expect 'the chart comes from the commit, not the working tree' '
	echo "dirty: yes" >>app/.helm/values.yaml &&
	echo "untracked" >app/.helm/templates/new.yaml &&
	(cd app && $FERRY bundle package --out ../c.tgz $IMG) &&
	cmp a.tgz c.tgz &&
	git -C app checkout -q -- .helm/values.yaml && rm app/.helm/templates/new.yaml
'

test_expect 'a v-tag gives its version; --git-dir with a commit id works' '
	$FERRY bundle package --repo-dir app --commit refs/tags/v1.4.2 \
	    --out t.tgz >o && grep -q " 1.4.2$" o &&
	tar -xzOf t.tgz demo/Chart.yaml | grep -qx "version: \"1.4.2\"" &&
	$FERRY bundle package --git-dir app/.git --commit $C1 --tag 2.0.0+build.7 \
	    --out d.tgz >o && grep -q " 2.0.0+build.7$" o &&
	$FERRY bundle package --git-dir app/.git --commit $C1 --out e.tgz >o &&
	grep -q " 0.0.0-detached.20240305102030.$(echo $C1 | cut -c1-12)$" o
'

test_expect 'a branch name is made a valid semver identifier' '
	git -C app branch "feature/Fix_it.now" &&
	$FERRY bundle package --repo-dir app --commit refs/heads/feature/Fix_it.now \
	    --out f.tgz >o && cat o &&
	grep -q " 0.0.0-feature-Fix-it-now.20240305102030.$(echo $C1 | cut -c1-12)$" o &&
	git -C app branch 0123 &&
	$FERRY bundle package --repo-dir app --commit refs/heads/0123 --out f.tgz >o &&
	grep -q " 0.0.0-b0123.20240305102030." o &&
	$FERRY bundle package --repo-dir app --version-pattern "1.0.0-<branch>+<sha>" \
	    --out f.tgz >o && grep -q " 1.0.0-main+$C1$" o &&
	! $FERRY bundle package --repo-dir app --version-pattern "v<branch>" \
	    --out f.tgz 2>err && grep -q "not a valid semantic version" err
'

test_expect 'no values.yaml: one is made; bad input is refused' '
	git init -q -b main bare-values &&
	mkdir -p bare-values/chart &&
	printf "apiVersion: v2\nname: mini\nversion: 1.0.0\n" >bare-values/chart/Chart.yaml &&
	(cd bare-values && git add . && git commit -qm one) &&
	$FERRY bundle package --repo-dir bare-values --chart-dir chart --tag 1.0.0 \
	    --image app=r.example/a@$DIG1 --out m.tgz &&
	tar -tzf m.tgz >list && printf "mini/Chart.yaml\nmini/values.yaml\n" | diff - list &&
	tar -xzOf m.tgz mini/values.yaml | grep -q "app: \"r.example/a@$DIG1\"" &&
	! $FERRY bundle package --repo-dir bare-values --out m.tgz 2>err &&
	grep -q "no .helm folder" err &&
	! $FERRY bundle package --repo-dir app --image app=r.example/a:1 --out m.tgz 2>err &&
	grep -q "expected NAME=REPO\[:TAG\]@sha256:DIGEST" err &&
	! $FERRY bundle package --repo-dir app --tag 1.0 --out m.tgz 2>err &&
	grep -q "not a semantic version" err
'

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
PUB="$FERRY bundle publish --insecure --username user --password-file $T_TRASH/pw"

reg_test() {
	if test $HAVE_REG = yes; then
		test_expect "$1" "$2"
	else
		test_skip "$1" "$REASON"
	fi
}

reg_test 'publish prints HOST/PATH:VERSION@DIGEST' '
	$PUB --repo $R/acme/demo --repo-dir app --commit refs/tags/v1.4.2 $IMG >ref 2>err &&
	cat ref err &&
	grep -qx "$R/acme/demo:1.4.2@sha256:[0-9a-f]\{64\}" ref &&
	d=$(sed "s/.*@//" ref) &&
	test "$($FERRY oci --insecure --username user --password-file pw head $R/acme/demo:1.4.2 | cut -d" " -f1)" = "$d"
'

reg_test 'the manifest has Helm media types and the archive as its layer' '
	curl -sf -u user:pass -H "Accept: application/vnd.oci.image.manifest.v1+json" \
	    "http://$R/v2/acme/demo/manifests/1.4.2" >m.json &&
	cat m.json && echo &&
	python3 - <<EOP
import json
m = json.load(open("m.json"))
assert "mediaType" not in m, m
assert m["schemaVersion"] == 2
assert m["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json", m
assert len(m["layers"]) == 1
assert m["layers"][0]["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip", m
a = m["annotations"]
assert a["org.opencontainers.image.title"] == "demo", a
assert a["org.opencontainers.image.version"] == "1.4.2", a
assert "org.opencontainers.image.created" not in a, a
EOP
	layer=$(python3 -c "import json; print(json.load(open(\"m.json\"))[\"layers\"][0][\"digest\"])") &&
	config=$(python3 -c "import json; print(json.load(open(\"m.json\"))[\"config\"][\"digest\"])") &&
	curl -sf -u user:pass "http://$R/v2/acme/demo/blobs/$layer" >pulled.tgz &&
	$FERRY bundle package --repo-dir app --commit refs/tags/v1.4.2 $IMG --out local.tgz &&
	cmp pulled.tgz local.tgz &&
	curl -sf -u user:pass "http://$R/v2/acme/demo/blobs/$config" >config.json &&
	cat config.json && echo &&
	test "$(cat config.json)" = "{\"name\":\"demo\",\"version\":\"1.4.2\",\"description\":\"A demo chart\",\"apiVersion\":\"v2\",\"appVersion\":\"1.0\"}"
'

if command -v skopeo >/dev/null; then
	reg_test 'skopeo inspect --raw shows the Helm media types' '
		skopeo inspect --tls-verify=false --creds user:pass --raw \
		    docker://$R/acme/demo:1.4.2 >sk && cat sk &&
		grep -q "application/vnd.cncf.helm.config.v1+json" sk &&
		grep -q "application/vnd.cncf.helm.chart.content.v1.tar+gzip" sk
	'
else
	test_skip 'skopeo inspect --raw shows the Helm media types' 'skopeo not installed'
fi

reg_test 'publishing the same commit again: the same digest, success' '
	$PUB --repo $R/acme/demo --repo-dir app --commit refs/tags/v1.4.2 $IMG >ref2 2>err &&
	cat err && cmp ref ref2 &&
	grep -q "already published, identical" err
'

reg_test 'another commit for the same tag fails, naming both digests' '
	echo "extra: 1" >>app/.helm/values.yaml &&
	(cd app && git commit -qam two) &&
	! $PUB --repo $R/acme/demo --repo-dir app --tag 1.4.2 $IMG >o 2>err &&
	cat err && test ! -s o &&
	old=$(sed "s/.*@//" ref) &&
	grep -q "tag acme/demo:1.4.2 already holds $old; this commit gives sha256:[0-9a-f]\{64\}; published artifacts are never overwritten" err &&
	new=$(sed "s/.*gives \(sha256:[0-9a-f]*\).*/\1/" err) &&
	test "$new" != "$old" &&
	test "$($FERRY oci --insecure --username user --password-file pw head $R/acme/demo:1.4.2 | cut -d" " -f1)" = "$old"
'

reg_test 'a branch build publishes under its semver tag' '
	$PUB --repo $R/acme/demo --repo-dir app >ref3 &&
	C2=$(git -C app rev-parse HEAD) &&
	grep -q "^$R/acme/demo:0.0.0-main\.[0-9]\{14\}\.$(echo $C2 | cut -c1-12)@sha256:" ref3 &&
	$PUB --repo $R/acme/demo --repo-dir app --tag 3.0.0+meta >ref4 &&
	grep -q "^$R/acme/demo:3.0.0_meta@sha256:" ref4
'

reg_test 'registry errors are readable' '
	! $FERRY bundle publish --insecure --repo $R/acme/demo --repo-dir app \
	    --tag 9.9.9 2>err && cat err && grep -q "401" err &&
	! $PUB --repo 127.0.0.1:1/acme/demo --repo-dir app --tag 9.9.9 2>err &&
	cat err && grep -q "ferry: bundle: " err
'

test_done
