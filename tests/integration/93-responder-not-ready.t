#!/bin/bash
# mxgated's loop never waits for its responder (docs/controller.md, "The
# responder child"). A child held before it reports READY (here: it stops
# itself, by the test hook tests/preload/hold_ready.so, never in the
# shipped binary) and a child that does not read its domain table
# (SIGSTOP) leave the controller answering its control socket and running
# its rounds: status shows the responder `starting`, rounds and probes go
# on, the domain is gated. Held past the READY deadline a child is ended
# (SIGTERM, SIGKILL: a stopped process ignores SIGTERM) and a new one is
# started; released in time, the child serves (551); at the end mxgated
# leaves no child behind. Behaviour only: no timing asserts, and none of
# its steps races the 5 s deadline on a slow machine.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 16

hold=$TN_DIR/hold-responder
export MXG_TEST_HOLD_FILE=$hold
MXG_PRELOAD=$MXG_OUT/tests/preload/hold_ready.so
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

# --- a child that is not ready: the loop goes on. Every child started
# while the hold file exists is held, and mxgated ends each one 5 s after
# its start (the READY deadline), so what is asserted here holds for
# whichever held child is there when the test looks: on a slow machine
# the first may be gone before the test has asked twice.
c1=
end=$(($(mxg_ms) + 20000 * TN_TIME_SCALE))
until c1=$(held_child) || [ "$(mxg_ms)" -ge "$end" ]; do sleep 0.1; done
tap_ok "the first child is held before READY (pid ${c1:-none}), status says starting" \
	test -n "$c1"
tap_is "$(st .responder.running)" false "not running: the controller counts it as down"
r0=$(st .counters.rounds)
more_rounds() { [ "$(st .counters.rounds)" -ge $((r0 + 2)) ] && [ "$(st .responder.running)" = false ]; }
tap_ok "rounds go on while no child is ready (from $r0)" tn_wait 20 more_rounds
tap_ok "probes ran and the domain is gated meanwhile" mxg_wait_state example.test gated 15
# (Between one held child's end and the next one's start the restart
# backoff runs: no child then.)
tap_ok "the control socket answers: still starting, a child held before READY" \
	tn_wait 20 held_child

# --- held past the READY deadline: ended (SIGTERM, then SIGKILL: a
# stopped process ignores SIGTERM), and the next child is started.
tap_ok "held past the deadline, it is ended (SIGKILL after SIGTERM)" tn_wait 30 gone "$c1"
tap_like "$(cat "$MXG_LOG")" "responder \\(pid $c1\\): not ready within 5 s" \
	"mxgated logged the child that was not ready"
tap_like "$(cat "$MXG_LOG")" "responder \\(pid $c1\\) did not exit [0-9]*ms after SIGTERM; SIGKILL" \
	"the stopped child needed SIGKILL"
new_held() { local p; p=$(held_child) && [ "$p" != "$c1" ]; }
tap_ok "a new child is started (and held too)" tn_wait 30 new_held

# --- released before its deadline: the same child reports READY and
# serves. Released only while young (under 2 s of its 5 s, read from
# /proc, not from the slower status), so the release never races the
# deadline; an older one is left to the deadline and the next one taken.
age_ms() { # age_ms PID: milliseconds since the process started
	local hz start up
	hz=$(getconf CLK_TCK)
	start=$(awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null) || return 1
	up=$(awk '{ print int($1 * 1000) }' /proc/uptime)
	echo $((up - start * 1000 / hz))
}
young_held() { # prints a held child of mxgated younger than 2 s
	local p a
	for p in $(pgrep -P "$MXG_PID"); do
		stopped "$p" || continue
		a=$(age_ms "$p") || continue
		[ "$a" -lt 2000 ] && echo "$p" && return 0
	done
	return 1
}
released=
end=$(($(mxg_ms) + 60000 * TN_TIME_SCALE))
while [ -z "$released" ] && [ "$(mxg_ms)" -lt "$end" ]; do
	if p=$(young_held); then
		rm -f "$hold" # the next one will not hold
		kill -CONT "$p"
		released=$p
	fi
	sleep 0.05
done
rm -f "$hold"
running() { [ "$(st '.responder.running')" = true ] && [ "$(st .responder.pid)" = "$1" ]; }
tap_ok "released, the same child runs (pid ${released:-none})" tn_wait 15 running "${released:-none}"
c3=$(st .responder.pid)
steered() { [ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]; }
tn_wait 15 steered
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*mx1\.example\.test' \
	"551 naming the primary from the released child"
addr() { mxg_status | jq -c --arg a "$TN_IP_edge" '.addresses[] | select(.address == $a) | [.verdict, .gated, .steered, .steer]'; }
tap_is "$(addr)" '[true,true,true,"steered"]' "with the child ready the address is gated and steered"
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
