#!/usr/bin/env bash
# The Bazel side of the tests, offline (e2e/bazel_env), as issue #6 accepts
# them: every Bazel test of the workspace (Go tests, rule tests, buildifier,
# docs); the main job e2e/example.sh (build //examples:image, push it to
# docker-registry on 127.0.0.1 with bazel run //examples:push, run it with
# runc); the same image digest after `bazel clean --expunge`; the lockfiles
# up to date (lock.update --check); lock.update rewriting a lockfile and
# printing the upgrades with their CVEs; the example binary linked from the build
# lockfile's sysroot only (ld --trace); an edit of examples/main.c re-runs
# the compile and no ApkLayer action; and packages fetched with credentials
# from $NETRC (a server on 127.0.0.1 that requires basic auth).
#
# Usage (as root): bash e2e/bazel_tests.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The examples' lockfiles point at the demo repository, which
# e2e/example.sh builds; the tests of //... build examples/ too.
echo "== demo repository"
bash e2e/demo/build_repo.sh "$root/.cache/demo/e2e-repo" >/dev/null

echo "== e2e/bazel test //..."
e2e/bazel test //...

echo "== the main job: bash e2e/example.sh"
bash e2e/example.sh
layout=bazel-bin/examples/image
digest=$(jq -r '.manifests[0].digest' "$layout/index.json")

echo "== e2e/bazel run //examples:lock.update -- --check: the lockfiles are up to date"
e2e/bazel run //examples:lock.update -- --check

echo "== bazel run @runtime//:lock.update against the demo's second snapshot: writes and diffs"
# The spec moves to v2 (curl, openssl and zlib updated, security.json naming
# the CVEs they fix); the lockfile is rewritten in the workspace and the diff
# lists each upgrade with its CVEs. Both files are restored afterwards.
cp examples/runtime.apk.yaml "$root/.cache/runtime.apk.yaml.orig"
cp examples/runtime.apk.lock.json "$root/.cache/runtime.apk.lock.json.orig"
restore_runtime() {
	cp "$root/.cache/runtime.apk.yaml.orig" examples/runtime.apk.yaml
	cp "$root/.cache/runtime.apk.lock.json.orig" examples/runtime.apk.lock.json
}
trap restore_runtime EXIT
sed -i 's|https://demo.rules-apk.invalid/v1|https://demo.rules-apk.invalid/v2|' examples/runtime.apk.yaml
update=$(e2e/bazel run @runtime//:lock.update 2>/dev/null)
locked=$(jq -r '.packages[] | select(.name == "libcurl-openssl4") | .version' examples/runtime.apk.lock.json)
restore_runtime
trap - EXIT
echo "$update" | sed -n '/^== apkpack diff/,$p'
if [ "$locked" != 7.88.1-r1016 ] ||
	! grep -q '^  ~ libcurl-openssl4 7.88.1-r1015 -> 7.88.1-r1016 (upgraded) fixes CVE-' <<<"$update" ||
	! grep -q '3 upgraded, 0 downgraded, 0 rebuilt; [1-9][0-9]* vulnerabilities fixed' <<<"$update"; then
	echo "$update" >&2
	echo "error: want libcurl-openssl4 7.88.1-r1016 locked (got $locked) and a diff with its CVEs" >&2
	exit 1
fi

echo "== the link of //examples:curl-version reads only the build lockfile's sysroot (ld --trace)"
# ld prints every file it opens; anything absolute is the machine's, not the
# sysroot's (whose files are external/<repository>/sysroot/...).
trace=$root/.cache/bazel-link-trace.txt
e2e/bazel build --linkopt=-Wl,--trace //examples:curl-version >"$trace" 2>&1 || {
	cat "$trace" >&2
	exit 1
}
inputs=$(sed -n '/^INFO: From Linking examples\/curl-version/,/^INFO: \(Found\|Elapsed\)/p' "$trace" |
	grep -v -e '^INFO:' -e '^\[' -e '^Target' -e '^ ' -e '^$' || true)
