#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, a spoofed SYN flood at a gated address (bounded, inside the
# test network, sources from 192.0.2.128/25 where no host answers): the
# responder's listener overflows and answers with SYN cookies, keeping no
# state. The ACK that completes a legitimate client's handshake then has
# no socket of its own; the tc program sends it to the responder's
# listener, which checks the cookie, instead of letting it meet the MTA's
# listener, which issued no cookie and would reset it. Legitimate clients
# get the responder's greeting during the flood; the program counted the
# ACKs it steered; the kernel sent cookies (else the test proves nothing).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 5
FLOOD=$MXG_OUT/tests/helpers/synflood
cookies() { tn_exec edge nstat -az TcpExtSyncookiesSent | awk '/SyncookiesSent/ {print $2}'; }
greet() { # one legitimate connection from snd: its first line, or the error
	tn_exec snd /usr/bin/python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 25), timeout=8)
    s.settimeout(8)
    print(s.recv(200).decode(errors="replace").splitlines()[0])
except Exception as e:
    print("error:", e)
' "$TN_IP_edge" 2>&1
}

mxg_config
mxg_start
tap_ok "gated" mxg_wait_state example.test gated 15
tap_like "$(greet)" "^220 mx2\\.example\\.test" "before the flood: the responder greets"
c0=$(cookies)
# 3,000 spoofed SYNs a second for at most 8 s (24,000 at most): the
# responder's backlog fills within a second and it answers with cookies.
tn_spawn snd flood "$FLOOD" "$TN_IP_edge" 25 24000 8 3000 192.0.2.128/25
sleep 2
ok=0 res=
for i in 1 2 3 4 5; do
	g=$(greet)
	res+="$g; "
	[[ "$g" == "220 mx2.example.test"* ]] && ok=$((ok + 1))
done
tn_kill snd flood
tap_diag "during the flood: $res"
tap_diag "flood: $(cat "$TN_DIR/snd/flood.log" 2>/dev/null); cookies sent by the edge: $c0 -> $(cookies)"
tap_ok "the edge answered the flood with SYN cookies" test "$(cookies)" -gt "${c0:-0}"
tap_is "$ok" 5 "during the flood every legitimate client gets the responder's greeting (no reset)"
acks=$(tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN" | awk '$1 == "ack_steered" {print $2}')
tap_ok "the tc program steered handshake ACKs to the responder (ack_steered ${acks:-none})" \
	test "${acks:-0}" -gt 0
tap_done
