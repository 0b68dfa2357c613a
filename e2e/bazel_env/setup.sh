#!/usr/bin/env bash
# Builds the offline Bazel environment that e2e/bazel runs in: a Debian
# testing root with Bazel 7.7.1 and the Bazel modules Debian packages, and
# rules_go and gazelle from the Go module proxy. The workspace's .bazelrc
# (config "offline") points Bazel at them and at the stub modules in
# e2e/bazel_env/stubs/. Idempotent: each step records what it was built from
# and is skipped while that has not changed, so a second run takes well under
# a second. Nothing stays mounted when it exits: the mounts live in a private
# mount namespace and are undone on exit.
#
# Usage (as root): bash e2e/bazel_env/setup.sh
# The environment lives in .cache/bazel_env/ under the checkout, or in
# $RULES_APK_BAZEL_ENV. See e2e/bazel_env/README.md.
set -euo pipefail
# shellcheck source=e2e/bazel_env/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apt_options=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0)

# stamp_ok tells whether step $1 was last done with key $2.
stamp_ok() {
	[ "$(cat "$bazel_env_stamps/$1" 2>/dev/null)" = "$2" ]
}

# stamp_set records that step $1 was done with key $2.
stamp_set() {
	mkdir -p "$bazel_env_stamps"
	printf '%s\n' "$2" >"$bazel_env_stamps/$1"
}

# run_logged runs a command with its output in log file $1, and shows the
# end of that log when the command fails.
run_logged() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		bazel_env_die "'$*' failed; full log: $log"
	fi
}

# remove_tree deletes a directory after making sure nothing is mounted
# under it: rm -rf through a bind mount of /dev or /proc would hit the host.
remove_tree() {
	if findmnt -rn -o TARGET | grep -q -x -e "$1" -e "$1/.*"; then
		bazel_env_die "$1 has mounts under it; unmount them and run again"
	fi
	rm -rf "$1"
}

# make_root debootstraps a minimal Debian testing root. bookworm's
# debootstrap has no script for forky; sid's works. The root is built beside
# the final one and renamed, so an interrupted run never leaves a half root.
make_root() {
	local key="$bazel_env_suite $bazel_env_mirror"
	if stamp_ok root "$key" && [ -f "$bazel_env_root/etc/debian_version" ]; then
		return
	fi
	bazel_env_log "building the Debian $bazel_env_suite root in $bazel_env_root (about 1 minute)"
	rm -rf "$bazel_env_stamps"
	remove_tree "$bazel_env_root.partial"
	run_logged "$bazel_env_dir/debootstrap.log" debootstrap --variant=minbase \
		--include=ca-certificates "$bazel_env_suite" "$bazel_env_root.partial" \
		"$bazel_env_mirror" /usr/share/debootstrap/scripts/sid
	remove_tree "$bazel_env_root"
	mv "$bazel_env_root.partial" "$bazel_env_root"
	stamp_set root "$key"
}

# install_packages installs Bazel, its packaged modules, Go, git and gcc.
# The archive snapshot reachable here can be older than the clock, hence
# Check-Valid-Until=false.
install_packages() {
	local key="${bazel_env_packages[*]}"
	if stamp_ok packages "$key"; then
		return
	fi
	bazel_env_log "installing ${bazel_env_packages[*]} (about 2 minutes)"
	local log=$bazel_env_dir/apt.log
	bazel_env_extra_env=(DEBIAN_FRONTEND=noninteractive)
	run_logged "$log" bazel_env_run / apt-get "${apt_options[@]}" update
	run_logged "$log" bazel_env_run / apt-get "${apt_options[@]}" install -y \
		--no-install-recommends "${bazel_env_packages[@]}"
	run_logged "$log" bazel_env_run / apt-get clean
	bazel_env_extra_env=()
	stamp_set packages "$key"
}

# go_in_root runs the root's go with the environment's module cache. The
# cache is made writable (-modcacherw) so that rm -rf can remove it.
go_in_root() {
	local dir=$1
	shift
	bazel_env_extra_env=(
		"GOMODCACHE=$bazel_env_opt/gomodcache" "GOPATH=$bazel_env_opt/gopath"
		GOFLAGS=-modcacherw
	)
	bazel_env_run "$dir" go "$@"
	bazel_env_extra_env=()
}

