#!/usr/bin/env bash
# The project's main job, with Bazel: the example image of examples/ built,
# pushed and run the way a user of rules_apk does it.
#
#   demo repository (e2e/demo, cached in .cache/demo/e2e-repo, which
#   MODULE.bazel mirrors for the examples' lockfiles)
#   -> e2e/bazel build //examples:image (Bazel 7.7.1 offline, e2e/bazel_env)
#   -> docker-registry on 127.0.0.1 -> e2e/bazel run //examples:push
#   -> skopeo copy back -> umoci unpack --rootless -> runc run
#
# It checks that the registry serves the digest Bazel built, that the
# program prints the libcurl version line of the runtime lockfile's
# packages (as the image's user, 65532), that the image holds no shell and
# that its installed database and SBOM (@runtime//:sbom) list exactly the
# runtime lockfile's packages. Progress goes to stderr, the summary of what
# was built to stdout.
#
# Usage (as root: Bazel runs in a chroot): bash e2e/example.sh
# Needs Go, apt-get and dpkg-deb; installs docker-registry, skopeo, umoci,
# runc and jq with apt-get when they are missing. The first run also builds
# the offline Bazel environment (about 2 minutes). RULES_APK_E2E_KEEP=1
# keeps the work directory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=e2e/env.sh
source e2e/env.sh

if [ $# -gt 0 ]; then
	echo "usage: bash e2e/example.sh" >&2
	exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rules-apk-example.XXXXXX")
mkdir -p "$work/logs"
# shellcheck source=e2e/lib.sh
source e2e/lib.sh

if [ "$(id -u)" != 0 ]; then
	fail "run as root: e2e/bazel runs Bazel in a chroot of the offline environment"
fi

say "host tools"
host_tools docker-registry:docker-registry skopeo:skopeo umoci:umoci runc:runc jq:jq
lap tools

# The repository that MODULE.bazel's apk.mirror points the examples at.
repo=$root/.cache/demo/e2e-repo
say "demo repository ($repo)"
RULES_APK_DEMO_CACHE=$root/.cache/demo logged demo-repo bash e2e/demo/build_repo.sh "$repo"
apkpack=$root/.cache/demo/bin/apkpack
lap "demo repository"

say "offline Bazel environment (e2e/bazel_env/setup.sh; about 2 minutes the first time)"
logged bazel-env bash e2e/bazel_env/setup.sh
lap "Bazel environment"

say "e2e/bazel build //examples:image @runtime//:sbom"
logged bazel-build e2e/bazel build //examples:image @runtime//:sbom
layout=$root/bazel-bin/examples/image
digest=$(jq -r '.manifests[0].digest' "$layout/index.json")
sbom=$(e2e/bazel cquery --output=files @runtime//:sbom 2>/dev/null)
lap "bazel build"

say "docker-registry on 127.0.0.1, e2e/bazel run //examples:push"
start_registry
repository=127.0.0.1:$registry_port/$e2e_image_name
captured push "$work/push.out" e2e/bazel run //examples:push -- --repository "$repository"
ref=$repository:latest
pull_image "$ref" "$digest"
lap "push and pull"

run_pulled
lap run

runtime_lock=examples/runtime.apk.lock.json
build_lock=examples/build.apk.lock.json
check_output "$runtime_lock"
check_rootfs "$work/bundle/rootfs" "$runtime_lock" "$apkpack"
jq -r '.packages[] | .name + "-" + .versionInfo' "$sbom" | sort >"$work/sbom.txt"
diff -u "$work/locked.txt" "$work/sbom.txt" >&2 ||
	fail "@runtime//:sbom does not list exactly the runtime lockfile's packages"
lap checks

manifest=$layout/blobs/sha256/${digest#sha256:}
# layer N: the digest and size of the image's layer N.
layer() {
	local d
	d=$(jq -r ".layers[$1].digest" "$manifest")
	echo "$d, $(size "$layout/blobs/sha256/${d#sha256:}")"
}
cat <<EOF
example: $(laps)
image    $digest (linux/amd64), bazel-bin/examples/image
pushed   $ref by e2e/bazel run //examples:push;
         pulled back with skopeo, run with umoci and runc as $run_as
output   ${lines[1]}
         ${lines[0]}
runtime  @runtime//:layer $(layer 0)
         $locked_count packages of $runtime_lock, the same in the image's
         installed database and in @runtime//:sbom; no shell
binary   //examples:binary_layer $(layer 1)
         $e2e_entrypoint, $(size "$work/bundle/rootfs$e2e_entrypoint"), compiled by @build//:cc_toolchain_x86_64
         against the sysroot of $build_lock ($(jq '.packages | length' "$build_lock") packages)
packages $(tr '\n' ' ' <"$work/locked.txt" | fold -s -w 90 | sed -e 's/ *$//' -e '2,$s/^/         /')
EOF
