#!/bin/bash
# Scenarios 4 and 5 of issue 4: parts of mxgate die, the gate opens.
# 5: the responder child is killed: within 1s connections reach Postfix;
#    then the responder is restarted and steering resumes.
# 4: mxgated itself is killed with SIGKILL: within state_ttl + 1s mail
#    reaches the backup's Postfix, with the tc program still attached.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 11

mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 8

# --- 5: the responder dies
rpid=$(mxg_status | jq -r .responder.pid)
tap_like "$(mxg_rcpt example.test)" '^551 ' "551 before the responder is killed (pid $rpid)"
rbanner=$(mxg_banner)
kill -KILL "$rpid"
t0=$(mxg_ms)
# The backup's Postfix says so in its banner (testnet.sh sets it).
postfix_greets() {
	local b
	b=$(mxg_banner)
	[ -n "$b" ] && [ "$b" != "$rbanner" ] && [[ "$b" == *mxgate-test-backup* ]]
}
tn_wait 1 postfix_greets
took=$(($(mxg_ms) - t0))
tap_ok "responder killed: Postfix greets within 1s (${took}ms)" test "$took" -le 1000
back() {
	local p
	p=$(mxg_status | jq -r 'select(.responder.running) | .responder.pid')
	[ -n "$p" ] && [ "$p" != "$rpid" ] && [ "${p:-0}" != 0 ]
}
tap_ok "the responder is restarted" tn_wait 5 back
steered() {
	[ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]
}
tap_ok "steering resumes: 551 again" tn_wait 5 steered
tap_is "$(mxg_status | jq -r .counters.responder_restarts)" 1 "status counts one responder restart"

# --- 4: mxgated dies without a word
kill -KILL "$MXG_PID"
wait "$MXG_BGPID" 2>/dev/null
t0=$(mxg_ms)
MXG_PID=
before=$(tn_mail_count edge)
delivered=
while [ $(($(mxg_ms) - t0)) -le $((4000 + 1000)) ]; do # state_ttl + 1s
	if mxg_send example.test; then
		delivered=$(($(mxg_ms) - t0))
		break
	fi
	sleep 0.2
done
tap_ok "mxgated killed: the backup accepts mail within state_ttl + 1s (${delivered:-never}ms)" \
	test -n "$delivered"
tap_ok "it reached the backup's Postfix" tn_mail_wait edge $((before + 1)) 5
tap_ok "the tc program is still attached" \
	sh -c "ip netns exec $(tn_ns edge) tc filter show dev eth0 ingress | grep -q bpf"
# The entries are left to expire by themselves: fail open by expiry.
tap_ok "the gate map is still pinned" test -e "$MXG_PIN/gate_addrs"
# ...and they do expire: every gate entry is past its expiry (monotonic
# clock, like bpf_ktime_get_ns) within state_ttl of the last refresh.
sleep 4
now_ns=$(/usr/bin/python3 -c 'import time; print(time.monotonic_ns())')
fresh=$(mxg_gate_map | jq -r --argjson now "$now_ns" \
	'"\(length) entries, \([.[] | select(.formatted.value.expires_ns > $now)] | length) fresh"')
tap_is "$fresh" "2 entries, 0 fresh" "after state_ttl every gate entry has expired (fail open by expiry)"
