#!/usr/bin/env bash
# Checkpoint/restore figures (issue 11): for a busybox counter loop and for a python3 process
# with 200 MiB of heap filled with random bytes (touched, and incompressible), the time `checkpoint` takes, the time `restore --detach` takes
# (until the restored processes run), and the image's size; median of ROUNDS rounds.
# runsc (gVisor) runs beside it, with `runsc --network=none checkpoint/restore`, only when it is
# installed; this script installs nothing.
#
# usage: bench/checkpoint.sh [ROUNDS]   (as root; RUNSC_NET: the binary, default out/runsc-net;
#        PYTHON_ROOTFS: the CPython rootfs, default fixtures/python/rootfs, scripts/build-python-rootfs.sh)
set -euo pipefail

ROUNDS=${1:-${ROUNDS:-3}}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
RUNSC_NET=${RUNSC_NET:-$repo/out/runsc-net}
busybox_rootfs=${BUSYBOX_ROOTFS:-$repo/fixtures/busybox/rootfs}
python_rootfs=${PYTHON_ROOTFS:-$repo/fixtures/python/rootfs}
work=$(mktemp -d "${TMPDIR:-/tmp}/runsc-net-ckpt-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -x "$RUNSC_NET" ] || { echo "checkpoint.sh: $RUNSC_NET missing (dotnet publish runtime/Runtime.csproj -c Release -r linux-x64 -o out)" >&2; exit 1; }
[ -x "$busybox_rootfs/bin/busybox" ] || { echo "checkpoint.sh: no busybox rootfs at $busybox_rootfs (scripts/make-bundle.sh fixtures/busybox sh)" >&2; exit 1; }
runtimes=(runsc-net)
if command -v runsc >/dev/null 2>&1; then
    runtimes+=(runsc)
else
    echo "# runsc is not installed: runsc-net only" >&2
fi

now_ms() { date +%s%3N; }

# bundle DIR ROOTFS ARGS...: a bundle from `runsc-net spec`, no terminal, the given process.
bundle() {
    local dir=$1 rootfs=$2
    shift 2
    mkdir -p "$dir"
    "$RUNSC_NET" spec --bundle "$dir"
    local args
    args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
    jq --arg root "$rootfs" --argjson args "$args" '.process.terminal = false | .process.args = $args | .root.path = $root' \
        "$dir/config.json" > "$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}

cmd() {
    case $1 in
        runsc-net) echo "$RUNSC_NET --root $work/state-runsc-net" ;;
        runsc) echo "runsc --root $work/state-runsc --network=none" ;;
    esac
}

# measure RUNTIME NAME BUNDLE READY_PATTERN: one round; prints "checkpoint_ms restore_ms image_bytes".
measure() {
    local rt=$1 name=$2 bundle=$3 ready=$4 id="bench-$2-$$-$RANDOM"
    local c out img t0 t1 t2 t3
    c=$(cmd "$rt")
    out=$work/$id.out
    img=$work/$id.img
    $c run --detach --bundle "$bundle" "$id" > "$out" 2>&1 </dev/null
    for _ in $(seq 1 600); do grep -q "$ready" "$out" && break; sleep 0.1; done
    grep -q "$ready" "$out" || { echo "checkpoint.sh: $name never got ready under $rt: $(tail -3 "$out")" >&2; exit 1; }
    t0=$(now_ms)
    $c checkpoint --image-path "$img" "$id" >/dev/null
    t1=$(now_ms)
    $c delete --force "$id" >/dev/null 2>&1 || true
    t2=$(now_ms)
    $c restore --image-path "$img" --bundle "$bundle" --detach "$id" >> "$out" 2>&1 </dev/null
    t3=$(now_ms)
    local size
    size=$(du -sb "$img" | cut -f1)
    $c kill "$id" KILL >/dev/null 2>&1 || true
    sleep 0.2
    $c delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$img"
    echo "$((t1 - t0)) $((t3 - t2)) $size"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

bundle "$work/busybox" "$busybox_rootfs" sh -c 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done'
workloads=("busybox-loop $work/busybox ^3$")
if [ -x "$python_rootfs/usr/bin/python3.11" ]; then
    bundle "$work/python" "$python_rootfs" python3 -I -B -c \
        'import os, time; heap = bytearray(os.urandom(200 * 1024 * 1024)); print("ready", flush=True); time.sleep(3600)'
    workloads+=("python3-200MiB $work/python ^ready")
else
    echo "# no CPython rootfs at $python_rootfs (scripts/build-python-rootfs.sh): python3 skipped" >&2
fi

printf '%-16s %-10s %14s %12s %12s\n' workload runtime checkpoint_ms restore_ms image_KiB
for w in "${workloads[@]}"; do
    read -r name dir ready <<< "$w"
    for rt in "${runtimes[@]}"; do
        : > "$work/rounds"
        for _ in $(seq 1 "$ROUNDS"); do measure "$rt" "$name" "$dir" "$ready" >> "$work/rounds"; done
        ck=$(cut -d' ' -f1 "$work/rounds" | median)
        rs=$(cut -d' ' -f2 "$work/rounds" | median)
        sz=$(cut -d' ' -f3 "$work/rounds" | median)
        printf '%-16s %-10s %14s %12s %12s\n' "$name" "$rt" "$ck" "$rs" "$((sz / 1024))"
    done
done
