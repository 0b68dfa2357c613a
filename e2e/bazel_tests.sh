#!/usr/bin/env bash
# The Bazel side of the tests, offline (e2e/bazel_env): every Bazel test of
# the workspace (Go tests, rule tests, buildifier, docs), then, when examples/
# has its BUILD file, the example image: built, unpacked, and its entrypoint
# run in a chroot as the image's user, which must print libcurl's version
# line; then pushed by `bazel run //examples:push` to Debian's
# docker-registry on 127.0.0.1, which must serve the same digest, and run
# from there with skopeo, umoci and runc; the lockfiles are up to date
# (lock.update --check); and no layer of the lockfiles depends on
# examples/main.c.
#
# Usage (as root): bash e2e/bazel_tests.sh
# The examples need the demo repository in .cache/demo/e2e-repo, which
# bash e2e/e2e.sh builds; run that first. They need jq, skopeo, umoci, runc
# and Debian's docker-registry, which e2e/e2e.sh installs too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== e2e/bazel test //..."
e2e/bazel test //...

if [ ! -f examples/BUILD.bazel ]; then
	echo "all Bazel tests passed (no examples/BUILD.bazel)"
	exit 0
fi

echo "== e2e/bazel build //examples:image, then its entrypoint in a chroot"
e2e/bazel build //examples:image
layout=bazel-bin/examples/image
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
manifest=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$layout/index.json")
config=$(jq -r '.config.digest | sub("sha256:"; "")' "$layout/blobs/sha256/$manifest")
for layer in $(jq -r '.layers[].digest | sub("sha256:"; "")' "$layout/blobs/sha256/$manifest"); do
	tar -xf "$layout/blobs/sha256/$layer" -C "$root"
done
user=$(jq -r '.config.User' "$layout/blobs/sha256/$config")
entrypoint=$(jq -r '.config.Entrypoint[0]' "$layout/blobs/sha256/$config")
out=$(chroot --userspec="$user" "$root" "$entrypoint")
echo "$out"
if [[ $out != libcurl/* ]]; then
	echo "error: $entrypoint printed no libcurl version line" >&2
	exit 1
fi
if [ -e "$root/bin/sh" ] || [ -e "$root/usr/bin/sh" ]; then
	echo "error: the image has a shell" >&2
	exit 1
fi
digest=$(jq -r '.manifests[0].digest' "$layout/index.json")

echo "== e2e/bazel run //examples:push to docker-registry on 127.0.0.1"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$root.registry"
trap 'kill "$registry_pid" 2>/dev/null || true; rm -rf "$root" "$root.registry"' EXIT
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
	"$root.registry/data" "$port" >"$root.registry/config.yml"
docker-registry serve "$root.registry/config.yml" >"$root.registry/log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		break
	fi
	sleep 0.1
done
repository=127.0.0.1:$port/rules-apk/curl-version
e2e/bazel run //examples:push -- --repository "$repository"
served=$(skopeo inspect --tls-verify=false "docker://$repository:latest" | jq -r .Digest)
if [ "$served" != "$digest" ]; then
	cat "$root.registry/log" >&2
	echo "error: the registry serves $served, the image is $digest" >&2
	exit 1
fi

echo "== the pushed image, pulled back with skopeo, unpacked with umoci, run with runc"
skopeo copy --quiet --src-tls-verify=false "docker://$repository:latest" "oci:$root.registry/pulled:latest"
umoci unpack --image "$root.registry/pulled:latest" "$root.registry/bundle" >/dev/null
# umoci wrote the image's entrypoint and user into the bundle's config.
jq '.process.terminal = false' "$root.registry/bundle/config.json" >"$root.registry/config.json"
mv "$root.registry/config.json" "$root.registry/bundle/config.json"
out=$(runc --root "$root.registry/runc" run --bundle "$root.registry/bundle" "rules-apk-bazel-$$")
echo "$out"
if [[ $out != libcurl/* ]]; then
	echo "error: the pushed image printed no libcurl version line under runc" >&2
	exit 1
fi

echo "== e2e/bazel run //examples:lock.update -- --check: the lockfiles are up to date"
e2e/bazel run //examples:lock.update -- --check

echo "== changing examples/main.c cannot re-run an apk_layer action"
# The configured graph: the image has apk_layer targets, none of them above main.c.
all_layers=$(e2e/bazel cquery 'kind("apk_layer rule", deps(//examples:image))' 2>/dev/null)
main_layers=$(e2e/bazel cquery \
	'kind("apk_layer rule", rdeps(//examples:image, //examples:main.c))' 2>/dev/null)
if [ -z "$all_layers" ] || [ -n "$main_layers" ]; then
	echo "error: want apk_layer targets under //examples:image ($all_layers)," \
		"none depending on examples/main.c ($main_layers)" >&2
	exit 1
fi
echo "all Bazel tests passed; image $digest, pushed to $repository:latest"
