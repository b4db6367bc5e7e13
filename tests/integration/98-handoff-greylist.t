#!/bin/bash
# reply = greylist with a handoff: a real Postfix sender that cannot reach
# the primary is greylisted by the backup once, and its first retry after
# greylist_delay is delivered in that same session through the backup's
# Postfix (one deferral, not two); the backup's Postfix log names the
# sender's real address, not loopback.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
CF=$TN_DIR/edge/postfix
postconf -c "$CF" -M "127.0.0.1:10025/inet=127.0.0.1:10025 inet n - n - - smtpd -o syslog_name=postfix/handoff -o smtpd_upstream_proxy_protocol=haproxy" ||
	tn_die "postconf -M failed"
tn_postconf edge "smtpd_banner = \$myhostname ESMTP mxgate-test-backup" || tn_die "reload failed"
tn_wait_port edge 127.0.0.1 10025 || tn_die "no handoff listener"
TN_POSTFIX_MAIN="smtp_bind_address = $TN_IP_snd
smtp_bind_address6 = $TN_IP6_snd" tn_postfix_start snd sender

tap_plan 6
mxg_config reply=greylist greylist_delay=1s greylist_window=60s handoff=inet:127.0.0.1:10025
mxg_start
tap_ok "example.test gated (its primary is up)" mxg_wait_state example.test gated 10
tn_block_host snd p1
tn_postfix_send snd a@sender.test g@example.test "greylisted" || tap_diag "submitting failed"
tap_ok "delivered by the backup's Postfix" tn_mail_wait edge 1 60 g@example.test
tap_is "$(tn_deferrals snd)" 1 "after exactly one deferral: the retry that earned the pass delivered it"
tap_like "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | head -n 1)" '451 4\.7\.1 example\.test' \
	"that deferral was the greylisting"
# The retry normally comes through the handoff listener; if a probe round
# opened the gate meanwhile (fail open on a loaded host) it reaches port 25
# directly. Either way Postfix must name the sender, and the handoff
# listener must never have seen the mail as coming from loopback (test 95
# proves the PROXY header on that listener by itself). postlogd writes
# the log on its own time: wait for the line. The sender binds both
# families and tries the backup over IPv6 or IPv4.
tap_ok "the backup's Postfix log names the sender's real address, never loopback" \
	tn_wait 10 sh -c "grep -qE 'postfix/(handoff/)?smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[($TN_IP_snd|$TN_IP6_snd)\]' '$TN_DIR/edge/maillog' &&
		! grep -qE 'postfix/handoff/smtpd\[[0-9]+\]: [0-9A-F]+: client=[^ ]*\[127\.0\.0\.1\]' '$TN_DIR/edge/maillog'"
tap_is "$(tn_bounces snd)" 0 "no bounce"
tap_done
