#!/bin/bash
# t4000-checkout: `ferry checkout` against real repositories made with the
# git CLI, served as file:// and by git daemon on loopback: the bare mirror
# and its incremental, forced and pruned fetches; a webhook's sha checked
# against its ref; tags; .ferry.yaml and required files read from the
# commit, not from any working copy; a worktree equal to `git archive`;
# hostile branch names; credentials kept out of messages; the mirror lock.
# Ends with a timing of a 10,000-file checkout (a comment, not a check).

. "$T_SRCDIR/lib.sh"

T=$T_TRASH
UP=$T/up
URL=file://$UP
M=$T/mirror
GD_PID=

# The git CLI here must not read the machine's or the user's settings.
export GIT_CONFIG_NOSYSTEM=1 HOME=$T/home
mkdir -p "$HOME"

gitc() {
	git -c user.name=t -c user.email=t@t -c commit.gpgsign=false \
		-c tag.gpgsign=false "$@"
}

# co ARGS: ferry checkout of $URL into $M; stdout to ./stdout, stderr to
# ./stderr.
co() {
	"$FERRY" checkout --mirror "$M" --url "$URL" "$@" >stdout 2>stderr
}

# expect_commit SHA: co printed "commit SHA".
expect_commit() {
	grep -qx "commit $1" stdout ||
		{ echo "want commit $1"; cat stdout stderr; return 1; }
}

# expect_fail PATTERN: co failed with a one-line "ferry: checkout:" error
# matching PATTERN (a progress line may come before it).
expect_fail() {
	tail -n 1 stderr | grep -q "^ferry: checkout: .*$1" ||
		{ echo "want error matching: $1"; cat stderr; return 1; }
	test "$(grep -vc "^ferry: checkout: fetched " stderr)" = 1
}

# ms_of WORD FILE: the N of "WORD ... in N ms" in FILE.
ms_of() {
	sed -n "s/.*$1 .* in \([0-9]*\) ms\$/\1/p" "$2" | tail -n 1
}

# big_stream: a fast-import stream for one commit of 10,000 small files in
# 100 directories (no working copy, no loose objects to write).
big_stream() {
	awk 'BEGIN {
		print "commit refs/heads/main"
		print "committer t <t@t> 1700000000 +0000"
		print "data 3"; print "big"
		for (d = 0; d < 100; d++)
			for (f = 0; f < 100; f++) {
				s = sprintf("file %d %d\n", d, f)
				printf "M 100644 inline d%02d/f%02d.txt\n", d, f
				printf "data %d\n%s\n", length(s), s
			}
	}'
}

# stop_git_daemon: git-daemon runs under the git wrapper; stop both.
stop_git_daemon() {
	test -n "$GD_PID" || return 0
	test -s "$T/git-daemon.pid" && kill "$(cat "$T/git-daemon.pid")" 2>/dev/null
	kill "$GD_PID" 2>/dev/null
	wait "$GD_PID" 2>/dev/null
	rm -f "$T/git-daemon.pid"
	GD_PID=
}
AUTH_PID=
trap 'stop_daemon_quiet; stop_git_daemon; test -z "$AUTH_PID" || kill "$AUTH_PID" 2>/dev/null' EXIT

# start_git_daemon BASE: git daemon on 127.0.0.1 serving BASE, on a random
# free port (retried when taken: then git daemon exits); sets GD_PORT once
# it answers, which it is given 20 s to do.
start_git_daemon() {
	for try in 1 2 3 4 5 6 7 8 9 10
	do
		GD_PORT=$((20000 + RANDOM % 40000))
		git daemon --reuseaddr --export-all --base-path="$1" \
			--listen=127.0.0.1 --port="$GD_PORT" \
			--pid-file="$T/git-daemon.pid" \
			--log-destination=stderr </dev/null \
			>>git-daemon.log 2>&1 &
		GD_PID=$!
		gd_end=$(($(date +%s) + 20))
		while kill -0 "$GD_PID" 2>/dev/null
		do
			if git ls-remote "git://127.0.0.1:$GD_PORT/shop.git" \
			    >/dev/null 2>&1; then
				return 0
			fi
			test "$(date +%s)" -lt "$gd_end" || break
			sleep 0.05
		done
		stop_git_daemon
	done
	echo "git daemon did not start"
	return 1
}

