#!/bin/bash
# reply = defer never turns into a bounce. The edge
# is gated with reply = defer and the DEFAULT offender settings; a sending
# Postfix that cannot reach the primary (a route blocks it in its own
# namespace) queues 12 messages for 12 recipients of the gated domain and
# retries them every 2-4 s (one session per message: connection caching
# is off), many rounds. When every RCPT counted, and all 12
# bounced with 550 after five deferrals. Now nothing bounces, nothing is
# escalated, and every message reaches the primary once the block lifts.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

N=12
mxg_scene 180
tap_plan 9
tn_postfix_start snd sender

# offender_threshold= (empty): the key is left out, the defaults apply.
mxg_config reply=defer offender_threshold=
tap_unlike "$(cat "$MXG_CONF")" "offender" "the config leaves the offender settings at their defaults"
mxg_start
tap_ok "gated: the edge reaches the primary" mxg_wait_state example.test gated 10

tn_block_host snd p1
for i in $(seq "$N"); do
	tn_postfix_send snd a@sender.test "u$i@example.test" "queued $i" ||
		tap_diag "submitting message $i failed"
done
# Five rounds of 12 sessions: well past any per-RCPT or per-session
# count of the old escalation (5 per hour).
tap_ok "the sender retried every message at least five times (60 deferrals)" \
	tn_wait 90 tn_at_least tn_deferrals snd $((5 * N))
tap_is "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | grep -vc '451 4\.7\.1 example\.test: this is a backup MX')" 0 \
	"every deferral carries the responder's 451 4.7.1 naming the primary"
tap_is "$(tn_bounces snd)" 0 "nothing bounced"
tap_unlike "$(cat "$MXG_LOG")" "(rcpt=[^ ]*|reply)=550" "the responder never answered 550"
# Under load a probe round may fail and open the gate for a moment (fail
# open): a message may then go to the backup's Postfix. None is lost.
tap_is "$(($(tn_queue_count snd) + $(tn_mail_count edge)))" "$N" \
	"all $N messages are still queued at the sender (or were let through when the gate opened)"

tn_unblock_host snd p1
tn_postfix_flush snd >/dev/null 2>&1
delivered() { [ $(($(tn_mail_count p1) + $(tn_mail_count edge))) -ge "$N" ]; }
tap_ok "block lifted: all $N messages are delivered (to the primary)" tn_wait 60 delivered
tap_is "$(tn_bounces snd)" 0 "still nothing bounced"
tap_done
