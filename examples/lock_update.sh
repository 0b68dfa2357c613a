#!/usr/bin/env bash
# Re-locks every lockfile of the examples with the newest versions their
# specs allow, and prints what changed: bazel run //examples:lock.update
# Arguments go to each apkpack lock (e.g. -- --check).
#
# Usage: lock_update.sh LOCK_UPDATE... -- [ARGS...]
set -euo pipefail
runfiles=${RUNFILES_DIR:-$0.runfiles}
RUNFILES_DIR=$(cd "$runfiles" && pwd -P)
export RUNFILES_DIR
targets=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	targets+=("$(pwd -P)/$1")
	shift
done
[ $# -gt 0 ] && shift
for target in "${targets[@]}"; do
	"$target" "$@"
done
