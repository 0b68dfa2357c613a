#!/usr/bin/env bash
# Checks which lockfile path an apk_lock target's script writes, relative to
# the workspace: lock_path_test.sh SCRIPT WANT [SCRIPT WANT]...
set -euo pipefail
status=0
while [ $# -ge 2 ]; do
	script=$1 want=$2
	shift 2
	got=$(sed -n "s/^lock='\(.*\)'\$/\1/p" "$script")
	if [ "$got" != "$want" ]; then
		echo "FAIL: $script writes ${got:-nothing}, want $want" >&2
		status=1
	else
		echo "ok: $script writes $want"
	fi
done
exit $status