# Branch names that are valid refs and shell syntax (TESTING.md).
N1='$(touch${IFS}pwned)'
N2='a;b'
N3="it's"
N4='`id`'
N5='x|y&z'

test_expect 'setup: a repository with a pipeline, an executable, a link' '
	git init -q -b main "$UP" &&
	mkdir -p "$UP/bin" "$UP/sub/dir" &&
	echo "stages: [v1]" >"$UP/.ferry.yaml" &&
	echo hello >"$UP/a.txt" &&
	printf "#!/bin/sh\necho run\n" >"$UP/bin/run.sh" &&
	chmod +x "$UP/bin/run.sh" &&
	ln -s a.txt "$UP/link" &&
	echo deep >"$UP/sub/dir/deep.txt" &&
	gitc -C "$UP" add -A && gitc -C "$UP" commit -qm one &&
	C1=$(git -C "$UP" rev-parse HEAD) &&
	gitc -C "$UP" tag v1 &&
	gitc -C "$UP" tag -a -m annotated v1a &&
	T1A=$(git -C "$UP" rev-parse refs/tags/v1a) &&
	test "$T1A" != "$C1"
'

test_expect 'first fetch creates the bare mirror and prints the tip' '
	co --ref refs/heads/main &&
	expect_commit "$C1" &&
	test "$(git --git-dir="$M" config --bool core.bare)" = true &&
	test "$(git --git-dir="$M" config remote.origin.url)" = "$URL" &&
	test "$(git --git-dir="$M" rev-parse refs/heads/main)" = "$C1" &&
	test -f "$M/ferry.lock" &&
	grep -q "^ferry: checkout: fetched $URL in [0-9]* ms\$" stderr
'

test_expect 'an incremental fetch brings a new commit' '
	echo "stages: [v2]" >"$UP/.ferry.yaml" &&
	echo two >"$UP/two.txt" &&
	gitc -C "$UP" add -A && gitc -C "$UP" commit -qm two &&
	C2=$(git -C "$UP" rev-parse HEAD) &&
	co --ref refs/heads/main &&
	expect_commit "$C2" &&
	ms_of fetched stderr >fetch-ms && test -s fetch-ms
'
test -s fetch-ms && echo "# incremental fetch (file://, one new commit): $(cat fetch-ms) ms"

test_expect '--sha of the tip and of an ancestor are on the ref' '
	co --ref refs/heads/main --sha "$C2" && expect_commit "$C2" &&
	co --ref refs/heads/main --sha "$C1" && expect_commit "$C1"
'

test_expect 'an abbreviated 12-digit sha resolves to the full id' '
	co --ref refs/heads/main --sha "${C1:0:12}" && expect_commit "$C1" &&
	co --ref refs/heads/main --sha "$(echo "${C2:0:7}" | tr a-f A-F)" &&
	expect_commit "$C2"
'

test_expect 'a commit on another branch is refused for main' '
	gitc -C "$UP" checkout -q -b other "$C1" &&
	echo other >"$UP/other.txt" &&
	gitc -C "$UP" add -A && gitc -C "$UP" commit -qm other &&
	C3=$(git -C "$UP" rev-parse HEAD) &&
	gitc -C "$UP" checkout -q main &&
	! co --ref refs/heads/main --sha "$C3" &&
	expect_fail "commit $C3 is not on refs/heads/main (forged or force-pushed away)" &&
	! grep -q "^commit" stdout &&
	co --ref refs/heads/other --sha "$C3" && expect_commit "$C3"
'

