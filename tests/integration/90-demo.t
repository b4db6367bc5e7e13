#!/bin/bash
# `make demo` keeps working: runs tests/demo.sh without its pauses and
# checks that every step's expectation held (exit 0, nine steps),
# and that it left no namespace of its run behind. The demo's own output is
# shown as diagnostics when it fails.
set -u
. "$MXG_SRC/tests/lib/tap.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (the demo builds a test network)"

tap_plan 5
log=$(mktemp /tmp/mxg-demo-test.XXXXXX)
trap 'rm -f "$log"' EXIT

DEMO_PACE=0 OUT=$MXG_OUT timeout 150 "$MXG_SRC/tests/demo.sh" >"$log" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	tap_pass "the demo runs to the end (exit 0)"
else
	tap_fail "the demo runs to the end (exit $rc)"
	tap_diag "$(cat "$log")"
fi
tap_is "$(grep -cE '^[1-9]\. ' "$log")" 9 "it narrates nine steps"
steplog() { awk -v n="$1" '/^[0-9]+\. / { p = ($1 == n ".") } p' "$log"; }
tap_like "$(steplog 4)" '451 4\.7\.1 .*please try mx1\.example\.test' \
	"with the default reply (greylist) a gated domain answers 451"
tap_like "$(steplog 5)" '551 5\.7\.1 .*please try mx1\.example\.test' \
	"with reply = reject it answers 551"
run=$(grep -o 'run mx[0-9a-f]*' "$log" | awk '{ print $2 }')
if [ -z "$run" ]; then
	tap_fail "no namespace of its run is left (its run prefix was not printed)"
else
	tap_is "$(ip netns list | grep -c "^$run-")" 0 "no namespace of its run ($run) is left"
fi
