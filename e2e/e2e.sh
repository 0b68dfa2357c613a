#!/usr/bin/env bash
# The end-to-end run without Bazel (issue #5; the main job, with Bazel, is
# e2e/example.sh):
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

# --- work directory, registry and container are cleaned up on any exit ---
work=$(mktemp -d "${TMPDIR:-/tmp}/rules-apk-e2e.XXXXXX")
mkdir -p "$work/logs"
# shellcheck source=e2e/lib.sh
source e2e/lib.sh
readonly image_name=$e2e_image_name entrypoint=$e2e_entrypoint user=$e2e_user

# --- host tools ---
say "host tools"
host_tools docker-registry:docker-registry skopeo:skopeo umoci:umoci runc:runc gcc:gcc \
	jq:jq readelf:binutils tar:tar
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
start_registry
ref=127.0.0.1:$registry_port/$image_name:e2e

say "apkpack push $ref"
captured push "$work/pushed.digest" "$apkpack" push "$work/run1/image" "$ref"
pushed=$(cat "$work/pushed.digest")
[ "$pushed" = "$digest" ] || fail "apkpack push printed $pushed, the image is $digest"

pull_image "$ref" "$digest"
lap "push and pull"

run_pulled
lap "run"

# --- assertions on what ran and what the image holds ---
check_output "$runtime_lock"
check_rootfs "$work/bundle/rootfs" "$runtime_lock" "$apkpack"
home=$(tar -tvzf "$work/run1/runtime.tar.gz" --numeric-owner home/nonroot/ | awk '{print $2}')
[ "$home" = 65532/65532 ] || fail "/home/nonroot is owned by ${home:-nobody}, want 65532/65532"

jq -r '.packages[] | .name + "-" + .versionInfo' "$work/run1/runtime.spdx.json" | sort \
	>"$work/sbom.txt"
diff -u "$work/locked.txt" "$work/sbom.txt" >&2 ||
	fail "the SBOM does not list exactly the runtime lockfile's packages"
sbom_count=$(wc -l <"$work/sbom.txt")

lap checks

# --- what was built ---
run1=$work/run1
cat <<EOF
e2e: $(laps)
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
