# shellcheck shell=bash
# Sourced by the project's scripts: puts Go on PATH and fails clearly when
# something the scripts need is missing.
if ! command -v go >/dev/null 2>&1; then
	for d in /usr/local/go/bin /usr/lib/go/bin; do
		[ -x "$d/go" ] && PATH="$d:$PATH"
	done
	export PATH
fi
if ! command -v go >/dev/null 2>&1; then
	echo "error: Go is not installed (expected /usr/local/go/bin/go); install Go 1.25 or newer" >&2
	exit 1
fi
