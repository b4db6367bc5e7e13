#!/bin/bash
# mxgated's loop never waits for its responder (docs/controller.md, "The
# responder child"). A child held before it reports READY (here: it stops
# itself, MXGATE_TEST_RESPONDER_HOLD) and a child that does not read its
# domain table (SIGSTOP) leave the controller answering its control socket
# and running its rounds: status shows the responder `starting`, rounds
# and probes go on, the domain is gated. Released, the child serves (551);
# held past the READY deadline it is ended (SIGTERM, SIGKILL: a stopped
# process ignores SIGTERM) and a new one serves; at the end mxgated leaves
# no child behind. Behaviour only: no timing asserts.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 17

hold=$TN_DIR/hold-responder
export MXGATE_TEST_RESPONDER_HOLD=$hold
touch "$hold"
mxg_config
mxg_start

st() { mxg_status | jq -r "$1"; }
stopped() { grep -q '^State:[[:space:]]*T' "/proc/$1/status" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
held_child() {
	local p
	p=$(st 'select(.responder.state == "starting") | .responder.child')
	[ -n "$p" ] && [ "$p" != 0 ] && stopped "$p" && echo "$p"
}

# --- a child that is not ready: the loop goes on
tn_wait 20 held_child
c1=$(held_child)
tap_ok "the first child is held before READY (pid ${c1:-none}), status says starting" \
	test -n "$c1"
tap_is "$(st .responder.running)" false "not running: the controller counts it as down"
r0=$(st .counters.rounds)
more_rounds() { [ "$(st .counters.rounds)" -ge $((r0 + 2)) ] && stopped "$c1"; }
tap_ok "rounds go on while the child is not ready (from $r0)" tn_wait 20 more_rounds
tap_ok "probes ran and the domain is gated meanwhile" mxg_wait_state example.test gated 15
tap_ok "the control socket answers: still starting, the same child" \
	test "$(st .responder.state):$(st .responder.child)" = "starting:$c1"

# Released: it reports READY and serves.
kill -CONT "$c1"
running() { [ "$(st '.responder.running')" = true ] && [ "$(st .responder.pid)" = "$1" ]; }
tap_ok "released, the same child runs" tn_wait 15 running "$c1"
steered() { [ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]; }
tn_wait 15 steered
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*mx1\.example\.test' \
	"551 naming the primary from the released child"

# --- a child that misses the READY deadline: ended, a new one serves
kill -KILL "$c1"
new_held() { local p; p=$(held_child) && [ "$p" != "$c1" ]; }
tn_wait 20 new_held
c2=$(held_child)
tap_ok "the restarted child is held before READY (pid ${c2:-none})" test -n "$c2"
rm -f "$hold" # the next one will not hold
tap_ok "held past the deadline, it is ended (SIGKILL after SIGTERM)" tn_wait 30 gone "$c2"
tap_like "$(cat "$MXG_LOG")" "responder \\(pid $c2\\): not ready within 5 s" \
	"mxgated logged the child that was not ready"
tap_like "$(cat "$MXG_LOG")" "responder \\(pid $c2\\) did not exit [0-9]*ms after SIGTERM; SIGKILL" \
	"the stopped child needed SIGKILL"
c3_runs() {
	local p
	p=$(st 'select(.responder.running) | .responder.pid')
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$c1" ] && [ "$p" != "$c2" ]
}
tap_ok "a new child runs" tn_wait 20 c3_runs
c3=$(st .responder.pid)
tn_wait 15 steered
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*mx1\.example\.test' "551 again"
map=$(mxg_gate_map)
tap_like "$(jq -c '[.[] | select(.formatted.value.state == 1)] | length' <<<"$map")" '^[12]$' \
	"gate_addrs holds gated entries"

# --- a running child that does not read: the loop goes on, it is replaced
kill -STOP "$c3"
r1=$(st .counters.rounds)
rounds_on() { [ "$(st .counters.rounds)" -ge $((r1 + 2)) ]; }
tap_ok "a stopped child: the control socket answers and rounds go on" tn_wait 20 rounds_on
c4_runs() {
	local p
	p=$(st 'select(.responder.running) | .responder.pid')
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$c3" ]
}
tap_ok "the stopped child is replaced" tn_wait 30 c4_runs
c4=$(st .responder.pid)

# --- shutdown: no child left behind
mxg_stop
tap_ok "mxgated stopped and left no responder child (pid $c4)" tn_wait 10 gone "$c4"
