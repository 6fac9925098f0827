#!/bin/bash
# t3200-pipeline-local: `ferry pipeline run` runs a repository's pipeline
# here without a daemon, with the same executor: from the HEAD commit by
# default, from the working tree with --dev, one stage with --stage, and
# again whenever HEAD moves with --follow.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

test_expect 'setup: a repository with a pipeline' '
	$GIT init -q repo &&
	cat >repo/.ferry.yaml <<-\EOF &&
	stages:
	  - name: show
	    run: cat data.txt; echo "seen=$(cat data.txt)" >"$FERRY_OUTPUT"
	  - name: next
	    run: ["/bin/sh", "-c", "echo next got $FERRY_OUT_SEEN on $FERRY_BRANCH at $FERRY_COMMIT"]
	EOF
	echo committed >repo/data.txt &&
	(cd repo && $GIT add -A && $GIT commit -q -m one)
'

test_expect 'runs HEAD from a clean checkout, not the working tree' '
	echo uncommitted >repo/data.txt &&
	(cd repo && "$FERRY" pipeline run) >out1 2>&1 &&
	grep -x "committed" out1 && ! grep -x "uncommitted" out1 &&
	grep "next got committed on main at $(git -C repo rev-parse HEAD)" out1 &&
	grep "pipeline succeeded" out1
'

test_expect '--dev runs the working tree and says so' '
	(cd repo && "$FERRY" pipeline run --dev) >out2 2>&1 &&
	grep -x "uncommitted" out2 && grep "uncommitted changes included" out2
'

test_expect '--stage runs one stage' '
	"$FERRY" pipeline run --repo repo --stage next >out3 2>&1 &&
	! grep -x "committed" out3 && grep "next got" out3 &&
	! "$FERRY" pipeline run --repo repo --stage nosuch 2>err && grep "no stage named nosuch" err
'

test_expect 'a failing stage fails the command' '
	printf "stages:\n  - name: bad\n    run: exit 3\n  - name: after\n    run: echo never\n" >repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am bad) &&
	! "$FERRY" pipeline run --repo repo >out4 2>&1 &&
	grep "stage bad failed (exit 3)" out4 && ! grep -x never out4
'

test_expect 'an invalid pipeline is refused with line and column' '
	printf "stages:\n  - nme: x\n" >repo/.ferry.yaml && (cd repo && $GIT commit -q -am invalid) &&
	! "$FERRY" pipeline run --repo repo 2>err && grep ".ferry.yaml:2:" err
'

test_expect 'a pipeline nested deeper than 64 levels is refused where it goes deeper' '
	{ printf "stages:\n  - name: x\n    run: [\"true\"]\n    env: {a: "
	  head -c 5000 /dev/zero | tr "\0" "{"; head -c 5000 /dev/zero | tr "\0" "}"; echo "}"; } >repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am deep) &&
	! "$FERRY" pipeline run --repo repo 2>err && grep -x ".ferry.yaml:4:74: nested deeper than 64 levels" err &&
	printf "stages:\n  - name: x\n    run: [\"true\"]\n    env: {a: b}\n" >repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am shallow) &&
	"$FERRY" pipeline run --repo repo >out6 2>&1 && grep "pipeline succeeded" out6
'

test_expect '--follow runs again when HEAD moves' '
	printf "stages:\n  - name: one\n    run: echo run-of \$FERRY_COMMIT\n" >repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am follow) &&
	"$FERRY" pipeline run --repo repo --follow >out5 2>&1 &
	FPID=$! &&
	wait_for "grep -q \"waiting for HEAD\" out5" &&
	echo more >>repo/data.txt && (cd repo && $GIT commit -q -am again) &&
	wait_for "grep -q \"run-of $(git -C repo rev-parse HEAD)\" out5" &&
	kill $FPID && wait $FPID;
	grep -c "^run-of " out5 | grep -x 2
'

test_expect 'the example pipelines in etc/pipelines are valid' '
	(for f in "$T_SRCDIR"/../etc/pipelines/*.yaml; do
		rm -rf ex && $GIT init -q ex && cp "$f" ex/.ferry.yaml &&
		(cd ex && $GIT add -A && $GIT commit -q -m example) &&
		! "$FERRY" pipeline run --repo ex --stage nosuch 2>err &&
		grep -x "ferry: no stage named nosuch" err && ! grep ".ferry.yaml:" err ||
		{ echo "$f"; cat err; exit 1; }
	done)
'

# werf is not installed here: a stand-in on PATH records each command line,
# to show what the example runs and in which order.
test_expect 'the werf example tests in the built image with werf run' '
	mkdir -p bin && printf "#!/bin/sh\necho \"\$*\" >>%s/werf.calls\n" "$T_TRASH" >bin/werf && chmod +x bin/werf &&
	rm -rf ex && $GIT init -q ex && cp "$T_SRCDIR"/../etc/pipelines/werf.yaml ex/.ferry.yaml &&
	(cd ex && $GIT add -A && $GIT commit -q -m werf) &&
	PATH="$T_TRASH/bin:$PATH" "$FERRY" pipeline run --repo ex >out7 2>&1 &&
	printf "%s\n" "build" "run app -- /app/run-tests" "bundle publish --tag $(git -C ex rev-parse HEAD)" \
	    "converge --env test" "dismiss --env test" >want.calls &&
	diff want.calls werf.calls &&
	grep "^ *# run: \[\"werf\", \"kube-run\", \"app\", \"--\", \"/app/run-tests\"\]" ex/.ferry.yaml
'

test_expect 'outside a repository: a clear error' '
	d=$(mktemp -d /tmp/ferry-t3200.XXXXXX) &&
	! (cd "$d" && "$FERRY" pipeline run) 2>err; rmdir "$d"; grep "not in a git repository" err
'

test_done
