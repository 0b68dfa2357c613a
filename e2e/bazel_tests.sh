#!/usr/bin/env bash
# The Bazel side of the tests, offline (e2e/bazel_env), as issue #6 accepts
# them: every Bazel test of the workspace (Go tests, rule tests, buildifier,
# docs); the main job e2e/example.sh (build //examples:image, push it to
# docker-registry on 127.0.0.1 with bazel run //examples:push, run it with
# runc); the same image digest after `bazel clean --expunge`; the lockfiles
# up to date (lock.update --check); and an edit of examples/main.c re-runs
# the compile and no ApkLayer action.
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
echo "all Bazel tests passed; image $digest, the same after bazel clean --expunge"
