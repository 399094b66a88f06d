#!/usr/bin/env bash
# Runs CPython regression-test modules in a container under each given OCI runtime (runc as ground
# truth, runsc-net under test), same bundle: the python rootfs of scripts/build-python-rootfs.sh,
# read-only root, tmpfs /tmp and HOME, no network, no terminal. Per runtime and module it keeps the
# verbose output (OUT/RUNTIME/MODULE.log) and prints one summary line; compare the per-test lines with
#   diff <(grep -E ' \.\.\. ' OUT/runc/M.log) <(grep -E ' \.\.\. ' OUT/runsc-net/M.log)
#
# usage: scripts/python-compat.sh OUT MODULE [MODULE...]
#   env RUNTIMES: the runtimes' binaries (default "runc $PWD/out/runsc-net")
#   env ROOTFS:   the python rootfs (default fixtures/python/rootfs, built if missing)
#   env TIMEOUT:  seconds per module (default 900)
#   env RUNNER:   "test" (python3 -m test -v M, default) or "unittest" (python3 -m unittest -v M)
#   A module may name a subset: test_asyncio.test_events, or test_io:CIOTest (-m CIOTest).
set -uo pipefail

out="${1:?usage: $0 OUT MODULE...}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
runtimes="${RUNTIMES:-runc $PWD/out/runsc-net}"
rootfs="$(realpath -m "${ROOTFS:-fixtures/python/rootfs}")"
timeout_s="${TIMEOUT:-900}"
runner="${RUNNER:-test}"
[ -x "$rootfs/usr/bin/python3.11" ] || "$here/build-python-rootfs.sh" "$rootfs" || exit 1
mkdir -p "$out"

for module in "$@"; do
    name="${module%%:*}"
    match=""
    [ "$module" != "$name" ] && match="${module#*:}"
    if [ "$runner" = unittest ]; then
        args=(python3 -m unittest -v "$name")
    else
        args=(python3 -m test -v "$name")
        [ -n "$match" ] && args+=(-m "$match")
    fi
    args_json="$(printf '%s\n' "${args[@]}" | jq -R . | jq -s .)"
    for rt in $runtimes; do
        rname="$(basename "$rt")"
        mkdir -p "$out/$rname"
        bundle="$(mktemp -d)"
        id="pycompat-$$-$rname-${name//./-}"
        id="${id:0:60}"
        "$rt" spec --bundle "$bundle" 2>/dev/null || (cd "$bundle" && "$rt" spec)
        jq --arg root "$rootfs" --argjson args "$args_json" '
            .root = {path: $root, readonly: true}
          | .process.terminal = false
          | .process.args = $args
          | .process.cwd = "/tmp"
          | .process.env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                            "HOME=/home/user", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"]
          | .process.rlimits = [{type: "RLIMIT_NOFILE", hard: 1024, soft: 1024}]
          | .hostname = "pycompat"
          | .linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]
          | .mounts = ([.mounts[] | select(.destination != "/sys/fs/cgroup")]
              + [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"]},
                 {destination: "/home/user", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=777"]}])
        ' "$bundle/config.json" > "$bundle/config.json.new" && mv "$bundle/config.json.new" "$bundle/config.json"
        start=$(date +%s)
        timeout -k 10 "$timeout_s" "$rt" run --bundle "$bundle" "$id" </dev/null > "$out/$rname/$name.log" 2>&1
        rc=$?
        took=$(( $(date +%s) - start ))
        if [ $rc = 124 ] || [ $rc = 137 ]; then
            "$rt" kill "$id" KILL >/dev/null 2>&1
            "$rt" delete -f "$id" >/dev/null 2>&1
            echo "TIMEOUT after ${timeout_s}s" >> "$out/$rname/$name.log"
        fi
        "$rt" delete -f "$id" >/dev/null 2>&1
        rm -rf "$bundle"
        ran="$(grep -Eo '^Ran [0-9]+ tests?' "$out/$rname/$name.log" | tail -1)"
        result="$(grep -E '^(OK|FAILED)( |$)' "$out/$rname/$name.log" | tail -1)"
        printf '%-40s %-10s rc=%-3s %4ss  %s  %s\n' "$module" "$rname" "$rc" "$took" "${ran:-no run}" "${result:-}"
    done
done
