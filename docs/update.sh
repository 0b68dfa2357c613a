#!/usr/bin/env bash
# Copies the generated reference docs into docs/ of the workspace:
#   bazel run //docs:update
# Usage: update.sh GENERATED...  (each NAME_gen.md becomes docs/NAME.md)
set -euo pipefail
if [ -z "${BUILD_WORKSPACE_DIRECTORY:-}" ]; then
	echo "error: run this with bazel run //docs:update" >&2
	exit 1
fi
for gen in "$@"; do
	name=$(basename "$gen" _gen.md)
	install -m 0644 "$gen" "$BUILD_WORKSPACE_DIRECTORY/docs/$name.md"
	echo "wrote docs/$name.md"
done
