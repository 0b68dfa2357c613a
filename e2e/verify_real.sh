#!/usr/bin/env bash
# Verifies real packages: builds apkpack, verifies the real Alpine and Wolfi
# packages and indexes of the shared test data (signature, C:, datahash,
# per-file SHA-1), shows that the tampered package is rejected, and prints
# what the files contain. (The main job is e2e/example.sh.)
#
# Usage: bash e2e/verify_real.sh
# The test data folder defaults to ../shared/testdata/real next to the
# checkout; set RULES_APK_REAL_TESTDATA to use another.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=e2e/env.sh
source e2e/env.sh

real=${RULES_APK_REAL_TESTDATA:-../shared/testdata/real}
if [ ! -d "$real" ]; then
	echo "error: the real test data folder $real is missing; set RULES_APK_REAL_TESTDATA" >&2
	exit 1
fi

bin=.cache/bin
mkdir -p "$bin"
go build -o "$bin/apkpack" ./tools/cmd/apkpack
apkpack=$bin/apkpack

echo "== apkpack verify: real packages and indexes"
"$apkpack" verify \
	--keyring "$real/alpine-3.16-x86_64/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub" \
	--keyring "$real/alpine-3.16-aarch64/alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub" \
	--keyring "$real/rsa256-index/test-rsa256.rsa.pub" \
	--keyring "$real/wolfi-aarch64-resigned/keys" \
	--keyring "$real/wolfi/wolfi-signing.rsa.pub" \
	"$real/alpine-3.16-x86_64/APKINDEX.tar.gz" \
	"$real/alpine-3.16-aarch64/alpine-baselayout-3.2.0-r23.apk" \
	"$real/rsa256-index/aarch64/APKINDEX.tar.gz" \
	"$real/rsa256-index/aarch64/alpine-baselayout-3.2.0-r23.apk" \
	"$real/wolfi-aarch64-resigned/APKINDEX.tar.gz" \
	"$real/wolfi/libcap-2.69-r0.apk" \
	"$real/wolfi/wolfi-base-1-r1.apk"

echo
echo "== apkpack verify: the tampered package must be rejected"
if why=$("$apkpack" verify --keyring "$real/wolfi/wolfi-signing.rsa.pub" \
	"$real/tampered/aws-c-s3-0.4.9-r0.apk" 2>&1); then
	echo "error: the tampered package verified" >&2
	exit 1
fi
echo "rejected, as it must be:"
echo "$why"

for f in "$real/wolfi/libcap-2.69-r0.apk" "$real/wolfi-aarch64-resigned/APKINDEX.tar.gz"; do
	echo
	echo "== apkpack inspect $f"
	"$apkpack" inspect "$f"
done
