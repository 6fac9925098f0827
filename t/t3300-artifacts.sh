#!/bin/bash
# t3300-artifacts: a run's image.<name> and bundle outputs become its
# release artifacts; the acceptance stage runs with FERRY_ENV=test and its
# result is kept against the bundle's digest. The acceptance stage itself
# cannot name artifacts: what it is judged on comes from the stages before.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"
D1=sha256:1111111111111111111111111111111111111111111111111111111111111111
D2=sha256:2222222222222222222222222222222222222222222222222222222222222222



test_expect 'setup' '
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 2}" write_config <<-EOF &&
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

# An image shows the acceptance of its run's bundle: what the gate counts.
test_expect 'image and bundle outputs are recorded; acceptance runs with FERRY_ENV=test' '
	cat >work/.ferry.yaml <<-EOF &&
	stages:
	  - name: publish
	    run: printf "image.app=127.0.0.1:5000/acme/app:c0ffee@$D1\nbundle=127.0.0.1:5000/acme/shop:0.0.0-main.1@$D2\nimage.bad=not-a-reference\n" >"\$FERRY_OUTPUT"; echo "env=\$FERRY_ENV"
	  - name: acceptance
	    run: echo "acceptance in \$FERRY_ENV"
	EOF
	(cd work && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "env=ci" state/logs/$id/publish.log &&
	grep "acceptance in test" state/logs/$id/acceptance.log &&
	grep "output image.bad ignored" state/logs/$id/publish.log &&
	api "/api/v1/artifacts?project=shop" && expect_code 200 &&
	jq -e "(.artifacts | length) == 2" body &&
	jq -e ".artifacts[] | select(.kind == \"bundle\") | .repository == \"127.0.0.1:5000/acme/shop\" and .tag == \"0.0.0-main.1\" and .digest == \"$D2\" and .acceptance == \"passed\" and .run == $id" body &&
	jq -e ".artifacts[] | select(.kind == \"image\") | .name == \"app\" and .tag == \"c0ffee\" and .digest == \"$D1\" and .acceptance == \"passed\"" body
'

test_expect 'a failed acceptance is recorded as failed' '
	sed -i "s/echo \"acceptance in \\\$FERRY_ENV\"/exit 4/" work/.ferry.yaml &&
	sed -i "s/0.0.0-main.1@/0.0.0-main.2@/; s/$D2/sha256:3333333333333333333333333333333333333333333333333333333333333333/" work/.ferry.yaml &&
	(cd work && $GIT commit -q -am two && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"failed\"" body &&
	api "/api/v1/artifacts?project=shop" &&
	jq -e "[.artifacts[] | select(.kind == \"bundle\" and .run == $id)][0].acceptance == \"failed\"" body
'

test_expect 'ferry artifacts prints them' '
	"$FERRY" -s "$T_SOCK" artifacts --project shop >list &&
	head -n 1 list | grep "^RUN *KIND" &&
	grep "bundle .*passed .*127.0.0.1:5000/acme/shop:0.0.0-main.1@$D2" list &&
	"$FERRY" -s "$T_SOCK" artifacts --json >list.json && jq -e "length == 4" list.json
'

test_expect 'an acceptance stage cannot vouch: its bundle and image outputs are ignored, and so are those of later stages' '
	D5=sha256:5555555555555555555555555555555555555555555555555555555555555555 &&
	D6=sha256:6666666666666666666666666666666666666666666666666666666666666666 &&
	D7=sha256:7777777777777777777777777777777777777777777777777777777777777777 &&
	cat >work/.ferry.yaml <<-EOF &&
	stages:
	  - name: publish
	    run: printf "bundle=127.0.0.1:5000/acme/shop:0.0.0-main.3@$D5\n" >"\$FERRY_OUTPUT"
	  - name: acceptance
	    run: printf "bundle=127.0.0.1:5000/acme/shop:9.9.9@$D6\nimage.app=127.0.0.1:5000/acme/app:9.9.9@$D6\nverdict=fine\n" >"\$FERRY_OUTPUT"
	  - name: later
	    run: printf "image.late=127.0.0.1:5000/acme/late:1@$D7\n" >"\$FERRY_OUTPUT"
	EOF
	(cd work && $GIT commit -q -am three && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "output bundle ignored: the acceptance stage and the stages after it may not name release artifacts" state/logs/$id/acceptance.log &&
	grep "output image.app ignored: the acceptance stage" state/logs/$id/acceptance.log &&
	grep "output image.late ignored: the acceptance stage and the stages after it" state/logs/$id/later.log &&
	grep "run $id: output bundle ignored" ferryd.log &&
	api "/api/v1/artifacts?project=shop" &&
	jq -e "[.artifacts[] | select(.run == $id)] | length == 1 and .[0].digest == \"$D5\" and .[0].acceptance == \"passed\"" body &&
	jq -e "[.artifacts[] | select(.digest == \"$D6\" or .digest == \"$D7\")] | length == 0" body
'

# ferryd reads $FERRY_OUTPUT outside the stage's namespaces: a symbolic
# link there must not make it read another file, nor a FIFO block it.
test_expect 'a $FERRY_OUTPUT that is a symbolic link or a FIFO is ignored, and ferryd lives on' '
	echo "leaked=yes" >elsewhere &&
	cat >work/.ferry.yaml <<-EOF &&
	stages:
	  - name: link
	    run: ln -sf "$T_TRASH/elsewhere" "\$FERRY_OUTPUT"
	  - name: fifo
	    run: mkfifo "\$FERRY_OUTPUT"
	  - name: dir
	    run: d=\$(dirname "\$FERRY_OUTPUT") && mv "\$d" "\$d.real" && ln -s "$T_TRASH" "\$d" && echo "leaked=dir" >"$T_TRASH/dir"
	  - name: last
	    run: echo "seen=\$FERRY_OUT_LEAKED"
	EOF
	(cd work && $GIT commit -q -am links && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\" and (.outputs | has(\"leaked\") | not)" body &&
	grep "FERRY_OUTPUT is not a regular file" state/logs/$id/link.log &&
	grep "FERRY_OUTPUT is not a regular file" state/logs/$id/fifo.log &&
	grep -x ".*seen=" state/logs/$id/last.log &&
	api /healthz && expect_code 200
'

test_expect 'stop' '
	stop_daemon
'

test_done
