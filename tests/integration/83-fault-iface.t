#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, the gate interface deleted and re-created while the tc
# program is attached: nothing crashes, the pinned maps survive (the gate
# state is not lost), a controller round on the missing interface fails
# with a clear message, re-attaching to the new interface leaves exactly
# one filter, and unload still removes everything of ours.
. "$MXG_SRC/tests/lib/fault.sh"
MXG=$OUT/mxgate
fl_init 60 "$MXG" tc
fl_bpffs || { echo "1..0 # SKIP cannot mount a bpffs"; exit 0; }
PIN=$FL_BPFFS/mxgate

mkveth() {
	ip -n "$FL_NS" link add gw0 type veth peer name gw1 &&
		ip -n "$FL_NS" link set gw0 up && ip -n "$FL_NS" link set gw1 up &&
		ip -n "$FL_NS" addr add 192.0.2.20/24 dev gw0
}
GATE=$OUT/tests/helpers/tc_gate_drive # gate-*: drives the gate by hand
mxg() {
	local bin=$MXG
	case $1 in gate-*) bin=$GATE ;; esac
	fl_exec "$bin" "$@" 2>>"$FL_DIR/mxgate.err"
}
n_ours() { fl_exec tc filter show dev gw0 ingress 2>/dev/null | grep -c mxgate_tc; }

ok "veth gw0 created" mkveth
ok "gate-attach on gw0" mxg gate-attach --pin-dir "$PIN" --iface gw0
ok "a gated entry for 192.0.2.20" mxg gate-round --pin-dir "$PIN" --iface gw0 192.0.2.20=gated
is "$(n_ours)" 1 "one mxgate filter on gw0"

ok "gw0 deleted while attached" ip -n "$FL_NS" link del gw0
dump=$(fl_exec "$MXG" dump --pin-dir "$PIN" 2>&1)
rc=$?
is "$rc" 0 "dump still works with the interface gone"
like "$dump" '192\.0\.2\.20 +gated' "the gate map survived in the pins"
out=$(fl_exec "$GATE" gate-round --pin-dir "$PIN" --iface gw0 192.0.2.20=gated 2>&1)
rc=$?
diag "gate-round on the missing interface: exit $rc: $out"
ok "a round on the missing interface ends normally (exit 0 or 1, no signal)" test "$rc" -le 1
[ "$rc" -ne 0 ] && like "$out" 'gw0' "... and its message names the interface"

ok "gw0 re-created" mkveth
is "$(n_ours)" 0 "the new gw0 starts without our filter (the kernel dropped it)"
ok "gate-attach on the new gw0" mxg gate-attach --pin-dir "$PIN" --iface gw0
ok "a round on the new gw0" mxg gate-round --pin-dir "$PIN" --iface gw0 192.0.2.20=gated
is "$(n_ours)" 1 "exactly one mxgate filter on the new gw0"
like "$(mxg dump --pin-dir "$PIN" 2>&1)" '192\.0\.2\.20 +gated +fresh' "the entry is fresh"

out=$(mxg unload --pin-dir "$PIN" 2>&1)
ok "unload: exit 0" test $? -eq 0
is "$(n_ours)" 0 "unload removed our filter"
ok "unload removed the pins" test ! -e "$PIN"
fl_done
