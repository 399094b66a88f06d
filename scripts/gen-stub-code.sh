#!/usr/bin/env bash
# Assembles one of sandbox/Platform/Asm/*.S (GNU as, Intel syntax) and prints the body of the C#
# byte array that holds it, one instruction per line with its offset and disassembly, in the
# layout of SystrapStub.Code. Paste the output into the array named in the .S file's header;
# tests/Sentry/Platform/MachineCodeTests.cs fails while the two differ.
# usage: scripts/gen-stub-code.sh sandbox/Platform/Asm/systrap-stub.S   (needs binutils)
set -euo pipefail
src=${1:?usage: $0 FILE.S}
command -v as >/dev/null && command -v objdump >/dev/null || { echo "gen-stub-code: binutils (as, objdump) are needed: apt-get install -y binutils" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
as --64 -o "$tmp/code.o" "$src"
# objdump lines: "  1f:	48 85 c0             	test   rax,rax"; labels: "0000000000000130 <fail>:".
objdump -d -M intel -w "$tmp/code.o" | awk '
    /^[0-9a-f]+ <[^>]+>:$/ { name = $2; gsub(/[<>:]/, "", name); if (name !~ /^L/) printf "        // %s:\n", name; next }
    /^ *[0-9a-f]+:\t/ {
        split($0, parts, "\t");
        addr = parts[1]; gsub(/[ :]/, "", addr); while (length(addr) < 3) addr = "0" addr;
        n = split(parts[2], hex, " ");
        bytes = "";
        for (i = 1; i <= n; i++) bytes = bytes sprintf("0x%s, ", hex[i]);
        insn = parts[3]; gsub(/ +/, " ", insn); sub(/ #.*/, "", insn);
        printf "        %-62s// %s  %s\n", bytes, addr, insn;
    }'
