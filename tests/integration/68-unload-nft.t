#!/bin/bash
# mxgate unload after a crash with gate = nft: table inet mxgate (left by
# a gate that was closed without detaching, as after kill -9) is deleted,
# the administrator's tables stay byte-identical, and a second unload finds
# nothing and still succeeds.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/testnet.sh"
. "$MXG_SRC/tests/lib/nftgate.sh"

tn_init 60
command -v nft >/dev/null || tap_skip_all "nft not installed"
tn_up

tap_plan 9
PIN=$TN_DIR/no-pins
mxg() { tn_exec edge "$MXG_OUT/mxgate" "$@"; }

ng_drive_start edge
ng_cmd open
tap_is "$NG_REPLY" ok "the nft gate creates table inet mxgate"
ng_cmd close keep
ng_drive_stop

# The administrator's tables, loaded while ours is there.
tn_exec edge nft -f - <<'EOF2'
table inet filter {
	set trusted { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }
	chain input { type filter hook input priority filter; policy accept;
		ip saddr @trusted accept
		tcp dport 22 accept
	}
}
table ip mxgate {
	chain pre { type filter hook prerouting priority raw; policy accept; }
}
EOF2
before=$(ng_ruleset edge)
tap_like "$(tn_exec edge nft list tables)" "table inet mxgate" "our table is left behind (a crash)"

out=$(mxg unload --pin-dir "$PIN")
tap_ok "unload: exit 0" test $? -eq 0
tap_like "$out" "deleted nft table inet mxgate" "unload says it deleted our table"
tap_ok "table inet mxgate is gone" sh -c "! ip netns exec $TN-edge nft list table inet mxgate >/dev/null 2>&1"
tap_is "$(ng_ruleset edge)" "$before" "the administrator's tables (even ip mxgate) are byte-identical"

out=$(mxg unload --pin-dir "$PIN")
tap_ok "unload again: exit 0" test $? -eq 0
tap_like "$out" "nothing of mxgate's found" "unload again says there was nothing"
tap_is "$(ng_ruleset edge)" "$before" "and still leaves the administrator's tables alone"
