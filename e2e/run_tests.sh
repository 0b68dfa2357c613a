#!/usr/bin/env bash
# Runs every test of the project: the Go unit, golden and fuzz-seed tests,
# then the main job as a smoke test. Usage: bash e2e/run_tests.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source e2e/env.sh

echo "== go test ./..."
go test -count=1 ./...

echo "== main job (e2e/demo.sh)"
bash e2e/demo.sh >/dev/null
echo "all tests passed"
