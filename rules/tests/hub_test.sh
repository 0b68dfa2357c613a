#!/usr/bin/env bash
# Checks the hub repository of the test lockfile: a package target is the
# locked file (sha256 from the lockfile), and the SBOM lists the closure.
#
# Usage: hub_test.sh LOCKFILE PACKAGE_APK SBOM
set -euo pipefail
lockfile=$1
apk=$2
sbom=$3

sum=$(sha256sum "$apk" | cut -d' ' -f1)
if ! grep -q "\"sha256\": \"$sum\"" "$lockfile"; then
	echo "error: $apk (sha256 $sum) is not a package of $lockfile" >&2
	exit 1
fi
for name in test-baselayout test-hello; do
	if ! grep -q "\"name\": \"$name\"" "$sbom"; then
		echo "error: the SBOM $sbom does not list $name" >&2
		exit 1
	fi
done
echo ok
