#!/bin/bash
# t6100-gitops: `ferry gitops set`, the gitops deploy driver, against real
# bare repositories made with the git CLI: served by path (file://), and
# over smart HTTP by git's own http-backend (t/helper/git-http-server) where
# a push must run the repository's hooks. The commit's parent, message,
# author and tree; the file's other bytes; no commit for a value already
# set; a stale cached clone; a push that races another (a hook moves the
# branch under it, as a concurrent pusher would); a hook that declines;
# credentials kept out of messages; missing files and keys, refused values.

. "$T_SRCDIR/lib.sh"

T=$T_TRASH
UP=$T/up.git
URL=file://$UP
HTTP_PID=

export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
mkdir -p "$HOME"
trap 'stop_daemon_quiet; test -z "$HTTP_PID" || kill "$HTTP_PID" 2>/dev/null' EXIT

gitc() {
	git -c user.name=t -c user.email=t@t -c commit.gpgsign=false "$@"
}

# up GIT-ARGS: git in the bare repository.
up() {
	git --git-dir="$UP" "$@"
}

# set_value ARGS: ferry gitops set on $URL; stdout to ./stdout, stderr to
# ./stderr.
set_value() {
	"$FERRY" gitops set --repo "$URL" "$@" >stdout 2>stderr
}

# expect_fail PATTERN: the run exited 1 with an error matching PATTERN.
expect_fail() {
	rc=$?
	test "$rc" = 1 || { echo "exit $rc, want 1"; cat stdout stderr; return 1; }
	grep -q "^ferry: gitops: .*$1" stderr ||
		{ echo "want error matching: $1"; cat stderr; return 1; }
	test ! -s stdout
}

cat >shop.yaml <<'YAML'
# Argo CD Application for the shop. Managed by ferry: only targetRevision
# changes; keep the comments.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop      # aligned comment
  annotations: {ferry.dev/env: prod}
spec:
  project: default
  source:
    repoURL: registry.example.com/charts
    chart: shop
    targetRevision: 1.4.1   # bumped by ferry
    helm:
      valueFiles: ["values.yaml"]
  destination: {server: "https://kubernetes.default.svc", namespace: shop}
YAML
printf 'image:\r\n  repository: r.example/shop\r\n  tag: "v1"\r\nnote: |\r\n  text\r\n' >values.yaml

test_expect 'setup: a bare GitOps repository' '
	git init -q --bare -b main "$UP" &&
	gitc init -q -b main seed &&
	mkdir -p seed/apps &&
	cp shop.yaml seed/apps/shop.yaml &&
	cp values.yaml seed/values.yaml &&
	echo "# gitops" >seed/README.md &&
	gitc -C seed add . &&
	gitc -C seed commit -q -m "initial" &&
	gitc -C seed push -q "$URL" main
'

test_expect 'a commit on the tip, with the message and author given, only the scalar changed' '
	tip0=$(up rev-parse main) &&
	set_value --file apps/shop.yaml --key spec.source.targetRevision \
		--value 1.4.2 --work-dir wd \
		--message "deploy registry.example.com/charts/shop:1.4.2@sha256:ab12" \
		--author "Ferry Bot <bot@example.com>" &&
	tip1=$(up rev-parse main) &&
	test "$tip1" != "$tip0" &&
	test "$(cat stdout)" = "committed $tip1" &&
	test "$(up log -1 --format=%P main)" = "$tip0" &&
	test "$(up log -1 --format="%an <%ae>|%cn <%ce>" main)" = "Ferry Bot <bot@example.com>|Ferry Bot <bot@example.com>" &&
	test "$(up log -1 --format=%B main)" = "deploy registry.example.com/charts/shop:1.4.2@sha256:ab12" &&
	test "$(up diff --name-only "$tip0" main)" = apps/shop.yaml &&
	up show main:apps/shop.yaml >got &&
	sed "s/targetRevision: 1.4.1   #/targetRevision: 1.4.2   #/" shop.yaml >want &&
	! cmp -s want shop.yaml &&
	cmp want got
'

test_expect 'the same value again: unchanged, no new commit' '
	tip=$(up rev-parse main) &&
	set_value --file apps/shop.yaml --key spec.source.targetRevision \
		--value 1.4.2 --work-dir wd &&
	test "$(cat stdout)" = "unchanged $tip" &&
	test "$(up rev-parse main)" = "$tip"
'

test_expect 'a CRLF values file: quoting kept, every other byte kept, default message and author' '
	tip=$(up rev-parse main) &&
	set_value --file values.yaml --key image.tag --value v2 --work-dir wd &&
	test "$(cat stdout)" = "committed $(up rev-parse main)" &&
	test "$(up log -1 --format=%P main)" = "$tip" &&
	test "$(up log -1 --format="%an <%ae>" main)" = "ferry <ferry@localhost>" &&
	test "$(up log -1 --format=%s main)" = "ferry: set image.tag to v2 in values.yaml" &&
	up show main:values.yaml >got &&
	printf "image:\r\n  repository: r.example/shop\r\n  tag: \"v2\"\r\nnote: |\r\n  text\r\n" >want &&
	cmp want got
