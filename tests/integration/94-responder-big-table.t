#!/bin/bash
# The domain table goes to the responder through a buffer that the
# controller's loop drains as the socketpair takes it (ctl_resp_push.c):
# with 8,000 domains (about 800 KB, far beyond the socket's buffer) it is
# written in parts, the child gets all of it and serves (551 for the gated
# domain), and the loop never waits. A child that stops reading (SIGSTOP)
# while a table is in flight is killed as stuck and replaced, and the
# controller answers and runs its rounds meanwhile. Behaviour only: no
# timing asserts.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

N=8000
# mxg_scene, with N more domains like example.test (MX 10 mx1, MX 20 mx2:
# one primary, probed once a round for all), so that the edge address is
# gated only when all of them are.
tn_init 170
command -v jq >/dev/null || tn__die "jq not found; run: sh scripts/install-deps.sh"
tn_up
{
	tn_dns_std_zone
	for i in $(seq 1 $N); do
		printf 'd%05d.test. 300 IN MX 10 mx1.example.test.\nd%05d.test. 300 IN MX 20 mx2.example.test.\n' \
			"$i" "$i"
	done
} | tn_dns_zone || tn_die "zone rejected"
tn_dns_start || tn_die "nsd did not start"
tn_postfix_start p1 primary
tn_postfix_start edge backup
MXG_PIN=$(tn_bpffs)/mxgate
MXG_CONF=$TN_DIR/mxgate.conf
MXG_SOCK=$TN_DIR/run/control.sock
MXG_LOG=$TN_DIR/mxgated.log
tn_on_cleanup mxg_stop
tap_plan 8

for i in $(seq 1 $N); do printf 'd%05d.test\n' "$i"; done >"$TN_DIR/domains"
mxg_config domains=example.test domains_file="$TN_DIR/domains"
mxg_start

st() { mxg_status | jq -r "$1"; }
tap_ok "example.test gated among $((N + 1)) domains" mxg_wait_state example.test gated 90
steered() { [ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]; }
tn_wait 60 steered
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*mx1\.example\.test' \
	"the child has the whole table: 551 naming the primary"
tap_like "$(cat "$MXG_LOG")" 'domain table of [0-9]* octets sent; the socket was full [1-9]' \
	"the table went in parts, the rest when the socket was writable"

c1=$(st .responder.pid)
kill -STOP "$c1"
r1=$(st .counters.rounds)
rounds_on() { [ "$(st .counters.rounds)" -ge $((r1 + 2)) ]; }
tap_ok "the child does not read: the control socket answers, rounds go on" tn_wait 30 rounds_on
replaced() {
	local p
	p=$(st 'select(.responder.running) | .responder.pid')
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$c1" ]
}
tap_ok "the stopped child is replaced" tn_wait 40 replaced
tap_like "$(cat "$MXG_LOG")" "responder \\(pid $c1\\) is stuck" "mxgated logged it as stuck"
tn_wait 60 steered
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*mx1\.example\.test' "551 from the new child"
c2=$(st .responder.pid)
mxg_stop
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
tap_ok "mxgated stopped and left no responder child" tn_wait 10 gone "$c2"
