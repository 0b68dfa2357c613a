#!/usr/bin/env bash
# Measures `apkpack layer` as a separate process on the synthetic closures of
# the layer benchmarks: 30 packages holding 40 MB and 500 MB of content cut
# from the Go toolchain's executables. Prints wall time, CPU time and peak
# RSS per size and format, from /usr/bin/time -v: every package verified
# (cache none), then with --expanded-cache: the run that fills it (fill)
# and one that reads it (warm).
#
#   bash tools/bench/layer.sh            # 40 and 500 MB
#   bash tools/bench/layer.sh 500        # one size
#
# The closures are written once by the Go benchmark into
# $TMPDIR/rules_apk-layer-bench-<size>MB (about 0.4 x the size) and reused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(40 500)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/apkpack" ./tools/cmd/apkpack
printf '%-6s %-8s %-5s %8s %8s %8s %10s %12s\n' size format cache wall_s user_s sys_s maxrss_MiB layer_MiB
for size in "${sizes[@]}"; do
	dir="${TMPDIR:-/tmp}/rules_apk-layer-bench-${size}MB"
	if [ ! -f "$dir/closure.apk.lock.json" ]; then
		go test ./tools/internal/layer -run '^$' -bench "BenchmarkBuild/${size}MB/tar\$" \
			-benchtime 1x >/dev/null
	fi
	for format in tar tar.gz tar.zst; do
		for cache in none fill warm; do
			out="$work/layer.$format"
			flags=()
			case $cache in
			fill) rm -rf "$work/expanded" && flags=(--expanded-cache "$work/expanded") ;;
			warm) flags=(--expanded-cache "$work/expanded") ;;
			esac
			/usr/bin/time -v -o "$work/time" "$work/apkpack" layer "$dir/closure.apk.lock.json" \
				--arch x86_64 --packages-dir "$dir" -o "$out" --os-release /dev/null "${flags[@]}" \
				>/dev/null 2>&1
			wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time" |
				awk -F: '{ if (NF == 3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
			user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
			sys=$(awk -F': ' '/System time/ {print $2}' "$work/time")
			rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' "$work/time")
			layer=$(du -m "$out" | cut -f1)
			printf '%-6s %-8s %-5s %8s %8s %8s %10s %12s\n' "${size}MB" "$format" "$cache" "$wall" \
				"$user" "$sys" "$rss" "$layer"
			rm -f "$out"
		done
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