test_expect 'a random sha is not found after fetch' '
	! co --ref refs/heads/main --sha 0123456789abcdef0123456789abcdef01234567 &&
	expect_fail "commit 0123456789abcdef0123456789abcdef01234567 not found in the repository after fetch" &&
	! co --ref refs/heads/main --sha 0123456789ab &&
	expect_fail "commit 0123456789ab not found"
'

test_expect 'a missing ref fails clearly' '
	! co --ref refs/heads/nosuch &&
	expect_fail "refs/heads/nosuch not found"
'

test_expect 'malformed refs and shas are refused before any git work' '
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref main >stdout 2>stderr &&
	expect_fail "malformed ref" &&
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref "refs/heads/a..b" >stdout 2>stderr &&
	expect_fail "malformed ref" &&
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref refs/heads/main --sha "$C1;x" >stdout 2>stderr &&
	expect_fail "malformed commit id" &&
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref refs/heads/main --sha abc >stdout 2>stderr &&
	expect_fail "malformed commit id" &&
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref refs/pull/1/head >stdout 2>stderr &&
	expect_fail "only branches" &&
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref refs/heads/main --require ../x >stdout 2>stderr &&
	expect_fail "bad --require path" &&
	! "$FERRY" checkout --mirror m-bad --url "$URL" --ref refs/heads/main --worktree "$(printf "w\ncommit 0")" >stdout 2>stderr &&
	expect_fail "control characters" &&
	! "$FERRY" checkout --mirror m-bad --ref refs/heads/main >stdout 2>stderr &&
	grep -q "^usage: ferry checkout" stderr &&
	! test -e m-bad
'

test_expect 'lightweight and annotated tags resolve to the commit' '
	co --ref refs/tags/v1 && expect_commit "$C1" &&
	co --ref refs/tags/v1a && expect_commit "$C1" &&
	co --ref refs/tags/v1a --sha "$C1" && expect_commit "$C1" &&
	co --ref refs/tags/v1a --sha "$T1A" && expect_commit "$C1" &&
	! co --ref refs/tags/v1 --sha "$C2" &&
	expect_fail "is not on refs/tags/v1"
'

test_expect 'a moved tag is fetched (forced)' '
	gitc -C "$UP" tag -f v1 "$C2" >/dev/null &&
	co --ref refs/tags/v1 && expect_commit "$C2" &&
	gitc -C "$UP" tag -f v1 "$C1" >/dev/null
'

test_expect '.ferry.yaml comes from the commit, not from any file on disk' '
	echo "stages: [evil]" >"$M/.ferry.yaml" &&
	echo "stages: [evil]" >.ferry.yaml &&
	mkdir -p wt-dirty && echo "stages: [evil]" >wt-dirty/.ferry.yaml &&
	co --ref refs/heads/main --sha "$C1" --pipeline-out p1.yaml &&
	expect_commit "$C1" &&
	git -C "$UP" show "$C1:.ferry.yaml" >p1.want &&
	cmp p1.want p1.yaml &&
	co --ref refs/heads/main --pipeline-out p2.yaml --result p2.result &&
	git -C "$UP" show "$C2:.ferry.yaml" >p2.want &&
	cmp p2.want p2.yaml &&
	! grep -q "pipeline: none\|werf: yes" stdout &&
	printf "commit=%s\npipeline=yes\nwerf=no\n" "$C2" >p2.rwant &&
	cmp p2.rwant p2.result &&
	rm -f "$M/.ferry.yaml" .ferry.yaml
'

test_expect 'no .ferry.yaml: "pipeline: none", nothing written, werf noticed' '
	gitc -C "$UP" checkout -q -b werfonly "$C1" &&
	gitc -C "$UP" rm -q .ferry.yaml &&
	echo "project: shop" >"$UP/werf.yaml" &&
	gitc -C "$UP" add -A && gitc -C "$UP" commit -qm werf &&
	CW=$(git -C "$UP" rev-parse HEAD) &&
	gitc -C "$UP" checkout -q main &&
	co --ref refs/heads/werfonly --pipeline-out pw.yaml --result pw.result &&
	expect_commit "$CW" &&
	grep -qx "pipeline: none" stdout &&
	grep -qx "werf: yes" stdout &&
	! test -e pw.yaml &&
	printf "commit=%s\npipeline=none\nwerf=yes\n" "$CW" >pw.want &&
	cmp pw.want pw.result &&
	co --ref refs/heads/werfonly --sha "$CW" --require werf.yaml &&
	expect_commit "$CW"
