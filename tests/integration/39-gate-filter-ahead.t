#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Another tool's tc filter ahead of ours on the same ingress hook (a lower
# preference) may end classification, and then mxgate's program never
# runs: mail reaches the MTA while status says gated. mxgated notices it
# on its next check and says so: the log (once, with the tc command to
# look), status per interface (text and JSON), the address's steer
# ("filter-ahead", not "steered") and a metric. A filter after ours is not
# reported; removing the one ahead clears the report.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 17

mxg_config
mxg_start
tap_ok "gated" mxg_wait_state example.test gated 10
metric() { tn_exec edge "$MXGATE" metrics -s "$MXG_SOCK" 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'; }
ahead() { mxg_status | jq -r '.interfaces[] | select(.name == "eth0") | .filters_ahead'; }
steer() { mxg_status | jq -r --arg a "$TN_IP_edge" '.addresses[] | select(.address == $a) | .steer'; }
text() { tn_exec edge "$MXGATE" status -s "$MXG_SOCK" 2>/dev/null; }
M='mxgate_gate_filters_ahead{interface="eth0"}'

# A filter after ours (a higher preference) does not keep ours from running.
tn_exec edge tc filter add dev eth0 ingress pref 40000 protocol all u32 match u32 0 0 ||
	tap_bail "cannot add a u32 filter"
sleep 3
tap_is "$(ahead)" 0 "a filter after ours is not reported"
tap_is "$(steer)" steered "the address is steered"

# One ahead of ours.
tn_exec edge tc filter add dev eth0 ingress pref 1 protocol all u32 match u32 0 0
tap_ok "the filter ahead is logged with the command to look" \
	tn_wait 15 grep -q 'interface eth0: 1 foreign tc filter(s) ahead of ours (the first: u32 at pref 1).*see: tc filter show dev eth0 ingress' "$MXG_LOG"
tap_is "$(ahead)" 1 "status JSON: one filter ahead on eth0"
tap_is "$(mxg_status | jq -r '.interfaces[] | select(.name == "eth0") | "\(.filter) \(.ahead_kind) \(.ahead_pref)"')" \
	"true u32 1" "status JSON: ours is there, the first ahead is u32 at pref 1"
tap_is "$(steer)" filter-ahead "status JSON: the address's steer says filter-ahead"
tap_is "$(mxg_addr_gated "$TN_IP_edge")" false "status JSON: the address is not reported gated"
tap_like "$(text)" 'interface eth0: 1 foreign tc filter\(s\) ahead of ours .*tc filter show dev eth0 ingress' \
	"status text names the interface and the command"
tap_like "$(text)" "address $TN_IP_edge: open, not steered: another tc filter runs before ours" \
	"status text: the address is not steered"
tap_is "$(metric "$M")" 1 "metric: one filter ahead on eth0"
sleep 3
tap_is "$(grep -c 'foreign tc filter(s) ahead of ours' "$MXG_LOG")" 1 "logged once, not every round"

# Removed: the report clears.
tn_exec edge tc filter del dev eth0 ingress pref 1
tap_ok "the clearing is logged" \
	tn_wait 15 grep -q 'interface eth0: no foreign tc filter ahead of ours any more' "$MXG_LOG"
tap_is "$(ahead)" 0 "status JSON: nothing ahead"
tap_is "$(steer)" steered "the address is steered again"
tap_is "$(metric "$M")" 0 "metric: zero"
tap_like "$(mxg_rcpt example.test)" '^551 ' "steering works: the responder answers"
mxg_term
tap_done
