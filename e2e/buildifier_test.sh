#!/usr/bin/env bash
# Checks that every Starlark file of the workspace is buildifier-formatted
# and lint-clean: `bazel test //:buildifier_test`. To fix what it reports:
#   bazel run @com_github_bazelbuild_buildtools//buildifier -- --lint=fix -r "$PWD"
#
# Usage: buildifier_test.sh BUILDIFIER WORKSPACE_FILE
# WORKSPACE_FILE is a source file at the top of the workspace, whose
# runfiles link leads back to the workspace (the test is tagged local).
set -euo pipefail
buildifier=$(realpath "$1")
workspace=$(dirname "$(readlink -f "$2")")
cd "$workspace"
files=()
while IFS= read -r -d '' f; do
	files+=("$f")
done < <(find . \( -path ./.cache -o -path './bazel-*' -o -path ./.git \) -prune -o \
	\( -name '*.bzl' -o -name BUILD.bazel -o -name MODULE.bazel -o -name BUILD \) \
	-type f -print0 | sort -z)
if [ ${#files[@]} -lt 3 ] || [ ! -f rules/defs.bzl ]; then
	# Without files buildifier would read stdin and pass: fail instead.
	echo "error: found ${#files[@]} Starlark files under $workspace, which is not the workspace" >&2
	exit 1
fi
if ! "$buildifier" --mode=check --lint=warn "${files[@]}"; then
	echo "error: buildifier: fix the above (e.g. buildifier --lint=fix FILE)" >&2
	exit 1
fi
echo "ok: ${#files[@]} files"
