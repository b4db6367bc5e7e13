#!/bin/bash
# The defer reply and offenders, end to end (real DNS, Postfix, mxgated, tc gate):
# with reply = defer the steered sender gets 451 4.7.1 and the same
# explanation, and nothing is accepted; with reply = reject and an offender
# threshold, a client that keeps asking is escalated to 550 5.7.1 while
# other clients (another address, another IPv6 /64) still get 551. The
# responder that says all this runs as nobody with no capabilities.
set -u
if [ ! -f "${MXG_SRC:-.}/tests/lib/mxgated.sh" ]; then
	echo "1..0 # SKIP tests/lib/mxgated.sh (controller branch) not merged yet"
	exit 0
fi
. "$MXG_SRC/tests/lib/mxgated.sh"

OFFENDER='^550 5\.7\.1 You tried me, a backup MX, too often while the primary MX is online$'
EXPLAIN='this is a backup MX and the primary MX mx1\.example\.test is online; please try mx1\.example\.test'
NL=$'\n'

# The reply to RCPT TO from snd, from source address SRC.
rcpt_from() { # rcpt_from SRC DOMAIN [SERVER]
	tn_swaks snd --server "${3:-$TN_IP_edge}" --local-interface "$1" --from a@sender.test \
		--to "u@$2" --quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

responder_pid() {
	pgrep -P "$MXG_PID" | head -1
}

mxg_scene 150
# More sender addresses: another IPv4 client, another host in the same
# IPv6 /64, and one in another /64 (the edge routes it on-link).
tn_addr_add snd 192.0.2.31
tn_addr_add snd 2001:db8::99
tn_addr_add snd 2001:db8:0:1::31
tn_exec edge ip -6 route add 2001:db8:0:1::/64 dev eth0
tap_plan 17

# reply = defer
mxg_config reply=defer
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10
tap_like "$(mxg_rcpt example.test)" "^451 4\\.7\\.1 .*$EXPLAIN\$" \
	"reply = defer: 451 4.7.1 with the explanation naming the primary"
tap_like "$(mxg_rcpt example.test "$TN_IP6_edge")" "^451 4\\.7\\.1 .*$EXPLAIN\$" "over IPv6 too"
if mxg_send example.test; then
	tap_fail "a whole message is not accepted"
else
	tap_pass "a whole message is not accepted"
fi
tap_is "$(tn_mail_count edge)" 0 "the backup's Postfix received nothing"
mxg_term

# reply = reject, offender_threshold 3
mxg_config offender_threshold=3 offender_window=1m
mxg_start
tap_ok "example.test becomes gated again" mxg_wait_state example.test gated 10
pid=$(responder_pid)
status=$(cat /proc/"$pid"/status 2>/dev/null)
tap_like "$status" $'CapEff:\t0000000000000000' "the responder has CapEff 0"
tap_like "$status" $'Uid:\t'"$(id -u nobody)"$'\t' "the responder runs as nobody"
replies=
for _ in 1 2 3; do
	replies+="$(rcpt_from "$TN_IP_snd" example.test)"$'\n'
done
tap_like "$replies" "^(551 5\\.7\\.1 [^$NL]*$EXPLAIN$NL){3}\$" "three tries: 551 5.7.1 each"
tap_like "$(rcpt_from "$TN_IP_snd" example.test)" "$OFFENDER" "the fourth: 550 5.7.1 (offender)"
tap_like "$(rcpt_from "$TN_IP_snd" example.test)" "$OFFENDER" "and it stays an offender"
tap_like "$(rcpt_from 192.0.2.31 example.test)" "^551 5\\.7\\.1 " \
	"another client address still gets 551"
for _ in 1 2 3; do
	rcpt_from "$TN_IP6_snd" example.test "$TN_IP6_edge" >/dev/null
done
tap_like "$(rcpt_from 2001:db8::99 example.test "$TN_IP6_edge")" "$OFFENDER" \
	"IPv6: the fourth try from the same /64 (another address) gets 550"
tap_like "$(rcpt_from 2001:db8:0:1::31 example.test "$TN_IP6_edge")" "^551 5\\.7\\.1 " \
	"IPv6: another /64 still gets 551"
tap_like "$(cat "$MXG_LOG")" "session client=192\\.0\\.2\\.30 port=[0-9]+ dst=192\\.0\\.2\\.20 port=25 rcpt=example\\.test=550" \
	"the session log names client, original destination, domain and 550"
tap_is "$(responder_pid)" "$pid" "the responder was not restarted meanwhile"
mxg_term
tap_is "$MXG_RC" 0 "mxgated exits 0 on SIGTERM"
