#!/bin/bash
# The primary stops: within probe_interval +
# probe_timeout + 1s a message to the backup reaches the backup's Postfix.
# The primary comes back: the domain is gated again only after `rise` good
# rounds and then `recovery_grace` (still open before that bound, gated
# after it).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 11

# The daemon's status and `mxgate probe` (the daemon's state machine, one
# round, rise = fall = 1) say the same state, reason token and sentence
# for the same MX set and primary: prints both, then "same" or "differ".
same_reason() {
	local s p
	s=$(mxg_status | jq -c '.domains[0] | [.state, .reason, .reason_text]')
	p=$(tn_exec edge "$MXGATE" probe example.test --self mx2.example.test \
		--resolver "$TN_DNS_IP" --json 2>/dev/null | jq -c '[.state, .reason, .reason_text]')
	echo "status $s probe $p $([ -n "$s" ] && [ "$s" = "$p" ] && echo same || echo differ)"
}

# probe_interval 1s, probe_timeout 1s, rise 2, fall 1; recovery_grace 4s
# rather than 2s, so the "still open during the grace" look (status and
# a whole swaks session) has seconds to finish on a loaded machine. Every
# timer and every bound below is times MXG_TIME_SCALE (testnet.sh).
mxg_config recovery_grace=4s
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 8
tap_is "$(same_reason)" \
	'status ["gated","primary_up","primary up"] probe ["gated","primary_up","primary up"] same' \
	"primary up: mxgate probe says what the daemon's status says"

# --- 2: the primary stops
tn_postfix_stop p1
t0=$(mxg_ms)
bound=$(tn_ms $((1000 + 1000 + 1000))) # probe_interval + probe_timeout + 1s
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
tap_is "$(mxg_status | jq -r '.domains[0] | .reason + " / " + .reason_text')" "primary_down / primary down" \
	"reason: primary_down, the sentence primary down"
tap_is "$(same_reason)" \
	'status ["open","primary_down","primary down"] probe ["open","primary_down","primary down"] same' \
	"primary down: mxgate probe says what the daemon's status says"

# --- 3: the primary comes back
tn_postfix_start p1 primary
# tn_postfix_start returns once the primary greets (it polls every 0.1s):
# call that t1. The earliest possible gating: the first good round
# (>= t1 - 0.1s), rise - 1 more rounds, then the whole grace.
t1=$(($(mxg_ms) - 100))
earliest=$(tn_ms $((1 * 1000 + 4000)))
tap_ok "recovery grace starts after rise rounds" \
	tn_wait 5 sh -c "$MXGATE status --json -s $MXG_SOCK | jq -e '.domains[0].reason == \"recovery_grace\"'"
# Look 2.5 s before the earliest gating, and take the time only after
# the look: the RCPT was answered before `at`, so at < earliest proves it
# was answered during the grace.
left=$((earliest - $(tn_ms 2500) - ($(mxg_ms) - t1)))
[ $left -gt 0 ] && sleep "$(awk -v m=$left 'BEGIN { printf "%.3f", m / 1000 }')"
state=$(mxg_state example.test)
rcpt=$(mxg_rcpt example.test)
at=$(($(mxg_ms) - t1))
tap_ok "still open ${at}ms after the primary came back (earliest gating ${earliest}ms): $state, RCPT $rcpt" \
	test "$state" = open -a "${rcpt:0:3}" = 250 -a "$at" -lt "$earliest"
mxg_wait_state example.test gated 12
gated_at=$(($(mxg_ms) - t1))
# Polling adds up to 0.1s; the grace is measured on the daemon's clock.
# Latest: a round just missed (1s), rise rounds (2s), grace (4s), + 2s
# for a loaded machine.
latest=$(tn_ms 9000)
tap_ok "gated again after rise rounds + grace (${gated_at}ms >= ${earliest}ms, <= ${latest}ms)" \
	test "$gated_at" -ge "$earliest" -a "$gated_at" -le "$latest"
tap_like "$(mxg_rcpt example.test)" '^551 ' "and the backup answers 551 again"
