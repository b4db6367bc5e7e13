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

tap_plan 7
# fall 3: this test is about the handoff, not about failing open, so one
# probe round that runs past probe_timeout on a loaded host does not open
# the gate between the deferral and the retry (the timers scale with the
# machine, testnet.sh); the mail must take the handoff path.
mxg_config reply=greylist greylist_delay=1s greylist_window=60s handoff=inet:127.0.0.1:10025 \
	fall=3
mxg_start
tap_ok "example.test gated (its primary is up)" mxg_wait_state example.test gated 10
tn_block_host snd p1
tn_postfix_send snd a@sender.test g@example.test "greylisted" || tap_diag "submitting failed"
tap_ok "delivered by the backup's Postfix" tn_mail_wait edge 1 60 g@example.test
tap_is "$(tn_deferrals snd)" 1 "after exactly one deferral: the retry that earned the pass delivered it"
tap_like "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | head -n 1)" '451 4\.7\.1 example\.test' \
	"that deferral was the greylisting"
# The retry that earned the pass comes through the handoff listener,
# which names the sender from the PROXY header (never loopback), and not
# to port 25 directly (the gate stayed gated). postlogd writes the log on
# its own time: wait for the line. The sender binds both families and
# tries the backup over IPv6 or IPv4.
tap_ok "the backup's Postfix got it through the handoff, naming the sender's real address" \
	tn_wait 10 grep -qE "postfix/handoff/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[($TN_IP_snd|$TN_IP6_snd)\]" "$TN_DIR/edge/maillog"
direct=$(grep -E "postfix/(handoff/)?smtpd\[[0-9]+\]: [0-9A-F]+: client=" "$TN_DIR/edge/maillog" |
	grep -vE "postfix/handoff/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[($TN_IP_snd|$TN_IP6_snd)\]")
tap_is "$direct" "" "no other session of the backup's Postfix took mail (not directly on port 25, not as loopback)"
tap_is "$(tn_bounces snd)" 0 "no bounce"
tap_done
