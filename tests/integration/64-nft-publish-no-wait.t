#!/bin/bash
# gate = nft: a publish is sent to nf_tables and returns without reading
# the kernel's answer (the controller's loop reads it when the netlink
# socket is readable). The answer is found still unread after the commit;
# an error (the table deleted under us) comes with the answer, not from the
# commit, and the next publish makes the table again and gates.
set -u
. "$MXG_SRC/tests/lib/testnet.sh"
. "$MXG_SRC/tests/lib/nftgate.sh"

tn_init 60
command -v nft >/dev/null || tap_skip_all "nft not installed"
tn_up
tap_plan 9
ng_drive_start edge

ng_cmd open
tap_is "$NG_REPLY" ok "open creates table inet mxgate"
ng_cmd listen >/dev/null
ng_cmd responder >/dev/null

ng_cmd round 30000 192.0.2.10
tap_is "$NG_REPLY" ok "a publish returns"
ng_cmd answers
tap_is "$NG_REPLY" "ok unread=1 awaited=0" \
	"the kernel's answer was still unread when the publish returned; read later, nothing awaited"
tap_like "$(tn_exec edge nft list map inet mxgate gated4)" "192\.0\.2\.10" \
	"the gated address is in the map"

tn_exec edge nft delete table inet mxgate
ng_cmd round 30000 192.0.2.11
tap_is "$NG_REPLY" ok "a publish into a deleted table returns at once, without the error"
ng_cmd answers
tap_is "$NG_REPLY" "ok unread=1 error=No such file or directory" \
	"the error comes with the kernel's answer"

ng_cmd round 30000 192.0.2.11
tap_is "$NG_REPLY" ok "the next publish makes the table again"
ng_cmd answers
tap_is "$NG_REPLY" "ok unread=1 awaited=0" "and its answer is read from the loop"
tap_like "$(tn_exec edge nft list map inet mxgate gated4)" "192\.0\.2\.11" \
	"the address is gated in the new table"
