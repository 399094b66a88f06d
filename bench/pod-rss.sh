#!/usr/bin/env bash
# Idle memory of a pod (one sandbox: a root "pause" container and 2 joined containers, all
# `sleep`) against three separate sandboxes running the same, summed over every host process of
# each (bench/idle-rss.sh: boot, gofers, stubs, and the joined containers' waiters).
#
# usage: bench/pod-rss.sh RUNSC_NET ROOTFS
set -euo pipefail
runsc="${1:?usage: $0 RUNSC_NET ROOTFS}" rootfs="${2:?usage: $0 RUNSC_NET ROOTFS}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d) root="$work/root"
trap '"$runsc" --root "$root" delete --force podrss >/dev/null 2>&1 || true
      for s in sep1 sep2 sep3; do "$runsc" --root "$root" delete --force $s >/dev/null 2>&1 || true; done
      rm -rf "$work"' EXIT

bundle() { # DIR ANNOTATIONS-JSON
  mkdir -p "$1" && "$runsc" spec --bundle "$1"
  python3 - "$1/config.json" "$rootfs" "$2" <<'PY'
import json, sys
p, rootfs, ann = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = json.load(open(p)); c["process"]["terminal"] = False; c["process"]["args"] = ["sleep", "100000"]
c["root"]["path"] = rootfs; c["annotations"] = ann; json.dump(c, open(p, "w"))
PY
}
total() { # IDS... -> summed RSS and PSS (KiB) of their processes
  local rss=0 pss=0
  for id in "$@"; do
    read -r r p < <("$here/idle-rss.sh" "$id" | awk '$1=="total"{print $2, $3}')
    rss=$((rss + r)); pss=$((pss + p))
  done
  echo "$rss $pss"
}

bundle "$work/root-b" '{"io.kubernetes.cri.container-type":"sandbox"}'
bundle "$work/joined-b" '{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"podrss"}'
bundle "$work/solo-b" '{}'
"$runsc" --root "$root" run -d --bundle "$work/root-b" podrss </dev/null >/dev/null
for c in podrss-a podrss-b; do "$runsc" --root "$root" run -d --bundle "$work/joined-b" $c </dev/null >/dev/null; done
for s in sep1 sep2 sep3; do "$runsc" --root "$root" run -d --bundle "$work/solo-b" $s </dev/null >/dev/null; done
sleep 3 # past the processes' idle heap trims
read -r pod_rss pod_pss < <(total podrss podrss-a podrss-b)
read -r sep_rss sep_pss < <(total sep1 sep2 sep3)
printf '%-34s %10s %10s\n' "" "RSS KiB" "PSS KiB"
printf '%-34s %10s %10s\n' "pod: pause + 2 containers" "$pod_rss" "$pod_pss"
printf '%-34s %10s %10s\n' "3 separate sandboxes" "$sep_rss" "$sep_pss"