'

test_expect '--require of a missing file fails before anything is written' '
	! co --ref refs/heads/main --require a.txt --require werf.yaml \
		--pipeline-out p-req.yaml --worktree wt-req &&
	expect_fail "required file werf.yaml is not committed at ${C2:0:12}" &&
	! co --ref refs/heads/main --require a.txt --require werf.yaml \
		--pipeline-out p-req.yaml --worktree wt-req --result r-req &&
	! test -e p-req.yaml && ! test -e wt-req && ! test -e r-req &&
	! co --ref refs/heads/main --require sub/dir --worktree wt-req &&
	expect_fail "required file sub/dir is not committed" &&
	co --ref refs/heads/main --require a.txt --require sub/dir/deep.txt \
		--require bin/run.sh
'

test_expect 'the worktree equals git archive of the commit' '
	co --ref refs/heads/main --sha "$C1" --worktree wt1 &&
	expect_commit "$C1" && grep -qx "worktree wt1" stdout &&
	grep -q "^ferry: checkout: checked out 5 files in [0-9]* ms\$" stderr &&
	mkdir expected1 && git -C "$UP" archive "$C1" | tar -x -C expected1 &&
	diff -r --no-dereference expected1 wt1 &&
	test -x wt1/bin/run.sh && ! test -x wt1/a.txt &&
	test -L wt1/link && test "$(readlink wt1/link)" = a.txt &&
	test "$(stat -c %a wt1)" = 750 &&
	! test -e wt1/.git
'

test_expect 'a worktree that is not empty is refused' '
	! co --ref refs/heads/main --worktree wt1 &&
	expect_fail "not an empty directory" &&
	mkdir wt-empty && co --ref refs/heads/main --worktree wt-empty &&
	mkdir -p deep && co --ref refs/heads/main --worktree deep/er/wt &&
	diff -r --no-dereference wt-empty deep/er/wt
'

test_expect 'a submodule is left as an empty directory, as git archive does' '
	git init -q -b main sm-up &&
	echo x >sm-up/x &&
	git -C sm-up update-index --add --cacheinfo "160000,$C1,lib" &&
	gitc -C sm-up add x && gitc -C sm-up commit -qm sm &&
	"$FERRY" checkout --mirror m-sm --url "file://$T/sm-up" \
		--ref refs/heads/main --worktree wt-sm >stdout 2>stderr &&
	mkdir expected-sm && git -C sm-up archive HEAD | tar -x -C expected-sm &&
	diff -r expected-sm wt-sm && test -d wt-sm/lib &&
	grep -q "wt-sm: 1 submodule left as empty directory" stderr
'

# evil_tree ENTRIES: write a tree object made by hand, without git's
# checks; ENTRIES is "mode name:sha|mode name:sha...". Prints its id.
evil_tree() {
	perl -e 'my $o = "";
		for (split /\|/, $ARGV[0]) {
			my ($m, $n, $h) = /^(\S+) (.*):(\w+)$/;
			$o .= "$m $n\0" . pack("H*", $h);
		}
		print $o' "$1" |
	git -C evil.git hash-object -t tree --literally -w --stdin
}

