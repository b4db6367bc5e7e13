#!/bin/bash
# The responder hands the recipients it lets through to the backup's own
# Postfix, in the same session, on a listener that trusts the PROXY v2
# header (smtpd_upstream_proxy_protocol = haproxy), configured from the
# line `mxgate handoff-config postfix` prints. The edge is gated for
# example.test (primary up, reply = defer) and is also the final
# destination of hosted.test: mail for hosted.test that reaches the gated
# address is delivered (Postfix's log names the sender's real address),
# not deferred until it expires; in one transaction a gated recipient gets
# the responder's 451 and a handed-off one Postfix's 250, and exactly that
# one is delivered; postmaster@ is delivered in the session and gives the
# client no pass (its next session to another recipient is still
# steered); with the handoff listener down, a real Postfix sender gets
# 451 4.4.1, keeps the message and delivers it once the listener is back.
# A 3 MB message is spliced through whole; metrics and status count the
# handoffs (ok, failed by reason, octets). The backup's Postfix discards
# DSN (smtpd_discard_ehlo_keywords = dsn, a common hardening): a client's
# RET=, ENVID= and NOTIFY= are not replayed to it (it would answer 501,
# and the client 451 at every retry), and the message is delivered.
set -u
TN_MAIL_DOMAINS=hosted.test
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 180
{
	tn_dns_std_zone
	echo "hosted.test.       300 IN MX   10 mx2.example.test."
} | tn_dns_zone
tn_dns_reload
CF=$TN_DIR/edge/postfix
# The handoff listener exactly as `mxgate handoff-config postfix` prints it.
mxg_config reply=defer handoff=inet:127.0.0.1:10025
entry=$("$MXGATE" handoff-config postfix -c "$MXG_CONF" | grep -v '^#')
[ "$entry" = "127.0.0.1:10025 inet n - n - - smtpd -o syslog_name=postfix/handoff -o smtpd_upstream_proxy_protocol=haproxy" ] ||
	tn_die "handoff-config printed: $entry"
LISTENER="127.0.0.1:10025/inet=$entry"
postconf -c "$CF" -M "$LISTENER" || tn_die "postconf -M failed"
tn_postconf edge "smtpd_banner = \$myhostname ESMTP mxgate-test-backup" \
	"smtpd_discard_ehlo_keywords = dsn" || tn_die "reload failed"
tn_wait_port edge 127.0.0.1 10025 || tn_die "no handoff listener"
tn_postfix_start snd sender

tap_plan 21
mxg_start
tap_ok "example.test gated (its primary is up)" mxg_wait_state example.test gated 10

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@hosted.test \
	--header "Subject: hosted" --timeout 15 2>&1)
tap_unlike "$out" "mxgate-test-backup" "the session is the responder's (steered)"
tap_like "$out" "<- *250 2\.0\.0 Ok: queued as" "hosted.test on the gated address: Postfix's 250 after DATA"
tap_ok "delivered to hosted.test" tn_mail_wait edge 1 15 u@hosted.test
tap_ok "Postfix's log names the sender's real address" \
	grep -qE "postfix/handoff/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[$TN_IP_snd\]" "$TN_DIR/edge/maillog"

# DSN parameters the responder's client sent (the responder takes them)
# and the backup's Postfix does not offer: left out of the replay.
dsn_session() {
	tn_exec snd python3 - "$TN_IP_edge" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=20)
f = s.makefile("rb")
def reply():
    out = []
    while True:
        line = f.readline().decode(errors="replace").rstrip("\r\n")
        out.append(line)
        if len(line) < 4 or line[3] != "-":
            return out
def say(cmd):
    s.sendall(cmd.encode() + b"\r\n")
    r = reply()
    print(cmd.split(" ")[0], r[-1])
reply()
say("EHLO client.sender.test")
say("MAIL FROM:<a@sender.test> RET=HDRS ENVID=dsn+2Dtest SIZE=200")
say("RCPT TO:<dsn@hosted.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;dsn@hosted.test")
say("DATA")
say("Subject: dsn\r\n\r\nwith DSN parameters\r\n.")
say("QUIT")
PY
}
out=$(dsn_session 2>&1)
tap_like "$out" "RCPT 250 2\.1\.5" "DSN parameters the MTA does not offer: its 250 to the RCPT, not our 451" || tap_diag "$out"
tap_ok "and the message is delivered" tn_mail_wait edge 1 15 dsn@hosted.test

