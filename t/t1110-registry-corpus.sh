#!/bin/bash
# t1110-registry-corpus: every registry notification of the shared corpus
# of real payloads (distribution, Harbor, Docker Hub; read in place from
# ../shared/corpus/webhooks, never copied) is posted to ferryd's
# /hooks/registry/<name> and must be understood as the corpus expects:
# pushes of manifests (repository, tag or none, digest) and nothing for
# pulls, deletes, scans and blob pushes.

. "$T_SRCDIR/lib.sh"

: "${T_CORPUS:=$T_SRCDIR/../../shared/corpus/webhooks}"
if ! test -f "$T_CORPUS/expected.json"; then
	echo "1..0 # SKIP no corpus at $T_CORPUS"
	exit 0
fi

trap 'stop_daemon_quiet' EXIT

test_expect 'setup' '
	echo corpus-hook >hook.secret && chmod 600 hook.secret &&
	write_config <<-EOF &&
	registry_hooks:
	  - {name: reg, secret_file: hook.secret}
	EOF
	start_daemon
'

# check_entry N: post entry N of expected.json and compare what ferryd
# understood with expect_all (or expect).
check_entry() {
	jq ".[$1]" "$T_CORPUS/expected.json" >entry.json &&
	file=$T_CORPUS/$(jq -r .file entry.json) &&
	post "/hooks/registry/reg?token=corpus-hook" "$file" \
		-H "Content-Type: $(jq -r '.headers["Content-Type"] // "application/json"' entry.json)" &&
	expect_code 200 &&
	jq '[.pushed[] | {repo: .repository, ref: .tag, sha: .digest}]' body >got.json &&
	jq '.provider as $p | [(.expect_all // [.expect])[] | select(.kind == "push") |
		{repo: (if $p != "dockerhub" or (.repo | contains("/")) then .repo else "library/" + .repo end),
		 ref: (if (.ref // "" | startswith("sha256:")) then null else .ref end), sha}]' entry.json >want.json &&
	# Docker Hub names official images without "library/"; the registry
	# API does not. The corpus gives the short name.
	jq -e --slurpfile w want.json '. == $w[0]' got.json >/dev/null || {
		echo "got:  $(jq -c . got.json)"; echo "want: $(jq -c . want.json)"; return 1; }
}

n=$(jq length "$T_CORPUS/expected.json")
for i in $(seq 0 $((n - 1))); do
	p=$(jq -r ".[$i].provider" "$T_CORPUS/expected.json")
	case $p in
	distribution|harbor|dockerhub) ;;
	*) continue ;;
	esac
	test_expect "corpus $(jq -r ".[$i].file" "$T_CORPUS/expected.json"): $(jq -r ".[$i].expect.kind" "$T_CORPUS/expected.json")" "check_entry $i"
done

stop_daemon_quiet
test_done