test_expect 'trees that would write outside the worktree, or a .git, are refused' '
	git init -q --bare evil.git &&
	B=$(echo pwn | git -C evil.git hash-object -w --stdin) &&
	L=$(printf /tmp | git -C evil.git hash-object -w --stdin) &&
	TC=$(printf "100644 blob $B\tconfig\n" | git -C evil.git mktree) &&
	i=0 &&
	for spec in "40000 .git:$TC" "40000 .Git:$TC" "40000 ..:$TC" \
	    "100644 a/b:$B" "120000 x:$L|40000 x:$TC"
	do
		i=$((i + 1)) &&
		tree=$(evil_tree "$spec") &&
		c=$(gitc -C evil.git commit-tree -m evil "$tree") &&
		git -C evil.git update-ref refs/heads/main "$c" &&
		! "$FERRY" checkout --mirror m-evil --url "file://$T/evil.git" \
			--ref refs/heads/main --worktree "wt-evil$i" >stdout 2>stderr &&
		expect_fail "checkout ${c:0:12} into wt-evil$i: " &&
		test -z "$(find "wt-evil$i" -mindepth 1 ! -name x)" || return 1
	done
'

test_expect 'hostile branch names work end to end and run nothing' '
	for n in "$N1" "$N2" "$N3" "$N4" "$N5"
	do
		git check-ref-format "refs/heads/$n" &&
		git -C "$UP" branch "$n" "$C1" || return 1
	done &&
	i=0 &&
	for n in "$N1" "$N2" "$N3" "$N4" "$N5"
	do
		i=$((i + 1)) &&
		co --ref "refs/heads/$n" --sha "${C1:0:12}" --worktree "wt-n$i" \
			--pipeline-out "p-n$i.yaml" --require a.txt &&
		expect_commit "$C1" &&
		test "$(git --git-dir="$M" rev-parse "refs/heads/$n")" = "$C1" &&
		cmp p1.want "p-n$i.yaml" &&
		diff -r --no-dereference expected1 "wt-n$i" || return 1
	done &&
	test -z "$(find "$T" -name "pwned*" | head -n 1)"
'

test_expect 'a forced update (history rewritten) is fetched; the old tip is refused' '
	gitc -C "$UP" branch rewrite "$C2" &&
	co --ref refs/heads/rewrite && expect_commit "$C2" &&
	gitc -C "$UP" checkout -q -B rewrite "$C1" &&
	echo rewritten >"$UP/a.txt" &&
	gitc -C "$UP" commit -qam rewritten &&
	C5=$(git -C "$UP" rev-parse HEAD) &&
	gitc -C "$UP" checkout -q main &&
	co --ref refs/heads/rewrite && expect_commit "$C5" &&
	! co --ref refs/heads/rewrite --sha "$C2" &&
	expect_fail "commit $C2 is not on refs/heads/rewrite (forged or force-pushed away)"
'

test_expect 'a deleted branch is pruned from the mirror' '
	gitc -C "$UP" branch -D rewrite >/dev/null &&
	co --ref refs/heads/main &&
	! git --git-dir="$M" rev-parse -q --verify refs/heads/rewrite &&
	! co --ref refs/heads/rewrite && expect_fail "refs/heads/rewrite not found"
'

test_expect 'a changed URL is stored in the mirror' '
	git clone -q --bare "$UP" up2.git &&
	"$FERRY" checkout --mirror "$M" --url "file://$T/up2.git" \
		--ref refs/heads/main >stdout 2>stderr &&
	expect_commit "$C2" &&
	test "$(git --git-dir="$M" config remote.origin.url)" = "file://$T/up2.git"
'

test_expect 'a global git configuration (insteadOf) cannot redirect the fetch' '
	mkdir -p evilhome &&
	printf "[url \"file:///nonexistent/\"]\n\tinsteadOf = file://\n" >evilhome/.gitconfig &&
	HOME=$T/evilhome XDG_CONFIG_HOME=$T/evilhome co --ref refs/heads/main &&
	expect_commit "$C2"
'