# A message of 3 MB: copied after the 354 with splice(2) (plaintext),
# arriving whole.
BIG=$TN_DIR/big.txt
awk 'BEGIN { for (i = 0; i < 40000; i++) printf "line %06d %070d\n", i, 0; print "END-OF-BIG" }' >"$BIG"
out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to big@hosted.test \
	--header "Subject: big" --body "$BIG" --suppress-data --timeout 60 2>&1)
tap_like "$out" "<- *250 2\.0\.0 Ok: queued as" "a 3 MB message handed off: Postfix's 250 after DATA"
big_whole() {
	local f
	f=$(tn_mail_find edge "^Delivered-To: big@hosted.test") && grep -q END-OF-BIG $f
}
tap_ok "delivered whole (its last line is there)" tn_wait 30 big_whole
tap_ok "the session line says the message was spliced" \
	tn_wait 10 grep -q "rcpt=hosted.test=250 .*end=handed off (splice)" "$MXG_LOG"

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test,v@hosted.test \
	--header "Subject: mixed" --timeout 15 2>&1)
tap_like "$out" "<\*\* 451 4\.7\.1 example\.test" "the gated recipient: the responder's 451"
tap_like "$out" "<-  250 2\.1\.5 Ok" "the handed-off recipient: Postfix's 250"
tap_ok "exactly the handed-off recipient is delivered" tn_mail_wait edge 1 15 v@hosted.test
tap_is "$(tn_mail_count edge u@example.test)$(tn_mail_count p1 u@example.test)" 00 \
	"nothing for the gated one"

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to postmaster@example.test \
	--header "Subject: pm" --timeout 15 2>&1)
tap_like "$out" "<- *250 2\.0\.0 Ok: queued as" "postmaster@example.test delivered in the session"
tap_like "$(mxg_rcpt example.test)" "^451 4\.7\.1 example\.test" \
	"the same client's next session to another recipient is still steered (no pass)"

# The handoff listener down: 451 4.4.1, and nothing lost.
postconf -c "$CF" -MX "127.0.0.1:10025/inet" && tn_postconf edge "smtpd_banner = \$myhostname ESMTP mxgate-test-backup"
tn_wait 10 sh -c "! ip netns exec $(tn_ns edge) bash -c 'exec 3<>/dev/tcp/127.0.0.1/10025' 2>/dev/null"
tn_block_host snd p1
tn_postfix_send snd a@sender.test w@hosted.test "down" || tap_diag "submitting failed"
tap_ok "listener down: the sender is deferred with 451 4.4.1" \
	tn_wait 30 sh -c "grep 'status=deferred' '$TN_DIR/snd/maillog' | grep -q '451 4\.4\.1'"
postconf -c "$CF" -M "$LISTENER" && tn_postconf edge "smtpd_banner = \$myhostname ESMTP mxgate-test-backup"
tn_wait_port edge 127.0.0.1 10025
tn_postfix_flush snd >/dev/null 2>&1
tap_ok "listener back: the kept message is delivered" tn_mail_wait edge 1 60 w@hosted.test
tap_is "$(tn_bounces snd)" 0 "no bounce"

# The handoffs counted: the controller's metrics and status from the
# responder's reports (at most one a second).
metric() {
	tn_exec edge "$MXGATE" metrics --pin-dir "$MXG_PIN" -s "$MXG_SOCK" |
		awk -v k="$1" '$1 == k { print $2 }'
}
counted() {
	[ "$(metric mxgate_handoff_ok_total)" -ge 5 ] &&
		[ "$(metric 'mxgate_handoff_failed_total{reason="connect"}')" -ge 1 ] &&
		[ "$(metric 'mxgate_handoff_bytes_total{direction="to_mta"}')" -gt 3000000 ]
}
tap_ok "metrics: 5 handoffs ok, a failure to connect, the 3 MB copied to the MTA" tn_wait 10 counted
tap_is "$(mxg_status | jq -c '.counters.responder.handoff | [.ok >= 5, .failed.connect >= 1, .failed.timeout, .bytes_to_mta > 3000000, .started >= 6]')" \
	"[true,true,0,true,true]" "status JSON counts them too"
tap_done
