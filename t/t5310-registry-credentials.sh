#!/bin/bash
# t5310-registry-credentials: registries: in the server configuration give
# the stages their registry credentials (an auth file of the run, never a
# password in an environment or a log): ferry build, ferry run-image and
# ferry bundle publish work against a registry with Basic auth without any
# credentials in .ferry.yaml. A run gets only the registries of its project
# (registries[].projects), and a registry's credentials can come from a
# Docker-style config.json (registries[].docker_config) for the runs and
# the registry watch alike.

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

# What a stage saw: the hosts in its auth file (never the file itself, it
# holds the passwords) and the plain-http list.
hosts() { sed -n "s/.* host=//p" state/logs/$1/auths.log; }
AUTHS_STAGE='{name: auths, run: "echo auth=${FERRY_REGISTRY_AUTH:-none} insecure=${FERRY_REGISTRY_INSECURE:-none}; test -z \"$FERRY_REGISTRY_AUTH\" || jq -r \".auths | keys[] | \\\"host=\\(.)\\\"\" \"$FERRY_REGISTRY_AUTH\""}'

# add_auths_stage FILE: the auths stage first in FILE's stages.
add_auths_stage() {
	AS="  - $AUTHS_STAGE" awk '{ print } /^stages:/ { print ENVIRON["AS"] }' "$1" >"$1.new" &&
	mv "$1.new" "$1"
}

# config_projects: shop has $REG; tools has another registry and a
# plain-http one; bare (the tools repository too) has none.
config_projects() {
	T_EXEC="{concurrency: 1, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF
	registries:
	  - {host: "$REG", username: user, password_file: regpw, insecure: true, projects: [shop]}
	  - {host: "other.example:5000", username: o, password_file: otherpw, projects: [tools]}
	  - {host: "open.example:5000", insecure: true, projects: [tools]}
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	  - {name: tools, repo: "file://$T_TRASH/tools.git", provider: github, secret_file: secret}
	  - {name: bare, repo: "file://$T_TRASH/tools.git", provider: github, secret_file: secret}
	EOF
}

test_expect 'registries[].projects: a run gets only its project'"'"'s registries' '
	printf "n0t-in-logs\n" >regpw && printf "other-s3cret\n" >otherpw && chmod 600 otherpw &&
	git init -q --bare tools.git && $GIT clone -q tools.git tools 2>/dev/null &&
	printf "stages:\n  - %s\n" "$AUTHS_STAGE" >tools/.ferry.yaml &&
	(cd tools && $GIT add -A && $GIT commit -q -m one && git push -q origin HEAD:refs/heads/main) &&
	config_projects && hup_daemon && grep "configuration reloaded" ferryd.log &&
	id=$(deliver_push tools refs/heads/main $(git -C tools rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	test "$(hosts $id)" = other.example:5000 &&
	grep " insecure=open.example:5000$" state/logs/$id/auths.log &&
	id=$(deliver_push bare refs/heads/main $(git -C tools rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	grep " auth=none insecure=none$" state/logs/$id/auths.log &&
	test -z "$(hosts $id)"
'

test_expect 'and shop'"'"'s runs get only shop'"'"'s, and still build and publish' '
	add_auths_stage work/.ferry.yaml &&
	echo "# three" >>work/app/Dockerfile && (cd work && $GIT commit -q -am three && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	test "$(hosts $id)" = "$REG" &&
	! grep -r "other-s3cret\|n0t-in-logs" ferryd.log state/logs
'

test_expect 'ferryd -n: a registry every project gets warns, an unknown project is an error' '
	sed "s/, projects: \[shop\]//" ferry.yaml >warn.yaml &&
	"$FERRYD" -n -c warn.yaml >out.n 2>err.n &&
	grep "configuration OK" out.n err.n &&
	grep "warning: registry $REG: the runs of all 3 projects get its credentials" err.n &&
	! grep "warning: registry other.example" err.n &&
	sed "s/projects: \[shop\]/projects: [shop, nosuch]/" ferry.yaml >bad.yaml &&
	! "$FERRYD" -n -c bad.yaml >out.n 2>err.n &&
	grep "registry $REG: projects: no project named \"nosuch\"" err.n
'

# docker_config: the same credentials from a Docker config.json, for a run
# (build and publish) and for the registry watch of an environment on $REG.
test_expect 'registries[].docker_config: runs and the watch use its credentials' '
	printf "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n" "$REG" "$(printf user:n0t-in-logs | base64)" >docker.json &&
	chmod 600 docker.json &&
	T_EXEC="{concurrency: 1, path: \"$(dirname "$FERRY"):/usr/sbin:/usr/bin:/sbin:/bin\"}" write_config <<-EOF &&
	registries:
	  - {host: "$REG", docker_config: docker.json, insecure: true}
	projects:
	  - {name: shop, repo: "file://$T_TRASH/shop.git", provider: github, secret_file: secret}
	environments:
	  - name: staging
	    repository: $REG/acme/shop
	    policy: {regex: "."}
	    poll_interval: 1s
	    deploy:
	      driver: command
	      run: ["sh", "-c", "echo \"\$FERRY_RELEASE_TAG\" >>$T_TRASH/staging.out"]
	EOF
	hup_daemon && grep "configuration reloaded" ferryd.log &&
	echo "# four" >>work/app/Dockerfile && (cd work && $GIT commit -q -am four && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"success\"" body &&
	test "$(hosts $id)" = "$REG" &&
	wait_for "test -s staging.out" 30 &&
	! grep -r "n0t-in-logs" ferryd.log state/logs
'

test_expect 'docker_config: a wrong password fails readably, a file without the host is a config error' '
	printf "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n" "$REG" "$(printf user:wrong | base64)" >docker.json &&
	hup_daemon && grep "configuration reloaded" ferryd.log &&
	echo "# five" >>work/app/Dockerfile && (cd work && $GIT commit -q -am five && git push -q origin HEAD:refs/heads/main) &&
	id=$(deliver_push shop refs/heads/main $(git -C work rev-parse HEAD)) && wait_run_end $id &&
	jq -e ".state == \"failed\"" body &&
	grep "ferry: build: registry" state/logs/$id/build.log &&
	printf "{\"auths\": {\"elsewhere.example\": {\"auth\": \"eDp5\"}}}\n" >docker.json &&
	! "$FERRYD" -n -c ferry.yaml >out.n 2>err.n &&
	grep "docker_config: .*docker.json has no \"auth\" entry for $REG" err.n &&
	printf "{\"auths\": " >docker.json &&
	! "$FERRYD" -n -c ferry.yaml >out.n 2>err.n &&
	grep "registry $REG: docker_config: .*docker.json: line" err.n
'

test_expect 'stop' '
	stop_daemon
'

test_done
