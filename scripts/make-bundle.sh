#!/usr/bin/env bash
# Makes an OCI bundle in DIR: a busybox rootfs (built if DIR/rootfs is missing) and a config.json
# from `runsc-net spec`, with terminal off and the given command as process.args (default: sh).
#
# usage: scripts/make-bundle.sh DIR [COMMAND [ARG...]]
#   env RUNSC_NET: the runsc-net binary (default: runsc-net on PATH)
set -euo pipefail

dir="${1:?usage: $0 DIR [COMMAND [ARG...]]}"
shift
[ $# -gt 0 ] || set -- sh
here="$(cd "$(dirname "$0")" && pwd)"
runsc="${RUNSC_NET:-runsc-net}"

mkdir -p "$dir"
[ -x "$dir/rootfs/bin/busybox" ] || "$here/build-busybox-rootfs.sh" "$dir/rootfs"
rm -f "$dir/config.json"
"$runsc" spec --bundle "$dir"
args_json="$(printf '%s\n' "$@" | jq -R . | jq -s .)"
jq --argjson args "$args_json" '.process.terminal = false | .process.args = $args' "$dir/config.json" > "$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
echo "bundle in $dir: $*"
