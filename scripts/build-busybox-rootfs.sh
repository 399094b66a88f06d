#!/usr/bin/env bash
# Builds a minimal busybox root file system in OUT from Debian's busybox-static package:
# /bin/busybox with every applet linked, /etc/passwd and /etc/group, and empty /proc /dev /sys /tmp.
# The package comes through apt (the machine's configured mirrors); nothing else is downloaded.
#
# usage: scripts/build-busybox-rootfs.sh OUT
set -euo pipefail

out="${1:?usage: $0 OUT}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

deb=""
if (cd "$work" && apt-get download busybox-static >/dev/null 2>&1); then
    deb="$(ls "$work"/busybox-static_*.deb)"
elif [ "$(id -u)" = 0 ]; then
    # No package lists yet on a fresh machine.
    apt-get update -qq >/dev/null
    (cd "$work" && apt-get download busybox-static >/dev/null)
    deb="$(ls "$work"/busybox-static_*.deb)"
fi

mkdir -p "$out/bin"
if [ -n "$deb" ]; then
    dpkg -x "$deb" "$work/pkg"
    install -m 0755 "$work/pkg/bin/busybox" "$out/bin/busybox"
elif [ -x /bin/busybox ] && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then
    install -m 0755 /bin/busybox "$out/bin/busybox"
else
    echo "build-busybox-rootfs: cannot get busybox-static (apt-get download failed; run as root or install busybox-static)" >&2
    exit 1
fi

# Every applet as a symlink to /bin/busybox, at the path busybox itself lists.
"$out/bin/busybox" --list-full | while read -r applet; do
    [ "$applet" = "bin/busybox" ] && continue
    mkdir -p "$out/$(dirname "$applet")"
    ln -sf /bin/busybox "$out/$applet"
done

mkdir -p "$out"/{etc,proc,dev,sys,tmp,root,home,var/tmp,run}
chmod 1777 "$out/tmp" "$out/var/tmp"
cat > "$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$out/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GROUP
echo "runsc-net" > "$out/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$out/etc/hosts"
echo "busybox rootfs in $out ($("$out/bin/busybox" --list | wc -l) applets)"