'

test_expect 'a plain value that would read as a number is written double-quoted' '
	set_value --file apps/shop.yaml --key spec.source.targetRevision \
		--value 1.5 --work-dir wd &&
	up show main:apps/shop.yaml >got &&
	grep -q "^    targetRevision: \"1.5\"   # bumped by ferry\$" got
'

test_expect 'the remote default branch without --branch, a temporary work dir removed' '
	gitc -C seed fetch -q "$URL" main &&
	gitc -C seed reset -q --hard FETCH_HEAD &&
	gitc -C seed push -q "$URL" main:live &&
	up symbolic-ref HEAD refs/heads/live &&
	main=$(up rev-parse main) &&
	mkdir tmp &&
	TMPDIR=$T/tmp set_value --file apps/shop.yaml \
		--key spec.source.targetRevision --value 2.0.0 &&
	test "$(cat stdout)" = "committed $(up rev-parse live)" &&
	test "$(up rev-parse main)" = "$main" &&
	test -z "$(ls -A tmp)" &&
	up symbolic-ref HEAD refs/heads/main
'

test_expect 'a push to the remote since the cached clone was fetched: applied on the new tip' '
	gitc -C seed fetch -q "$URL" main &&
	gitc -C seed reset -q --hard FETCH_HEAD &&
	echo "more" >>seed/README.md &&
	gitc -C seed commit -q -am "someone else" &&
	gitc -C seed push -q "$URL" main &&
	other=$(up rev-parse main) &&
	set_value --file apps/shop.yaml --key spec.source.targetRevision \
		--value 1.6.0 --work-dir wd &&
	test "$(cat stdout)" = "committed $(up rev-parse main)" &&
	test "$(up log -1 --format=%P main)" = "$other" &&
	up show main:README.md | grep -qx more &&
	up show main:apps/shop.yaml | grep -q "targetRevision: \"1.6.0\"   #"
'

# two_at_once: two runs on one work dir started together; both must succeed.
two_at_once() {
	"$FERRY" gitops set --repo "$URL" --file apps/shop.yaml \
		--key spec.project --value staging --work-dir wd >out1 2>err1 &
	p1=$!
	"$FERRY" gitops set --repo "$URL" --file apps/shop.yaml \
		--key metadata.name --value shop-eu --work-dir wd >out2 2>err2 &
	p2=$!
	wait $p1 || { cat err1; wait $p2; return 1; }
	wait $p2 || { cat err2; return 1; }
}

test_expect 'two runs at once on one work dir: serialized, both committed in a line' '
	n0=$(up rev-list --count main) &&
	two_at_once &&
	grep -q "^committed " out1 && grep -q "^committed " out2 &&
	test "$(up rev-list --count main)" = $((n0 + 2)) &&
	up show main:apps/shop.yaml >got &&
	grep -q "^  project: staging\$" got &&
	grep -q "^  name: shop-eu      # aligned comment\$" got
'

test_expect 'a missing file: exit 1, no commit' '
	tip=$(up rev-parse main) &&
	set_value --file apps/nope.yaml --key a --value b --work-dir wd
	expect_fail "apps/nope.yaml not found on branch main" &&
	test "$(up rev-parse main)" = "$tip"
'

test_expect 'a missing key: exit 1 naming the path, no commit' '
	tip=$(up rev-parse main) &&
	set_value --file apps/shop.yaml --key spec.source.version --value b \
		--work-dir wd
	expect_fail "spec.source.version: not found: no key \"version\" under spec.source" &&
	test "$(up rev-parse main)" = "$tip"
'

test_expect 'a block scalar and a mapping are refused' '
	set_value --file values.yaml --key note --value x --work-dir wd
	expect_fail "note: is a block scalar" &&
	set_value --file values.yaml --key image --value x --work-dir wd
	expect_fail "image: is a mapping"
'

test_expect 'hostile values are refused before any git work' '
	tip=$(up rev-parse main) &&
	set_value --file apps/shop.yaml --key spec.source.targetRevision \
		--value "1.7
