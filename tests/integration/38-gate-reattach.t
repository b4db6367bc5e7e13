#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The tc gate once stopped silently when someone removed our filter
# (`tc qdisc del dev eth0 clsact`) or deleted and re-created an interface:
# status still said gated, nothing was logged. Now mxgated hears it on
# rtnetlink, attaches the filter again, logs and counts it; and when it
# cannot (someone else's filter holds our handle and priority), status
# says the address is not gated, and mail passes to the MTA (open, never
# half-gated) until the slot is free again.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"
OTHER=$MXG_OUT/tests/helpers/other_filter

mxg_scene 120
tap_plan 22

# A second configured interface, to delete and re-create.
mkv() { tn_exec edge ip link add mxv0 type veth peer name mxv1 && tn_exec edge ip link set mxv0 up; }
mkv || tap_bail "cannot create a veth in the edge namespace"
mxg_config interfaces="eth0 mxv0"
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
ours() { tn_exec edge tc filter show dev "$1" ingress 2>/dev/null | grep -c mxgate_tc; }
logged() { grep -c -- "$1" "$MXG_LOG"; }
metric() { tn_exec edge "$MXGATE" metrics -s "$MXG_SOCK" 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'; }
tap_like "$(mxg_rcpt example.test)" '^551 ' "551 before anything is removed"

# --- tc qdisc del: the filter goes with the qdisc
tn_exec edge tc qdisc del dev eth0 clsact
tap_ok "the removal is logged and the filter attached again" \
	tn_wait 10 grep -q 'tc filter re-attached to eth0: our filter or its clsact qdisc had been removed' "$MXG_LOG"
tap_is "$(ours eth0)" 1 "one mxgate filter on eth0 again"
tap_is "$(mxg_status | jq -r .counters.gate_reattached)" 1 "status counts one re-attach"
tap_is "$(metric mxgate_gate_reattached_total)" 1 "metrics count one re-attach"
tap_like "$(mxg_rcpt example.test)" '^551 ' "steering works again: 551"
tap_is "$(mxg_addr_gated "$TN_IP_edge")" true "status: the address is gated"

# --- the interface deleted and re-created (a new ifindex)
tn_exec edge ip link del mxv0
tap_ok "a deleted interface is logged" tn_wait 10 grep -q 'interface mxv0 is gone' "$MXG_LOG"
tap_is "$(metric mxgate_gate_unsteered_interfaces)" 1 "metrics: one interface without our filter"
mkv
tap_ok "the re-created interface gets the filter again" \
	tn_wait 10 grep -q 'tc filter re-attached to mxv0: the interface was re-created' "$MXG_LOG"
tap_is "$(ours mxv0)" 1 "one mxgate filter on the new mxv0"
tap_is "$(metric mxgate_gate_unsteered_interfaces)" 0 "metrics: every interface has it"

# --- someone else's filter takes our handle and priority: we cannot
# attach (never replace what is not ours); status must not say gated.
# mxgated is held (SIGSTOP) while the qdisc goes and the foreign filter
# takes the slot, so the test never races its re-attach; the rtnetlink
# events wait in its socket and it reads them when continued.
taken() { [ "$(tn_exec edge tc filter show dev eth0 ingress | grep -c 'other_filter')" -ge 1 ]; }
kill -STOP "$MXG_PID"
tn_exec edge tc qdisc del dev eth0 clsact
tn_exec edge "$OTHER" attach eth0 19800 "$TN_DIR/bpf/other" 0x4d58
tap_ok "a foreign filter sits at our handle and priority" taken
kill -CONT "$MXG_PID"
tap_ok "the failure is logged" tn_wait 10 grep -q 'our tc filter on eth0 is gone and cannot be attached again' "$MXG_LOG"
tap_is "$(ours eth0)" 0 "no mxgate filter on eth0"
tap_is "$(mxg_addr_gated "$TN_IP_edge")" false "status: the address is not gated"
tap_is "$(mxg_status | jq -r --arg a "$TN_IP_edge" '.addresses[] | select(.address == $a) | "\(.verdict) \(.steered)"')" \
	"true false" "status: the verdict is gated, but nothing is steered"
tap_like "$(mxg_banner)" 'mxgate-test-backup' "mail reaches the backup's Postfix: open, not half-gated"

# The slot freed: attached again at the next event.
tn_exec edge tc filter del dev eth0 ingress prio 19800
has_ours() { [ "$(ours eth0)" = 1 ]; }
tap_ok "once the slot is free, the filter is attached again" tn_wait 10 has_ours
tap_like "$(mxg_rcpt example.test)" '^551 ' "and steering resumes: 551"
mxg_term
tap_is "$(ours eth0):$(ours mxv0)" "0:0" "SIGTERM detaches from both interfaces"
tap_done
