#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The responder, which parses the internet, is confined before it reads a
# byte: chrooted into an empty directory and under a seccomp allowlist
# (Seccomp: 2 in its status, its root is the empty directory). A responder
# that makes a forbidden system call at its first connection (preloaded
# tests/preload/sigsys_after_accept.c, as an exploited parser would) shows
# what happens then: the kernel kills it with SIGSYS, its sockets close,
# the tc program stops steering (the next connection reaches the backup's
# Postfix), and mxgated restarts it, confined again.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 14

resp_pid() { mxg_status | jq -r 'select(.responder.running) | .responder.pid'; }
mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
rpid=$(resp_pid)
tap_like "$(grep -E '^(Seccomp|NoNewPrivs):' "/proc/$rpid/status" | tr -s '\t\n' '  ')" \
	'NoNewPrivs: 1 Seccomp: 2' "the responder runs under a seccomp filter (Seccomp: 2)"
EMPTY=$(dirname "$MXG_SOCK")/empty
tap_is "$(readlink "/proc/$rpid/root")" "$EMPTY" "its root is the empty directory beside the control socket"
tap_is "$(find "$EMPTY" -mindepth 1 | wc -l):$(stat -c '%U %a' "$EMPTY")" "0:root 555" \
	"that directory is empty, root's and not writable"
tap_like "$(mxg_rcpt example.test)" '^551 ' "confined, it still answers 551"
mxg_term

# The responder makes a forbidden call at its first accept (preloaded).
MXG_PRELOAD=$MXG_OUT/tests/preload/sigsys_after_accept.so
mxg_start
tap_ok "with the preload, gated too" mxg_wait_state example.test gated 10
rpid=$(resp_pid)
tap_like "$(grep '^Seccomp:' "/proc/$rpid/status")" 'Seccomp:.2' "its responder is confined (pid $rpid)"
# Hold mxgated (SIGSTOP) while we look, so that it cannot restart the
# responder before the next connection: the gate must open by itself.
kill -STOP "$MXG_PID"
first=$(mxg_banner)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
tap_ok "the forbidden call killed the responder" tn_wait 10 gone "$rpid"
tap_unlike "$first" '^220 ' "the connection that triggered it got no greeting (${first:-nothing})"
tap_like "$(mxg_banner)" 'mxgate-test-backup' "the gate opened: the next connection reaches Postfix"
kill -CONT "$MXG_PID"
tap_ok "mxgated logs SIGSYS" tn_wait 10 grep -q "responder (pid $rpid) killed by signal 31 (SIGSYS: a system call outside its seccomp allowlist" "$MXG_LOG"
back() {
	local p
	p=$(resp_pid)
	[ -n "$p" ] && [ "$p" != "$rpid" ] && [ "$p" != 0 ]
}
tap_ok "mxgated restarts the responder" tn_wait 15 back
rpid2=$(resp_pid)
tap_like "$(grep '^Seccomp:' "/proc/$rpid2/status" 2>/dev/null)" 'Seccomp:.2' "the new responder is confined again (pid $rpid2)"
tap_ok "status counts the restart" test "$(mxg_status | jq -r .counters.responder_restarts)" -ge 1
tap_done
