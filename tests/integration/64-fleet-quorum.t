#!/bin/bash
# A quorum of vantage points on real Redis: two backups of example.test
# (MX 20 mx2 on host edge, MX 20 mx3 on host edge2: the same preference,
# so neither is the other's primary), each with its own mxgated and
# Postfix, quorum = 2, sharing one redis-server. Both see the primary up:
# the domain is gated on both (status and the tc gate map). One is cut off
# from the primary (a route in its namespace): the domain is open on both,
# on the edge that still sees it up for the quorum, and a real SMTP
# session to that backup ends at its Postfix, not at the responder. Back:
# gated on both again. Redis stopped: nobody can verify a quorum, both
# open (quorum_unverified).
set -u
. "$MXG_SRC/tests/lib/fleet.sh"

tn_init 150
command -v jq >/dev/null || tn__die "jq not found; run: sh scripts/install-deps.sh"
command -v bpftool >/dev/null || tn__die "bpftool not found; run: sh scripts/install-deps.sh"
[ -x "$MXGATED" ] || tn__die "$MXGATED not built; run make"
tn_up
tn_host_add edge2 192.0.2.21 2001:db8::21
{
	tn_dns_std_zone
	cat <<'EOF'
example.test.      300 IN MX   20 mx3.example.test.
mx3.example.test.  300 IN A    192.0.2.21
mx3.example.test.  300 IN AAAA 2001:db8::21
EOF
} | tn_dns_zone
tn_dns_start
fleet_redis
tn_postfix_start p1 primary
tn_postfix_start edge backup
TN_MYHOSTNAME_edge2=mx3.example.test tn_postfix_start edge2 backup
BPF=$(tn_bpffs)

# One mxgated per edge: its own config, socket, pins, log.
declare -A PID BG
edge_conf() {
	local h=$1 self=$2
	MXG_CONF=$TN_DIR/$h.conf MXG_PIN=$BPF/$h MXG_SOCK=$TN_DIR/run/$h.sock
	MXG_CONF_EXTRA=$(rd_conf_lines "") mxg_config self="$self" quorum=2
}
edge_start() {
	local h=$1
	tn_exec "$h" "$MXGATED" -f -d -c "$TN_DIR/$h.conf" >>"$TN_DIR/$h.mxgated.log" 2>&1 &
	BG[$h]=$!
	if ! tn_wait 20 st "$h"; then
		tap_diag "mxgated on $h did not start; its log:"
		sed 's/^/#   /' "$TN_DIR/$h.mxgated.log"
		return 1
	fi
	PID[$h]=$(st "$h" | jq -r .pid)
}
edge_stop() {
	local h
	for h in "${!PID[@]}"; do
		kill -TERM "${PID[$h]}" 2>/dev/null
		wait "${BG[$h]}" 2>/dev/null
	done
	PID=()
	return 0
}
tn_on_cleanup edge_stop
st() {
	"$MXGATE" status --json -s "$TN_DIR/run/$1.sock" 2>/dev/null
}
# metric $2 of host $1's mxgated
metric() {
	"$MXGATE" metrics -s "$TN_DIR/run/$1.sock" 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }'
}
# state/reason of example.test on host $1
sr() {
	st "$1" | jq -r '.domains[] | select(.name == "example.test") | .state + "/" + .reason'
}
is_sr() { [ "$(sr "$1")" = "$2" ]; }
both() { is_sr edge "$1" && is_sr edge2 "$2"; }
# an entry of host $1's tc gate map says gated (state 1)
in_gate_map() {
	local n
	n=$(bpftool -j map dump pinned "$BPF/$1/gate_addrs" 2>/dev/null |
		jq '[.[] | select(.formatted.value.state == 1)] | length')
	[ "${n:-0}" -gt 0 ]
}

tap_plan 17

edge_conf edge mx2.example.test
edge_conf edge2 mx3.example.test
grep -q '^quorum = 2$' "$TN_DIR/edge.conf" || tn__die "no quorum in the config"
edge_start edge || tn__die "mxgated on edge did not start"
edge_start edge2 || tn__die "mxgated on edge2 did not start"

# --- 1: both see the primary up
tap_ok "both edges see the primary up: example.test gated on both" \
	tn_wait 15 both gated/primary_up gated/primary_up