test_expect 'over git:// from git daemon, then incrementally' '
	mkdir -p srv && git clone -q --bare "$UP" srv/shop.git &&
	start_git_daemon "$T/srv" &&
	GURL=git://127.0.0.1:$GD_PORT/shop.git &&
	"$FERRY" checkout --mirror m-gd --url "$GURL" --ref refs/heads/main \
		--sha "$C1" --worktree wt-gd --pipeline-out p-gd.yaml >stdout 2>stderr &&
	expect_commit "$C1" && cmp p1.want p-gd.yaml &&
	diff -r --no-dereference expected1 wt-gd &&
	grep -q "fetched git://127.0.0.1:$GD_PORT/shop.git in" stderr &&
	gitc -C "$UP" commit -q --allow-empty -m three &&
	C6=$(git -C "$UP" rev-parse HEAD) &&
	git -C "$UP" push -q "$T/srv/shop.git" main &&
	"$FERRY" checkout --mirror m-gd --url "$GURL" --ref refs/heads/main \
		--sha "$C6" >stdout 2>stderr &&
	expect_commit "$C6" &&
	ms_of fetched stderr >gd-ms &&
	"$FERRY" checkout --mirror m-gd --url "$GURL" --ref "refs/heads/$N2" \
		>stdout 2>stderr &&
	expect_commit "$C1"
'
test -s gd-ms && echo "# incremental fetch (git://, one new commit): $(cat gd-ms) ms"

test_expect 'two concurrent checkouts of one new mirror both succeed' '
	( "$FERRY" checkout --mirror m-conc --url "$URL" --ref refs/heads/main \
		--worktree wt-c1 >c1.out 2>c1.err; echo $? >c1.rc ) &
	P1=$!
	( "$FERRY" checkout --mirror m-conc --url "$URL" --ref refs/heads/main \
		--worktree wt-c2 >c2.out 2>c2.err; echo $? >c2.rc ) &
	P2=$!
	wait $P1 $P2 &&
	test "$(cat c1.rc)" = 0 && test "$(cat c2.rc)" = 0 &&
	grep -qx "commit $C6" c1.out && grep -qx "commit $C6" c2.out &&
	diff -r --no-dereference wt-c1 wt-c2
'

# The lock is held until the test creates ./release (for at most 30 s):
# the checkout must still be waiting 0.6 s after it started, and finish
# once the lock is free.
test_expect 'a fetch waits for the mirror lock held by another process' '
	if ! command -v flock >/dev/null; then echo "no flock(1)"; return 0; fi
	rm -f locked release fetch.rc
	flock m-conc/ferry.lock sh -c ": >locked; n=0; while ! test -e release && test \$n -lt 600; do sleep 0.05; n=\$((n + 1)); done" &
	FL=$!
	wait_for "test -e locked" || return 1
	( "$FERRY" checkout --mirror m-conc --url "$URL" --ref refs/heads/main \
		>stdout 2>stderr; echo $? >fetch.rc ) &
	FP=$!
	sleep 0.6 &&
	test ! -e fetch.rc &&
	: >release &&
	wait $FL && wait $FP &&
	test "$(cat fetch.rc)" = 0 &&
	expect_commit "$C6"
'

test_expect 'passwords in URLs and token files stay out of messages' '
	! "$FERRY" checkout --mirror m-pw --url "http://alice:pw-s3cret@127.0.0.1:1/x.git" \
		--ref refs/heads/main >stdout 2>stderr &&
	expect_fail "fetch http://alice:\*\*\*@127.0.0.1:1/x.git: " &&
	! grep -q s3cret stderr stdout &&
	! "$FERRY" checkout --mirror m-pw --url "https://tok-s3cret@127.0.0.1:1/x.git" \
		--ref refs/heads/main >stdout 2>stderr &&
	expect_fail "fetch https://\*\*\*@127.0.0.1:1/x.git: " &&
	! grep -q s3cret stderr stdout &&
	! grep -rq s3cret m-pw &&
	test "$(git --git-dir=m-pw config remote.origin.url)" = "https://127.0.0.1:1/x.git"
'

