#!/bin/bash
# Scenarios 2 and 3 of issue 4. The primary stops: within probe_interval +
# probe_timeout + 1s a message to the backup reaches the backup's Postfix.
# The primary comes back: the domain is gated again only after `rise` good
# rounds and then `recovery_grace` (still open before that bound, gated
# after it).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 9

# probe_interval 1s, probe_timeout 1s, rise 2, fall 1, recovery_grace 2s
mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 8

# --- 2: the primary stops
tn_postfix_stop p1
t0=$(mxg_ms)
bound=$((1000 + 1000 + 1000)) # probe_interval + probe_timeout + 1s
delivered=
while [ $(($(mxg_ms) - t0)) -le $bound ]; do
	if mxg_send example.test; then
		delivered=$(($(mxg_ms) - t0))
		break
	fi
	sleep 0.1
done
tap_ok "primary stopped: the backup accepted a message within ${bound}ms (took ${delivered:-never}ms)" \
	test -n "$delivered"
tap_ok "the message is in the backup's Postfix" tn_mail_wait edge 1 5
tap_is "$(mxg_state example.test)" open "status: open"
tap_like "$(mxg_status | jq -r '.domains[0].reason')" 'primary down' "reason: primary down"

# --- 3: the primary comes back
tn_postfix_start p1 primary
# tn_postfix_start returns once the primary greets (it polls every 0.1s):
# call that t1. The earliest possible gating: the first good round
# (>= t1 - 0.1s), rise - 1 more rounds, then the whole grace.
t1=$(($(mxg_ms) - 100))
earliest=$((1 * 1000 + 2000))
tap_ok "recovery grace starts after rise rounds" \
	tn_wait 5 sh -c "$MXGATE status --json -s $MXG_SOCK | jq -e '.domains[0].reason | test(\"grace\")'"
left=$((earliest - 400 - ($(mxg_ms) - t1)))
[ $left -gt 0 ] && sleep "$(awk -v m=$left 'BEGIN { printf "%.3f", m / 1000 }')"
at=$(($(mxg_ms) - t1))
state=$(mxg_state example.test)
rcpt=$(mxg_rcpt example.test)
tap_ok "still open ${at}ms after the primary came back (earliest gating ${earliest}ms): $state, RCPT $rcpt" \
	test "$state" = open -a "${rcpt:0:3}" = 250 -a "$at" -lt "$earliest"
mxg_wait_state example.test gated 6
gated_at=$(($(mxg_ms) - t1))
# Polling adds up to 0.1s; the grace is measured on the daemon's clock.
# Latest: a round just missed (1s), rise rounds (2s), grace (2s), + 1s.
tap_ok "gated again after rise rounds + grace (${gated_at}ms >= ${earliest}ms, <= 6000ms)" \
	test "$gated_at" -ge "$earliest" -a "$gated_at" -le 6000
tap_like "$(mxg_rcpt example.test)" '^551 ' "and the backup answers 551 again"
