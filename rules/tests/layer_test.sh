#!/usr/bin/env bash
# Checks layers built by apk_layer: their listing against a golden file, and
# the content of chosen entries.
#
# Usage: layer_test.sh GOLDEN [--file ENTRY=EXPECTED]... LAYER...
# A LAYER is a tar file (gzip or not) or a directory of them (layering other
# than single, where each layer's NNN.spdx.json lies beside it and is
# skipped); the listing is `tar -tv` of each, in order, with a "== NAME"
# line before each.
set -euo pipefail

golden=$1
shift
checks=()
while [ "${1:-}" = --file ]; do
	checks+=("$2")
	shift 2
done

layers=()
for arg in "$@"; do
	if [ -d "$arg" ]; then
		layers+=("$arg"/*.tar*)
	else
		layers+=("$arg")
	fi
done

listing=$(mktemp)
trap 'rm -f "$listing"' EXIT
for layer in "${layers[@]}"; do
	echo "== $(basename "$layer")"
	tar --numeric-owner --utc -tvf "$layer" | awk '{ $1 = $1; print }'
done >"$listing"
if ! diff -u "$golden" "$listing"; then
	echo "error: the layers differ from $golden (-want +got); if that is right, copy the" \
		"listing above into it" >&2
	exit 1
fi

for check in "${checks[@]}"; do
	entry=${check%%=*}
	want=${check#*=}
	found=false
	for layer in "${layers[@]}"; do
		if tar -tf "$layer" "$entry" >/dev/null 2>&1; then
			found=true
			if ! tar -xOf "$layer" "$entry" | cmp -s - "$want"; then
				echo "error: $entry in $layer differs from $want" >&2
				exit 1
			fi
		fi
	done
	if ! $found; then
		echo "error: no layer has $entry" >&2
		exit 1
	fi
done
echo "ok: ${#layers[@]} layers"
