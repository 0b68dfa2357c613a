# shellcheck shell=bash
# The callers set $work and read the variables these functions set:
# shellcheck disable=SC2034,SC2154
# Sourced by e2e/e2e.sh (the run without Bazel) and e2e/example.sh (the main
# job, with Bazel): progress, logs, host tools, a registry on 127.0.0.1 and
# running a pushed image with skopeo, umoci and runc. The caller sets $work
# (a work directory with a logs/ folder) before sourcing it; it is removed
# on exit.

# The end-to-end run's image: what examples/BUILD.bazel and e2e/e2e.sh build.
readonly e2e_image_name=rules-apk/curl-version
readonly e2e_entrypoint=/usr/bin/curl-version
# The image runs as Wolfi's nonroot user, whose home demo-baselayout owns.
readonly e2e_user=65532:65532

e2e_prog=$(basename "$0" .sh)
e2e_start=$(date +%s)
e2e_lap_start=$e2e_start
e2e_laps=()
registry_pid=
container=

# lap NAME: records how long the phase since the last lap took.
lap() {
	local now
	now=$(date +%s)
	e2e_laps+=("$1 $((now - e2e_lap_start)) s")
	e2e_lap_start=$now
}
# laps: "OK in N s (phase N s, ...)", for the summary.
laps() {
	local timings
	timings=$(printf '%s, ' "${e2e_laps[@]}")
	echo "OK in $(($(date +%s) - e2e_start)) s (${timings%, })"
}
say() { printf '== %s\n' "$*" >&2; }
fail() {
	printf '%s: error: %s\n' "$e2e_prog" "$*" >&2
	exit 1
}

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
		echo "$e2e_prog: error: $name failed: $*" >&2
		[ "$out" = "$work/logs/$name.log" ] || cat "$out" >&2
		tail -n 60 "$work/logs/$name.log" >&2
		exit 1
	fi
}

