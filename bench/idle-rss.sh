#!/usr/bin/env bash
# Resident memory of the host processes of one container, read from /proc only: for each process
# whose command line names ID (boot, gofer) and all their descendants (the stubs), prints
# pid, role, RSS, PSS, anonymous and file-backed RSS (KiB, from smaps_rollup), then the totals.
#
# usage: bench/idle-rss.sh ID
#   e.g. runsc-net run --detach --bundle B idle; sleep 1; bench/idle-rss.sh idle
set -euo pipefail
id="${1:?usage: $0 ID}"

roots=""
for p in /proc/[0-9]*; do
  [ "${p#/proc/}" = $$ ] && continue
  cmd=$( { tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
  case "$cmd" in *idle-rss.sh*) continue ;; esac
  case " $cmd " in *" $id "*|*"=$id "*) roots="$roots ${p#/proc/}" ;; esac
done
all=$roots frontier=$roots
while [ -n "$frontier" ]; do
  next=""
  for p in $frontier; do next="$next $(cat /proc/"$p"/task/*/children 2>/dev/null || true)"; done
  frontier=$(echo $next); all="$all $frontier"
done

printf '%-8s %-10s %8s %8s %8s %8s %8s\n' pid role rss pss anon file threads
t_rss=0 t_pss=0 t_anon=0 t_file=0
for p in $(echo $all | tr ' ' '\n' | sort -un); do
  [ -r /proc/"$p"/smaps_rollup ] || continue
  read -r rss pss anon file < <(awk '
    /^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Anonymous:/ {a=$2} END {print r, p, a, r-a}' /proc/"$p"/smaps_rollup)
  args=$( { tr '\0' ' ' < /proc/"$p"/cmdline; } 2>/dev/null || true)
  role=$(echo "$args" | awk '{for (i=1;i<=NF;i++) if ($i=="boot"||$i=="gofer") {print $i; exit}} END {}')
  [ -n "$role" ] || role=stub  # the stubs run the container's code (comm: their memfd)
  threads=$(awk '/^Threads:/{print $2}' /proc/"$p"/status)
  printf '%-8s %-10s %8s %8s %8s %8s %8s\n' "$p" "$role" "$rss" "$pss" "$anon" "$file" "$threads"
  t_rss=$((t_rss + rss)); t_pss=$((t_pss + pss)); t_anon=$((t_anon + anon)); t_file=$((t_file + file))
done
printf '%-8s %-10s %8s %8s %8s %8s\n' total "" "$t_rss" "$t_pss" "$t_anon" "$t_file"
