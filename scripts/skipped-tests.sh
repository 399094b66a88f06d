#!/usr/bin/env bash
# Lists the tests that skipped, one a line as "TEST: REASON", from dotnet test's trx results
# (dotnet test --logger trx --results-directory DIR). scripts/test.sh fails in CI when any did.
#
# usage: scripts/skipped-tests.sh RESULTS.trx...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/skipped-tests.sh RESULTS.trx..." >&2; exit 2; }

# A trx file has one <UnitTestResult ... testName="..." ... outcome="NotExecuted"> element per
# skipped test, its start tag on one line, the skip reason in the <Message> of its <ErrorInfo>.
awk '
    function attr(line, name,    v) {
        if (!match(line, name "=\"[^\"]*\"")) return ""
        v = substr(line, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
        return v
    }
    /<UnitTestResult / {
        skipped = ($0 ~ /outcome="NotExecuted"/); name = attr($0, "testName"); reason = ""; inMessage = 0
        if (skipped && $0 ~ /\/>[[:space:]]*$/) { print name ": (no reason given)"; skipped = 0 }
        next
    }
    skipped && /<Message>/ { inMessage = 1; sub(/.*<Message>/, "") }
    skipped && inMessage {
        line = $0; done = sub(/<\/Message>.*/, "", line)
        reason = reason (reason == "" ? "" : " ") line
        if (done) inMessage = 0
    }
    skipped && /<\/UnitTestResult>/ { print name ": " (reason == "" ? "(no reason given)" : reason); skipped = 0 }
' "$@" | sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g' | sort
