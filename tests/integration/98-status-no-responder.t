#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Status never says "steered" without a responder to receive: with a hard
# descriptor limit of 64 the responder cannot start (it needs one per
# connection), mxgated keeps restarting it with its backoff and logs each
# end, the domain's verdict is gated, yet every gate address shows not
# gated and not steered (JSON steer = no-responder, the text says why,
# mxgate_address_steered 0), and mail reaches the edge's own Postfix.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 7

mxg_config
tn_exec edge prlimit --nofile=64:64 "$MXGATED" -f -d -c "$MXG_CONF" >>"$MXG_LOG" 2>&1 &
MXG_BGPID=$!
tn_wait 20 mxg_status
MXG_PID=$(mxg_status | jq -r .pid)
tap_ok "the domains decide: gated" mxg_wait_state example.test gated 15
ended() { grep -q "responder (pid [0-9]*) exited with status" "$MXG_LOG"; }
tap_ok "the responder's end is logged" tn_wait 20 ended
addr() { mxg_status | jq -c --arg a "$TN_IP_edge" '.addresses[] | select(.address == $a) | [.verdict, .gated, .steered, .steer]'; }
tap_is "$(addr)" '[true,false,false,"no-responder"]' \
	"no responder: the address is neither gated nor steered (steer = no-responder)"
tap_is "$(mxg_status | jq -r .responder.running)" false "responder.running is false"
tap_like "$(tn_exec edge "$MXGATE" status -s "$MXG_SOCK")" "address $TN_IP_edge: open, not steered: no responder is ready" \
	"mxgate status says why in words"
tap_like "$(tn_exec edge "$MXGATE" metrics -s "$MXG_SOCK")" "mxgate_address_steered\\{address=\"$TN_IP_edge\"\\} 0" \
	"mxgate_address_steered is 0"
tap_like "$(tn_swaks snd --server "$TN_IP_edge" --quit-after CONNECT --timeout 5 2>&1)" "mxgate-test-backup" \
	"a client reaches the edge's own Postfix"
tap_done
