#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, DNS faults under the daemon: mxgated started while its
# resolver answers SERVFAIL, garbage, answers cut short, a compression
# loop, a broken TCP fallback or answers for another question. The domain
# stays unknown, nothing is gated, the daemon keeps running; once the
# resolver answers properly the domain is gated.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"
FAKE="/usr/bin/python3 $MXG_SRC/tests/helpers/fake_dns.py"

mxg_scene 100
MODES="${MODES:-servfail garbage cut loop tc-garbage wrongq}"
tap_plan $((3 * 6 + 2))

# The fake server answers for example.test with mx1 = 192.0.2.11 (p1).
fake() {
	: >"$TN_DIR/edge/fakedns.log" 2>/dev/null
	tn_spawn edge fakedns $FAKE "$1" 127.0.0.1 5353
	tn_wait 5 grep -q ready "$TN_DIR/edge/fakedns.log" ||
		tap_diag "fake DNS ($1) did not start: $(cat "$TN_DIR/edge/fakedns.log")"
}
unfake() { tn_kill edge fakedns; }
mxg_config resolver=127.0.0.1:5353

for m in $MODES; do
	fake "$m"
	mxg_start
	sleep 2.5
	tap_is "$(mxg_state example.test)" unknown "$m: the domain is unknown"
	tap_ok "$m: nothing is gated" test "$(mxg_addr_gated "$TN_IP_edge")" != true
	tap_ok "$m: mxgated is still running" kill -0 "$MXG_PID"
	mxg_term
	unfake
done

fake good
mxg_start
tap_ok "a proper answer: gated" mxg_wait_state example.test gated 10 ||
	tap_diag "$(mxg_status | jq -c .domains)" "$(tail -20 "$MXG_LOG")"
tap_ok "no sanitizer or crash report in the log" \
	bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation' '$MXG_LOG'"
unfake
tap_done
