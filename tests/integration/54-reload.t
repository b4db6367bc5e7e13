#!/bin/bash
# A bad config on SIGHUP is refused with its error
# line, and the daemon keeps working with the old one (still 551). A good
# one is applied with the state of kept domains carried over.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 15
tn_postfix_start p2 primary

mxg_config
mxg_start
tap_ok "gated" mxg_wait_state example.test gated 8

cp "$MXG_CONF" "$TN_DIR/good.conf"
sed -i "s/^rise = .*/rise = often/" "$MXG_CONF"
kill -HUP "$MXG_PID"
refused() {
	grep -q "reload refused: $MXG_CONF:[0-9]*: rise" "$MXG_LOG"
}
tap_ok "the bad config is refused, its file, line and key logged" tn_wait 10 refused
tap_diag "$(grep 'reload refused' "$MXG_LOG")"
sleep 2 # two more rounds on the old config
tap_is "$(kill -0 "$MXG_PID" && echo alive)" alive "mxgated is still running"
tap_is "$(mxg_state example.test)" gated "still gated"
tap_like "$(mxg_rcpt example.test)" '^551 ' "still 551"
tap_is "$(mxg_status | jq -r .counters.reloads_refused)" 1 "status counts the refused reload"
# Rounds that change nothing send the responder a SAME, not the table.
metric() {
	tn_exec edge "$MXGATE" metrics -s "$MXG_SOCK" 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'
}
full0=$(metric 'mxgate_responder_tables_sent_total{kind="full"}')
same0=$(metric 'mxgate_responder_tables_sent_total{kind="same"}')
tap_ok "unchanged rounds send SAME (full ${full0:-none}, same ${same0:-none})" \
	test "${same0:-0}" -ge 1

# A good reload: reply = defer, a second domain. State is carried over:
# example.test stays gated without waiting for rise rounds again.
cp "$TN_DIR/good.conf" "$MXG_CONF"
sed -i 's/^domains = .*/domains = example.test other.test/' "$MXG_CONF"
sed -i "s/^reply = .*/reply = defer/" "$MXG_CONF"
kill -HUP "$MXG_PID"
reloaded() {
	[ "$(mxg_status | jq -r .counters.reloads)" = 1 ]
}
tap_ok "the good config is applied" tn_wait 10 reloaded
tap_is "$(mxg_status | jq -r '[.domains[].name] | join(" ")')" "example.test other.test" \
	"the new domain is served"
tap_is "$(mxg_state example.test)" gated "example.test is still gated (state carried over)"
# The new domain is served on the same address: it stays open until
# other.test rises too.
tap_ok "other.test gated after its rise rounds, the address with it" \
	tn_wait 10 mxg_is_addr_gated 192.0.2.20
tap_like "$(mxg_rcpt example.test)" '^451 4\.7\.1 ' "reply = defer now: 451 4.7.1"
full1=$(metric 'mxgate_responder_tables_sent_total{kind="full"}')
tap_ok "the changed table went in full (full $full0 -> ${full1:-none})" \
	test "${full1:-0}" -gt "${full0:-0}"

# `self` changes: who the primaries are is decided again at once, not when
# the MX set's TTL (300 s in the test zone) runs out. With mx1.example.test
# also "us", example.test has no primary left: open.
sed -i 's/^self = .*/self = mx2.example.test mx1.example.test/' "$MXG_CONF"
kill -HUP "$MXG_PID"
no_primary() {
	mxg_status | jq -e '.domains[] | select(.name == "example.test")
		| .state == "open" and .reason == "no_primary"' >/dev/null
}
tap_ok "a new self is applied at once: example.test has no primary left, open" \
	tn_wait 10 no_primary
tap_diag "$(mxg_status | jq -c '.domains[] | select(.name == "example.test") | {state, reason}')"
# `mxgate probe` with the same self names says what the daemon says.
status_says=$(mxg_status | jq -c '.domains[] | select(.name == "example.test")
	| [.state, .reason, .reason_text]')
probe_says=$(tn_exec edge "$MXGATE" probe example.test --self mx2.example.test \
	--self mx1.example.test --resolver "$TN_DNS_IP" --json 2>/dev/null |
	jq -c '[.state, .reason, .reason_text]')
tap_is "$probe_says" "$status_says" "mxgate probe, same self: the daemon's state, token and sentence ($status_says)"
