#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, no bpffs: every command that needs pins, pointed at a
# pin_dir that is not on a bpf filesystem (or whose parent does not exist),
# fails with one line that says so and how to mount one, touches nothing
# there, and attaches nothing.
. "$MXG_SRC/tests/lib/fault.sh"
MXG=$OUT/mxgate
fl_init 60 "$MXG" tc

ip -n "$FL_NS" link add gw0 type veth peer name gw1
ip -n "$FL_NS" link set gw0 up
mkdir -p "$FL_DIR/plain"
echo "someone's file" >"$FL_DIR/plain/gate_addrs"
GATE=$OUT/tests/helpers/tc_gate_drive # gate-*: drives the gate by hand
mxg() {
	local bin=$MXG
	case $1 in gate-*) bin=$GATE ;; esac
	fl_exec "$bin" "$@"
}
n_ours() { fl_exec tc filter show dev gw0 ingress 2>/dev/null | grep -c mxgate_tc; }

check() { # DESC ARGS...: exit 1, one line, the advice
	local desc=$1 out rc
	shift
	out=$(mxg "$@" 2>&1)
	rc=$?
	diag "mxgate $*: exit $rc: $out"
	is "$rc" 1 "$desc: exit 1"
	like "$out" 'not a bpf filesystem|does not exist|No such file' "$desc: says what is wrong"
	like "$out" 'mount -t bpf' "$desc: says how to mount a bpffs"
	is "$(printf '%s\n' "$out" | wc -l)" 1 "$desc: one line"
}

check "gate-attach, pin_dir on a plain directory" gate-attach --pin-dir "$FL_DIR/plain/mxgate" --iface gw0
is "$(n_ours)" 0 "nothing attached to gw0"
ok "nothing created in the plain directory" test ! -e "$FL_DIR/plain/mxgate"
check "gate-round, pin_dir on a plain directory" gate-round --pin-dir "$FL_DIR/plain" --iface gw0 192.0.2.20=gated
check "dump, pin_dir on a plain directory" dump --pin-dir "$FL_DIR/plain"
check "unload, pin_dir on a plain directory" unload --pin-dir "$FL_DIR/plain"
is "$(cat "$FL_DIR/plain/gate_addrs")" "someone's file" "a file there of the same name as our map is untouched"
check "gate-attach, pin_dir under a missing directory" gate-attach --pin-dir "$FL_DIR/none/mxgate" --iface gw0
is "$(n_ours)" 0 "still nothing attached to gw0"
fl_done
