#!/bin/bash
# offender_set = yes, end to end (real DNS, Postfix, mxgated): a client
# that keeps asking the backup is answered 550 and lands, with a timeout of
# offender_window, in mxgate's own nft set (table inet mxgate, even with
# gate = tc) and in `mxgate offenders`; a client that asked once does not.
# Then administrator mode (offender_nft_set) with gate = nft: only the
# elements of the administrator's sets change, the rest of their ruleset
# stays byte-identical.
set -u
if [ ! -f "${MXG_SRC:-.}/tests/lib/mxgated.sh" ]; then
	echo "1..0 # SKIP tests/lib/mxgated.sh not merged yet"
	exit 0
fi
. "$MXG_SRC/tests/lib/mxgated.sh"
. "$MXG_SRC/tests/lib/nftgate.sh"

OFFENDER='^550 5\.7\.1 You tried me'

rcpt_from() { # rcpt_from SRC DOMAIN [SERVER]
	tn_swaks snd --server "${3:-$TN_IP_edge}" --local-interface "$1" --from a@sender.test \
		--to "u@$2" --quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
offenders() { tn_exec edge "$MXGATE" offenders -s "$MXG_SOCK"; }
nft_set() { tn_exec edge nft list set "$@" 2>&1; }
# Four tries: the fourth is past offender_threshold = 3.
trip() { # trip SRC [SERVER]
	local i r
	for i in 1 2 3 4; do
		r=$(rcpt_from "$1" example.test "${2:-}")
	done
	echo "$r"
}

mxg_scene 150
command -v nft >/dev/null || tap_skip_all "nft not installed"
tn_addr_add snd 192.0.2.31
tap_plan 21

# ---- own sets, gate = tc ----
# offender_window 1m, and the seconds below, times MXG_TIME_SCALE
# (testnet.sh): W is the window in seconds.
W=$((60 * TN_TIME_SCALE))
mxg_config offender_threshold=3 offender_window="$(tn_dur 1m)" offender_set=yes
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10
tap_like "$(nft_set inet mxgate offenders4)" "flags timeout" \
	"gate = tc: mxgated created set offenders4 in table inet mxgate"
tap_is "$(offenders)" "no offenders" "mxgate offenders: none yet"
tap_like "$(trip "$TN_IP_snd")" "$OFFENDER" "the fourth try from $TN_IP_snd gets 550"
tap_like "$(rcpt_from 192.0.2.31 example.test)" "^551 " "192.0.2.31 asks once: 551"
in_set4() { nft_set inet mxgate offenders4 | grep -q "$TN_IP_snd timeout"; }
tap_ok "the offender reaches the set" tn_wait 5 in_set4
s4=$(nft_set inet mxgate offenders4)
tap_like "$s4" "$TN_IP_snd timeout $(tn_nft_dur "$W")" "with a timeout of offender_window"
tap_unlike "$s4" "192\\.0\\.2\\.31" "the other client is not in the set"
o=$(offenders)
tap_like "$o" "^$TN_IP_snd: [0-9]+ report\\(s\\), .*expires in [0-9]+s, nft set inet mxgate offenders4" \
	"mxgate offenders lists it, with its set"
tap_unlike "$o" "192\\.0\\.2\\.31" "and not the other client"
# Four seconds on, the element expires in 56s or less; a refresh puts it
# back above 57s for three seconds, time enough to see on a loaded machine.
tn_sleep 4
rcpt_from "$TN_IP_snd" example.test >/dev/null
# The element's "expires 1m2s345ms" in seconds.
expires_s() {
	nft_set inet mxgate offenders4 | grep -Eo "$TN_IP_snd timeout [0-9dhms]+ expires [0-9dhms]+" |
		awk '{ t = $NF; s = 0
		       while (match(t, /^[0-9]+(ms|d|h|m|s)/)) {
		           n = substr(t, 1, RLENGTH); t = substr(t, RLENGTH + 1)
		           v = n + 0; u = n; sub(/^[0-9]+/, "", u)
		           s += u == "ms" ? v / 1000 : u == "d" ? v * 86400 : u == "h" ? v * 3600 : u == "m" ? v * 60 : v
		       }
		       print int(s) }'
}
refreshed() {
	local e
	e=$(expires_s)
	[ -n "$e" ] && [ "$e" -ge $((W - 3 * TN_TIME_SCALE)) ]
}
tap_ok "another 550 four seconds later refreshes the element's timeout" tn_wait 5 refreshed
tap_like "$(trip "$TN_IP6_snd" "$TN_IP6_edge")" "$OFFENDER" "IPv6: the fourth try gets 550"
in_set6() { nft_set inet mxgate offenders6 | grep -q "$TN_IP6_snd timeout"; }
tap_ok "IPv6: the offender reaches offenders6" tn_wait 5 in_set6
tap_like "$(tn_exec edge "$MXGATE" status -s "$MXG_SOCK")" "offenders [1-9]" \
	"mxgate status counts the offender replies"
mxg_term
tap_ok "a clean stop removes table inet mxgate (gate = tc)" \
	sh -c "! ip netns exec $TN-edge nft list table inet mxgate >/dev/null 2>&1"

# ---- administrator's sets, gate = nft ----
tn_exec edge nft -f - <<'EOF2'
table inet filter {
	set bad4 { type ipv4_addr; flags timeout; }
	set bad6 { type ipv6_addr; flags timeout; }
	chain input { type filter hook input priority filter; policy accept;
		tcp dport 22 accept
	}
}
EOF2
before=$(ng_ruleset edge strip)
mxg_config offender_threshold=3 offender_window="$(tn_dur 2m)" offender_set=yes gate=nft interfaces= \
	"offender_nft_set=inet filter bad"
mxg_start
tap_ok "gate = nft: example.test becomes gated" mxg_wait_state example.test gated 10
tap_like "$(trip "$TN_IP_snd")" "$OFFENDER" "the fourth try gets 550"
in_bad4() { nft_set inet filter bad4 | grep -q "$TN_IP_snd timeout"; }
tap_ok "the offender reaches the administrator's set bad4" tn_wait 5 in_bad4
tap_unlike "$(tn_exec edge nft list table inet mxgate)" "offenders" \
	"no offender set of ours in table inet mxgate"
tap_is "$(ng_ruleset edge strip)" "$before" "the administrator's ruleset is unchanged but for elements"
mxg_term
tap_is "$MXG_RC" 0 "stopped cleanly"
tap_done
