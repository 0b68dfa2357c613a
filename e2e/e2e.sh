#!/usr/bin/env bash
# The end-to-end run, the project's main job (issue #5), without Bazel:
#
#   demo repository (e2e/demo, cached)
#   -> apkpack lock --check: examples/*.apk.lock.json are up to date
#   -> apkpack layer: the runtime layer (+ SBOM) and the build closure
#   -> the build closure unpacked as a sysroot; examples/main.c compiled
#      against it (host gcc, but every header and library from the sysroot)
#   -> a binary layer -> apkpack image -> apkpack push to Debian's
#      docker-registry on 127.0.0.1 -> skopeo copy back to an OCI layout
#   -> umoci unpack --rootless -> runc run (rootless spec)
#
# It checks that the compiler and the linker read only the sysroot, that the
# program prints the libcurl version line of the runtime lockfile's packages
# (run as the image's user, 65532, when the script runs as root), that the
# image holds no shell, that its installed database and SBOM list exactly
# the runtime lockfile's packages, that /home/nonroot belongs to 65532, and
# that a second build, in another directory, gives the same image digest.
# Progress goes to stderr, the summary of what was built to stdout.
#
# Usage: bash e2e/e2e.sh [--relock]
#   --relock  re-lock examples/*.apk.lock.json against the demo repository,
#             with --upgrade (every package at the newest demo version),
#             instead of checking them (after changing a spec or the demo)
#
# Needs Go, apt-get and dpkg-deb (the demo repository), and docker-registry,
# skopeo, umoci, runc, gcc, jq: as root the script installs those that are
# missing with apt-get. RULES_APK_E2E_KEEP=1 keeps the work directory;
# RULES_APK_DEMO_CACHE moves the cache (default .cache/demo, shared with
# go test ./tools/internal/demo).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=e2e/env.sh
source e2e/env.sh

relock=0
case ${1-} in
--relock) relock=1 ;;
"") ;;
*)
	echo "usage: bash e2e/e2e.sh [--relock]" >&2
	exit 2
	;;
esac

# The name the examples' specs give the demo repository. It never resolves;
# every fetch goes through --mirror to the local build.
readonly canonical=https://demo.rules-apk.invalid
readonly image_name=rules-apk/curl-version
readonly entrypoint=/usr/bin/curl-version
# The image runs as Wolfi's nonroot user, whose home demo-baselayout owns.
readonly user=65532:65532

start=$(date +%s)
lap_start=$start
laps=()
# lap NAME: records how long the phase since the last lap took.
lap() {
	local now
	now=$(date +%s)
	laps+=("$1 $((now - lap_start)) s")
	lap_start=$now
}
say() { printf '== %s\n' "$*" >&2; }
fail() {
	printf 'e2e: error: %s\n' "$*" >&2
	exit 1
}