if command -v python3 >/dev/null; then
test_expect 'a refused token: three tries, one clear error, never shown' '
	echo tok-s3cret-1 >token && chmod 600 token &&
	"$T_SRCDIR/helper/git-auth-server" auth.port auth.log \
		</dev/null >auth-server.log 2>&1 &
	wait_for "test -s auth.port" &&
	read AUTH_PORT AUTH_PID <auth.port &&
	AURL=http://127.0.0.1:$AUTH_PORT/shop.git &&
	! "$FERRY" checkout --mirror m-auth --url "$AURL" --ref refs/heads/main \
		--token-file token >stdout 2>stderr &&
	expect_fail "fetch $AURL: authentication failed" &&
	! grep -q s3cret stderr stdout &&
	grep -qx "x-access-token:tok-s3cret-1" auth.log &&
	test "$(grep -c "^x-access-token:tok-s3cret-1\$" auth.log)" = 3 &&
	echo pw-s3cret-2 >password &&
	: >auth.log &&
	! "$FERRY" checkout --mirror m-auth --url "$AURL" --ref refs/heads/main \
		--username bob --password-file password >stdout 2>stderr &&
	expect_fail "authentication failed" &&
	! grep -q s3cret stderr stdout &&
	grep -qx "bob:pw-s3cret-2" auth.log &&
	: >auth.log &&
	! "$FERRY" checkout --mirror m-auth --url "$AURL" --ref refs/heads/main \
		>stdout 2>stderr &&
	expect_fail "asks for credentials and none" &&
	! "$FERRY" checkout --mirror m-auth --url "$AURL" --ref refs/heads/main \
		--token-file nosuch >stdout 2>stderr &&
	expect_fail "nosuch" &&
	kill "$AUTH_PID" && AUTH_PID=
'
else
	test_skip 'a refused token: three tries, one clear error, never shown' 'no python3'
fi

# timed_checkout DIR: a checkout of big.git into DIR; appends the ms ferry
# reports for writing the files to big-ms, and the whole run's ms to
# big-run-ms.
timed_checkout() {
	t0=$(date +%s%N) &&
	"$FERRY" checkout --mirror m-big --url "file://$T/big.git" \
		--ref refs/heads/main --worktree "$1" >stdout 2>stderr &&
	t1=$(date +%s%N) &&
	grep -q "checked out 10000 files in" stderr &&
	test "$(find "$1" -type f | wc -l)" = 10000 &&
	echo "$(ms_of "checked out" stderr)" >>big-ms &&
	echo $(((t1 - t0) / 1000000)) >>big-run-ms
}

test_expect 'performance: a warm checkout of 10,000 files (timed, 3 runs)' '
	git init -q --bare big.git &&
	big_stream | git -C big.git fast-import --quiet &&
	"$FERRY" checkout --mirror m-big --url "file://$T/big.git" \
		--ref refs/heads/main >stdout 2>stderr &&
	: >big-ms && : >big-run-ms &&
	for i in 1 2 3; do timed_checkout "wt-big$i" || return 1; done &&
	ms_of fetched stderr >big-fetch-ms
'
test -s big-ms && echo "# checkout of 10000 files: $(echo $(cat big-ms)) ms" \
	"(whole ferry checkout runs: $(echo $(cat big-run-ms)) ms;" \
	"warm fetch: $(cat big-fetch-ms) ms)"

# The same onto tmpfs, which separates ferry's cost from the disk's.
if test -d /dev/shm && SHM=$(mktemp -d /dev/shm/ferry-t4000.XXXXXX); then
	test_expect 'performance: the same checkout onto tmpfs (timed, 3 runs)' '
		: >big-ms && : >big-run-ms &&
		for i in 1 2 3; do timed_checkout "$SHM/wt$i" || return 1; done
	'
	rm -rf "$SHM"
	test -s big-ms && echo "# checkout of 10000 files to tmpfs: $(echo $(cat big-ms)) ms" \
		"(whole runs: $(echo $(cat big-run-ms)) ms)"
fi

test_done