tap_is "$(st edge | jq -r '.counters.quorum | "\(.verified) \(.edges_read)"') $(st edge2 | jq -r '.counters.quorum | "\(.verified) \(.edges_read)"')" \
	"true 1 true 1" "each reads the other edge's verdicts (verified, 1 other edge)"
both_in_gate_map() { in_gate_map edge && in_gate_map edge2; }
tap_ok "the gate map of each edge holds its address" both_in_gate_map
keys=$(rd_cli r1 --scan --pattern "${RD_PREFIX}q*" | sort | tr '\n' ' ')
tap_like "$keys" "${RD_PREFIX}q:mx2.example.test:192.0.2.11 .*${RD_PREFIX}q:mx3.example.test:192.0.2.11 " \
	"Redis holds each edge's verdict per primary address"
tap_is "$(rd_cli r1 ZRANGE "${RD_PREFIX}qedges" 0 -1 | sort | tr '\n' ' ')" \
	"mx2.example.test mx3.example.test " "and the index of edges names both (the readers' list of keys to ask)"
# The read asks for this edge's own addresses by name: the metrics say
# so, and Redis sees no SCAN while reads go on (the fleet's catch-up SCAN
# runs only at a connection).
quorum_metrics() {
	local h=$1 r k
	r=$(metric "$h" mxgate_quorum_reads_total)
	k=$(metric "$h" mxgate_quorum_keys_read_total)
	[ "$(metric "$h" mxgate_quorum_edges_seen)" = 1 ] &&
		[ "$(metric "$h" mxgate_quorum_verified)" = 1 ] &&
		[ "${r:-0}" -gt 0 ] && [ "${k:-0}" -gt 0 ]
}
both_quorum_metrics() { quorum_metrics edge && quorum_metrics edge2; }
tap_ok "metrics of each edge: 1 other edge seen, verified, reads done, keys asked" \
	both_quorum_metrics
scans() { rd_admin r1 INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_scan:calls=\([0-9]*\),.*/\1/p'; }
reads_past() { [ "$(metric edge mxgate_quorum_reads_total)" -ge "$1" ]; }
s0=$(scans)
r0=$(metric edge mxgate_quorum_reads_total)
tn_wait 15 reads_past $((r0 + 2)) || tap_diag "edge's reads did not go on: $r0 -> $(metric edge mxgate_quorum_reads_total)"
tap_is "$(scans) $(($(metric edge mxgate_quorum_reads_total) >= r0 + 2))" "${s0:-} 1" \
	"two more reads, and no SCAN reached Redis meanwhile"
tap_like "$(mxg_rcpt example.test "$TN_IP_edge")" '^551 ' "a sender at mx2 meets the responder's 551"

# --- 2: edge2 cut off from the primary
tn_block_host edge2 p1
tap_ok "edge2 cut off from the primary: open on both (edge: quorum, edge2: primary_down)" \
	tn_wait 15 both open/quorum open/primary_down
not_in_gate_map() { ! in_gate_map "$1"; }
tap_ok "no entry of edge's tc gate map says gated" not_in_gate_map edge
tap_like "$(mxg_banner "$TN_IP_edge")" '^220 mx2\.example\.test ESMTP mxgate-test-backup' \
	"a session to mx2 is greeted by its Postfix"
tap_ok "a message to mx2 is accepted (250 after DATA)" mxg_send example.test "$TN_IP_edge"
tap_ok "and it is in mx2's Postfix" tn_mail_wait edge 1 10

# --- 3: back
tn_unblock_host edge2 p1
tap_ok "edge2 reaches the primary again: gated on both" \
	tn_wait 20 both gated/primary_up gated/primary_up

# --- 4: Redis stopped: no quorum can be verified
rd_server_stop r1
tap_ok "Redis stopped: open on both, quorum_unverified" \
	tn_wait 15 both open/quorum_unverified open/quorum_unverified
tap_is "$(metric edge mxgate_quorum_verified) $(metric edge mxgate_domains_quorum_open'{reason="quorum_unverified"}')" \
	"0 1" "its metrics say unverified, and one domain held open for it"
# shellcheck disable=SC2154 # set by tn_host_add
tap_like "$(mxg_rcpt example.test "$TN_IP_edge2")" '^250 ' "a sender at mx3 gets past RCPT (its Postfix)"
tap_done
