#!/usr/bin/env bash
# End-to-end comparison of runsc-net against runc and runsc (gVisor, ptrace platform).
# Runs the same workloads in containers of all three runtimes, interleaved A B C A B C for
# ROUNDS rounds, and prints the median of each figure and the ratios runsc-net/runc and
# runsc-net/runsc. Usage: bench/compare.sh [ROUNDS]   (run as root; installs what it needs)
set -euo pipefail

ROUNDS=${1:-${ROUNDS:-5}}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=${BENCH_WORK:-/var/tmp/runsc-net-bench}
results=$work/results.tsv
RUNSC_NET=${RUNSC_NET:-$(command -v runsc-net || echo "$repo/out/runsc-net")}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need runc || ! need runsc || ! need jq || ! need gcc; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc runsc jq gcc libc6-dev busybox-static >/dev/null
fi
[[ " ${BENCH_RUNTIMES:-runsc-net} " != *" runsc-net "* ]] || [ -x "$RUNSC_NET" ] || { echo "compare.sh: runsc-net not found (build it: scripts/install.sh, or set RUNSC_NET)" >&2; exit 1; }

declare -A CMD=(
  [runc]="runc --root $work/state/runc"
  [runsc]="runsc --root $work/state/runsc --platform=ptrace --network=none"
  [runsc-net]="$RUNSC_NET --root $work/state/runsc-net --network=none"
)
read -r -a RUNTIMES <<< "${BENCH_RUNTIMES:-runc runsc runsc-net}"

# ---- fixtures: a busybox rootfs with the static probe and a 256 MiB file ----
mkdir -p "$work/state" && rm -rf "$work/state"/* && : > "$results"
rootfs=$work/rootfs
if [ ! -x "$rootfs/bin/busybox" ]; then
  "$repo/scripts/build-busybox-rootfs.sh" "$rootfs" >/dev/null
fi
gcc -O2 -static -pthread -o "$rootfs/bin/syscallbench" "$here/syscallbench.c"
mkdir -p "$rootfs/bench"
[ -f "$rootfs/bench/big.bin" ] || dd if=/dev/urandom of="$rootfs/bench/big.bin" bs=1M count=256 status=none
# 10 000 small files for the open-files row (all held open at once).
if [ ! -f "$rootfs/bench/files/f9999" ]; then
  mkdir -p "$rootfs/bench/files" && (cd "$rootfs/bench/files" && for i in $(seq 0 9999); do echo "$i" > "f$i"; done)
fi

# python3 rootfs: the host's Debian python3 and the libraries it links, copied in.
pyroot=$work/pyrootfs
if [ ! -x "$pyroot/usr/bin/python3" ]; then
  [ -x /usr/bin/python3 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-minimal >/dev/null
  rm -rf "$pyroot" && cp -a "$rootfs" "$pyroot" && rm -f "$pyroot/bench/big.bin"
  py=$(readlink -f /usr/bin/python3); ver=$(basename "$py")
  mkdir -p "$pyroot/usr/bin" "$pyroot/usr/lib"
  cp "$py" "$pyroot/usr/bin/$ver" && ln -sf "$ver" "$pyroot/usr/bin/python3"
  cp -a "/usr/lib/$ver" "$pyroot/usr/lib/"
  for lib in $(ldd "$py" | grep -o '/[^ ]*'); do
    mkdir -p "$pyroot$(dirname "$lib")" && cp -L "$lib" "$pyroot$lib"
  done
fi

# make_bundle NAME ROOTFS ARGS-JSON: a bundle whose config.json runs ARGS, not read-only.
make_bundle() {
  local dir=$work/bundles/$1; mkdir -p "$dir"
  (cd "$dir" && rm -f config.json && runc spec)
  jq --arg root "$2" --argjson args "$3" \
    '.root.path=$root | .root.readonly=false | .process.terminal=false | .process.args=$args
     | .mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}]' \
    "$dir/config.json" > "$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
  echo "$dir"
}
b_true=$(make_bundle true "$rootfs" '["/bin/true"]')
b_sys=$(make_bundle sys "$rootfs" '["/bin/syscallbench","getpid","20000","stat","5000","open-close","5000","pipe","5000","pread64k","2000","mmap","200","fork","100","fork-exec","50"]')
b_io=$(make_bundle io "$rootfs" '["/bin/syscallbench","seqread-mib","256","tmpfswrite-mib","256"]')
b_py=$(make_bundle py "$pyroot" '["/usr/bin/python3","-c","pass"]')
b_sh=$(make_bundle sh "$rootfs" '["/bin/sh","-c","i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done"]')
b_idle=$(make_bundle idle "$rootfs" '["/bin/sleep","1000"]')
# Scale: 1000 live threads, 10 000 open files (RLIMIT_NOFILE raised for it).
b_scale=$(make_bundle scale "$rootfs" '["/bin/syscallbench","threads","1000","open-files","10000"]')
jq '.process.rlimits = [{"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000}]' "$b_scale/config.json" > "$b_scale/c.new" && mv "$b_scale/c.new" "$b_scale/config.json"

now_us() { echo $(( $(date +%s%N) / 1000 )); }
record() { [ -n "$3" ] || return 0; printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$results"; }   # metric runtime value unit

# Time one command in microseconds, discarding its output.
timed() { local t0 t1; t0=$(now_us); "$@" </dev/null >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }; t1=$(now_us); echo $((t1 - t0)); }

# Every host process of the containers IDS (space-separated): those whose command line names
# one of the IDs, the pids `state` reports (runc's container process does not name its ID), and
# all their descendants.
pids_of_containers() {
  local c=$1; shift
  local pids="" p id
  for p in /proc/[0-9]*; do
    local cmd; cmd=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
    for id in "$@"; do case " $cmd " in *" $id "*|*"=$id "*) pids="$pids ${p#/proc/}"; break ;; esac; done
  done
  for id in "$@"; do pids="$pids $($c state "$id" 2>/dev/null | jq -r '.pid // empty')"; done
  local all=$pids frontier=$pids
  while [ -n "$frontier" ]; do
    local next=""
    for p in $frontier; do next="$next $(cat /proc/$p/task/*/children 2>/dev/null)"; done
    frontier=$(echo $next); all="$all $frontier"
  done
  echo $all | tr ' ' '\n' | sort -un | grep -v "^$$\$" || true
}

