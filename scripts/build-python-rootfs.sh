#!/usr/bin/env bash
# Builds a Debian CPython 3.11 root file system in OUT, with CPython's own regression suite
# (libpython3.11-testsuite), for comparing runsc-net with runc (scripts/python-compat.sh).
# The packages come through `apt-get download` (the machine's configured mirrors) and are unpacked
# with `dpkg -x`; no maintainer scripts run. /bin/sh and the usual tools are busybox-static applets.
# Every shared library the interpreter and its extension modules need is checked to be present.
#
# usage: scripts/build-python-rootfs.sh OUT
set -euo pipefail

out="${1:?usage: $0 OUT}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

packages=(
    python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-testsuite
    media-types
    libc6 libexpat1 zlib1g libffi8 libssl3 libbz2-1.0 liblzma5 libsqlite3-0 libncursesw6 libtinfo6
    libreadline8 libuuid1 libcrypt1 libdb5.3 libnsl2 libtirpc3
    libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1
)

download() { (cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1); }
if ! download; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        download
    else
        echo "build-python-rootfs: apt-get download failed (run as root for apt-get update)" >&2
        exit 1
    fi
fi

# busybox first (applets as symlinks, passwd, group, empty /proc /dev /sys /tmp), Debian on top.
"$here/build-busybox-rootfs.sh" "$out" >/dev/null
for deb in "$work"/*.deb; do
    dpkg -x "$deb" "$out"
done
# Debian's merged /usr: /lib, /lib64, /bin and /sbin are links into /usr (busybox made them dirs).
for d in lib lib64; do
    if [ -d "$out/$d" ] && [ ! -L "$out/$d" ]; then
        mkdir -p "$out/usr/$d"
        cp -a "$out/$d/." "$out/usr/$d/"
        rm -rf "${out:?}/$d"
        ln -s "usr/$d" "$out/$d"
    fi
done
ln -sf python3.11 "$out/usr/bin/python3"
ln -sf python3.11 "$out/usr/bin/python"
# The test suite wants a writable HOME and a resolvable user name.
mkdir -p "$out/root" "$out/home/user"
chmod 0777 "$out/home/user"
grep -q '^user:' "$out/etc/passwd" || echo 'user:x:1000:1000:user:/home/user:/bin/sh' >> "$out/etc/passwd"
grep -q '^user:' "$out/etc/group" || echo 'user:x:1000:' >> "$out/etc/group"

# Every NEEDED library of the interpreter and of lib-dynload must be in the rootfs.
missing=0
while read -r elf; do
    for lib in $(readelf -d "$elf" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        if [ ! -e "$out/usr/lib/x86_64-linux-gnu/$lib" ] && [ ! -e "$out/usr/lib/$lib" ]; then
            echo "build-python-rootfs: $elf needs $lib (not in the rootfs)" >&2
            missing=1
        fi
    done
done < <(find "$out/usr/bin/python3.11" "$out/usr/lib/python3.11/lib-dynload" -name '*.so' -o -name python3.11 -type f)
[ "$missing" = 0 ] || exit 1

# Byte-compile the standard library and the tests once (the containers see a read-only root), with
# the paths the container sees. A few test files are invalid Python on purpose.
"$out/usr/bin/python3.11" -m compileall -q -j 0 -d /usr/lib/python3.11 "$out/usr/lib/python3.11" >/dev/null 2>&1 || true
echo "python rootfs in $out ($("$out/usr/bin/python3.11" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo 3.11), test suite in /usr/lib/python3.11/test)"