# --- work directory, registry and container are cleaned up on any exit ---
work=$(mktemp -d "${TMPDIR:-/tmp}/rules-apk-e2e.XXXXXX")
registry_pid=
container=
cleanup() {
	local rc=$?
	if [ -n "$container" ]; then
		runc --root "$work/runc" delete --force "$container" >/dev/null 2>&1 || true
	fi
	if [ -n "$registry_pid" ]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
	if [ "${RULES_APK_E2E_KEEP:-0}" = 1 ]; then
		echo "e2e: kept the work directory $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/logs"

# logged NAME CMD...: runs CMD with its output in logs/NAME.log, and shows
# the end of that log when it fails. captured NAME FILE CMD... is the same
# with CMD's stdout in FILE.
logged() {
	local name=$1
	shift
	captured "$name" "$work/logs/$name.log" "$@"
}
captured() {
	local name=$1 out=$2
	shift 2
	if ! "$@" >"$out" 2>>"$work/logs/$name.log"; then
		echo "e2e: error: $name failed: $*" >&2
		[ "$out" = "$work/logs/$name.log" ] || cat "$out" >&2
		tail -n 60 "$work/logs/$name.log" >&2
		exit 1
	fi
}

# --- host tools ---
say "host tools"
need=()
for pair in docker-registry:docker-registry skopeo:skopeo umoci:umoci runc:runc gcc:gcc \
	jq:jq readelf:binutils tar:tar; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		fail "missing tools; install them with: sudo apt-get install -y --no-install-recommends ${need[*]}"
	fi
	say "installing ${need[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${need[@]}" >"$work/logs/apt.log" 2>&1; then
		# On a fresh machine apt's package lists are empty.
		logged apt-update apt-get update
		logged apt-install apt-get install -y --no-install-recommends "${need[@]}"
	fi
fi
lap tools

# --- demo repository and apkpack ---
demo_cache=${RULES_APK_DEMO_CACHE:-$root/.cache/demo}
repo=$demo_cache/e2e-repo
say "demo repository ($repo)"
logged demo-repo bash e2e/demo/build_repo.sh "$repo"
# build_repo.sh builds apkpack from this checkout.
apkpack=$demo_cache/bin/apkpack
[ -x "$apkpack" ] || fail "build_repo.sh did not leave $apkpack"
mirror=(--mirror "$canonical=file://$repo")
apk_cache=$root/.cache/apkpack
lap "demo repository"

# --- lockfiles ---
for spec in runtime build; do
	if [ "$relock" = 1 ]; then
		say "apkpack lock examples/$spec.apk.yaml"
		logged "lock-$spec" "$apkpack" lock "examples/$spec.apk.yaml" --upgrade "${mirror[@]}" \
			--cache-dir "$apk_cache"
		continue
	fi
	say "apkpack lock --check examples/$spec.apk.yaml"
	if ! "$apkpack" lock "examples/$spec.apk.yaml" --check "${mirror[@]}" \
		--cache-dir "$apk_cache" >"$work/logs/lock-$spec.log" 2>&1; then
		grep -v '^local file://' "$work/logs/lock-$spec.log" >&2 || true
		fail "examples/$spec.apk.lock.json is stale against the demo repository;" \
			"re-lock with: bash e2e/e2e.sh --relock, and commit the lockfiles"
	fi
done
runtime_lock=examples/runtime.apk.lock.json
build_lock=examples/build.apk.lock.json
lap lockfiles

# build_image DIR: builds the image into DIR/image from the lockfiles, and
# leaves the layers, the SBOM, the sysroot and the binary beside it.
build_image() {
	local dir=$1
	local sysroot=$dir/sysroot gcc_dir lib
	mkdir -p "$dir/compile" "$dir/stage/usr/bin" "$sysroot"

	say "apkpack layer: runtime layer and SBOM"
	captured layer-runtime "$dir/runtime.json" "$apkpack" layer "$runtime_lock" "${mirror[@]}" \
		--cache-dir "$apk_cache" -o "$dir/runtime.tar.gz" --sbom "$dir/runtime.spdx.json" --json
	# The mtime of every entry of the binary layer, and the image's created
	# time: the runtime layer's, the newest build time of its closure.
	SOURCE_DATE_EPOCH=$(jq -r .epoch "$dir/runtime.json")
	export SOURCE_DATE_EPOCH

	say "apkpack layer: build closure, unpacked as the sysroot"
	logged "layer-build" "$apkpack" layer "$build_lock" "${mirror[@]}" \
		--cache-dir "$apk_cache" -o "$dir/build.tar"
	tar -xf "$dir/build.tar" -C "$sysroot"
	rm "$dir/build.tar"

	say "compile examples/main.c against the sysroot"
	gcc_dir=$(echo "$sysroot"/usr/lib/gcc/x86_64-linux-gnu/*)
	lib=$sysroot/usr/lib/x86_64-linux-gnu
	if [ ! -d "$gcc_dir" ] || [ ! -f "$lib/libcurl.so" ]; then
		fail "the sysroot has no gcc runtime or libcurl.so; is curl-dev in $build_lock?"
	fi
	cp examples/main.c "$dir/compile/main.c"
	# -nostdinc and -nostdlib keep the host's headers, start files and
	# libraries out; everything is named inside the sysroot. The host gcc
	# only compiles and links; issue #6's toolchain and a later one that runs the
	# build lockfile's own gcc replace it.
	(
		cd "$dir/compile"
		gcc -O2 -Wall -Werror --sysroot="$sysroot" -nostdinc -isystem "$gcc_dir/include" \
			-isystem "$sysroot/usr/include/x86_64-linux-gnu" -isystem "$sysroot/usr/include" \
			-MD -c main.c -o main.o
		gcc --sysroot="$sysroot" -nostdlib -Wl,-t -o curl-version \
			"$lib/Scrt1.o" "$lib/crti.o" "$gcc_dir/crtbeginS.o" main.o \
			-L"$lib" -L"$gcc_dir" -lcurl -lgcc -Wl,--as-needed -lgcc_s -Wl,--no-as-needed \
			-lc -lgcc -Wl,--as-needed -lgcc_s -Wl,--no-as-needed \
			"$gcc_dir/crtendS.o" "$lib/crtn.o" >link-inputs.txt
	) 2>"$work/logs/compile.log" || {
		cat "$work/logs/compile.log" >&2
		fail "compiling examples/main.c failed"
	}
	check_from_sysroot "$dir/compile" "$sysroot"

	say "binary layer"
	install -m 0755 "$dir/compile/curl-version" "$dir/stage$entrypoint"
	chmod 0755 "$dir/stage" "$dir/stage/usr" "$dir/stage/usr/bin"
	# A deterministic tar: sorted, numeric owner 0:0, every mtime the epoch.
	tar --create --file "$dir/binary.tar" --format=gnu --sort=name --owner=0 --group=0 \
		--numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --no-recursion -C "$dir/stage" \
		usr usr/bin "${entrypoint#/}"

	say "apkpack image"
	captured image "$dir/image.digest" "$apkpack" image --platform linux/amd64 \
		--layer "$dir/runtime.tar.gz" --layer "$dir/binary.tar" --entrypoint "$entrypoint" \
		--env PATH=/usr/bin --user "$user" \
		--annotation org.opencontainers.image.title=curl-version -o "$dir/image"
}

# check_from_sysroot DIR SYSROOT: every header the compiler read and every
# file the linker read came from the sysroot, and the binary asks for the
# loader and libraries the runtime provides.
check_from_sysroot() {
	local dir=$1 sysroot=$2 foreign
	foreign=$(sed -e 's/\\$//' -e 's/^[^:]*://' "$dir/main.d" | tr ' ' '\n' |
		grep -v -e '^$' -e '^main.c$' -e "^$sysroot/" || true)
	[ -z "$foreign" ] || fail "headers from outside the sysroot: $foreign"
	foreign=$(grep -v -e '^main.o$' -e "^$sysroot/" "$dir/link-inputs.txt" || true)
	[ -z "$foreign" ] || fail "linker inputs from outside the sysroot: $foreign"
	local interp needed
	interp=$(readelf -l "$dir/curl-version" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	needed=$(readelf -d "$dir/curl-version" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
	[ "$interp" = /lib64/ld-linux-x86-64.so.2 ] || fail "interpreter is $interp"
	[ "$needed" = "libc.so.6 libcurl.so.4 " ] || fail "NEEDED is $needed"
}

build_image "$work/run1"
lap build
digest=$(cat "$work/run1/image.digest")

say "second build, in another directory: the image digest must not change"
build_image "$work/run2"
second=$(cat "$work/run2/image.digest")
if [ "$digest" != "$second" ]; then
	for f in runtime.tar.gz binary.tar compile/curl-version; do
		sha256sum "$work/run1/$f" "$work/run2/$f" >&2
	done
	fail "the image is not reproducible: $digest, then $second"
fi
lap rebuild

# --- registry: Debian's docker-registry on 127.0.0.1, our config ---
say "docker-registry on 127.0.0.1"
mkdir -p "$work/registry/data"
port=
for _ in 1 2 3 4 5 6 7 8; do
	try=$((20000 + RANDOM % 30000))
	cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: 127.0.0.1:$try
  secret: rules-apk-e2e
EOF
	docker-registry serve "$work/registry/config.yml" >"$work/logs/registry.log" 2>&1 &
	registry_pid=$!
	for _ in $(seq 50); do
		kill -0 "$registry_pid" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$try") 2>/dev/null; then
			port=$try
			break
		fi
		sleep 0.1
	done
	# A port someone else holds makes the registry exit: try another.
	if [ -n "$port" ] && kill -0 "$registry_pid" 2>/dev/null; then
		break
	fi
	port=
	kill "$registry_pid" 2>/dev/null || true
	wait "$registry_pid" 2>/dev/null || true
	registry_pid=
done
[ -n "$port" ] || {
	cat "$work/logs/registry.log" >&2
	fail "docker-registry did not start"
}
ref=127.0.0.1:$port/$image_name:e2e

say "apkpack push $ref"
captured push "$work/pushed.digest" "$apkpack" push "$work/run1/image" "$ref"
pushed=$(cat "$work/pushed.digest")
[ "$pushed" = "$digest" ] || fail "apkpack push printed $pushed, the image is $digest"

say "skopeo copy back to an OCI layout"
logged skopeo skopeo copy --src-tls-verify=false "docker://$ref" "oci:$work/pulled:e2e"
pulled=$(jq -r '.manifests[0].digest' "$work/pulled/index.json")
[ "$pulled" = "$digest" ] || fail "the registry served $pulled, we pushed $digest"
lap "push and pull"

say "umoci unpack --rootless, runc run"
bundle=$work/bundle
logged umoci umoci unpack --rootless --image "$work/pulled:e2e" "$bundle"
# The image's own entrypoint and user, as umoci read them from the image
# config, in a rootless runc spec. A rootless spec maps one uid, the
# caller's, to 0; as root the script maps the image's user too and runs as
# it, otherwise it runs as 0 in the container.
mv "$bundle/config.json" "$work/umoci-config.json"
args=$(jq -c .process.args "$work/umoci-config.json")
[ "$args" = "[\"$entrypoint\"]" ] || fail "the image's entrypoint is $args"
image_user=$(jq -r '"\(.process.user.uid):\(.process.user.gid)"' "$work/umoci-config.json")
[ "$image_user" = "$user" ] || fail "the image's user is $image_user, want $user"
runc spec --rootless --bundle "$bundle"
run_as=0:0
if [ "$(id -u)" = 0 ]; then
	run_as=$user
fi
jq --argjson args "$args" --argjson uid "${run_as%:*}" --argjson gid "${run_as#*:}" '
	.process.args = $args | .process.terminal = false |
	.process.user = {uid: $uid, gid: $gid} |
	if $uid != 0 then
		.linux.uidMappings += [{containerID: $uid, hostID: $uid, size: 1}] |
		.linux.gidMappings += [{containerID: $gid, hostID: $gid, size: 1}]
	else . end' "$bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$bundle/config.json"
container=rules-apk-e2e-$$
output=$(timeout 120 runc --root "$work/runc" run --bundle "$bundle" "$container" \
	2>"$work/logs/runc.log") || {
	cat "$work/logs/runc.log" >&2
	fail "runc run failed"
}
container=
mapfile -t lines <<<"$output"
printf '   | %s\n' "${lines[@]}" >&2
lap "run"

# --- assertions on what ran and what the image holds ---
# upstream VERSION of a runtime lockfile package: its version without -rN.
upstream() {
	jq -r --arg n "$1" '.packages[] | select(.name == $n) | .version' "$runtime_lock" |
		sed 's/-r[0-9]*$//'
}
curl_v=$(upstream libcurl-openssl4)
ssl_v=$(upstream libssl3)
zlib_v=$(upstream zlib1g)
want="libcurl $curl_v, ssl OpenSSL/$ssl_v, zlib $zlib_v"
if [ -z "$curl_v" ] || [ -z "$ssl_v" ] || [ -z "$zlib_v" ]; then
	fail "$runtime_lock lacks libcurl-openssl4, libssl3 or zlib1g"
fi
[ "${lines[1]-}" = "$want" ] || fail "the program printed \"${lines[1]-}\", want \"$want\""
case ${lines[0]} in
"libcurl/$curl_v OpenSSL/$ssl_v zlib/$zlib_v "*) ;;
*) fail "curl_version() is \"${lines[0]}\"" ;;
esac

rootfs=$bundle/rootfs
shells=$(cd "$rootfs" && find . \( -name sh -o -name bash -o -name dash -o -name ash \
	-o -name busybox \) -printf '%P\n' | sort)
[ -z "$shells" ] || fail "the image holds a shell: $shells"
for f in bin/sh usr/bin/sh bin/busybox usr/bin/busybox; do
	if [ -e "$rootfs/$f" ] || [ -L "$rootfs/$f" ]; then
		fail "the image holds /$f"
	fi
done
home=$(tar -tvzf "$work/run1/runtime.tar.gz" --numeric-owner home/nonroot/ | awk '{print $2}')
[ "$home" = 65532/65532 ] || fail "/home/nonroot is owned by ${home:-nobody}, want 65532/65532"

"$apkpack" inspect --json "$rootfs" >"$work/installed.json"
# Name, version and package identity (C:) of every record.
ids='.packages[] | .name + "-" + .version + " " + .checksum'
jq -r "$ids" "$work/installed.json" | sort >"$work/installed.txt"
jq -r "$ids" "$runtime_lock" | sort >"$work/locked-ids.txt"
diff -u "$work/locked-ids.txt" "$work/installed.txt" >&2 ||
	fail "the image's installed database does not list exactly the runtime lockfile's packages"
cut -d' ' -f1 "$work/locked-ids.txt" >"$work/locked.txt"
jq -r '.packages[] | .name + "-" + .versionInfo' "$work/run1/runtime.spdx.json" | sort \
	>"$work/sbom.txt"
diff -u "$work/locked.txt" "$work/sbom.txt" >&2 ||
	fail "the SBOM does not list exactly the runtime lockfile's packages"
sbom_count=$(wc -l <"$work/sbom.txt")
locked_count=$(wc -l <"$work/locked.txt")

lap checks

# --- what was built ---
size() {
	local b
	b=$(du -sb "$1" | cut -f1)
	awk -v b="$b" 'BEGIN { if (b < 1048576) printf "%.1f KiB", b / 1024;
		else printf "%.1f MiB", b / 1048576 }'
}
run1=$work/run1
timings=$(printf '%s, ' "${laps[@]}")
cat <<EOF
e2e: OK in $(($(date +%s) - start)) s (${timings%, })
image    $digest (linux/amd64), the same from a second build
pushed   $ref; pulled back with skopeo, run with umoci and runc as $run_as
output   ${lines[1]}
         ${lines[0]}
runtime  $locked_count packages of $runtime_lock, the same in the image's installed database
         and its SBOM ($sbom_count packages); no shell
         layer $(jq -r '.layers[0].digest' "$run1/runtime.json"), $(size "$run1/runtime.tar.gz") gzipped
binary   $entrypoint, $(size "$run1/compile/curl-version"), built against the sysroot;
         layer $(sha256sum "$run1/binary.tar" | cut -c1-64 | sed 's/^/sha256:/'), $(size "$run1/binary.tar")
build    $(jq '.packages | length' "$build_lock") packages of $build_lock; sysroot $(size "$run1/sysroot")
packages $(tr '\n' ' ' <"$work/locked.txt" | fold -s -w 90 | sed -e 's/ *$//' -e '2,$s/^/         /')
EOF
