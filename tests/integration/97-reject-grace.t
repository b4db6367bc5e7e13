#!/bin/bash
# reply = reject with a reject grace: after a probe round in which the
# primary failed, the domain answers 451 (the defer text) instead of 551
# until reject_grace has passed since that round, then 551 again. Senders
# remember a failed primary (Exim skips it for 15 minutes, OpenSMTPD
# disables the route) and keep coming to the backup after it is back; a
# 551 then would bounce their mail. Both the responder and the policy
# service answer so, and status and metrics show it. reject_grace is 20 s
# here (an hour by default).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

SOCK=
mxg_scene 150
tap_plan 16

SOCK=$TN_DIR/policy.sock
mxg_config reply=reject reject_grace=20s policy_listen=unix:$SOCK
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*please try mx1\.example\.test' \
	"no failure seen yet: 551"

# The policy service, asked as Postfix asks it.
ASK='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.51.100.7\n"
          b"instance=a1\nrecipient=u@example.test\n\n")
print(s.recv(1024).decode().strip())'
policy() { /usr/bin/python3 -c "$ASK" "$SOCK" 2>&1; }
reason() { mxg_status | jq -r '.domains[] | select(.name == "example.test") | .reason'; }
grace_metric() { "$MXGATE" metrics -s "$MXG_SOCK" | awk '$1 == "mxgate_domains_reject_grace" { print $2 }'; }

# The primary fails a round, then comes back.
tn_postfix_stop p1
tap_ok "primary stopped: the domain opens" mxg_wait_state example.test open 5
t_failed=$(mxg_ms)
tn_postfix_start p1 primary
# Wait while it is still failing rounds: the grace counts from the last.
is_back() { [ "$(reason)" != primary_down ]; }
tn_wait 10 is_back
t_failed=$(mxg_ms)
tap_ok "the primary is back: gated again (after recovery_grace and rise)" \
	mxg_wait_state example.test gated 15
tap_is "$(reason)" reject_grace "status: reason reject_grace"
tap_like "$("$MXGATE" status -s "$MXG_SOCK" | grep '^domain example.test')" \
	'gated \(primary up, but it failed a round lately: 451, not 551, until reject_grace ends\).*reject grace ends in [0-9]+ms' \
	"status text: says why, and when the grace ends"
tap_is "$(mxg_status | jq -r '.domains[] | select(.name == "example.test") | "\(.reply) \(.reject_grace_running)"')" \
	"defer true" "status JSON: reply defer, reject_grace_running"
tap_is "$(grace_metric)" 1 "metrics: mxgate_domains_reject_grace 1"
reply=$(mxg_rcpt example.test)
tap_like "$reply" '^451 4\.7\.1 example\.test: this is a backup MX and the primary MX mx1\.example\.test is online; please try mx1\.example\.test$' \
	"a message in the grace: 451 4.7.1 with the defer text, not 551"
tap_like "$(policy)" '^action=451 4\.7\.1 .*please try mx1\.example\.test' "the policy service answers 451 too"
elapsed=$(($(mxg_ms) - t_failed))
[ "$elapsed" -lt 20000 ] || tap_diag "the grace checks took ${elapsed}ms, longer than reject_grace (20s): the machine is slow"

# After the grace: 551 again.
grace_over() { [ "$(reason)" = primary_up ]; }
tap_ok "the grace ends about reject_grace (20s) after the last failed round" tn_wait 30 grace_over
took=$(($(mxg_ms) - t_failed))
tap_ok "not before 20s (${took}ms)" test "$took" -ge 18000
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*please try mx1\.example\.test' "after the grace: 551 again"
tap_like "$(policy)" '^action=551 5\.7\.1 ' "and from the policy service"
tap_is "$(grace_metric)" 0 "metrics: mxgate_domains_reject_grace 0"
tap_like "$(grep -E 'example\.test.*reject_grace|reject_grace.*example\.test' "$MXG_LOG" | head -n 1)" \
	'example\.test' "the log names the reason change"
tap_done
