#!/bin/bash
# One edge serving 10,000 domains over 100 primaries. nsd serves
# dNNNNN.test MX 10 pJJ.test (JJ = NNNNN mod 100), MX 20 mx2.example.test;
# the 100 primary addresses are on p1 (50) and p2 (50), each served by
# that host's real Postfix. All 10,000 domains get gated with none left
# unknown; then one primary becomes unreachable from the edge and exactly
# its 100 domains open, the other 9,900 stay gated.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

N=10000
P=100
tn_init 170
command -v jq >/dev/null || tn__die "jq not found; run: sh scripts/install-deps.sh"
tn_up
for j in $(seq 0 $((P - 1))); do
	if [ "$j" -lt $((P / 2)) ]; then h=p1; else h=p2; fi
	tn_addr_add "$h" "192.0.2.$((100 + j))"
done
{
	tn_dns_std_zone
	for j in $(seq 0 $((P - 1))); do
		printf 'p%02d.test. 300 IN A 192.0.2.%d\n' "$j" $((100 + j))
	done
	for i in $(seq 0 $((N - 1))); do
		printf 'd%05d.test. 300 IN MX 10 p%02d.test.\nd%05d.test. 300 IN MX 20 mx2.example.test.\n' \
			"$i" $((i % P)) "$i"
	done
} | tn_dns_zone || tn_die "zone rejected"
tn_dns_start || tn_die "nsd did not start"
TN_MAIL_DOMAINS="d00007.test" # the edge's Postfix takes mail for one of them
tn_postfix_start p1 primary
tn_postfix_start p2 primary
tn_postfix_start edge backup

MXG_PIN=$(tn_bpffs)/mxgate
MXG_CONF=$TN_DIR/mxgate.conf
MXG_SOCK=$TN_DIR/run/control.sock
MXG_LOG=$TN_DIR/mxgated.log
tn_on_cleanup mxg_stop
for i in $(seq 0 $((N - 1))); do printf 'd%05d.test\n' "$i"; done >"$TN_DIR/domains"

tap_plan 13

# Probes every 3 s (100 addresses, 50 on each Postfix); rise 1.
mxg_config domains= domains_file="$TN_DIR/domains" probe_interval=3s probe_timeout=2s \
	rise=1 state_ttl=10s recovery_grace=0
mxg_start

metric() { # state -> count of domains
	"$MXGATE" metrics -s "$MXG_SOCK" 2>/dev/null |
		awk -v s="$1" '$1 == "mxgate_domains{state=\"" s "\"}" { print $2 }'
}
count_is() { [ "$(metric "$1")" = "$2" ]; }

tap_ok "all $N domains gated" tn_wait 100 count_is gated $N
tap_is "$(metric unknown)" 0 "none unknown"
"$MXGATE" status --json -s "$MXG_SOCK" >"$TN_DIR/status.json"
tap_is "$(jq '[.domains[] | select(.state == "gated")] | length' "$TN_DIR/status.json")" $N \
	"status --json agrees: $N gated"
tap_is "$(jq -r '.domains[] | select(.name == "d04207.test") | .primary' "$TN_DIR/status.json")" \
	p07.test "d04207.test names its primary p07.test"
tap_like "$(mxg_rcpt d09999.test)" '^551 .*p99\.test' "RCPT for d09999.test: 551 naming p99.test"
tap_is "$("$MXGATE" status --json D04207.Test. -s "$MXG_SOCK" | jq -r '.name + " " + .state')" \
	"d04207.test gated" "status DOMAIN --json: one domain, any case"
tap_like "$("$MXGATE" status d00001.test -s "$MXG_SOCK")" '^domain d00001\.test: gated' \
	"status DOMAIN: text"
tap_like "$("$MXGATE" metrics -s "$MXG_SOCK")" 'mxgate_loop_stall_max_seconds [0-9.e-]+' \
	"metrics report the longest loop stall"

# p07 (192.0.2.107) becomes unreachable from the edge: its probes fail.
tn_block edge 192.0.2.107
tap_ok "exactly 100 domains open" tn_wait 30 count_is open 100
tap_is "$(metric gated)" $((N - 100)) "the other $((N - 100)) stay gated"
"$MXGATE" status --json -s "$MXG_SOCK" >"$TN_DIR/status.json"
want=$(seq 7 $P $((N - 1)) | awk '{ printf "d%05d.test\n", $1 }')
got=$(jq -r '.domains[] | select(.state == "open") | .name' "$TN_DIR/status.json" | sort)
tap_is "$got" "$want" "the open domains are exactly those of p07.test"
# The edge address serves all 10,000: it is gated only while all are.
tap_ok "the edge address opens" tn_wait 10 mxg_is_addr_gated "$TN_IP_edge" false
tap_like "$(mxg_rcpt d00007.test)" '^250 ' "mail for d00007.test reaches the backup's Postfix"

tap_done