# On any exit: stop the container and the registry, then remove $work
# (RULES_APK_E2E_KEEP=1 keeps it).
e2e_cleanup() {
	local rc=$?
	if [ -n "$container" ]; then
		runc --root "$work/runc" delete --force "$container" >/dev/null 2>&1 || true
	fi
	if [ -n "$registry_pid" ]; then
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
	fi
	if [ "${RULES_APK_E2E_KEEP:-0}" = 1 ]; then
		echo "$e2e_prog: kept the work directory $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# host_tools TOOL:DEBIAN_PACKAGE...: installs the missing tools with apt-get
# (as root; otherwise it says what to install and fails).
host_tools() {
	local pair need=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
	done
	[ ${#need[@]} -gt 0 ] || return 0
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
}

# start_registry: Debian's docker-registry on a free port of 127.0.0.1, with
# our config and its storage in $work/registry; sets registry_port.
start_registry() {
	local try
	mkdir -p "$work/registry/data"
	registry_port=
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
				registry_port=$try
				break
			fi
			sleep 0.1
		done
		# A port someone else holds makes the registry exit: try another.
		if [ -n "$registry_port" ] && kill -0 "$registry_pid" 2>/dev/null; then
			return 0
		fi
		registry_port=
		kill "$registry_pid" 2>/dev/null || true
		wait "$registry_pid" 2>/dev/null || true
		registry_pid=
	done
	cat "$work/logs/registry.log" >&2
	fail "docker-registry did not start"
}

# pull_image REF DIGEST: copies REF back with skopeo into the OCI layout
# $work/pulled and checks that the registry served DIGEST.
pull_image() {
	local ref=$1 digest=$2 pulled
	say "skopeo copy back to an OCI layout"
	logged skopeo skopeo copy --src-tls-verify=false "docker://$ref" "oci:$work/pulled:e2e"
	pulled=$(jq -r '.manifests[0].digest' "$work/pulled/index.json")
	[ "$pulled" = "$digest" ] || fail "the registry served $pulled, we pushed $digest"
}

# run_pulled: unpacks $work/pulled with umoci into $work/bundle and runs its
# entrypoint with runc on a rootless spec; sets run_output (the program's
# stdout) and run_as. A rootless spec maps one uid, the caller's, to 0; as
# root the image's user is mapped too and the program runs as it, otherwise
# as 0 in the container.
run_pulled() {
	local bundle=$work/bundle args image_user
	say "umoci unpack --rootless, runc run"
	logged umoci umoci unpack --rootless --image "$work/pulled:e2e" "$bundle"
	# The image's own entrypoint and user, as umoci read them from the image
	# config, in a rootless runc spec.
	mv "$bundle/config.json" "$work/umoci-config.json"
	args=$(jq -c .process.args "$work/umoci-config.json")
	[ "$args" = "[\"$e2e_entrypoint\"]" ] || fail "the image's entrypoint is $args"
	image_user=$(jq -r '"\(.process.user.uid):\(.process.user.gid)"' "$work/umoci-config.json")
	[ "$image_user" = "$e2e_user" ] || fail "the image's user is $image_user, want $e2e_user"
	runc spec --rootless --bundle "$bundle"
	run_as=0:0
	if [ "$(id -u)" = 0 ]; then
		run_as=$e2e_user
	fi
	jq --argjson args "$args" --argjson uid "${run_as%:*}" --argjson gid "${run_as#*:}" '
		.process.args = $args | .process.terminal = false |
		.process.user = {uid: $uid, gid: $gid} |
		if $uid != 0 then
			.linux.uidMappings += [{containerID: $uid, hostID: $uid, size: 1}] |
			.linux.gidMappings += [{containerID: $gid, hostID: $gid, size: 1}]
		else . end' "$bundle/config.json" >"$work/config.json"
	mv "$work/config.json" "$bundle/config.json"
	container=rules-apk-$e2e_prog-$$
	run_output=$(timeout 120 runc --root "$work/runc" run --bundle "$bundle" "$container" \
		2>"$work/logs/runc.log") || {
		cat "$work/logs/runc.log" >&2
		fail "runc run failed"
	}
	container=
}

# check_output LOCKFILE: the program printed the libcurl version line of the
# runtime LOCKFILE's packages (libcurl-openssl4, libssl3, zlib1g); sets lines.
check_output() {
	local lock=$1 curl_v ssl_v zlib_v want
	mapfile -t lines <<<"$run_output"
	printf '   | %s\n' "${lines[@]}" >&2
	curl_v=$(upstream_version "$lock" libcurl-openssl4)
	ssl_v=$(upstream_version "$lock" libssl3)
	zlib_v=$(upstream_version "$lock" zlib1g)
	if [ -z "$curl_v" ] || [ -z "$ssl_v" ] || [ -z "$zlib_v" ]; then
		fail "$lock lacks libcurl-openssl4, libssl3 or zlib1g"
	fi
	want="libcurl $curl_v, ssl OpenSSL/$ssl_v, zlib $zlib_v"
	[ "${lines[1]-}" = "$want" ] || fail "the program printed \"${lines[1]-}\", want \"$want\""
	case ${lines[0]} in
	"libcurl/$curl_v OpenSSL/$ssl_v zlib/$zlib_v "*) ;;
	*) fail "curl_version() is \"${lines[0]}\"" ;;
	esac
}

# upstream_version LOCKFILE NAME: the version of package NAME without -rN.
upstream_version() {
	jq -r --arg n "$2" '.packages[] | select(.name == $n) | .version' "$1" | sed 's/-r[0-9]*$//'
}

# check_rootfs ROOTFS LOCKFILE APKPACK: the image holds no shell, and its
# installed database lists exactly the lockfile's packages (name, version
# and C:); sets locked_count.
check_rootfs() {
	local rootfs=$1 lock=$2 apkpack=$3 shells f ids
	shells=$(cd "$rootfs" && find . \( -name sh -o -name bash -o -name dash -o -name ash \
		-o -name busybox \) -printf '%P\n' | sort)
	[ -z "$shells" ] || fail "the image holds a shell: $shells"
	for f in bin/sh usr/bin/sh bin/busybox usr/bin/busybox; do
		if [ -e "$rootfs/$f" ] || [ -L "$rootfs/$f" ]; then
			fail "the image holds /$f"
		fi
	done
	"$apkpack" inspect --json "$rootfs" >"$work/installed.json"
	ids='.packages[] | .name + "-" + .version + " " + .checksum'
	jq -r "$ids" "$work/installed.json" | sort >"$work/installed.txt"
	jq -r "$ids" "$lock" | sort >"$work/locked-ids.txt"
	diff -u "$work/locked-ids.txt" "$work/installed.txt" >&2 ||
		fail "the image's installed database does not list exactly the packages of $lock"
	cut -d' ' -f1 "$work/locked-ids.txt" >"$work/locked.txt"
	locked_count=$(wc -l <"$work/locked.txt")
}

# size PATH: its size in KiB or MiB.
size() {
	local b
	b=$(du -sb "$1" | cut -f1)
	awk -v b="$b" 'BEGIN { if (b < 1048576) printf "%.1f KiB", b / 1024;
		else printf "%.1f MiB", b / 1048576 }'
}
