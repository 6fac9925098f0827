#!/bin/bash
# t5100-tag: content-based image tags. An image's tag follows its inputs
# (build context, Dockerfile, build args) at the commit and nothing else.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

tags() { "$FERRY" tag --repo repo "$@"; }

test_expect 'setup: a repository with two images' '
	$GIT init -q repo && mkdir -p repo/app repo/web &&
	echo "FROM scratch" >repo/app/Dockerfile && echo a >repo/app/main.c &&
	echo "FROM scratch" >repo/web/Dockerfile && echo w >repo/web/index.html &&
	echo readme >repo/README &&
	cat >repo/.ferry.yaml <<-\EOF &&
	images:
	  - {name: app, context: app, args: {VERSION: "1", MODE: fast}}
	  - {name: web, context: web, dockerfile: web/Dockerfile}
	stages:
	  - {name: build, run: "true"}
	EOF
	(cd repo && $GIT add -A && $GIT commit -q -m one) &&
	tags >t1 && test "$(wc -l <t1)" = 2 &&
	grep -E "^app [0-9a-f]{32}$" t1 && grep -E "^web [0-9a-f]{32}$" t1
'

test_expect 'a change outside every context moves no tag' '
	echo more >>repo/README && (cd repo && $GIT commit -q -am readme) &&
	tags >t2 && cmp t1 t2
'

test_expect 'a change in one context moves only that image' '
	echo b >>repo/app/main.c && (cd repo && $GIT commit -q -am app) &&
	tags >t3 && test "$(grep web t3)" = "$(grep web t1)" &&
	test "$(grep app t3)" != "$(grep app t1)"
'

test_expect 'a build argument moves the tag; their order does not' '
	sed -i "s/VERSION: \"1\", MODE: fast/MODE: fast, VERSION: \"1\"/" repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am order) && tags >t4 && cmp t3 t4 &&
	sed -i "s/VERSION: \"1\"/VERSION: \"2\"/" repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am version) && tags >t5 &&
	test "$(grep app t5)" != "$(grep app t4)" && test "$(grep web t5)" = "$(grep web t4)"
'

test_expect 'going back to old inputs gives the old tag again' '
	sed -i "s/VERSION: \"2\"/VERSION: \"1\"/" repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am back) && tags >t6 && cmp t4 t6
'

test_expect 'tags come from the commit, not the working tree' '
	echo dirty >>repo/web/index.html &&
	tags >t7 && cmp t6 t7 && (cd repo && git checkout -q web/index.html)
'

test_expect 'an older commit, by id, and one image' '
	first=$(git -C repo rev-list --max-parents=0 HEAD) &&
	tags --commit $first >t8 && cmp t1 t8 &&
	tags --commit $first --image web >t9 && test "$(cat t9)" = "$(grep web t1)"
'

test_expect 'a Dockerfile that is not committed is an error' '
	printf "images: [{name: x, context: nowhere}]\nstages: [{name: b, run: \"true\"}]\n" >repo/.ferry.yaml &&
	(cd repo && $GIT commit -q -am broken) &&
	! tags 2>err && grep "context nowhere is not in commit" err
'

test_done
