#!/usr/bin/env bash
# Runs the OCI runtime-tools validation suite (validation/*.t, TAP streams) against runsc-net and,
# when installed, runc, and prints one line per test for both side by side plus the totals.
#
# The suite is built once into a cache from a runtime-tools source tree at commit 260e151 (the one
# before c2dadba, which needs a newer Go), offline with Debian's Go 1.19 and the vendored modules:
#   RUNTIME_TOOLS_SRC=/path/to/runtime-tools(.git) scripts/oci-validation.sh [TEST...]
# Environment:
#   RUNSC_NET          the runsc-net binary (default: out/runsc-net of this checkout)
#   RUNTIME_TOOLS_SRC  a runtime-tools git repository or checkout (default: the cache's copy)
#   OCI_CACHE          where the built suite lives (default: ~/.cache/runsc-net/runtime-tools)
#   OCI_TIMEOUT        seconds per test (default 120)
#   OCI_VERBOSE=1      print each failing test's TAP output
# Run as root. A test passes when its TAP stream has a plan, no "not ok" and (for the hook tests,
# whose plan is 1..0) no "error" diagnostic; it also must exit 0 (non-hook tests print "error" keys in
# their passing diagnostics too, so those are judged by their test lines).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
commit=260e151
cache=${OCI_CACHE:-$HOME/.cache/runsc-net/runtime-tools}
runsc_net=${RUNSC_NET:-$here/out/runsc-net}
timeout_s=${OCI_TIMEOUT:-120}

if [ "$(id -u)" != 0 ]; then echo "oci-validation: run as root" >&2; exit 2; fi
if [ ! -x "$runsc_net" ]; then echo "oci-validation: no runsc-net binary at $runsc_net (publish it first, or set RUNSC_NET)" >&2; exit 2; fi

build_suite() {
    local src=${RUNTIME_TOOLS_SRC:-}
    if ! command -v go >/dev/null; then
        echo "oci-validation: Go is needed to build the suite (apt-get install -y golang-go)" >&2; exit 2
    fi
    mkdir -p "$cache"
    if [ ! -d "$cache/src/.git" ]; then
        if [ -z "$src" ]; then
            echo "oci-validation: set RUNTIME_TOOLS_SRC to a runtime-tools git repository (e.g. a clone of opencontainers/runtime-tools)" >&2; exit 2
        fi
        rm -rf "$cache/src"
        git clone -q "$src" "$cache/src" || { echo "oci-validation: cannot clone $src" >&2; exit 2; }
    fi
    git -C "$cache/src" checkout -q "$commit" || { echo "oci-validation: $src has no commit $commit" >&2; exit 2; }
    echo "== building runtime-tools $commit in $cache/src" >&2
    (cd "$cache/src" && GOFLAGS=-mod=vendor GOPATH="$cache/gopath" GOCACHE="$cache/gocache" GO111MODULE=on \
        make runtimetest validation-executables >"$cache/build.log" 2>&1) \
        || { echo "oci-validation: build failed, see $cache/build.log" >&2; exit 2; }
    touch "$cache/built-$commit"
}

[ -f "$cache/built-$commit" ] || build_suite
suite=$cache/src

if [ $# -gt 0 ]; then tests=("$@"); else
    tests=()
    for t in "$suite"/validation/*/*.t; do tests+=("$(basename "$t" .t)"); done
fi

# One run of one test against one runtime: prints "pass" or "fail" and keeps the TAP output.
run_one() {
    local runtime=$1 name=$2 out=$3
    (cd "$suite" && RUNTIME=$runtime timeout -k 5 "$timeout_s" "validation/$name/$name.t") >"$out" 2>&1
    local rc=$?
    # A plan of 1..0 (the hook tests) carries its verdict as an "error" diagnostic instead of test lines.
    # The *_fail tests expect create to fail: they exit 0 without a plan when it did.
    if [ $rc -eq 0 ] && { grep -q '^1\.\.' "$out" || [[ $name == *_fail ]]; } && ! grep -q '^not ok' "$out" \
        && ! { grep -q '^1\.\.0$' "$out" && grep -q '"error"' "$out"; }; then
        echo pass
    else
        echo fail
    fi
}

runtimes=("runsc-net=$runsc_net")
if command -v runc >/dev/null; then runtimes+=("runc=$(command -v runc)"); fi
results=$(mktemp -d)
declare -A passed=()
printf '%-40s' test; for r in "${runtimes[@]}"; do printf ' %-10s' "${r%%=*}"; passed[${r%%=*}]=0; done; echo
for name in "${tests[@]}"; do
    if [ ! -x "$suite/validation/$name/$name.t" ]; then echo "oci-validation: no test $name" >&2; continue; fi
    printf '%-40s' "$name"
    for r in "${runtimes[@]}"; do
        label=${r%%=*}
        verdict=$(run_one "${r#*=}" "$name" "$results/$label.$name.tap")
        [ "$verdict" = pass ] && passed[$label]=$((passed[$label] + 1))
        printf ' %-10s' "$verdict"
    done
    echo
    if [ "${OCI_VERBOSE:-0}" = 1 ]; then
        for r in "${runtimes[@]}"; do
            label=${r%%=*}
            if [ "$(grep -c '^not ok' "$results/$label.$name.tap")" != 0 ] || ! grep -q '^1\.\.[1-9]' "$results/$label.$name.tap"; then
                sed "s/^/    [$label] /" "$results/$label.$name.tap" | head -40
            fi
        done
    fi
done
printf '%-40s' "fully passing (of ${#tests[@]})"
for r in "${runtimes[@]}"; do printf ' %-10s' "${passed[${r%%=*}]}"; done; echo
echo "TAP output kept in $results" >&2
