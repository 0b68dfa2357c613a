#!/usr/bin/env bash
# Runs every test of the project: the Go unit, golden and fuzz-seed tests,
# then the main job as a smoke test. Usage: bash e2e/run_tests.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source e2e/env.sh

echo "== go test ./..."
go test -count=1 ./...

real=${RULES_APK_REAL_TESTDATA:-../shared/testdata/real}
if [ -d "$real" ]; then
	echo "== main job (e2e/demo.sh)"
	bash e2e/demo.sh >/dev/null
else
	echo "== main job skipped: the real test data folder $real is missing (set RULES_APK_REAL_TESTDATA)"
fi
echo "all tests passed"