evil: true" --work-dir wd
	expect_fail "refused: value contains a line break" &&
	set_value --file apps/shop.yaml --key spec.source.targetRevision \
		--value "$(printf "1.7\033[2J")" --work-dir wd
	expect_fail "refused: value contains a control character" &&
	set_value --file ../../etc/passwd --key a --value b --work-dir wd
	expect_fail "bad file path" &&
	set_value --file apps/shop.yaml --key a --value b --branch "a..b"
	expect_fail "bad branch name" &&
	test "$(up rev-parse main)" = "$tip"
'

test_expect 'usage errors exit 2' '
	"$FERRY" gitops set --repo "$URL" --file a --key b >stdout 2>stderr
	test $? = 2 &&
	grep -q "^usage: ferry gitops set" stderr &&
	"$FERRY" gitops set --repo "$URL" --file a --key b --value c --bogus >stdout 2>stderr
	test $? = 2 &&
	"$FERRY" gitops frob >stdout 2>stderr
	test $? = 2
'

# Over HTTP: git http-backend runs receive-pack, so the bare repository's
# hooks run (libgit2 pushes to a file:// repository without them).
if command -v python3 >/dev/null && test -x "$(git --exec-path)/git-http-backend"; then
test_expect 'setup: the repository over smart HTTP with a token' '
	mkdir http &&
	git clone -q --bare "$UP" http/race.git &&
	echo tok-s3cret >token &&
	"$T_SRCDIR/helper/git-http-server" "$T/http" http.port tok-s3cret \
		</dev/null >http.log 2>&1 &
	i=0 && while ! test -s http.port; do
		i=$((i + 1)); test $i -le 100 || return 1; sleep 0.05; done &&
	read HTTP_PORT HTTP_PID <http.port &&
	HURL=http://127.0.0.1:$HTTP_PORT/race.git
'

test_expect 'a push that races another: refused once, applied again on the new tip' '
	R=$T/http/race.git &&
	gitc -C seed fetch -q "file://$R" main &&
	gitc -C seed reset -q --hard FETCH_HEAD &&
	echo "raced" >>seed/README.md &&
	gitc -C seed commit -q -am "the other pusher" &&
	gitc -C seed push -q "file://$R" HEAD:refs/race/next &&
	racer=$(git --git-dir="$R" rev-parse refs/race/next) &&
	cat >"$R/hooks/update" <<-\HOOK &&
	#!/bin/sh
	# Once: move the branch while the push is under way.
	echo "$1" >>hook.log
	if test "$1" = refs/heads/main && test -f race-once; then
		rm -f race-once
		env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main refs/race/next
	fi
	exit 0
	HOOK
	chmod +x "$R/hooks/update" &&
	touch "$R/race-once" &&
	"$FERRY" gitops set --repo "$HURL" --token-file token \
		--file apps/shop.yaml --key spec.source.targetRevision \
		--value 3.0.0 --work-dir wd-http >stdout 2>stderr &&
	test ! -e "$R/race-once" &&
	test "$(grep -c refs/heads/main "$R/hook.log")" = 2 &&
	grep -q "refused: refs/heads/main" stderr &&
	grep -q "main moved to ${racer%"${racer#????????????}"} meanwhile" stderr &&
	test "$(cat stdout)" = "committed $(git --git-dir="$R" rev-parse main)" &&
	test "$(git --git-dir="$R" log -1 --format=%P main)" = "$racer" &&
	git --git-dir="$R" show main:README.md | grep -qx raced &&
	git --git-dir="$R" show main:apps/shop.yaml | grep -q "targetRevision: \"3.0.0\"   #" &&
	! grep -q s3cret stdout stderr
'

test_expect 'a hook that declines: exit 1 after one attempt, no commit' '
	R=$T/http/race.git &&
	tip=$(git --git-dir="$R" rev-parse main) &&
	: >"$R/hook.log" &&
	printf "#!/bin/sh\necho \"\$1\" >>hook.log\necho protected >&2\nexit 1\n" >"$R/hooks/update" &&
	"$FERRY" gitops set --repo "$HURL" --token-file token \
		--file apps/shop.yaml --key spec.source.targetRevision \
		--value 3.1.0 --work-dir wd-http >stdout 2>stderr
	expect_fail "push to http://127.0.0.1:$HTTP_PORT/race.git refused: refs/heads/main" &&
	test "$(wc -l <"$R/hook.log")" = 1 &&
	test "$(git --git-dir="$R" rev-parse main)" = "$tip" &&
	rm "$R/hooks/update"
'

test_expect 'credentials stay out of messages' '
	"$FERRY" gitops set --repo "http://x:pw-s3cret@127.0.0.1:$HTTP_PORT/race.git" \
		--file apps/shop.yaml --key a --value b --branch nope >stdout 2>stderr
	expect_fail "branch nope of http://x:\*\*\*@127.0.0.1:$HTTP_PORT/race.git" &&
	! grep -q s3cret stderr &&
	echo wrong >badtoken &&
	"$FERRY" gitops set --repo "$HURL" --token-file badtoken \
		--file apps/shop.yaml --key a --value b >stdout 2>stderr
	expect_fail "authentication failed" &&
	"$FERRY" gitops set --repo "$HURL" \
		--file apps/shop.yaml --key a --value b >stdout 2>stderr
	expect_fail "asks for credentials"
'
else
	for t in setup race declines credentials; do
		test_skip "HTTP case: $t" 'no python3 or git-http-backend'
	done
fi

test_done
