#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, a sender reusing its source port: two sessions in a row from
# the same address and port. The server closes first, so its side of the
# first connection sits in TIME_WAIT for 60 s. A SYN steered with
# bpf_sk_assign to the responder's listener would collide with that
# TIME_WAIT socket and be lost until it expires; the tc program therefore
# leaves a SYN alone when bpf_skc_lookup_tcp finds a socket for its 4-tuple
# (counted as pass_existing), and the ordinary stack (RFC 6191 reuse) hands
# that one connection to the real MTA: answered at once, never stalled.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"
CLIENT="/usr/bin/python3 $MXG_SRC/tests/helpers/fault_client.py"

mxg_scene 90
tap_plan 7

mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10

# Control: the primary's Postfix (ordinary stack, no steering).
read -r c1 t1 c2 t2 < <(tn_exec snd timeout 20 $CLIENT reuse "$TN_IP_snd" 40001 "$TN_IP_p1" 25 example.test)
tap_diag "to the primary from port 40001 twice: $c1 in $t1 s, then $c2 in $t2 s"
tap_like "$c1 $c2" '^250 250$' "control: the primary's Postfix serves both sessions from one source port"

# Through the gate into the responder.
read -r c1 t1 c2 t2 < <(tn_exec snd timeout 20 $CLIENT reuse "$TN_IP_snd" 40002 "$TN_IP_edge" 25 example.test)
tap_diag "to the edge (steered) from port 40002 twice: $c1 in $t1 s, then $c2 in $t2 s"
tap_is "$c1" 551 "the first steered session is answered 551"
tap_is "$c2" 250 "the second session from the same port is served by the backup's own MTA"
tap_ok "... at once, not after SYN retransmissions ($t2 s)" awk -v t="$t2" 'BEGIN { exit !(t < 5) }'
existing=$(tn_exec edge "$MXG_OUT/mxgate" dump --pin-dir "$MXG_PIN" | awk '$1 == "pass_existing" { print $2 }')
tap_ok "the tc program counted it as pass_existing (${existing:-none})" test "${existing:-0}" -ge 1
tap_ok "mxgated is still running" kill -0 "$MXG_PID"
tap_done
