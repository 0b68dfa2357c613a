# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Sourced by e2e/bazel_env/setup.sh and e2e/bazel: where the offline Bazel
# environment lives and how to run a command inside its Debian testing root.
# See e2e/bazel_env/README.md for the layout and the reasons behind it.
#
# Everything here runs as root: chroot and mount need it.

# What the environment holds. Changing a value here makes setup.sh redo the
# steps that depend on it (each step's stamp records the values it used).
bazel_env_suite=forky
bazel_env_mirror=http://deb.debian.org/debian
# Bazel 7.7.1 and the Bazel modules Debian packages for offline use, Go to
# fetch Go modules with, and gcc as the host C compiler rules_cc finds for now.
bazel_env_packages=(
	bazel-bootstrap bazel-rules-pkg bazel-lib bazel-aspect-bazel-lib
	golang-go git gcc libc6-dev
)
# The Go release Bazel builds with: that of CI's host, with which the golden
# digests of the Go tests were made (compress/flate's output, and with it
# every gzip digest, differs between Go releases; Debian testing has 1.27).
bazel_env_go=1.26.8
bazel_env_rules_go=v0.59.0
# v0.47.0 generates BUILD files that load package_metadata, a module that is
# not available offline.
bazel_env_gazelle=v0.42.0
bazel_env_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
bazel_env_dir=$(realpath -m "${RULES_APK_BAZEL_ENV:-$bazel_env_repo/.cache/bazel_env}")
bazel_env_root=$bazel_env_dir/root
# The environment's own files (rules_go, gazelle, the Go module cache) live
# at a fixed path inside the root, so that the workspace's .bazelrc can name
# them whatever the checkout's path is.
bazel_env_opt=/opt/rules_apk_bazel_env
# Bazel's output user root. It sits in the cache directory and is mounted at
# the same path inside the root, so that the bazel-* convenience symlinks in
# the checkout resolve on the host too.
bazel_env_output=$bazel_env_dir/output_user_root
bazel_env_stamps=$bazel_env_dir/stamps

bazel_env_mounts=()
bazel_env_extra_env=()
# How bazel_env_run enters the root: chroot from a namespace made by
# bazel_env_enter, or nsenter into the namespace and root of a running
# process (see e2e/bazel).
bazel_env_entry=(chroot "$bazel_env_root")

# bazel_env_fingerprint prints a digest of the scripts the environment is
# built by; setup.sh records it when it finishes, and e2e/bazel reruns
# setup.sh (seconds: each step has its own stamp) when it differs.
bazel_env_fingerprint() {
	local here
	here=$(dirname "${BASH_SOURCE[0]}")
	cat "$here/lib.sh" "$here/setup.sh" | sha256sum | cut -d' ' -f1
}

# bazel_env_log prints a progress line on stderr.
bazel_env_log() {
	echo "bazel_env: $*" >&2
}

# bazel_env_die prints an error on stderr and exits.
bazel_env_die() {
	echo "bazel_env: error: $*" >&2
	exit 1
}

# bazel_env_require_root exits with a message unless the caller is root.
bazel_env_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		bazel_env_die "must run as root (chroot and mount need it)"
	fi
}

# bazel_env_unshare re-runs the calling script in a private mount namespace
# (network untouched), so that its mounts are invisible to the host and go
# away with the last process even if the trap never runs.
bazel_env_unshare() {
	if [ -n "${BAZEL_ENV_UNSHARED:-}" ]; then
		return
	fi
	BAZEL_ENV_UNSHARED=1 exec unshare --mount --propagation private -- \
		bash "$0" "$@"
}

# bazel_env_bind mounts $1 at $2 and remembers it for bazel_env_unmount.
bazel_env_bind() {
	mkdir -p "$2"
	mount --bind "$1" "$2"
	bazel_env_mounts+=("$2")
}

# bazel_env_unmount undoes bazel_env_bind in reverse order; installed as an
# EXIT trap.
bazel_env_unmount() {
	local i
	for ((i = ${#bazel_env_mounts[@]} - 1; i >= 0; i--)); do
		umount "${bazel_env_mounts[i]}" 2>/dev/null ||
			umount --lazy "${bazel_env_mounts[i]}" ||
			bazel_env_log "warning: could not unmount ${bazel_env_mounts[i]}"
	done
	bazel_env_mounts=()
}

# bazel_env_enter mounts /proc, /sys and /dev in the root, and copies in the
# host's CA certificates and resolver configuration: the host may trust an
# egress proxy's CA that the root does not know.
bazel_env_enter() {
	trap bazel_env_unmount EXIT
	local d
	for d in /proc /sys /dev; do
		bazel_env_bind "$d" "$bazel_env_root$d"
	done
	mkdir -p "$bazel_env_root/etc/ssl/certs" "$bazel_env_root/usr/local/share/ca-certificates"
	cp /etc/ssl/certs/ca-certificates.crt "$bazel_env_root/etc/ssl/certs/ca-certificates.crt"
	if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
		cp /usr/local/share/ca-certificates/*.crt "$bazel_env_root/usr/local/share/ca-certificates/"
	fi
	cp -L /etc/resolv.conf "$bazel_env_root/etc/resolv.conf"
	cp /etc/hosts "$bazel_env_root/etc/hosts"
}

# bazel_env_run runs a command inside the root with a clean environment: the
# Go module proxy and HTTP proxy settings of the caller, plus the NAME=VALUE
# entries of the bazel_env_extra_env array. The first argument is the working
# directory (a path inside the root).
bazel_env_run() {
	local dir=$1
	shift
	local vars=(
		HOME=/root LANG=C.UTF-8 "TERM=${TERM:-dumb}"
		"PATH=$bazel_env_opt/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
		GOTOOLCHAIN=local
	)
	local v
	for v in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY GOINSECURE \
		http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
		if [ -n "${!v+set}" ]; then
			vars+=("$v=${!v}")
		fi
	done
	env -i "${vars[@]}" "${bazel_env_extra_env[@]}" \
		"${bazel_env_entry[@]}" env -C "$dir" "$@"
}
