#!/bin/bash
# A responder that is alive but stuck (here: SIGSTOP) keeps its listening
# sockets in the SOCKMAP, and steered senders would wait for a greeting
# that never comes. It stops acknowledging the domain table pushed every
# round, so mxgated kills it within probe_interval + 5 s (the heartbeat,
# CTL_RESPONDER_ACK_MS): the next connection reaches Postfix, the
# responder is restarted, and steering resumes.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 8

mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 8

rpid=$(mxg_status | jq -r .responder.pid)
tap_like "$(mxg_rcpt example.test)" '^551 ' "551 before the responder is stopped (pid $rpid)"
counter() {
	tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN" | awk -v n="$1" '$1 == n { print $2 }'
}
no_responder_before=$(counter pass_no_responder)

# Gone, or a zombie not yet reaped: either way its sockets are closed.
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
kill -STOP "$rpid"
t0=$(mxg_ms)
# Watch closely (not tn_wait's 0.1 s): once it is killed, mxgated restarts
# it after a 1 s backoff, and we hold mxgated before that to look at the
# gate without a responder, as 52-kill.t does. The bound is generous:
# probe_interval 1 s + 5 s, on a loaded machine.
bound=20000
while ! gone "$rpid" && [ $(($(mxg_ms) - t0)) -le "$bound" ]; do
	sleep 0.02
done
kill -STOP "$MXG_PID"
took=$(($(mxg_ms) - t0))
tap_ok "the stuck responder is killed within ${bound}ms (${took}ms)" gone "$rpid"

# A bounded client (swaks --timeout 3 in mxg_banner): a hang prints nothing.
banner=$(mxg_banner)
no_responder_after=$(counter pass_no_responder)
kill -CONT "$MXG_PID"
kill -CONT "$rpid" 2>/dev/null # in case it was not killed: let cleanup end it
tap_like "$banner" 'mxgate-test-backup' "the next connection gets Postfix's greeting, not a hang"
tap_ok "the kernel passed it for want of a responder, not by expiry" \
	test "${no_responder_after:-0}" -gt "${no_responder_before:-0}"
tap_like "$(cat "$MXG_LOG")" "responder \\(pid $rpid\\) is stuck: it has not acknowledged" \
	"mxgated logged the stuck responder"
back() {
	local p
	p=$(mxg_status | jq -r 'select(.responder.running) | .responder.pid')
	[ -n "$p" ] && [ "$p" != "$rpid" ] && [ "${p:-0}" != 0 ]
}
tap_ok "the responder is restarted (a new pid)" tn_wait 15 back
steered() {
	[ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]
}
tap_ok "steering resumes: 551 again" tn_wait 15 steered
