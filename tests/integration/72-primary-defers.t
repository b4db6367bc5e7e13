#!/bin/bash
# A primary that answers the probe but does not take mail
# now must not make the backup bounce mail. The probe goes on past EHLO:
# MAIL FROM:<>, RCPT TO:<postmaster@DOMAIN>, RSET, QUIT. A real Postfix
# primary that greylists (`smtpd_recipient_restrictions = defer`: 450 at
# RCPT) or is out of disk (452 at MAIL) counts as not taking mail, so the
# domain opens; a sending Postfix, deferred by the primary, tries the
# backup in the same delivery and is not bounced (reply = reject, the
# default: before, the probe stopped at EHLO, the domain stayed gated and
# the sender bounced on the 551).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 12
tn_postfix_start snd sender
# Postfix tries at most smtp_mx_session_limit (2) addresses per delivery:
# both would be the primary's (IPv4 and IPv6). Other MTAs try every MX;
# let this sender reach the backup in the same delivery, as they do.
tn_postconf snd "smtp_mx_session_limit = 4"

mxg_config
mxg_start
tap_ok "gated while the primary takes mail" mxg_wait_state example.test gated 10
tap_like "$(tn_maillog p1)" "connect from [^ ]*\\[($TN_IP_edge|$TN_IP6_edge)\\] ehlo=1 mail=1 rcpt=1 rset=1 quit=1" \
	"the probe went through MAIL, RCPT, RSET and QUIT"

# --- greylisting: 450 4.7.1 at RCPT
tn_postconf p1 "smtpd_recipient_restrictions = defer"
tap_ok "primary answers 450 at RCPT: the domain opens" mxg_wait_state example.test open 10
probes=$(mxg_status | jq -c '[.domains[0].probes[] | {result, code}]')
tap_like "$probes" '"result":"no-mail","code":450' "status: probe result no-mail, code 450 ($probes)"
tap_ok "the sender's Postfix takes a message for example.test" \
	tn_postfix_send snd a@sender.test grey@example.test
tap_ok "deferred by the primary, it reaches the backup" tn_mail_wait edge 1 30 grey@example.test ||
	tap_diag "$(tn_maillog snd)"
tap_is "$(tn_bounces snd)" 0 "no bounce at the sender"

# --- out of disk: 452 4.3.1 at MAIL (smtpd_delay_reject = no: at MAIL, not RCPT)
tn_postconf p1 "smtpd_recipient_restrictions ="
tap_ok "primary takes mail again: gated" mxg_wait_state example.test gated 15
tn_postconf p1 "smtpd_delay_reject = no" \
	"smtpd_sender_restrictions = check_sender_access static:{452 4.3.1 Insufficient system storage}"
tap_ok "primary answers 452 at MAIL: the domain opens" mxg_wait_state example.test open 10
tap_ok "the sender's Postfix takes another message" \
	tn_postfix_send snd a@sender.test disk@example.test
tap_ok "deferred by the primary, it reaches the backup" tn_mail_wait edge 1 30 disk@example.test
tap_is "$(tn_bounces snd)" 0 "still no bounce at the sender"
