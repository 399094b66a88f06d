#!/usr/bin/env bash
# Builds runsc-net (NativeAOT), installs it as /usr/local/bin/runsc-net, builds the default busybox
# bundle in /var/lib/runsc-net/bundles/busybox and runs `echo hello` in it as a first check.
# Run as root on Debian/Ubuntu with the .NET 10 SDK installed.
#
# usage: scripts/install.sh
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${PREFIX:-/usr/local}"
bundle="/var/lib/runsc-net/bundles/busybox"

if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (it installs to $prefix/bin and /var/lib/runsc-net)" >&2
    exit 1
fi
command -v dotnet >/dev/null || { echo "install.sh: the .NET 10 SDK (dotnet) is needed" >&2; exit 1; }

missing=()
for tool in jq:jq cc:clang; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== publishing runsc-net (NativeAOT)"
dotnet publish "$repo/runtime/Runtime.csproj" -c Release -r linux-x64 -o "$repo/out" -v quiet -nologo
install -D -m 0755 "$repo/out/runsc-net" "$prefix/bin/runsc-net"
echo "installed $prefix/bin/runsc-net: $("$prefix/bin/runsc-net" --version | head -1)"

echo "== building the busybox bundle in $bundle"
RUNSC_NET="$prefix/bin/runsc-net" "$repo/scripts/make-bundle.sh" "$bundle" echo hello

echo "== runsc-net run (echo hello)"
id="install-check-$$"
set +e
output="$("$prefix/bin/runsc-net" run --bundle "$bundle" "$id" </dev/null 2>&1)"
status=$?
set -e
"$prefix/bin/runsc-net" delete --force "$id" >/dev/null 2>&1 || true
echo "$output"
if [ $status -ne 0 ] || [ "$output" != "hello" ]; then
    echo "install.sh: runsc-net is installed, but running 'echo hello' in $bundle failed (exit $status)." >&2
    echo "install.sh: create/state/list/delete work; see the README's status section for what runs in the sandbox yet." >&2
    exit 1
fi
echo "runsc-net works: the sandbox printed hello"
