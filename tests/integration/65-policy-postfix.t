#!/bin/bash
# The policy delegation server with a real Postfix (check_policy_service):
# one shared backup address serves example.test, whose primary is up
# (gated: 551 naming the primary), and other.test, whose primary is down
# (DUNNO: the mail is accepted). With the server gone, Postfix's
# smtpd_policy_service_default_action = DUNNO keeps mail flowing.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/testnet.sh"

tn_init 120
tn_up

# The main.cf lines docs/deployment.md gives.
TN_POSTFIX_MAIN="smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10040
smtpd_policy_service_default_action = DUNNO
smtpd_policy_service_timeout = 10s
smtpd_policy_service_try_limit = 1"
tn_postfix_start edge backup

tn_exec edge "$MXG_OUT/tests/helpers/policy_serve" inet:127.0.0.1:10040 0 \
	example.test=gated:mx1.example.test other.test=open \
	>"$TN_DIR/policy.out" 2>"$TN_DIR/policy.err" &
tn_wait 5 grep -q ready "$TN_DIR/policy.out" || tap_bail "policy_serve did not start: $(cat "$TN_DIR/policy.err")"

tap_plan 7
out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test --quit-after RCPT 2>&1)
tap_like "$out" "<\*\* 551 5\.7\.1 .*Recipient address rejected: example\.test: this is a backup MX and the primary MX mx1\.example\.test is online; please try mx1\.example\.test" \
	"gated domain: 551 5.7.1 naming the primary, as the responder says it"

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@other.test 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued" "domain whose primary is down: accepted"
tap_ok "and stored by the backup's Postfix" tn_mail_wait edge 1 10

out=$(tn_swaks snd --server "$TN_IP6_edge" --from a@sender.test --to u@EXAMPLE.test. --quit-after RCPT 2>&1)
tap_like "$out" "<\*\* 551 5\.7\.1 .*example\.test: this is a backup MX" "over IPv6 and whatever the case: 551"

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@nowhere.test --quit-after RCPT 2>&1)
tap_like "$out" "<\*\* 554 5\.7\.1 .*Relay access denied" "a domain not served is Postfix's own business"

# The socket side: one connection, a request with a 5000-octet line
# (DUNNO), then a good one (551), then 150 attributes (DUNNO), pipelined.
raw=$(tn_exec edge timeout 10 /usr/bin/python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 10040), 3); s.settimeout(5)
good = b"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=u@example.test\n\n"
req = b"request=smtpd_access_policy\nprotocol_state=RCPT\nx=" + b"a" * 5000 + b"\nrecipient=u@example.test\n\n"
req += good + b"request=smtpd_access_policy\nprotocol_state=RCPT\n" + b"y=1\n" * 150 + b"recipient=u@example.test\n\n"
s.sendall(req)
out = b""
while out.count(b"\n\n") < 3:
    d = s.recv(4096)
    if not d: break
    out += d
print(" | ".join(a.decode()[:13] for a in out.split(b"\n\n") if a))
')
tap_is "$raw" "action=DUNNO | action=551 5. | action=DUNNO" \
	"an over-long line or too many attributes spoil one request only (DUNNO), the next is answered"

pol=$(awk '/^ready/ { print $2 }' "$TN_DIR/policy.out")
kill "$pol"
tn_wait 5 sh -c "! kill -0 $pol"
out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued" "policy server gone: Postfix fails open (default_action = DUNNO)"
tap_done