# Sums over a pid list: resident and proportional memory (KiB, smaps_rollup), and CPU time of
# every thread (ns, from schedstat: exact, unlike the 10 ms ticks of /proc/PID/stat).
rss_of() { local kb=0 p r; for p in "$@"; do r=$(awk '/^Rss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || true); kb=$((kb + ${r:-0})); done; echo $kb; }
pss_of() { local kb=0 p r; for p in "$@"; do r=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || true); kb=$((kb + ${r:-0})); done; echo $kb; }
cpu_ns_of() { local p; for p in "$@"; do cat /proc/$p/task/*/schedstat 2>/dev/null; done | awk '{s += $1} END {printf "%d\n", s}'; }

one_round() {
  local rt=$1 r=$2 c=${CMD[$1]} id
  id="bench-$r-$$"
  # Lifecycle: run of /bin/true, then create/start/delete one by one.
  record run-true "$rt" "$(timed $c run --bundle "$b_true" "$id-run")" us
  record create "$rt" "$(timed $c create --bundle "$b_true" "$id-c")" us
  record start "$rt" "$(timed $c start "$id-c")" us
  for _ in $(seq 1 200); do $c state "$id-c" 2>/dev/null | grep -q '"stopped"' && break; sleep 0.01; done
  record delete "$rt" "$(timed $c delete "$id-c")" us
  # Per-call costs, measured inside the container by the probe.
  $c run --bundle "$b_sys" "$id-sys" </dev/null 2>/dev/null | while read -r name ns; do record "$name" "$rt" "$ns" ns/op; done
  $c run --bundle "$b_io" "$id-io" </dev/null 2>/dev/null | while read -r name v; do record "$name" "$rt" "$v" MiB/s; done
  record python3-pass "$rt" "$(timed $c run --bundle "$b_py" "$id-py")" us
  record sh-500-forks "$rt" "$(timed $c run --bundle "$b_sh" "$id-sh")" us
  $c run --bundle "$b_scale" "$id-scale" </dev/null 2>/dev/null | while read -r name ns; do record "$name" "$rt" "$ns" ns/op; done
  # Idle memory of a detached sleep container, and the CPU time all its host threads use in 10 s.
  if $c run --detach --bundle "$b_idle" "$id-idle" </dev/null >/dev/null 2>&1; then
    sleep 1
    local pids cpu0 cpu1; pids=$(pids_of_containers "$c" "$id-idle")
    record idle-rss "$rt" "$(rss_of $pids)" KiB
    record idle-pss "$rt" "$(pss_of $pids)" KiB
    cpu0=$(cpu_ns_of $pids); sleep 10; cpu1=$(cpu_ns_of $pids)
    record idle-cpu-10s "$rt" "$(( (cpu1 - cpu0) / 1000 ))" us
  fi
  $c kill "$id-idle" KILL >/dev/null 2>&1 || true; sleep 0.3
  $c delete --force "$id-idle" >/dev/null 2>&1 || true
}

# Scale, once per runtime: 50 idle containers side by side (total RSS and PSS of every host
# process), and 100 containers created 10 at a time (total time, failures; then deleted 10 at a time).
scale_round() {
  local rt=$1 c=${CMD[$1]} ids=() i t0 t1 fails
  for i in $(seq 1 50); do ids+=("idle50-$i-$$"); done
  for i in "${ids[@]}"; do $c run --detach --bundle "$b_idle" "$i" </dev/null >/dev/null 2>&1 || echo "idle50: $rt failed to run $i" >&2; done
  sleep 2
  local pids; pids=$(pids_of_containers "$c" "${ids[@]}")
  record idle50-rss "$rt" "$(rss_of $pids)" KiB
  record idle50-pss "$rt" "$(pss_of $pids)" KiB
  printf '%s\n' "${ids[@]}" | xargs -P 10 -I{} sh -c "$c kill {} KILL >/dev/null 2>&1; $c delete --force {} >/dev/null 2>&1" || true

  export BENCH_C=$c BENCH_B=$b_true
  t0=$(now_us)
  fails=$(seq 1 100 | xargs -P 10 -I{} sh -c '$BENCH_C create --bundle "$BENCH_B" par100-{}-'$$' </dev/null >/dev/null 2>&1 || echo fail' | grep -c fail || true)
  t1=$(now_us)
  record par100-create "$rt" "$(( (t1 - t0) / 1000 ))" ms
  record par100-failed "$rt" "$fails" count
  t0=$(now_us)
  seq 1 100 | xargs -P 10 -I{} sh -c '$BENCH_C delete --force par100-{}-'$$' >/dev/null 2>&1' || true
  t1=$(now_us)
  record par100-delete "$rt" "$(( (t1 - t0) / 1000 ))" ms
}

for r in $(seq 1 "$ROUNDS"); do
  for rt in "${RUNTIMES[@]}"; do
    one_round "$rt" "$r" || echo "round $r of $rt had a failure" >&2
  done
done
if [ "${BENCH_SCALE:-1}" = 1 ]; then
  for rt in "${RUNTIMES[@]}"; do scale_round "$rt" || echo "scale round of $rt had a failure" >&2; done
fi

# ---- report: medians per metric and runtime, and the ratios ----
awk -F'\t' '
  { key=$1 SUBSEP $2; n[key]++; v[key, n[key]]=$3; unit[$1]=$4; if (!($1 in seen)) { seen[$1]=1; order[++m]=$1 } }
  function median(key,   i, j, t, c, a) {
    c = n[key]; if (!c) return "";
    for (i = 1; i <= c; i++) a[i] = v[key, i] + 0;
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
  }
  END {
    printf "%-16s %-7s %12s %12s %12s %10s %10s\n", "metric", "unit", "runc", "runsc", "runsc-net", "net/runc", "net/runsc"
    for (k = 1; k <= m; k++) {
      x = order[k]; a = median(x SUBSEP "runc"); b = median(x SUBSEP "runsc"); c = median(x SUBSEP "runsc-net")
      r1 = (a != "" && c != "" && a > 0) ? sprintf("%.2f", c / a) : "-"
      r2 = (b != "" && c != "" && b > 0) ? sprintf("%.2f", c / b) : "-"
      printf "%-16s %-7s %12s %12s %12s %10s %10s\n", x, unit[x], (a == "" ? "-" : a), (b == "" ? "-" : b), (c == "" ? "-" : c), r1, r2
    }
  }' "$results"
# The floor of the interception design on this machine (bench/floor.c, on the host): a plain
# call, a seccomp-trapped call answered by a SIGSYS handler, and a cross-CPU round trip.
gcc -O2 -static -pthread -o "$work/floor" "$here/floor.c" && echo "host floor, ns/op: $("$work/floor" | tr '\n' ' ')"
echo "rounds: $ROUNDS; machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r); raw: $results"
