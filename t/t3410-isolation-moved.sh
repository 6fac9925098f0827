#!/bin/bash
# t3410-isolation-moved: a stage renames a folder above a covered secret
# (the cover is on the secret's folder, the rename is of its parent), so
# that the secret's configured path is gone at the next run; the cover
# follows the file to where it is now, and the next stage cannot read it.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

if ! unshare -Urm true 2>/dev/null; then
	echo "1..0 # SKIP user namespaces are not available here"
	exit 0
fi

# push STAGE: a commit whose only stage runs STAGE (sh); waits for the run,
# whose id goes to ./id.
push() {
	printf "stages:\n  - name: s\n    run: %s\n" "$1" >work/.ferry.yaml &&
	(cd work && $GIT add -A && $GIT commit -q -m "$1" && git push -q origin HEAD:refs/heads/main) &&
	deliver_push shop refs/heads/main "$(git -C work rev-parse HEAD)" >id &&
	wait_run_end "$(cat id)"
}

test_expect 'setup: a secret two folders down, a folder that ferryd may rename above it' '
	mkdir -p git sec/inner && echo the-moved-secret-31 >sec/inner/key && chmod 600 sec/inner/key &&
	echo s3cret >hook && chmod 600 hook &&
	git init -q --bare git/shop.git && $GIT clone -q git/shop.git work 2>/dev/null &&
	T_EXEC="{concurrency: 1, isolation: auto}" write_config <<-EOF &&
	projects:
	  - name: shop
	    repo: file://$T_TRASH/git/shop.git
	    provider: github
	    secret_file: hook
	    secrets: {KEY: sec/inner/key}
	EOF
	start_daemon
'

test_expect 'a stage moves the folder above the covered one' '
	push "mv $T_TRASH/sec $T_TRASH/sec2 && echo moved" &&
	jq -e ".state == \"success\"" body &&
	test -f sec2/inner/key && ! test -e sec
'

test_expect 'the next stage cannot read the secret where it went' '
	push "cat $T_TRASH/sec2/inner/key; echo done" &&
	jq -e ".state == \"success\"" body &&
	grep "done" state/logs/$(cat id)/s.log &&
	! grep the-moved-secret-31 state/logs/$(cat id)/s.log
'

test_expect 'stop' '
	stop_daemon
'

test_done
