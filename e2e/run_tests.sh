#!/usr/bin/env bash
# Runs every test of the project: the Go unit, golden and fuzz-seed tests
# (with TestRepository, which builds the demo repository), the real-package
# smoke test, then the main job, the end-to-end run e2e/e2e.sh.
# Usage: bash e2e/run_tests.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=e2e/env.sh
source e2e/env.sh

echo "== go test ./..."
go test -count=1 ./...

real=${RULES_APK_REAL_TESTDATA:-../shared/testdata/real}
if [ -d "$real" ]; then
	echo "== real packages (e2e/verify_real.sh)"
	bash e2e/verify_real.sh >/dev/null
else
	echo "== real packages skipped: the real test data folder $real is missing (set RULES_APK_REAL_TESTDATA)"
fi

echo "== main job (e2e/e2e.sh)"
bash e2e/e2e.sh
echo "all tests passed"