sysroot_inputs=$(grep -c '^external/[^/]*build[^/]*sysroot[^/]*/sysroot/' <<<"$inputs" || true)
foreign=$(grep -v -e '^external/[^/]*build[^/]*sysroot[^/]*/sysroot/' -e '^bazel-out/' <<<"$inputs" || true)
if [ "$sysroot_inputs" -lt 5 ] || [ -n "$foreign" ]; then
	cat "$trace" >&2
	echo "error: want every linker input from the build sysroot; $sysroot_inputs are, these are not:" >&2
	echo "$foreign" >&2
	exit 1
fi
echo "$sysroot_inputs linker inputs, all from the build lockfile's sysroot"
rm -f "$trace"

echo "== an edit of examples/main.c re-runs the compile, no ApkLayer action"
log=$root/.cache/bazel-exec-log.json
cp examples/main.c "$root/.cache/main.c.orig"
restore() { cp "$root/.cache/main.c.orig" examples/main.c; }
trap restore EXIT
printf '\n/* an edit that changes the object file: %s */\nconst char *edit_probe = "%s";\n' \
	"$$" "$$" >>examples/main.c
e2e/bazel build --execution_log_json_file="$log" //examples:image
restore
trap - EXIT
mnemonics=$(jq -r '.mnemonic' "$log" | sort | uniq -c)
echo "$mnemonics"
if ! grep -q CppCompile <<<"$mnemonics" || grep -q ApkLayer <<<"$mnemonics"; then
	echo "error: want CppCompile and no ApkLayer among the actions run after the edit" >&2
	exit 1
fi
rm -f "$log"

echo "== e2e/bazel clean --expunge, then the image again: the same digest"
# A fresh server: expunging beside the sandbox trash that the previous one
# is still deleting in the background fails on a vanished file.
e2e/bazel shutdown
e2e/bazel clean --expunge
e2e/bazel build //examples:image
again=$(jq -r '.manifests[0].digest' "$layout/index.json")
if [ "$again" != "$digest" ]; then
	echo "error: the image is $digest, then $again after bazel clean --expunge" >&2
	exit 1
fi
echo "== netrc: the test lockfile from a server on 127.0.0.1 that requires basic auth"
# Without credentials the download must fail with 401; with $NETRC naming a
# netrc file (given to repository rules with --repo_env), it must succeed.
# The repository cache is off for both, so that the server is asked.
if ! command -v python3 >/dev/null 2>&1; then
	apt-get install -y --no-install-recommends python3 >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends python3 >/dev/null; }
fi
port=38517
netrc_dir=$root/.cache/netrc-test
mkdir -p "$netrc_dir"
printf 'machine 127.0.0.1\nlogin rules-apk\npassword test-secret\n' >"$netrc_dir/netrc"
python3 e2e/netrc_server.py "$port" rules/tests/testdata/repo rules-apk test-secret \
	2>"$netrc_dir/server.log" &
server=$!
stop_server() { kill "$server" 2>/dev/null || true; }
trap stop_server EXIT
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
if e2e/bazel build --repository_cache= @apk_netrc_test//:layer >"$netrc_dir/without.log" 2>&1; then
	echo "error: @apk_netrc_test//:layer was fetched without credentials" >&2
	exit 1
fi
if ! grep -q 401 "$netrc_dir/without.log"; then
	cat "$netrc_dir/without.log" >&2
	echo "error: want the download without credentials to fail with 401" >&2
	exit 1
fi
if ! e2e/bazel build --repository_cache= --repo_env=NETRC="$netrc_dir/netrc" \
	@apk_netrc_test//:layer >"$netrc_dir/with.log" 2>&1; then
	cat "$netrc_dir/with.log" "$netrc_dir/server.log" >&2
	echo "error: the download with \$NETRC failed" >&2
	exit 1
fi
stop_server
trap - EXIT
echo "401 without credentials; the layer built with them from \$NETRC"

if [ "${CI:-}" = true ]; then
	# Leave no server (and no mount namespace of it) behind on a CI machine.
	e2e/bazel shutdown
fi
echo "all Bazel tests passed; image $digest, the same after bazel clean --expunge"
