#!/bin/bash
# reply = greylist, end to end (real DNS, Postfix, mxgated, tc):
# the first time a tuple (client /24, normalised sender, recipient) is seen
# the responder answers 451 4.7.1 with the defer text; the same tuple back
# after greylist_delay and within greylist_window passes the client's
# address in the kernel (passes map), so its next connection goes to the
# backup's Postfix.
#   - a sending Postfix that cannot reach the primary delivers every queued
#     message through the backup's Postfix on a retry, nothing bounces;
#   - a sender that can reach the primary is never passed;
#   - swaks once is never passed; a tuple retried before the delay, or
#     after the window, is not passed;
#   - the kernel pass entry expires by itself (pass_ttl).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

N=5
mxg_scene 240
tap_plan 21
for a in 51 52 54; do
	tn_addr_add snd 192.0.2.$a
done
tn_host_add snd2 192.0.2.35 2001:db8::35

DEFER='^451 4\.7\.1 example\.test: this is a backup MX and the primary MX mx1\.example\.test is online; please try mx1\.example\.test$'
dump() { tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN"; }
passed() { dump | sed -n '/^passes:/,$p' | grep -q "^  $1 .*fresh"; }
in_passes() { dump | sed -n '/^passes:/,$p' | grep -q "^  $1 "; }
rcpt_to() { # rcpt_to SRC RCPT
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$1" --from a@sender.test --to "$2" \
		--quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
banner_from() { # banner_from SRC
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$1" --quit-after CONNECT --timeout 3 2>&1 |
		awk '/^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

mxg_config reply=greylist greylist_delay=4s greylist_window=12s pass_ttl=25s pass_max=60s
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10

# --- swaks once; a retry before the delay
tap_like "$(rcpt_to 192.0.2.51 once@example.test)" "$DEFER" "first time a tuple is seen: 451 4.7.1 with the defer text"
tap_like "$(rcpt_to 192.0.2.52 early@example.test)" "$DEFER" "another tuple: 451"
tap_like "$(rcpt_to 192.0.2.52 early@example.test)" "$DEFER" "the same tuple back before greylist_delay: 451 again"
tap_like "$(rcpt_to 192.0.2.54 late@example.test)" "$DEFER" "a third tuple: 451"

# --- a sending Postfix that cannot reach the primary
TN_POSTFIX_MAIN="smtp_bind_address = $TN_IP_snd
smtp_bind_address6 = $TN_IP6_snd" tn_postfix_start snd sender
tn_block_host snd p1
for i in $(seq "$N"); do
	tn_postfix_send snd a@sender.test "g$i@example.test" "greylisted $i" ||
		tap_diag "submitting message $i failed"
done
tap_ok "all $N queued messages are delivered by the backup's Postfix" tn_mail_wait edge "$N" 60
tap_is "$(tn_bounces snd)" 0 "nothing bounced"
tap_like "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | head -n 1)" '451 4\.7\.1 example\.test: this is a backup MX' \
	"the sender was greylisted first (451 4.7.1, the defer text)"
tap_is "$(tn_mail_count p1)" 0 "the primary got nothing (the sender cannot reach it)"
tap_ok "the sender's address is in the kernel's pass map" passed "$TN_IP_snd"
tap_like "$(dump | sed -n '/^passes:/,$p' | grep "^  $TN_IP_snd ")" "greylist" "with reason greylist"
tap_like "$(cat "$MXG_LOG")" "pass: client $TN_IP_snd passed for 25s: it retried a greylisted message after greylist_delay" \
	"the log says when and why the client was passed"

st=$(mxg_status)
tap_ok "mxgate status --json: greylist tuples and a greylist pass" \
	test "$(echo "$st" | jq '.counters.greylist.tuples >= 1 and .counters.passes.greylist >= 1 and .counters.passes.live >= 1')" = true
tap_like "$(tn_exec edge "$MXGATE" metrics --pin-dir "$MXG_PIN" -s "$MXG_SOCK")" $'mxgate_passes_total\\{reason="greylist"\\} [1-9]' \
	"mxgate metrics counts the greylist pass"
tap_like "$(tn_exec edge "$MXGATE" status -s "$MXG_SOCK")" $'greylist: [1-9][0-9]* tuple\\(s\\)' \
	"mxgate status shows the greylist tuples"

# --- a sender that can reach the primary
TN_POSTFIX_MAIN="smtp_bind_address = $TN_IP_snd2
smtp_bind_address6 = $TN_IP6_snd2" tn_postfix_start snd2 sender
tn_postfix_send snd2 a@sender.test direct@example.test "direct"
tap_ok "a sender that reaches the primary delivers there" tn_mail_wait p1 1 30 direct@example.test
not_passed() { ! in_passes "$1"; }
tap_ok "and is never passed" not_passed "$TN_IP_snd2"

# --- the window: the third tuple back after greylist_window
sleep 13
tap_like "$(rcpt_to 192.0.2.54 late@example.test)" "$DEFER" "the tuple back after greylist_window: 451"
none_passed() { ! in_passes 192.0.2.51 && ! in_passes 192.0.2.52 && ! in_passes 192.0.2.54; }
tap_ok "swaks once, an early retry and a retry after the window: none passed" none_passed

# --- the kernel entry expires by itself (pass_ttl 25s from the pass)
expired() { dump | sed -n '/^passes:/,$p' | grep -q "^  $TN_IP_snd .*expired"; }
tap_ok "the pass expires in the kernel by itself" tn_wait 40 expired
tap_unlike "$(banner_from "$TN_IP_snd")" "mxgate-test-backup" \
	"the expired client is steered to the responder again (the primary is up)"
tap_done
