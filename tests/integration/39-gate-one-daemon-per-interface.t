#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Two mxgated gating the same interface from different pin_dirs would
# replace each other's tc filter (a program is ours by its name), each
# writing maps the running program no longer reads. The first claims the
# interface while its gate is open: the second refuses to start with one
# line naming the interface and the first's pid, and the first's filter
# (its program id) stays; once the first is gone, the second starts (the
# kernel releases the claim with the process, however it ends).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 9
mxg_config
mxg_start
tap_ok "the first mxgated gates example.test" mxg_wait_state example.test gated 10
filter_id() { tn_exec edge tc filter show dev eth0 ingress 2>/dev/null | sed -n 's/.*mxgate_tc.* id \([0-9]*\).*/\1/p'; }
first=$(filter_id)
tap_ok "its filter is on eth0" test -n "$first"

# The second: its own pin_dir, control socket and state, the same eth0.
CONF2=$TN_DIR/second.conf
SOCK2=$TN_DIR/run/second.sock
sed -e "s|^pin_dir = .*|pin_dir = $(tn_bpffs)/second|" \
	-e "s|^control_socket = .*|control_socket = $SOCK2|" \
	-e "s|^state_dir = .*|state_dir = $TN_DIR/state2|" "$MXG_CONF" >"$CONF2"
out=$(tn_exec edge timeout 60 "$MXGATED" -f -c "$CONF2" 2>&1)
rc=$?
tap_ok "the second refuses to start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
tap_is "$(echo "$out" | grep -c "interface eth0: another mxgated (pid $MXG_PID) gates it already")" 1 \
	"in one line naming the interface and the first's pid" || tap_diag "$out"
tap_is "$(filter_id)" "$first" "the first's filter is still the one on eth0"
tap_like "$(mxg_rcpt example.test)" '^551 ' "and still steers: 551"

# The first gone (SIGKILL: nothing released by hand), the second starts.
kill -KILL "$MXG_PID"
wait "$MXG_BGPID" 2>/dev/null
MXG_PID=
tn_exec edge "$MXGATED" -f -c "$CONF2" >>"$TN_DIR/second.log" 2>&1 &
SECOND=$!
second_pid() { "$MXGATE" status --json -s "$SOCK2" 2>/dev/null | jq -r .pid; }
stop_second() { [ -n "$SECOND" ] && kill -TERM "$(second_pid)" 2>/dev/null && wait "$SECOND" 2>/dev/null; }
tn_on_cleanup stop_second
second_up() { "$MXGATE" status --json -s "$SOCK2" >/dev/null 2>&1; }
tap_ok "with the first gone, the second starts" tn_wait 20 second_up
second_id() { [ -n "$(filter_id)" ] && [ "$(filter_id)" != "$first" ]; }
tap_ok "and its own filter is on eth0" tn_wait 10 second_id
kill -TERM "$(second_pid)"
wait "$SECOND" 2>/dev/null
tap_is "$?" 0 "the second stops cleanly"
SECOND=
tap_done
