#!/bin/bash
# Allowlists with gate = nft in its own table inet mxgate (real
# DNS, Postfix, mxgated): a pass_clients network (set passnet4/passnet6)
# is never steered, its neighbours are; a postmaster@ recipient passes the
# client into set pass4 with a timeout (the kernel expires it by itself),
# and its next connection reaches the backup's Postfix. When the table
# goes (`nft flush ruleset`, an administrator's `nft delete table`), the
# controller makes it again from its loop without waiting on the kernel:
# gated addresses, pass_clients and passes are back, and the loop never
# stalled.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
command -v nft >/dev/null || tap_skip_all "nft not installed"
tap_plan 18
tn_addr_add snd 192.0.2.44
tn_addr_add snd 192.0.2.50
tn_addr_add snd 2001:db8::44

PASSED='^451 4\.7\.1 <example\.test>: you may deliver through this backup MX now; please try again'
banner_from() { # banner_from SRC SERVER
	tn_swaks snd --server "$2" --local-interface "$1" --quit-after CONNECT --timeout 3 2>&1 |
		awk '/^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
rcpt_to() { # rcpt_to SRC RCPT
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$1" --from a@sender.test --to "$2" \
		--quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
mail_from() { # mail_from SRC RCPT: the reply to the end of DATA
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$1" --from a@sender.test --to "$2" \
		--timeout 5 2>&1 |
		awk '/-> \./ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

mxg_config gate=nft interfaces= offender_threshold=0 pass_clients="192.0.2.44/30 2001:db8::44/128"
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10

tap_like "$(tn_exec edge nft list set inet mxgate passnet4)" "192\.0\.2\.44/30" \
	"pass_clients are in set passnet4 as a network"
tap_like "$(tn_exec edge nft list set inet mxgate passnet6)" "2001:db8::44" "and passnet6"
tap_like "$(mail_from 192.0.2.44 u@example.test)" '^250 ' \
	"a pass_clients address is never steered: the backup's Postfix accepts its mail (250)"
tap_like "$(banner_from 2001:db8::44 "$TN_IP6_edge")" "mxgate-test-backup" \
	"a pass_clients IPv6 address is never steered"
tap_like "$(rcpt_to 192.0.2.50 u@example.test)" '^551 5\.7\.1 ' \
	"its neighbour outside the network gets the responder's 551"

tap_like "$(rcpt_to 192.0.2.50 postmaster@example.test)" "$PASSED" \
	"postmaster@: 451 4.7.1 asking for a retry"
inpass() { tn_exec edge nft list set inet mxgate pass4 | grep -q '192\.0\.2\.50 timeout'; }
tap_ok "the client is in set pass4 with a timeout" tn_wait 5 inpass
# The timeout is the pass's rest, rounded up to a second: 1d, unless the
# report took over a second to reach mxgated on a loaded host (never more
# than the pass_ttl, never minutes less).
tap_like "$(tn_exec edge nft list set inet mxgate pass4)" '192\.0\.2\.50 timeout (1d|23h59m[0-5][0-9]s) expires' \
	"its timeout is the pass's life (pass_ttl, 24 h)"
tap_like "$(banner_from 192.0.2.50 "$TN_IP_edge")" "mxgate-test-backup" \
	"its next connection goes to the backup's Postfix"
tap_unlike "$(banner_from "$TN_IP_snd" "$TN_IP_edge")" "mxgate-test-backup" \
	"another client is still steered to the responder"

# `nft flush ruleset` (nftables.service reloaded): the table comes back at
# the next publish, and with it the passes only the controller keeps.
tn_exec edge nft flush ruleset
inpass_again() { tn_exec edge nft list set inet mxgate pass4 2>/dev/null | grep -q '192\.0\.2\.50 timeout'; }
tap_ok "after nft flush ruleset the recreated table holds the pass again" tn_wait 20 inpass_again
tap_like "$(banner_from 192.0.2.50 "$TN_IP_edge")" "mxgate-test-backup" \
	"and the passed client still reaches the backup's Postfix"
tap_like "$(tn_exec edge nft list set inet mxgate passnet4)" "192\.0\.2\.44/30" \
	"and pass_clients are back in passnet4"
gated_again() { tn_exec edge nft list map inet mxgate gated4 2>/dev/null | grep -q "$TN_IP_edge timeout"; }
tap_ok "and the edge address is gated in gated4 again" tn_wait 10 gated_again

# An administrator deletes the table: the same repair, and the neighbour
# is steered to the responder again.
tn_exec edge nft delete table inet mxgate
tap_ok "after nft delete table the edge address is gated again" tn_wait 20 gated_again
tap_like "$(rcpt_to "$TN_IP_snd" u@example.test)" '^551 5\.7\.1 ' \
	"a client is steered to the responder again (551)"
# The repair is sent like any publish, its answer read when it comes: the
# longest loop iteration since start stays far below the test's timers
# (state_ttl 4 s, the 20 s waits above).
stall=$("$MXGATE" metrics -s "$MXG_SOCK" 2>/dev/null | awk '$1 == "mxgate_loop_stall_max_seconds" { print $2 }')
tap_ok "the loop never stalled half a second (mxgate_loop_stall_max_seconds ${stall:-none})" \
	awk -v s="${stall:-9}" -v lim="$(tn_ms 500)" 'BEGIN { exit !(s * 1000 < lim) }'
tap_done
