#!/usr/bin/env bash
# Builds the demo repository into OUTDIR: Debian bookworm binaries, pinned by
# e2e/demo/packages.txt, repacked as signed APK packages (see README.md next
# to this script). Idempotent and cached: a second run with the same inputs
# takes seconds and leaves byte-identical files.
#
# Usage: bash e2e/demo/build_repo.sh [--update-manifest] [--check] OUTDIR
#   --update-manifest  pin the archive's current versions (also RULES_APK_DEMO_UPDATE=1)
#   --check            then check the repository (signatures, closure, names, versions)
# The cache defaults to .cache/demo under the repository root; set
# RULES_APK_DEMO_CACHE to move it. The packages are signed with the
# committed, public demo key of e2e/demo/keys, so every machine builds the
# same bytes. As root, a failed download runs apt-get update once and
# retries (apt's package lists are empty on a fresh machine).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/e2e/env.sh"

flags=()
check=0
while [ $# -gt 0 ]; do
	case $1 in
	--update-manifest) flags+=(--update-manifest) ;;
	--check) check=1 ;;
	-v) flags+=(-v) ;;
	-*) echo "error: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
if [ $# -ne 1 ]; then
	echo "usage: bash e2e/demo/build_repo.sh [--update-manifest] [--check] OUTDIR" >&2
	exit 2
fi
out=$1

for tool in apt-get dpkg-deb; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "error: the demo repository needs $tool (Debian's apt and dpkg)" \
			"to download and unpack .deb files" >&2
		exit 1
	fi
done

cache=${RULES_APK_DEMO_CACHE:-$root/.cache/demo}
bin=$cache/bin
mkdir -p "$bin"
# -buildvcs=false: the binaries are part of the cache key, and must not
# change with every commit.
(cd "$root" && go build -buildvcs=false -o "$bin/apkpack" ./tools/cmd/apkpack)
(cd "$root" && go build -buildvcs=false -o "$bin/demorepo" ./tools/cmd/demorepo)

if [ "$(id -u)" = 0 ]; then
	flags+=(--apt-update)
fi
"$bin/demorepo" build --cache "$cache" --manifest "$root/e2e/demo/packages.txt" \
	--key-dir "$root/e2e/demo/keys" --apkpack "$bin/apkpack" ${flags[@]+"${flags[@]}"} "$out"
if [ "$check" = 1 ]; then
	"$bin/demorepo" check --apkpack "$bin/apkpack" "$out"
fi