# copy_module copies module $1@$2 from the module cache to the writable
# directory modules/$3 and restores the run bits that module zips drop
# (rules_go's binary_wrapper.sh fails with "Permission denied" otherwise).
copy_module() {
	local src=$bazel_env_root$bazel_env_opt/gomodcache/$1@$2
	local dst=$bazel_env_root$bazel_env_opt/modules/$3
	[ -d "$src" ] || bazel_env_die "the Go module proxy gave no $1@$2 (looked for $src)"
	rm -rf "$dst.partial" "$dst"
	cp -a "$src" "$dst.partial"
	chmod -R u+w "$dst.partial"
	find "$dst.partial" -name '*.sh' -exec chmod +x {} +
}

# fetch_rules fetches rules_go and gazelle as Go modules: the proxy serves
# their full source trees. gazelle builds its repository tools in GOPATH
# mode from a vendor/ directory that its release archives carry and module
# zips do not, hence go mod vendor.
fetch_rules() {
	local key="$bazel_env_rules_go $bazel_env_gazelle"
	if stamp_ok rules "$key"; then
		return
	fi
	bazel_env_log "fetching rules_go $bazel_env_rules_go and gazelle $bazel_env_gazelle from the Go module proxy"
	local log=$bazel_env_dir/go.log
	local modules=$bazel_env_opt/modules
	mkdir -p "$bazel_env_root$modules"
	run_logged "$log" go_in_root / mod download -json \
		"github.com/bazelbuild/rules_go@$bazel_env_rules_go" \
		"github.com/bazelbuild/bazel-gazelle@$bazel_env_gazelle"
	copy_module github.com/bazelbuild/rules_go "$bazel_env_rules_go" rules_go
	copy_module github.com/bazelbuild/bazel-gazelle "$bazel_env_gazelle" gazelle
	run_logged "$log" go_in_root "$modules/gazelle.partial" mod vendor -e
	mv "$bazel_env_root$modules/rules_go.partial" "$bazel_env_root$modules/rules_go"
	mv "$bazel_env_root$modules/gazelle.partial" "$bazel_env_root$modules/gazelle"
	stamp_set rules "$key"
}

# fetch_go installs the Go release that Bazel builds with (go_sdk.host()
# finds it first on PATH) from the Go module proxy, which serves every
# release as the module golang.org/toolchain. Module zips drop the run bits.
fetch_go() {
	local key="$bazel_env_go"
	if stamp_ok go "$key" && [ -x "$bazel_env_root$bazel_env_opt/go/bin/go" ]; then
		return
	fi
	local arch
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) bazel_env_die "no Go release for $(uname -m)" ;;
	esac
	local mod=golang.org/toolchain@v0.0.1-go$bazel_env_go.linux-$arch
	bazel_env_log "fetching Go $bazel_env_go from the Go module proxy ($mod)"
	run_logged "$bazel_env_dir/go.log" go_in_root / mod download "$mod"
	local src=$bazel_env_root$bazel_env_opt/gomodcache/$mod
	local dst=$bazel_env_root$bazel_env_opt/go
	[ -d "$src" ] || bazel_env_die "the Go module proxy gave no $mod (looked for $src)"
	rm -rf "$dst.partial" "$dst"
	cp -a "$src" "$dst.partial"
	chmod -R u+w "$dst.partial"
	chmod +x "$dst.partial"/bin/* "$dst.partial"/pkg/tool/*/*
	mv "$dst.partial" "$dst"
	stamp_set go "$key"
}

main() {
	bazel_env_require_root
	if ! command -v debootstrap >/dev/null; then
		# A fresh machine's apt lists can be empty, hence the update.
		bazel_env_log "installing debootstrap on the host (apt-get)"
		mkdir -p "$bazel_env_dir"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap \
			>"$bazel_env_dir/host-apt.log" 2>&1 ||
			{ apt-get update >>"$bazel_env_dir/host-apt.log" 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
					debootstrap >>"$bazel_env_dir/host-apt.log" 2>&1; } ||
			bazel_env_die "installing debootstrap failed; see $bazel_env_dir/host-apt.log"
	fi
	[ -f /usr/share/debootstrap/scripts/sid ] ||
		bazel_env_die "debootstrap has no sid script (/usr/share/debootstrap/scripts/sid)"
	bazel_env_unshare "$@"

	local start=$SECONDS
	mkdir -p "$bazel_env_dir"
	exec 9>"$bazel_env_dir/.lock"
	if ! flock --nonblock 9; then
		bazel_env_log "waiting for another setup.sh or e2e/bazel using $bazel_env_dir"
		flock 9
	fi

	make_root
	bazel_env_enter
	install_packages
	fetch_rules
	fetch_go
	bazel_env_fingerprint >"$bazel_env_stamps/ready"
	bazel_env_log "ready in $((SECONDS - start)) s: $bazel_env_dir"
}

main "$@"
