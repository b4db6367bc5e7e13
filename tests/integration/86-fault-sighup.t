#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, SIGHUP under load: while a load generator runs full reject
# sessions through the gate into the responder, mxgated is told to reload
# five times, then once with a broken config. Every session still ends
# with 551 and 221, the daemon keeps its pid and the domain stays gated,
# and the broken config is refused with the old one kept. The load is
# paced (1,000 sessions/s, 4,000 in all) and never reuses a source port:
# a 4-tuple still in TIME_WAIT at the edge is not answered once steered
# (87-fault-port-reuse.t).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"
LOAD=$MXG_OUT/tests/helpers/smtpload

mxg_scene 100
tap_plan 13

# One sender address drives all the load: no offender escalation, room
# for its connections.
mxg_config offender_threshold=0 max_connections_per_client=50
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
resp0=$(mxg_status | jq -r .responder.pid)

t0=$(mxg_ms)
tn_exec snd "$LOAD" -m session -c 10 -n 4000 -r 1000 -p 20000 -e 551 -d example.test "$TN_IP6_edge" 25 >"$TN_DIR/load" 2>&1 &
LPID=$!
for i in 1 2 3 4 5; do
	sleep 0.3
	kill -HUP "$MXG_PID"
done
# A broken config: an unknown key.
cp "$MXG_CONF" "$TN_DIR/good.conf"
echo "no_such_key = 1" >>"$MXG_CONF"
sleep 0.3
kill -HUP "$MXG_PID"
t1=$(mxg_ms)
wait "$LPID"
LRC=$?
tap_diag "load: $(cat "$TN_DIR/load")"
tap_ok "the load outlasted the reloads ($((t1 - t0)) ms of SIGHUPs)" \
	awk -v w="$(sed -n 's/.*wall_s=\([^ ]*\).*/\1/p' "$TN_DIR/load")" -v t=$((t1 - t0)) 'BEGIN { exit !(w * 1000 > t) }'
tap_is "$LRC" 0 "the load generator saw no error"
tap_like "$(cat "$TN_DIR/load")" '^done=4000 errors=0 ' "all 4000 sessions got 551 and 221"
tap_ok "mxgated is still running with the same pid" kill -0 "$MXG_PID"
tap_is "$(mxg_state example.test)" gated "the domain is still gated"
# Every SIGHUP either starts a reload (it ends "reloaded" or "reload
# refused") or, while one runs, is coalesced ("one is running": read again
# after it); how many coalesce depends on how fast the helper answers.
tap_ok "the log shows every SIGHUP taken: a reload, or coalesced into the next" \
	test "$(grep -cE 'reloaded |reload refused|reload: one is running' "$MXG_LOG")" -ge 6
tap_like "$(grep 'reload refused' "$MXG_LOG")" 'no_such_key.*keeping the previous configuration' \
	"the broken config was refused, the previous kept"
tap_is "$(mxg_status | jq -r .responder.pid)" "$resp0" "the responder was not restarted"
tap_like "$(mxg_rcpt example.test)" '^551 ' "a new sender is still answered 551"

# A responder user that is root, or that does not exist, is refused on
# SIGHUP too (the old config kept), not taken into a responder restart loop.
for u in root mxg-no-such-user; do
	cp "$TN_DIR/good.conf" "$MXG_CONF"
	echo "user = $u" >>"$MXG_CONF"
	kill -HUP "$MXG_PID"
	tn_wait 10 grep -q "reload refused: .*user: $u" "$MXG_LOG"
done
tap_is "$(grep -c 'reload refused: .*user: root has uid 0' "$MXG_LOG")" 1 "user = root: reload refused"
tap_is "$(grep -c 'reload refused: .*user: mxg-no-such-user: no such user' "$MXG_LOG")" 1 "a user that does not exist: reload refused"
tap_is "$(mxg_status | jq -r .responder.pid)" "$resp0" "the responder still runs, not restarted"
tap_done
