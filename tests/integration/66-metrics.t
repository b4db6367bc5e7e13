#!/bin/bash
# mxgate metrics: Prometheus text that a strict checker (and, when
# installed, the prometheus_client parser) accepts, with the daemon's
# states and counters while it runs, the pinned maps' counters (tc) or our
# nft rule's counters (nft), and mxgate_up 0 plus pinned states when the
# daemon is gone.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 18
metrics() { tn_exec edge "$MXGATE" metrics --pin-dir "$MXG_PIN" -s "$MXG_SOCK"; }
check() { /usr/bin/python3 "$MXG_SRC/tests/lib/promcheck.py"; }
val() { awk -v k="$1" '$1 == k { print $2 }' <<<"$m"; }

mxg_config offender_threshold=0
mxg_start
mxg_wait_state example.test gated 8
mxg_rcpt example.test >/dev/null
# The responder reports its counters at most once a second.
replies551() { metrics | awk '$1 == "mxgate_responder_replies_total{code=\"551\"}" { print $2 }'; }
has551() { [ "$(replies551)" = 1 ]; }
tap_ok "the responder's 551 reaches the metrics" tn_wait 5 has551
m=$(metrics)
tap_like "$(check <<<"$m")" "^ok [0-9]+ samples$" "gate = tc, daemon running: the text parses"
tap_is "$(val mxgate_up)" 1 "mxgate_up 1"
tap_is "$(val 'mxgate_domain_state{domain="example.test",state="gated"}')" 1 "example.test is gated"
tap_is "$(val 'mxgate_domain_state{domain="example.test",state="open"}')" 0 "and not open"
tap_like "$(val 'mxgate_steered_connections_total{gate="tc"}')" "^[1-9][0-9]*$" "steered connections counted (tc)"
tap_is "$(val 'mxgate_gate_entries{state="gated",expired="false"}')" 2 "two fresh gated entries"
tap_like "$(val 'mxgate_probes_total{result="ok"}')" "^[1-9][0-9]*$" "probes by result"
tap_is "$(val 'mxgate_responder_sessions_total')" 1 "one responder session"
tap_is "$(val 'mxgate_responder_replies_total{code="550"}')" 0 "no 550 (no offender, no stray domain)"
tap_like "$("$MXGATE" status -s "$MXG_SOCK")" "responder: sessions 1, refused 0, replies 551 1 451 0 550 0 421 0 other 0, offenders 0" \
	"mxgate status shows the responder's counters"

# The daemon dies: the pins stay until they expire; metrics still work.
kill -KILL "$MXG_PID"
wait "$MXG_BGPID" 2>/dev/null
MXG_PID=
m=$(metrics)
tap_like "$(check <<<"$m")" "^ok [0-9]+ samples$" "daemon gone: the text still parses"
tap_is "$(val mxgate_up)" 0 "mxgate_up 0"
tap_is "$(val 'mxgate_domain_state{domain="example.test",state="gated"}')" 1 \
	"the pinned domain state is reported until it expires"
tn_exec edge "$MXGATE" unload --pin-dir "$MXG_PIN" >/dev/null 2>&1

# gate = nft: the steering rule's counter.
mxg_config gate=nft interfaces= offender_threshold=0
mxg_start
mxg_wait_state example.test gated 8
mxg_rcpt example.test >/dev/null
m=$(metrics)
tap_like "$(check <<<"$m")" "^ok [0-9]+ samples$" "gate = nft: the text parses"
tap_like "$(val 'mxgate_steered_connections_total{gate="nft"}')" "^[1-9][0-9]*$" "steered connections counted (nft)"
tap_is "$(val 'mxgate_address_gated{address="192.0.2.20"}')" 1 "192.0.2.20 gated"
mxg_term
tap_is "$MXG_RC" 0 "stopped cleanly"
tap_done
