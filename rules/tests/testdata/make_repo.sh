#!/usr/bin/env bash
# Rebuilds the test repository of the rules' tests and its lockfile:
#   bash rules/tests/testdata/make_repo.sh
# Two small packages per arch (x86_64, aarch64), signed with a key made for
# the run (only its public half is kept), indexed, and locked by
# `apkpack lock` through a file:// mirror. The lockfile records
# https://rules-apk.invalid/test, which resolves nowhere: Bazel fetches the
# packages through the apk.mirror tag of MODULE.bazel, which is what the
# tests check.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo_root=$(cd "$here/../../.." && pwd -P)
source "$repo_root/e2e/env.sh"
export SOURCE_DATE_EPOCH=1700000000
url=https://rules-apk.invalid/test

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
apkpack=$tmp/apkpack
(cd "$repo_root" && go build -o "$apkpack" ./tools/cmd/apkpack)

rm -rf "$here/repo" "$here/keys"
mkdir -p "$here/keys"
"$apkpack" keygen --bits 2048 -o "$tmp/rules-apk-test.rsa"
cp "$tmp/rules-apk-test.rsa.pub" "$here/keys/"

for arch in x86_64 aarch64; do
	out=$here/repo/$arch
	mkdir -p "$out" "$tmp/$arch/base/etc" "$tmp/$arch/hello/usr/share/hello"
	echo "test-baselayout for $arch" >"$tmp/$arch/base/etc/test-release"
	echo "hello from $arch" >"$tmp/$arch/hello/usr/share/hello/hello.txt"
	"$apkpack" pack --signing-key "$tmp/rules-apk-test.rsa" --name test-baselayout \
		--version 1-r0 --arch "$arch" --license MIT --description "test base layout" \
		"$tmp/$arch/base" -o "$out/test-baselayout-1-r0.apk"
	"$apkpack" pack --signing-key "$tmp/rules-apk-test.rsa" --name test-hello \
		--version 1.0-r0 --arch "$arch" --license MIT --description "says hello" \
		--depend test-baselayout "$tmp/$arch/hello" -o "$out/test-hello-1.0-r0.apk"
	"$apkpack" index --signing-key "$tmp/rules-apk-test.rsa" -o "$out/APKINDEX.tar.gz" \
		"$out"/*.apk
done

"$apkpack" lock "$here/hello.apk.yaml" --cache-dir "$tmp/cache" \
	--mirror "$url=file://$here/repo"
