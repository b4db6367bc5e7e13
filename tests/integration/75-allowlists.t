#!/bin/bash
# Allowlists, end to end (real DNS, Postfix, mxgated, tc gate):
# - pass_recipients (default postmaster abuse, RFC 5321 4.5.1): the
#   responder cannot hand a live session to the MTA, so it answers 451
#   4.7.1 telling the sender to retry and passes that client at once; a
#   real Postfix sender that cannot reach the primary gets its message to
#   postmaster@ delivered by the backup's Postfix on its retry. A quoted
#   local part ("postmaster"@) is the same mailbox, and a bare
#   <postmaster> (no domain) is the served domains' postmaster: both let
#   through, never 551 or "not served".
# - pass_clients: a listed address or network is never steered, IPv4
#   and IPv6; its neighbours are.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 24
tn_addr_add snd 192.0.2.44
tn_addr_add snd 2001:db8::44
tn_addr_add snd 2001:db8::45
tn_addr_add snd 192.0.2.61
tn_addr_add snd 192.0.2.62
tn_addr_add snd 2001:db8::46

PASSED='^451 4\.7\.1 <example\.test>: you may deliver through this backup MX now; please try again'
dump() { tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN"; }
banner_from() { # banner_from SRC SERVER
	tn_swaks snd --server "$2" --local-interface "$1" --quit-after CONNECT --timeout 3 2>&1 |
		awk '/^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
rcpt_to() { # rcpt_to SRC RCPT (IPv6 sources to the edge's IPv6 address)
	local server=$TN_IP_edge
	case $1 in *:*) server=$TN_IP6_edge ;; esac
	tn_swaks snd --server "$server" --local-interface "$1" --from a@sender.test --to "$2" \
		--quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

mxg_config pass_clients="192.0.2.44/30 2001:db8::44/128"
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10

# --- pass_clients
tap_like "$(dump)" $'pass_nets:\n(  [^\n]*\n)*  192\\.0\\.2\\.44/30' "mxgate dump lists pass_clients 192.0.2.44/30"
tap_like "$(dump)" "  2001:db8::44/128" "and 2001:db8::44/128"
tap_like "$(banner_from 192.0.2.44 "$TN_IP_edge")" "mxgate-test-backup" \
	"a pass_clients network (IPv4) is never steered: the backup's Postfix greets"
tap_like "$(banner_from 2001:db8::44 "$TN_IP6_edge")" "mxgate-test-backup" \
	"a pass_clients address (IPv6) is never steered"
tap_unlike "$(banner_from "$TN_IP_snd" "$TN_IP_edge")" "mxgate-test-backup" \
	"its IPv4 neighbour outside the network is steered to the responder"
tap_unlike "$(banner_from "$TN_IP6_snd" "$TN_IP6_edge")" "mxgate-test-backup" \
	"its IPv6 neighbour is steered too"
tap_like "$(dump)" "pass_client_net +[1-9]" "the tc program counted pass_client_net"

# --- pass_recipients: swaks
tap_like "$(rcpt_to 2001:db8::45 u@example.test)" '^551 5\.7\.1 ' "an ordinary recipient gets 551"
tap_like "$(rcpt_to 2001:db8::45 Postmaster@example.test)" "$PASSED" \
	"postmaster@ (any case): 451 4.7.1 asking for a retry"
passed6() { dump | grep -q "^  2001:db8::45 .*fresh.*recipient"; }
tap_ok "the client is in the kernel's pass map" tn_wait 5 passed6
tap_like "$(banner_from 2001:db8::45 "$TN_IP6_edge")" "mxgate-test-backup" \
	"its next connection goes to the backup's Postfix"
tap_like "$(cat "$MXG_LOG")" "pass: client 2001:db8::45 passed for 86400s: it asked for a pass_recipients address" \
	"the log says when and why the client was passed"
tap_like "$(rcpt_to 192.0.2.62 '"postmaster"@example.test')" "$PASSED" \
	'<"postmaster"@example.test> (a quoted local part) is postmaster@: 451 asking for a retry, not 551'
tap_like "$(rcpt_to 2001:db8::46 postmaster)" '^451 4\.7\.1 you may deliver through this backup MX now; please try again' \
	"a bare <postmaster> (RFC 5321 4.5.1) is let through too, not 451 not served"
passed_bare() { dump | grep -q "^  2001:db8::46 .*fresh.*recipient"; }
tap_ok "and that client is passed" tn_wait 5 passed_bare

# --- pass_recipients: a real Postfix sender that cannot reach the primary
# (from its own first addresses, which are neither listed nor passed yet)
TN_POSTFIX_MAIN="smtp_bind_address = $TN_IP_snd
smtp_bind_address6 = $TN_IP6_snd" tn_postfix_start snd sender
tn_block_host snd p1
tn_postfix_send snd a@sender.test abuse@example.test "to abuse"
tap_ok "the sender's message to abuse@ is delivered by the backup's Postfix on a retry" \
	tn_mail_wait edge 1 30 abuse@example.test
tap_like "$(grep 'status=deferred' "$TN_DIR/snd/maillog" | head -n 1)" '451 4\.7\.1 .*you may deliver through this backup MX now' \
	"its first try was deferred with the responder's 451"
tap_is "$(tn_bounces snd)" 0 "nothing bounced"
tap_ok "mxgate status --json counts the pass_recipients hits and passes" \
	test "$(mxg_status | jq '.counters.allowlist_hits.pass_recipients >= 2 and .counters.passes.recipient >= 2')" = true

# --- a reload that adds to pass_recipients reaches the responder (the
# child keeps the settings it was started with: it is started anew)
tap_like "$(rcpt_to 192.0.2.61 hostmaster@example.test)" '^551 5\.7\.1 ' \
	"hostmaster@ is not a default pass_recipients address: 551"
old_pid=$(mxg_status | jq -r .responder.pid)
mxg_config pass_clients="192.0.2.44/30 2001:db8::44/128" pass_recipients="postmaster abuse hostmaster"
kill -HUP "$MXG_PID"
renewed() {
	local now
	now=$(mxg_status | jq -r '"\(.responder.state) \(.responder.pid)"')
	case $now in "running $old_pid" | "running 0") return 1 ;; running\ *) return 0 ;; *) return 1 ;; esac
}
tap_ok "the reload starts a new responder, and it is ready" tn_wait 10 renewed
tap_like "$(cat "$MXG_LOG")" "pass_recipients, user, helo_name, connection limits or offender settings changed; restarting it with them" \
	"the log says why the responder was restarted"
tap_like "$(rcpt_to 192.0.2.61 hostmaster@example.test)" "$PASSED" \
	"after the reload hostmaster@ gets the pass (451 4.7.1 asking for a retry)"
tap_done
