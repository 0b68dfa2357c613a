#!/usr/bin/env bash
# Checks the hub repository of the test lockfile: a package target is the
# locked file (sha256 from the lockfile), the SBOM lists the closure, and the
# sysroot holds the packages' files and none of their control files.
#
# Usage: hub_test.sh LOCKFILE PACKAGE_APK SBOM SYSROOT_FILE...
set -euo pipefail
lockfile=$1
apk=$2
sbom=$3
shift 3

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
hello=
for f in "$@"; do
	case $f in
	*/sysroot/.*)
		echo "error: the sysroot has a control file: $f" >&2
		exit 1
		;;
	*/sysroot/usr/share/hello/hello.txt) hello=$f ;;
	esac
done
if [ "$(cat "${hello:-/dev/null}")" != "hello from x86_64" ]; then
	echo "error: the sysroot has no usr/share/hello/hello.txt of x86_64: $*" >&2
	exit 1
fi
echo ok
