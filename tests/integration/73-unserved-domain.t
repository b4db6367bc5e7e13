#!/bin/bash
# A domain the backup's Postfix accepts but mxgate does
# not serve (a postmaster added it to Postfix and forgot mxgate) is
# deferred, never bounced, while the address is gated. extra.test has the
# same MX hosts as example.test; the sender cannot reach the primary, so it
# tries the backup, whose address is gated for example.test: the responder
# answers extra.test 451 4.7.1 (it used to be 550 relaying denied, and the
# sender bounced). Once the sender reaches the primary, the mail is
# delivered.
set -u
TN_MAIL_DOMAINS=extra.test
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 9
{
	tn_dns_std_zone
	echo "extra.test.        300 IN MX   10 mx1.example.test."
	echo "extra.test.        300 IN MX   20 mx2.example.test."
} | tn_dns_zone
tn_dns_reload
tn_postfix_start snd sender

mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
tap_like "$(mxg_rcpt extra.test)" '^451 4\.7\.1 <extra\.test>: not served by this backup MX now' \
	"RCPT for a domain mxgate does not serve: 451 4.7.1, not 550"

tap_ok "mxgate status names extra.test among the unserved recipient domains" \
	tn_wait 5 sh -c "$MXGATE status --json -s $MXG_SOCK | jq -e '.unserved_domains[] | select(.name == \"extra.test\")'"
tap_like "$("$MXGATE" status -s "$MXG_SOCK")" "unserved recipient domains .*extra\.test: 1 time" \
	"and the text status too"

tn_block_host snd p1
tn_postfix_send snd a@sender.test u@extra.test "unserved" ||
	tap_diag "submitting the message failed"
tap_ok "the sender tried the backup and was deferred with the 451" \
	tn_wait 30 sh -c "grep 'status=deferred' '$TN_DIR/snd/maillog' | grep -q '451 4\.7\.1 <extra\.test>'"
tap_is "$(tn_bounces snd)" 0 "no bounce"
tap_is "$(tn_queue_count snd)" 1 "the message waits in the sender's queue"

tn_unblock_host snd p1
tn_postfix_flush snd >/dev/null 2>&1
tap_ok "the sender reaches the primary: delivered" tn_mail_wait p1 1 60 u@extra.test
tap_is "$(tn_bounces snd)" 0 "still no bounce"
