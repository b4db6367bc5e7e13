#!/bin/bash
# The primary is up, so the edge steers new SMTP
# connections to the responder, which answers 551 naming the primary; the
# backup's Postfix receives nothing; status and the pinned gate map say
# why. Then SIGTERM: mxgated detaches, unpins, removes its socket, exit 0.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 16

# A second domain with the same primary: probes are deduplicated.
{
	tn_dns_std_zone
	echo "shared.test. 300 IN MX 10 mx1.example.test."
	echo "shared.test. 300 IN MX 20 mx2.example.test."
} | tn_dns_zone
tn_dns_reload
mxg_config domains="example.test shared.test"
mxg_start
tap_ok "mxgated starts on the edge" test -n "$MXG_PID"
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 8

st=$(mxg_status)
tap_is "$(jq -r '.domains[0].primary' <<<"$st")" mx1.example.test "status names the primary"
tap_is "$(mxg_addr_gated 192.0.2.20)" true "status: 192.0.2.20 is gated"
tap_is "$(mxg_addr_gated 2001:db8::20)" true "status: 2001:db8::20 is gated"

reply=$(mxg_rcpt example.test)
tap_like "$reply" '^551 5\.7\.1 .*mx1\.example\.test' "RCPT to the backup gets 551 naming the primary"
reply6=$(mxg_rcpt example.test "$TN_IP6_edge")
tap_like "$reply6" '^551 5\.7\.1 .*mx1\.example\.test' "over IPv6 too"
mxg_send example.test
tap_is "$(tn_mail_count edge)" 0 "the backup's Postfix received nothing"

map=$(mxg_gate_map)
tap_like "$(jq -c '[.[] | select(.formatted.value.state == 1)] | length' <<<"$map")" '^[12]$' \
	"bpftool shows gated entries in gate_addrs"
tap_ok "the tc filter is attached to eth0" \
	sh -c "ip netns exec $(tn_ns edge) tc filter show dev eth0 ingress | grep -q bpf"

# mx1 has two addresses; two domains share it: two probes per round, not
# four. With R rounds done (the first may have had no MX set yet) and one
# in progress: 2(R-1) <= probes <= 2R+2; without deduplication it would be
# at least 4(R-1), more than 2R+2 once R >= 4.
rounds4() {
	[ "$(mxg_status | jq -r .counters.rounds)" -ge 4 ]
}
tn_wait 20 rounds4
counts=$(mxg_status | jq -r '"\(.counters.rounds) \(.counters.probes | add)"')
read -r rounds probes <<<"$counts"
tap_ok "one probe per primary address per round, shared by both domains ($rounds rounds, $probes probes)" \
	test "$rounds" -ge 4 -a "$probes" -ge $((2 * (rounds - 1))) -a "$probes" -le $((2 * rounds + 2))

text=$("$MXGATE" status -s "$MXG_SOCK")
tap_like "$text" 'domain example\.test: gated' "text status shows the domain gated"

# SIGTERM: everything of ours goes, the host is left open.
mxg_term
tap_is "$MXG_RC" 0 "SIGTERM: exit status 0"
tap_ok "no pins left: $MXG_PIN is gone" test ! -e "$MXG_PIN"
tap_ok "no tc filter left on eth0" \
	sh -c "! ip netns exec $(tn_ns edge) tc filter show dev eth0 ingress | grep -q bpf"
tap_ok "no control socket left" test ! -e "$MXG_SOCK"
