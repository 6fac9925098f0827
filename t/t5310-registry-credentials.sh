#!/bin/bash
# t5310-registry-credentials: registries: in the server configuration give
# the stages their registry credentials (an auth file of the run, never a
# password in an environment or a log): ferry build, ferry run-image and
# ferry bundle publish work against a registry with Basic auth without any
# credentials in .ferry.yaml.

. "$T_SRCDIR/lib.sh"

GIT="git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"

for t in docker-registry buildah htpasswd python3; do
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
test -x /bin/busybox || { echo "1..0 # SKIP busybox-static not installed"; exit 0; }

trap 'registry_stop; stop_daemon_quiet' EXIT

test_expect 'setup: a registry with Basic auth, credentials in ferry.yaml only' '
	htpasswd -Bbn user n0t-in-logs >htpasswd 2>/dev/null &&
	registry_start "$T_TRASH/htpasswd" &&
	printf "n0t-in-logs\n" >regpw && chmod 600 regpw &&
	git init -q --bare shop.git && $GIT clone -q shop.git work 2>/dev/null &&
	mkdir -p work/app work/.helm && cp /bin/busybox work/app/busybox &&
	printf "FROM scratch\nCOPY busybox /bin/busybox\n" >work/app/Dockerfile &&
	printf "apiVersion: v2\nname: shop\nversion: 0.1.0\n" >work/.helm/Chart.yaml &&
	C="--storage-root $T_TRASH/containers" &&
	cat >work/.ferry.yaml <<-EOF &&
	images:
	  - {name: app, context: app, repository: "$REG/acme/app"}
	stages:
	  - {name: build, run: "ferry build $C"}
	  - {name: test, run: "ferry run-image app $C -- /bin/busybox true"}
	  - {name: publish, run: "ferry bundle publish --repo $REG/acme/shop --image app=\$FERRY_OUT_IMAGE_APP"}
	EOF
	(cd work && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	echo s3cret >secret && chmod 600 secret &&
	T_EXEC="{concurrency: 1, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	registries:
	  - {host: "$REG", username: user, password_file: regpw, insecure: true}
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	EOF
	start_daemon
'

test_expect 'build, test in the image and publish with the server'"'"'s credentials' '
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep "image app built" state/logs/$id/build.log &&
	api "/api/v1/artifacts?project=shop" && jq -e "(.artifacts | length) == 2" body
'

test_expect 'the password is in no log and no stage environment' '
	! grep -r "n0t-in-logs" ferryd.log state/logs
'

test_expect 'a wrong password fails the build stage readably' '
	printf "wrong\n" >regpw && hup_daemon && grep "configuration reloaded" ferryd.log &&
	echo "# two" >>work/app/Dockerfile && (cd work && $GIT commit -q -am two && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"failed\"" body &&
	grep "ferry: build: registry" state/logs/$id/build.log
'

test_expect 'stop' '
	stop_daemon
'

test_done
