#!/bin/bash
# t1100-corpus: every git-host payload of the shared corpus of real
# webhooks (../shared/corpus/webhooks, read in place, never copied) goes
# through `ferry webhook inspect` with its realistic headers, signed, and
# must give the expected kind, repo, ref, commit and deletion flag.

. "$T_SRCDIR/lib.sh"

: "${T_CORPUS:=$T_SRCDIR/../../shared/corpus/webhooks}"
if ! test -f "$T_CORPUS/expected.json"; then
	echo "1..0 # SKIP no corpus at $T_CORPUS"
	exit 0
fi

SECRET='corpus s3cret'
PROVIDER_NAME='{"github":"github","gitlab":"gitlab","gitea":"gitea","forgejo":"forgejo","bitbucket-cloud":"bitbucket","bitbucket-server":"bitbucket-server"}'

# check_entry N: run entry N of expected.json through inspect.
check_entry() {
	jq ".[$1]" "$T_CORPUS/expected.json" >entry.json &&
	file=$T_CORPUS/$(jq -r .file entry.json) &&
	provider=$(jq -r .provider entry.json) &&
	sig=$("$T_HELPER/hmac-sign" "$SECRET" "$file" "") &&
	args=() &&
	while IFS=$'\t' read -r name value; do
		case "$name:$value" in
		X-Hub-Signature-256:*) value="sha256=$sig" ;;
		X-Hub-Signature:*) value="sha256=$sig" ;;
		X-Gitea-Signature:*|X-Forgejo-Signature:*|X-Gogs-Signature:*) value="$sig" ;;
		X-Gitlab-Token:*) value="$SECRET" ;;
		*'<'*) value="corpus-$1" ;;
		esac
		args+=(-H "$name: $value")
	done < <(jq -r '.headers | to_entries[] | [.key, .value] | @tsv' entry.json) &&
	# Bitbucket Cloud signs only when a secret is set: add the header.
	if test "$provider" = bitbucket-cloud && ! jq -e '.headers["X-Hub-Signature"]' entry.json >/dev/null; then
		args+=(-H "X-Hub-Signature: sha256=$sig")
	fi &&
	"$FERRY" webhook inspect "${args[@]}" --secret "$SECRET" <"$file" >events.json &&
	jq -e --argjson names "$PROVIDER_NAME" --arg p "$provider" \
		'.[0].provider == $names[$p]' events.json >/dev/null &&
	jq -e -n --slurpfile e entry.json --slurpfile got events.json '
		($e[0]) as $x | ($got[0][0]) as $g |
		($x.expect + ($x.alt_expect // {} | with_entries(select(.key == "kind" or .key == "sha" or .key == "ref")))) as $alt |
		def same(f): ($g[f] == $x.expect[f]) or ($x.ambiguous and $g[f] == $alt[f]);
		def sha_ok: ($g.sha == $x.expect.sha) or ($x.ambiguous and $g.sha == $alt.sha)
			or (($x.alt_expect.sha_prefix_match // false) and ($g.sha | startswith($x.expect.sha)));
		same("kind") and same("repo") and same("ref") and sha_ok and ($g.deleted == $x.expect.deleted)
		' >/dev/null || {
		echo "expected:"; jq -c .expect entry.json; echo "got:"; jq -c ".[0] | {kind,repo,ref,sha,deleted}" events.json 2>/dev/null
		return 1
	}
}

n=$(jq length "$T_CORPUS/expected.json")
for i in $(seq 0 $((n - 1))); do
	provider=$(jq -r ".[$i].provider" "$T_CORPUS/expected.json")
	file=$(jq -r ".[$i].file" "$T_CORPUS/expected.json")
	case $provider in
	github|gitlab|gitea|forgejo|bitbucket-cloud|bitbucket-server)
		test_expect "corpus $file: $(jq -r ".[$i].expect.kind" "$T_CORPUS/expected.json")" "check_entry $i" ;;
	esac
done

test_expect 'a corpus payload with the wrong secret fails verification' '
	f=$T_CORPUS/github/push-1.json &&
	sig=$("$T_HELPER/hmac-sign" "other" "$f") &&
	! "$FERRY" webhook inspect -H "X-GitHub-Event: push" -H "X-Hub-Signature-256: $sig" --secret "$SECRET" <"$f" >out.json 2>err &&
	grep "signature check failed" err && test "$(wc -l <err)" = 1
'

test_done
