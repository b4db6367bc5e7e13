#!/bin/bash
# gate = nft, administrator mode: the administrator's own table declares
# the maps mxg4/mxg6 and the tproxy rule (the snippet of
# docs/deployment.md); mxgate only writes the maps' elements. Steering,
# expiry and a byte-identical ruleset (elements aside) after open, rounds
# and close; a missing or wrongly typed map is refused with a clear error.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/testnet.sh"
. "$MXG_SRC/tests/lib/nftgate.sh"

tn_init 150
command -v nft >/dev/null || tap_skip_all "nft not installed"
tn_up
tn_postfix_start edge backup

# The snippet of docs/deployment.md, inside a table with other things.
tn_exec edge nft -f - <<'EOF2'
table inet filter {
	map mxg4 { type ipv4_addr : inet_service; flags timeout; }
	map mxg6 { type ipv6_addr : inet_service; flags timeout; }
	set trusted { type ipv4_addr; flags interval; elements = { 10.0.0.0/8 } }
	chain mxgate {
		type filter hook prerouting priority mangle; policy accept;
		tcp dport 25 tcp flags & (syn|ack) == syn tproxy ip to 127.0.0.1:ip daddr map @mxg4
		tcp dport 25 tcp flags & (syn|ack) == syn tproxy ip6 to [::1]:ip6 daddr map @mxg6
	}
	chain input { type filter hook input priority filter; policy accept;
		ip saddr @trusted accept
	}
}
table ip other {
	map wrong4 { type ipv4_addr : ipv4_addr; flags timeout; }
	chain c { type filter hook forward priority 0; policy accept; }
}
EOF2
before=$(ng_ruleset edge)
before_stripped=$(ng_ruleset edge strip)

tap_plan 11
E4=$TN_IP_edge
E6=$TN_IP6_edge
ng_drive_start edge

ng_cmd open "inet nosuch,mxg"
tap_like "$NG_REPLY" "^error .*nosuch" "a missing table is refused with its name"
ng_cmd open "ip other,wrong"
tap_like "$NG_REPLY" "^error .*must be declared as" "a map of the wrong type is refused with the declaration to use"

ng_cmd open "inet filter,mxg"
tap_is "$NG_REPLY" ok "open with nft_table = inet filter, nft_set = mxg"
tap_is "$(ng_ruleset edge)" "$before" "open changes nothing (the maps were empty)"
tap_ok "no table inet mxgate in administrator mode" sh -c "! ip netns exec $(tn_ns edge) nft list table inet mxgate"

ng_cmd listen
ng_cmd responder
ng_cmd round 30000 "$E4" "$E6"
tap_is "$(ng_steered_to snd "$E4")" "$E4 25" "IPv4: the administrator's rule steers with mxgate's elements"
tap_is "$(ng_steered_to snd "$E6")" "$E6 25" "IPv6 too"
tap_is "$(ng_ruleset edge strip)" "$before_stripped" "only the maps' elements changed"

ng_cmd round "$(tn_ms 1500)" "$E4"
tn_sleep 2
tap_like "$(ng_banner snd "$E4")" "^220 mx2.example.test ESMTP" "an unrefreshed element expires: Postfix answers"

ng_cmd round 30000 "$E4" "$E6"
ng_cmd close detach
tap_is "$(ng_ruleset edge)" "$before" "close(detach) empties the maps: byte-identical ruleset"
tap_like "$(tn_exec edge nft list table ip other)" "map wrong4" "the other table is still there"
tap_done
