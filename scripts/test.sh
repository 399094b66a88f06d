#!/usr/bin/env bash
# Runs every test: checks the tools, publishes runsc-net (NativeAOT), builds the busybox fixture
# and runs `dotnet test Sandbox.sln` with the published binary in RUNSC_NET for the integration
# tests (which skip, saying why, when not run as root or a fixture or tool is missing). In CI
# (CI=true) any skipped test fails the run, with the list of skipped tests and their reasons.
#
# usage: [RUNSC_NET_ROOTFS=DIR] scripts/test.sh [dotnet test arguments, e.g. --filter FullyQualifiedName~Integration]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

need=()
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is needed" >&2; exit 1; }
command -v jq >/dev/null || need+=(jq)
command -v cc >/dev/null || need+=(clang)  # the NativeAOT linker driver (gcc or clang)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "test.sh: missing ${need[*]}: apt-get install ${need[*]}" >&2
        exit 1
    fi
fi

echo "== publishing runsc-net (NativeAOT)"
dotnet publish runtime/Runtime.csproj -c Release -r linux-x64 -o out -v quiet -nologo
export RUNSC_NET="$repo/out/runsc-net"

echo "== fixtures"
# RUNSC_NET_ROOTFS, when set, names the busybox rootfs to use instead (set but empty: none, to
# see which tests need it: they skip, and in CI that fails the run).
if [ -z "${RUNSC_NET_ROOTFS+set}" ]; then
    if [ ! -x fixtures/busybox/rootfs/bin/busybox ]; then
        RUNSC_NET="$RUNSC_NET" scripts/make-bundle.sh fixtures/busybox sh
    fi
    export RUNSC_NET_ROOTFS="$repo/fixtures/busybox/rootfs"
fi
# The CPython rootfs of the checkpoint acceptance test (tests/Integration/CheckpointPythonTests.cs):
# RUNSC_NET_PYTHON_ROOTFS, or fixtures/python/rootfs, built here when missing (apt-get download
# needs root for its update); without it that test skips, saying why.
if [ -z "${RUNSC_NET_PYTHON_ROOTFS+set}" ]; then
    if [ ! -x fixtures/python/rootfs/usr/bin/python3.11 ] && [ "$(id -u)" = 0 ]; then
        scripts/build-python-rootfs.sh "$repo/fixtures/python/rootfs" || echo "test.sh: the CPython rootfs could not be built" >&2
    fi
    [ -x fixtures/python/rootfs/usr/bin/python3.11 ] && export RUNSC_NET_PYTHON_ROOTFS="$repo/fixtures/python/rootfs"
fi

echo "== dotnet test"
# The trx results say which tests skipped and why; a skip means a fixture, tool or daemon is
# missing, so CI (CI=true, .ci/run installs everything) fails on any instead of passing quietly.
results="$(mktemp -d "${TMPDIR:-/tmp}/runsc-net-test-results.XXXXXX")"
trap 'rm -rf "$results"' EXIT
status=0
dotnet test Sandbox.sln -nologo --logger trx --results-directory "$results" "$@" || status=$?

shopt -s nullglob
trx=("$results"/*.trx)
skipped=""
if [ ${#trx[@]} -gt 0 ]; then
    skipped="$(scripts/skipped-tests.sh "${trx[@]}")"
fi
if [ -n "$skipped" ]; then
    count="$(printf '%s\n' "$skipped" | wc -l)"
    if [ "${CI:-}" = true ]; then
        echo "test.sh: FAILED: $count test(s) skipped in CI, where every test must run:" >&2
        sed 's/^/  /' <<<"$skipped" >&2
        exit 1
    fi
    echo "test.sh: $count test(s) skipped (allowed outside CI; CI=true fails on them):"
    sed 's/^/  /' <<<"$skipped"
elif [ "$status" = 0 ] && [ "${CI:-}" = true ] && [ ${#trx[@]} -eq 0 ]; then
    echo "test.sh: FAILED: dotnet test wrote no trx results to check for skipped tests" >&2
    exit 1
fi
exit "$status"
