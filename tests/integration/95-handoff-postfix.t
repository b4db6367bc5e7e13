#!/bin/bash
# The handoff's dialogue (smtp/handoff_proto.c) against a real Postfix:
# on a listener of its own with smtpd_upstream_proxy_protocol = haproxy,
# Postfix takes the PROXY v2 header's address and port as the client's
# (its log names the sender's real IPv4 and IPv6 address, never
# 127.0.0.1), takes the replayed EHLO and MAIL, answers each RCPT itself
# (its own 554 for a domain it does not serve, relayed as it is; 250 for
# hosted.test, a domain it is the final destination of) and delivers
# exactly the accepted recipient. The same with XCLIENT on a listener that
# authorizes loopback; a listener that does not offer XCLIENT fails the
# handoff, which the client would see as a 4xx. A sender Postfix refuses
# at MAIL (smtpd_delay_reject = no) gets Postfix's own 5xx as the
# recipient's reply, not a 4xx of ours.
set -u
. "$MXG_SRC/tests/lib/testnet.sh"

tn_init 120
tn_up
tn_postfix_start edge relay || tn_die "postfix start failed"
CF=$TN_DIR/edge/postfix
postconf -c "$CF" -M "127.0.0.1:10025/inet=127.0.0.1:10025 inet n - n - - smtpd -o syslog_name=postfix/handoff -o smtpd_upstream_proxy_protocol=haproxy" ||
	tn_die "postconf -M failed"
postconf -c "$CF" -M "127.0.0.1:10026/inet=127.0.0.1:10026 inet n - n - - smtpd -o syslog_name=postfix/handoff-x -o smtpd_authorized_xclient_hosts=127.0.0.1" ||
	tn_die "postconf -M failed"
postconf -c "$CF" -M "127.0.0.1:10027/inet=127.0.0.1:10027 inet n - n - - smtpd -o syslog_name=postfix/handoff-s -o smtpd_upstream_proxy_protocol=haproxy -o smtpd_delay_reject=no -o smtpd_sender_restrictions=reject_non_fqdn_sender" ||
	tn_die "postconf -M failed"
tn_postconf edge "virtual_mailbox_domains = hosted.test" || tn_die "postconf failed"
tn_wait_port edge 127.0.0.1 10025 || tn_die "no proxy listener" # it greets after the header only
tn_wait_port edge 127.0.0.1 10027 || tn_die "no refusing listener"
tn_wait_smtp edge 127.0.0.1 10026 || tn_die "no xclient listener"

SEND=$MXG_OUT/tests/helpers/handoff_send
send() { tn_exec edge "$SEND" "$@"; }

tap_plan 14
out=$(echo "Subject: proxy" | send inet:127.0.0.1:10025 proxy 192.0.2.30 40001 192.0.2.20 25 \
	"EHLO snd.sender.test" "MAIL FROM:<a@sender.test>" \
	"RCPT TO:<u@nowhere.test>" "RCPT TO:<u@hosted.test>")
rc=$?
tap_like "$out" "RCPT RCPT TO:<u@nowhere.test> -> 554 5\.7\.1 <u@nowhere\.test>: Relay access denied" \
	"a domain Postfix does not take: Postfix's own 554, relayed as it is"
tap_like "$out" "RCPT RCPT TO:<u@hosted.test> -> 250 2\.1\.5 Ok" "hosted.test: Postfix's 250"
tap_is "$rc" 0 "DATA after the accepted recipient, and Postfix takes the message: $out"
tap_ok "delivered to hosted.test on the edge" tn_mail_wait edge 1 15 u@hosted.test
tap_is "$(tn_mail_count edge u@nowhere.test)" 0 "nothing for the refused recipient"
tap_ok "Postfix's log names the sender's real address and port from the PROXY header" \
	grep -qE "postfix/handoff/smtpd\[[0-9]+\]: connect from unknown\[192\.0\.2\.30\]" "$TN_DIR/edge/maillog"
tap_like "$(grep "$(echo "$out" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p'): client=" "$TN_DIR/edge/maillog")" \
	"postfix/handoff/smtpd.*client=unknown\[192\.0\.2\.30\]" "the queued message's client is the sender, not loopback"

out=$(echo "Subject: proxy6" | send inet:127.0.0.1:10025 proxy 2001:db8::30 40002 2001:db8::20 25 \
	"HELO snd.sender.test" "MAIL FROM:<>" "RCPT TO:<v@hosted.test>")
tap_is "$?" 0 "IPv6 client, HELO, null sender: delivered ($out)"
tap_ok "Postfix's log names the IPv6 client" \
	grep -qE "connect from unknown\[2001:db8::30\]" "$TN_DIR/edge/maillog"

out=$(echo "Subject: xclient" | send inet:127.0.0.1:10026 xclient 192.0.2.31 40003 192.0.2.20 25 \
	"EHLO other.sender.test" "MAIL FROM:<b@sender.test>" "RCPT TO:<w@hosted.test>")
tap_is "$?" 0 "XCLIENT: delivered ($out)"
tap_ok "Postfix's log names the XCLIENT address" \
	grep -qE "postfix/handoff-x/smtpd\[[0-9]+\]: [0-9A-F]+: client=unknown\[192\.0\.2\.31\]" "$TN_DIR/edge/maillog"

out=$(echo "Subject: no" | send "inet:$TN_IP_edge:25" xclient 192.0.2.32 40004 192.0.2.20 25 \
	"EHLO x.sender.test" "MAIL FROM:<c@sender.test>" "RCPT TO:<x@hosted.test>")
rc=$?
tap_ok "a listener that does not offer XCLIENT fails the handoff (the client gets a 4xx): $out" \
	test "$rc" = 4 -a -n "$(echo "$out" | grep smtpd_authorized_xclient_hosts)"

out=$(echo "Subject: refused" | send inet:127.0.0.1:10027 proxy 192.0.2.33 40005 192.0.2.20 25 \
	"EHLO y.sender.test" "MAIL FROM:<a@nodot>" "RCPT TO:<y@hosted.test>")
rc=$?
tap_like "$out" "RCPT RCPT TO:<y@hosted.test> -> 504 5\.5\.2 <a@nodot>: Sender address rejected" \
	"a sender Postfix refuses at MAIL: Postfix's own 504 as the recipient's reply"
tap_is "$rc$(tn_mail_count edge y@hosted.test)" 30 "no DATA, nothing delivered"
tap_done
