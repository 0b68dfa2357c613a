#!/usr/bin/env bash
# lock.sh measures `apkpack resolve` and `apkpack lock` as separate
# processes (wall, user and system time, peak RSS from /usr/bin/time -v) on
# the synthetic Wolfi-sized repository of package synth: a signed index of
# 200,000 records with a 30-package closure of so:libcurl.so.4 whose package
# files exist. The repository is written once into the user cache directory
# (shared with tools/bench/index.sh) and served over http on 127.0.0.1 by
# tools/bench/synthrepo.
#
#   resolve     apkpack resolve --index APKINDEX.tar.gz so:libcurl.so.4
#   lock-cold   apkpack lock of a spec with that world, empty cache: fetches
#               the index and the 30 packages, verifies them
#   lock-warm   the same with the cache the cold run filled: the index is
#               revalidated (304), the packages are verified from the cache
#
# Usage: tools/bench/lock.sh [runs]   (default 3; prints every run, then the
# minimum and median of each column). APKPACK=/path/to/apkpack measures that
# binary instead of one built from this checkout (a before/after comparison).
set -euo pipefail

runs="${1:-3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
if [ -n "${APKPACK:-}" ]; then
	cp "$APKPACK" "$work/apkpack"
else
	go build -o "$work/apkpack" ./tools/cmd/apkpack
fi
go build -o "$work/synthrepo" ./tools/bench/synthrepo
"$work/synthrepo" --serve >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 1200); do # writing the repository the first time takes ~10 s
	[ "$(wc -l <"$work/serve.out")" -ge 2 ] && break
	kill -0 "$server" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
	sleep 0.1
done
dir="$(sed -n 1p "$work/serve.out")"
url="$(sed -n 2p "$work/serve.out")"
[ -n "$url" ] || { echo "lock.sh: synthrepo did not start" >&2; exit 1; }
index="$dir/x86_64/APKINDEX.tar.gz"
key="$dir/index-test.rsa.pub"

cat >"$work/bench.apk.yaml" <<EOF
contents:
  repositories: [$url]
  keyring: [$key]
  packages: [so:libcurl.so.4]
archs: [x86_64]
EOF

echo "repository: $dir, served at $url"
echo "  index: $(stat -c %s "$index") bytes, $(gzip -dc "$index" | wc -c) bytes decompressed (tar)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# measure NAME CMD...: runs CMD under /usr/bin/time -v and appends
# "NAME wall user sys maxrss_MiB" to $work/rows.
measure() {
	local name="$1"
	shift
	/usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
		cat "$work/err" >&2
		exit 1
	}
	awk -v name="$name" -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1]*3600 + t[2]*60 + t[3] : t[1]*60 + t[2] }
		/User time/ { user = $2 }
		/System time/ { sys = $2 }
		/Maximum resident set size/ { rss = $2 / 1024 }
		END { printf "%-10s %7.2f %7.2f %7.2f %9.1f\n", name, wall, user, sys, rss }' \
		"$work/time" | tee -a "$work/rows"
}

printf '%-10s %7s %7s %7s %9s\n' case wall_s user_s sys_s maxrss_MiB
for _ in $(seq "$runs"); do
	measure resolve "$work/apkpack" resolve --index "$index" --keyring "$key" --arch x86_64 so:libcurl.so.4
	n="$(wc -l <"$work/out")"
	[ "$n" -eq 30 ] || { echo "lock.sh: resolve printed $n packages, want 30" >&2; exit 1; }

	rm -rf "$work/cache" "$work/bench.apk.lock.json"
	measure lock-cold "$work/apkpack" lock "$work/bench.apk.yaml" --cache-dir "$work/cache"
	rm -f "$work/bench.apk.lock.json" # no previous lockfile: every package is verified again
	measure lock-warm "$work/apkpack" lock "$work/bench.apk.yaml" --cache-dir "$work/cache"
	n="$(grep -c '"datahash"' "$work/bench.apk.lock.json")"
	[ "$n" -eq 30 ] || { echo "lock.sh: the lockfile holds $n packages, want 30" >&2; exit 1; }
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "min / median of $runs runs"
printf '%-10s %13s %13s %13s %17s\n' case wall_s user_s sys_s maxrss_MiB
for name in resolve lock-cold lock-warm; do
	printf '%-10s' "$name"
	for col in 2 3 4 5; do
		vals="$(awk -v n="$name" -v c="$col" '$1 == n { print $c }' "$work/rows" | sort -g)"
		count="$(echo "$vals" | wc -l)"
		min="$(echo "$vals" | head -1)"
		median="$(echo "$vals" | sed -n "$(((count + 1) / 2))p")"
		width=13
		[ "$col" -eq 5 ] && width=17
		printf " %${width}s" "$min / $median"
	done
	echo
done
