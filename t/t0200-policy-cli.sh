#!/bin/sh
# t0200-policy-cli: `ferry policy check` prints each tag's verdict and the
# selected tag, and exits 0 (selected), 1 (none) or 2 (usage, bad policy).

. "$T_SRCDIR/lib.sh"

# check ARGS...: run ferry policy check; stdout to "got", stderr to "err",
# the exit status to "rc".
check() {
	"$FERRY" policy check "$@" >got 2>err
	echo $? >rc
}

test_expect 'semver: one line per tag, then the highest match' '
	check --semver "~1.2" v1.2.3 1.2.10 1.3.0 latest 1.2.11-rc.1 &&
	cat >want <<-\EOF &&
	v1.2.3 match
	1.2.10 match
	1.3.0 no
	latest no
	1.2.11-rc.1 no
	selected: 1.2.10
	EOF
	cmp want got && test "$(cat rc)" = 0 && ! test -s err
'

test_expect 'semver: hyphen range, || and a pre-release constraint' '
	check --semver "1.0 - 1.4 || >=3.0.0-0" 0.9.0 1.4.9 2.0.0 3.1.0-rc.1 &&
	cat >want <<-\EOF &&
	0.9.0 no
	1.4.9 match
	2.0.0 no
	3.1.0-rc.1 match
	selected: 3.1.0-rc.1
	EOF
	cmp want got && test "$(cat rc)" = 0
'

test_expect 'semver: "_" in a tag is build metadata, ignored for order' '
	check --semver "^1" 1.2.3_b9 1.2.3 1.10.0_a &&
	test "$(tail -n 1 got)" = "selected: 1.10.0_a" &&
	test "$(grep -c " match$" got)" = 3
'

test_expect 'nothing selected: "selected: none" and exit 1' '
	check --semver "^9" 1.0.0 main &&
	printf "1.0.0 no\nmain no\nselected: none\n" >want &&
	cmp want got && test "$(cat rc)" = 1
'

test_expect 'a bad constraint is exit 2 with the cause on stderr' '
	check --semver ">>1.2" 1.2.0 &&
	test "$(cat rc)" = 2 && ! test -s got &&
	grep "unknown operator \">>\"" err
'

test_expect 'garbage constraints are refused' '
	bad=0 &&
	for c in "" "1.2 ||" "abc" "1.x.3" ">*" "1.2 -" "==1"
	do
		check --semver "$c" 1.2.0 &&
		test "$(cat rc)" = 2 && grep "constraint" err || bad=1
	done &&
	test $bad = 0
'

test_expect 'regex: capture group sorts numerically, ignore drops tags' '
	check --regex "^build-([0-9]+)$" --ignore "-1000$" --ignore "^build-9$" \
		build-9 build-10 build-100 build-1000 build-x &&
	cat >want <<-\EOF &&
	build-9 no
	build-10 match
	build-100 match
	build-1000 no
	build-x no
	selected: build-100
	EOF
	cmp want got && test "$(cat rc)" = 0
'

test_expect 'regex without capture: highest tag bytewise' '
	check --regex "^main-" main-aa main-b dev-z &&
	test "$(tail -n 1 got)" = "selected: main-b"
'

test_expect 'a bad regex is exit 2' '
	check --regex "(" a && test "$(cat rc)" = 2 && grep "allow regex" err &&
	check --semver "*" --ignore "[" 1.0.0 &&
	test "$(cat rc)" = 2 && grep "ignore regex" err
'

test_expect 'invalid tags are printed as no and never selected' '
	check --regex . -- "bad tag" -dash ok &&
	printf "bad tag no\n-dash no\nok match\nselected: ok\n" >want &&
	cmp want got
'

test_expect 'latest: TAG=UNIXTIME, newest wins, ties to the higher name' '
	check --latest --allow "^v" v1=100 v2=300 v3=300 x=900 &&
	cat >want <<-\EOF &&
	v1 match
	v2 match
	v3 match
	x no
	selected: v3
	EOF
	cmp want got && test "$(cat rc)" = 0
'

test_expect 'latest: a tag without a time is a usage error' '
	check --latest v1=100 v2 && test "$(cat rc)" = 2 &&
	grep "TAG=UNIXTIME" err &&
	check --latest v1=soon && test "$(cat rc)" = 2 &&
	check --latest v1=-5 && test "$(cat rc)" = 2
'

test_expect 'digest: the configured tag only' '
	check --digest main v1 main mainline &&
	printf "v1 no\nmain match\nmainline no\nselected: main\n" >want &&
	cmp want got && test "$(cat rc)" = 0 &&
	check --digest main v1 && test "$(cat rc)" = 1
'

test_expect 'usage errors are exit 2' '
	check && test "$(cat rc)" = 2 &&
	check --semver "*" && test "$(cat rc)" = 2 &&
	check --semver 1 --regex x a && test "$(cat rc)" = 2 &&
	check --regex x --allow y a && test "$(cat rc)" = 2 &&
	check --semver "*" --allow x 1.0.0 && test "$(cat rc)" = 2 &&
	check --bogus a && test "$(cat rc)" = 2 &&
	"$FERRY" policy >got 2>err; test $? = 2 && grep usage err
'

test_done
