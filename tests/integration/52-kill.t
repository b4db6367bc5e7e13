#!/bin/bash
# Parts of mxgate die, the gate opens.
# 5: the responder child is killed: the next connection reaches Postfix,
#    passed by the kernel for want of a responder (not by expiry); then
#    the responder is restarted and steering resumes.
# 4: mxgated itself is killed with SIGKILL: within state_ttl + 1s mail
#    reaches the backup's Postfix, with the tc program still attached.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 12

mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 8

# --- 5: the responder dies
rpid=$(mxg_status | jq -r .responder.pid)
tap_like "$(mxg_rcpt example.test)" '^551 ' "551 before the responder is killed (pid $rpid)"
rbanner=$(mxg_banner)
counter() {
	tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN" | awk -v n="$1" '$1 == n { print $2 }'
}
# No race with the clock: mxgated is held (SIGSTOP) while we look, so it
# cannot restart the responder (1 s backoff) before a slow swaks connects,
# and the kernel's counters say why the SYN passed. The gate entries keep
# seconds of their state_ttl meanwhile.
no_responder_before=$(counter pass_no_responder)
kill -STOP "$MXG_PID"
kill -KILL "$rpid"
# Gone, or a zombie its stopped parent cannot reap: its sockets are closed.
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
tn_wait 10 gone "$rpid"
t0=$(mxg_ms)
banner=$(mxg_banner)
took=$(($(mxg_ms) - t0))
no_responder_after=$(counter pass_no_responder)
kill -CONT "$MXG_PID"
# The backup's Postfix says so in its banner (testnet.sh sets it).
tap_like "$banner" 'mxgate-test-backup' "responder killed: the next connection reaches Postfix (${took}ms)"
tap_ok "the kernel passed it for want of a responder, not by expiry" \
	test "${no_responder_after:-0}" -gt "${no_responder_before:-0}"
back() {
	local p
	p=$(mxg_status | jq -r 'select(.responder.running) | .responder.pid')
	[ -n "$p" ] && [ "$p" != "$rpid" ] && [ "${p:-0}" != 0 ]
}
tap_ok "the responder is restarted" tn_wait 15 back
steered() {
	[ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]
}
tap_ok "steering resumes: 551 again" tn_wait 15 steered
tap_is "$(mxg_status | jq -r .counters.responder_restarts)" 1 "status counts one responder restart"

# --- 4: mxgated dies without a word
kill -KILL "$MXG_PID"
wait "$MXG_BGPID" 2>/dev/null
t0=$(mxg_ms)
MXG_PID=
before=$(tn_mail_count edge)
delivered=
while [ $(($(mxg_ms) - t0)) -le $(tn_ms $((4000 + 1000))) ]; do # state_ttl + 1s
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
tn_sleep 4
now_ns=$(/usr/bin/python3 -c 'import time; print(time.monotonic_ns())')
fresh=$(mxg_gate_map | jq -r --argjson now "$now_ns" \
	'"\(length) entries, \([.[] | select(.formatted.value.expires_ns > $now)] | length) fresh"')
tap_is "$fresh" "2 entries, 0 fresh" "after state_ttl every gate entry has expired (fail open by expiry)"
