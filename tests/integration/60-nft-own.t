#!/bin/bash
# gate = nft, own table: gate_nft_ops driven directly on the edge host in
# front of a real Postfix. A gated address's SYN reaches the responder
# listener, which sees the original destination; an established connection
# to Postfix is untouched; a refreshed element stays, an unrefreshed one
# expires and mail reaches Postfix; losing the responder opens at once; the
# administrator's ruleset is unchanged throughout.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/testnet.sh"
. "$MXG_SRC/tests/lib/nftgate.sh"

tn_init 150
command -v nft >/dev/null || tap_skip_all "nft not installed"
tn_up
tn_postfix_start edge backup

# Someone else's ruleset, loaded before mxgate starts.
tn_exec edge nft -f - <<'EOF'
table inet filter {
	set trusted { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }
	chain input { type filter hook input priority filter; policy accept;
		ip saddr @trusted accept
		tcp dport 22 accept
	}
}
table ip nat {
	chain prerouting { type nat hook prerouting priority dstnat; policy accept;
		tcp dport 2525 redirect to :25
	}
}
EOF
before=$(ng_ruleset edge)

tap_plan 18
E4=$TN_IP_edge
E6=$TN_IP6_edge
ng_drive_start edge

ng_cmd open
tap_is "$NG_REPLY" ok "open creates table inet mxgate"
tap_like "$(tn_exec edge nft list table inet mxgate)" "map gated4.*map gated6.*chain steer" \
	"the table has both maps and the steering chain"
tap_is "$(ng_ruleset edge)" "$before" "the administrator's ruleset is unchanged after open"
ng_cmd listen
tap_like "$NG_REPLY" "^ok [0-9]+ [0-9]+$" "responder-like listeners on 127.0.0.1 and ::1"
ng_cmd responder

# A connection opened before the gate closes must stay with Postfix.
tn_exec snd timeout $((20 * TN_TIME_SCALE)) /usr/bin/python3 -c '
import socket, sys, time, os
f = int(sys.argv[4])
s = socket.create_connection((sys.argv[1], 25), 3 * f); s.settimeout(5 * f)
s.recv(200)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]): time.sleep(0.05)
s.sendall(b"EHLO old.test\r\n"); print(s.recv(200).decode().splitlines()[0])
' "$E4" "$TN_DIR/held" "$TN_DIR/go" "$TN_TIME_SCALE" >"$TN_DIR/held.out" 2>&1 &
held=$!
tn_wait 5 test -e "$TN_DIR/held"

ng_cmd round 30000 "$E4" "$E6"
tap_is "$NG_REPLY" ok "round gates both addresses"
tap_is "$(ng_steered_to snd "$E4")" "$E4 25" "IPv4 SYN to :25 lands on the listener, which sees $E4 port 25"
tap_like "$(cat "$TN_DIR/banner.out")" "^220 drive" "the client talks to the listener"
tap_is "$(ng_steered_to snd "$E6")" "$E6 25" "IPv6 SYN to :25 lands on the listener, which sees $E6 port 25"
touch "$TN_DIR/go"
wait "$held"
tap_like "$(cat "$TN_DIR/held.out")" "^250[- ]" "the connection opened before gating still talks to Postfix"
tap_is "$(ng_ruleset edge)" "$before" "the administrator's ruleset is unchanged while gated"

# Refresh every half second with a 2 s timeout, for 4 s: never expires.
# (Half a second leaves 1.5 s for a slow ng_cmd on a loaded machine.)
# All three times MXG_TIME_SCALE on a slower machine (testnet.sh).
for _ in 1 2 3 4 5 6 7 8; do
	ng_cmd round "$(tn_ms 2000)" "$E4" || break
	tn_sleep 0.5
done
tap_like "$(tn_exec edge nft list map inet mxgate gated4)" "$E4 timeout $(tn_nft_dur $((2 * TN_TIME_SCALE)))" \
	"a refreshed element is still there after twice its timeout"
ng_cmd round "$(tn_ms 2000)" "$E4"
tap_is "$(ng_steered_to snd "$E4")" "$E4 25" "and still steers"

# Stop refreshing: the kernel opens the gate by itself.
tn_sleep 2.5
tap_unlike "$(tn_exec edge nft list map inet mxgate gated4)" "$E4" "an element not refreshed expires"
tap_like "$(ng_banner snd "$E4")" "^220 mx2.example.test ESMTP" "and the next connection reaches Postfix"

# Someone runs `nft flush ruleset` or deletes our table: the answer to
# the next round says so (the round does not wait for it) and the round
# after puts it back (mxgated publishes again 200 ms after such an answer).
tn_exec edge nft delete table inet mxgate
ng_cmd round 30000 "$E4"
ng_cmd answers
ng_cmd round 30000 "$E4"
tap_like "$(tn_exec edge nft list map inet mxgate gated4)" "$E4 timeout (30s|29s[0-9]+ms)" \
	"a deleted table inet mxgate is recreated by the next round"

# The responder dies: the controller calls set_responder(-1, -1).
ng_cmd round 30000 "$E4" "$E6"
ng_cmd responder none
tap_unlike "$(tn_exec edge nft list table inet mxgate)" "elements" \
	"losing the responder removes every element at once"

ng_cmd close detach
tap_ok "close(detach) removes table inet mxgate" sh -c "! ip netns exec $(tn_ns edge) nft list table inet mxgate"
tap_is "$(tn_exec edge nft list ruleset)" "$before" "the ruleset is byte-identical to the one before open"
tap_done
