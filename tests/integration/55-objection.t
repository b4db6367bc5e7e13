#!/bin/bash
# The objection in the seed: a sender that cannot
# reach the primary is not a spammer. The sender's Postfix cannot reach p1
# (a route blocks it in the sender's namespace), the edge can, so the edge
# gates. With reply = defer the message stays queued at the sender and is
# delivered to the primary once the block is lifted: nothing bounces.
# With reply = reject it bounces at once: the trade-off, made visible.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 11
tn_postfix_start snd sender

block_p1() {
	tn_block snd "$TN_IP_p1"
	tn_block snd "$TN_IP6_p1"
}
unblock_p1() {
	tn_unblock snd "$TN_IP_p1"
	tn_unblock snd "$TN_IP6_p1"
}
mxg_config reply=defer
mxg_start
tap_ok "gated: the edge reaches the primary" mxg_wait_state example.test gated 8

# --- reply = defer: queued, then delivered to the primary
block_p1
tn_postfix_send snd a@sender.test u@example.test "objection defer"
tap_ok "the sender was told 451 by the backup and deferred the message" \
	tn_wait 15 tn_at_least tn_deferrals snd 1
tap_like "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | tail -n 1)" '451 4\.7\.1' \
	"the deferral carries the responder's 451 4.7.1"
tap_is "$(tn_queue_count snd)" 1 "the message is still queued at the sender"
tap_is "$(tn_bounces snd)" 0 "nothing bounced"
unblock_p1
tn_postfix_flush snd >/dev/null 2>&1
tap_ok "block lifted: the message reaches the primary" tn_mail_wait p1 1 20
tap_is "$(tn_bounces snd)" 0 "still nothing bounced"

# --- reply = reject: the same situation bounces
sed -i 's/^reply = defer$/reply = reject/' "$MXG_CONF"
kill -HUP "$MXG_PID"
rejecting() {
	[ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]
}
tap_ok "after SIGHUP the backup answers 551" tn_wait 5 rejecting
block_p1
tn_postfix_send snd a@sender.test u@example.test "objection reject"
tap_ok "reply = reject: the message bounces" tn_wait 15 tn_at_least tn_bounces snd 1
tap_like "$(grep 'status=bounced' "$TN_DIR/snd/maillog" | tail -n 1)" '551 5\.7\.1' \
	"the bounce carries the responder's 551 5.7.1"
unblock_p1
tap_is "$(tn_mail_count edge)" 0 "the backup's Postfix received nothing in either case"
