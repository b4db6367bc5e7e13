#!/bin/bash
# A sender whose message needs SMTPUTF8 (a UTF-8 address) is deferred by
# the gate, not bounced. Postfix fails such a message permanently at a
# server whose EHLO does not offer SMTPUTF8 (5.6.7 "SMTPUTF8 is required,
# but was not offered by host", no next MX), and a UTF-8 octet in a
# command drew the responder's 501: the backup's own Postfix would have
# taken it. The sender's Postfix cannot reach the primary (a route blocks
# it in its namespace), the edge gates with reply = defer: the message
# must be deferred with the responder's 451, stay queued, and reach the
# primary once the block lifts.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 7
tn_postfix_start snd sender

mxg_config reply=defer
mxg_start
tap_ok "gated: the edge reaches the primary" mxg_wait_state example.test gated 8

tn_block_host snd p1
# Submitted with SMTPUTF8 (RFC 6531) to the sender's Postfix: it keeps the
# request with the message and needs SMTPUTF8 of every server it relays to.
submit() {
	tn_exec snd python3 - "$(tn__first_addr snd)" "$(cat "$TN_DIR/snd/postfix.port" 2>/dev/null || echo 25)" <<'PY'
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10)
s.ehlo("sender.test")
msg = "From: j\u00f6rg@sender.test\r\nTo: j\u00fcrgen@example.test\r\nSubject: utf8\r\n\r\nbody\r\n"
s.sendmail("j\u00f6rg@sender.test", ["j\u00fcrgen@example.test"], msg.encode("utf-8"),
           mail_options=["SMTPUTF8"])
s.quit()
PY
}
tap_ok "the sender's Postfix takes a message with SMTPUTF8 and UTF-8 addresses" submit
tap_ok "the sender was told 451 by the backup and deferred the message" \
	tn_wait 20 tn_at_least tn_deferrals snd 1
tap_like "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | tail -n 1)" '451 4\.7\.1' \
	"the deferral carries the responder's 451 4.7.1, not 5.6.7 or a 501"
tap_is "$(tn_bounces snd)" 0 "nothing bounced" ||
	tap_diag "$(grep 'status=bounced' "$TN_DIR/snd/maillog")"
tn_unblock_host snd p1
tn_postfix_flush snd >/dev/null 2>&1
tap_ok "block lifted: the message reaches the primary" tn_mail_wait p1 1 30
tap_is "$(tn_bounces snd)" 0 "still nothing bounced"
tap_done
