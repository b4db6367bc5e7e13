#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, a pin directory someone else controls: a bpffs mounted by
# hand without -o mode (1777, like /tmp), or a pin_dir made beforehand by
# an unprivileged user, would let that user rename or delete root's pins
# or hold the lock. Each is refused before anything is pinned or attached,
# with a message that names the directory and the fix; once fixed, the
# gate attaches.
. "$MXG_SRC/tests/lib/fault.sh"
MXG=$OUT/mxgate
fl_init 60 "$MXG" tc
ip -n "$FL_NS" link add gw0 type veth peer name gw1
ip -n "$FL_NS" link set gw0 up
# The bpffs as a hand mount leaves it: mode 1777.
mkdir -p "$FL_DIR/bpf" && mount -t bpf bpf "$FL_DIR/bpf" && FL_BPFFS=$FL_DIR/bpf ||
	{ echo "1..0 # SKIP cannot mount a bpffs"; exit 0; }
PIN=$FL_BPFFS/mxgate
n_ours() { fl_exec tc filter show dev gw0 ingress 2>/dev/null | grep -c mxgate_tc; }
# The test helper that drives the gate by hand.
attach() { fl_exec "$OUT/tests/helpers/tc_gate_drive" gate-attach --pin-dir "$PIN" --iface gw0 2>&1; }

is "$(stat -c %a "$FL_BPFFS")" 1777 "a bpffs mounted without -o mode is 1777"
out=$(attach)
rc=$?
diag "$out"
is "$rc" 1 "1777 bpffs root: gate-attach refused"
like "$out" "pin_dir $PIN: $FL_BPFFS is mode 1777, writable by others, .*chmod 0700 $FL_BPFFS .*mount -t bpf -o mode=0700" \
	"the message names the directory and the fix"
ok "nothing pinned" test ! -e "$PIN"
is "$(n_ours)" 0 "nothing attached: the host stays open"

chmod 0700 "$FL_BPFFS"
mkdir "$PIN"
chown nobody "$PIN"
out=$(attach)
rc=$?
diag "$out"
is "$rc" 1 "pin_dir owned by nobody: gate-attach refused"
like "$out" "pin_dir $PIN: $PIN is owned by uid $(id -u nobody), not root.*chown root:root $PIN" \
	"the message names the owner and the fix"
is "$(ls -A "$PIN" | wc -l)" 0 "nothing pinned in nobody's directory"
is "$(n_ours)" 0 "nothing attached"

chown root "$PIN"
chmod 0777 "$PIN"
out=$(attach)
is "$?:$(n_ours)" "1:0" "pin_dir writable by others: refused, nothing attached"
like "$out" "$PIN is mode 0777, writable by others" "... and says so"

chmod 0700 "$PIN"
ok "root's, mode 0700 all the way: gate-attach works" attach
is "$(n_ours)" 1 "our filter is on gw0"
ok "unload removes it again" fl_exec "$MXG" unload --pin-dir "$PIN"
is "$(n_ours)" 0 "nothing of ours left on gw0"
fl_done
