#!/bin/bash
# The kernel gate's lifecycle touches only what is ours: filters of others
# on the same hook (a u32 before ours, a BPF counter after ours) survive
# attach, re-attach and detach, and keep seeing packets; re-attaching does
# not stack a second copy; pinned maps carry BTF (bpftool shows field
# names); a controller round removes entries it no longer writes; `mxgate
# unload` removes everything of ours and is idempotent.
set -u
# shellcheck source=tests/lib/testnet.sh
. "$MXG_SRC/tests/lib/testnet.sh"

tn_init 120
tap_plan 43

MXG=$MXG_OUT/mxgate
OTHER=$MXG_OUT/tests/helpers/other_filter

tn_up
BPFFS=$(tn_bpffs)
PIN=$BPFFS/mxgate

# gate-* commands: the test helper that drives the gate by hand.
GATE=$MXG_OUT/tests/helpers/tc_gate_drive
mxg() {
	local bin=$MXG
	case $1 in gate-*) bin=$GATE ;; esac
	tn_exec edge "$bin" "$@"
}

filters() {
	tn_exec edge tc filter show dev eth0 ingress
}

n_ours() {
	filters | grep -c 'mxgate_tc'
}

u32_there() {
	filters | grep -q 'pref 10 u32'
}

other_there() {
	filters | grep -q 'pref 30000 bpf .*other_filter'
}

both_there() {
	u32_there && other_there
}

# Someone else's filters, before ours exists.
tn_exec edge tc qdisc add dev eth0 clsact
tn_exec edge tc filter add dev eth0 ingress prio 10 protocol ip u32 match ip dport 80 0xffff
tap_ok "someone else's BPF filter attached at priority 30000" \
	tn_exec edge "$OTHER" attach eth0 30000 "$BPFFS/other_count"

tap_ok "gate-attach" mxg gate-attach --pin-dir "$PIN" --iface eth0
tap_is "$(n_ours)" 1 "one mxgate filter"
tap_like "$(filters)" 'pref 19800 bpf chain 0 handle 0x4d58 mxgate_tc' "at handle 0x4d58 priority 19800"
tap_ok "the u32 filter is still there" u32_there
tap_ok "the other BPF filter is still there" other_there

tap_ok "gate-attach again (a restart after a crash)" mxg gate-attach --pin-dir "$PIN" --iface eth0
tap_is "$(n_ours)" 1 "still exactly one mxgate filter: replaced, not stacked"
tap_ok "the u32 filter is still there" u32_there
tap_ok "the other BPF filter is still there" other_there

# Filters after ours still see the packets ours has seen, steered or not.
mxg gate-set --pin-dir "$PIN" 192.0.2.20 gated 60
before=$(tn_exec edge "$OTHER" count "$BPFFS/other_count")
tn_exec snd timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.20/25' 2>/dev/null
after=$(tn_exec edge "$OTHER" count "$BPFFS/other_count")
tap_ok "the filter after ours counted the packets ($before -> $after)" test "$after" -gt "$before"

# BTF: bpftool prints field names.
tap_like "$(bpftool map dump pinned "$PIN/gate_addrs")" '"expires_ns": [0-9]+' \
	"bpftool map dump gate_addrs shows named fields"
tap_like "$(bpftool map dump pinned "$PIN/counters")" '"pass_no_responder": [0-9]+' \
	"bpftool map dump counters shows named fields"
mxg gate-domain --pin-dir "$PIN" Example.Test gated mx1.example.test 60
tap_like "$(bpftool map dump pinned "$PIN/domains")" '"primary": "mx1.example.test"' \
	"bpftool map dump domains shows the primary by name"
tap_ok "bpftool map dump responder works (8-byte values)" bpftool map dump pinned "$PIN/responder"
tap_ok "the program is pinned" test -e "$PIN/tc_prog"

# mxgate dump, with no daemon anywhere.
mxg gate-set --pin-dir "$PIN" 2001:db8::99 gated 0
dump=$(mxg dump --pin-dir "$PIN")
# Seconds left: 60 minus however long the commands above took (seconds on a
# loaded machine), so any value from 30 to 60 is right.
tap_like "$dump" '192\.0\.2\.20 +gated +fresh +([3-5][0-9]|60)s left' "dump: fresh entry with seconds left"
tap_like "$dump" '2001:db8::99 +gated +expired' "dump: expired entry"
tap_like "$dump" 'example\.test +gated +fresh .*primary mx1\.example\.test +reason primary up' \
	"dump: domain with state, primary and reason (name stored lower case)"
tap_like "$dump" 'syn25 +[1-9]' "dump: counters summed over CPUs"
tap_like "$dump" 'v4 \(slot 0\): absent' "dump: SOCKMAP slots"
tap_like "$dump" 'attached: eth0 ingress' "dump: where the program is attached"

# A controller round keeps what it writes and removes the rest.
tap_ok "gate-round writing only 192.0.2.20" \
	mxg gate-round --pin-dir "$PIN" --iface eth0 192.0.2.20=gated
dump=$(mxg dump --pin-dir "$PIN")
tap_unlike "$dump" '2001:db8::99' "the address no longer written is gone"
tap_like "$dump" '192\.0\.2\.20 +gated +fresh' "the written one stays"
tap_is "$(n_ours)" 1 "still exactly one mxgate filter"

tap_ok "gate-detach" mxg gate-detach --pin-dir "$PIN" --iface eth0
tap_is "$(n_ours)" 0 "no mxgate filter left"
tap_ok "the u32 filter is still there" u32_there
tap_ok "the other BPF filter is still there" other_there
tap_ok "the pin directory is gone" test ! -e "$PIN"

# unload: after a crash, with and without the pins.
mxg gate-attach --pin-dir "$PIN" --iface eth0 2>/dev/null
out=$(mxg unload --pin-dir "$PIN")
tap_like "$out" 'detached from eth0' "unload detaches our filter"
tap_ok "and removes the pins" test ! -e "$PIN"
tap_ok "the u32 filter and the other BPF filter survive unload" both_there
out=$(mxg unload --pin-dir "$PIN")
tap_ok "unload again: exit 0" test $? -eq 0
tap_like "$out" "nothing of mxgate's found" "unload again says there was nothing"

# Pins lost (another bpffs, a reboot of the mount): the filter is still
# found by its program's name at our handle/priority.
mxg gate-attach --pin-dir "$PIN" --iface eth0 2>/dev/null
rm -r "$PIN"
out=$(mxg unload --pin-dir "$PIN")
tap_like "$out" 'detached from eth0' "unload without pins still finds and detaches our filter"
tap_is "$(n_ours)" 0 "no mxgate filter left"

# A shared pin directory (here a bpffs root, which an administrator may give
# by mistake) holding other programs' pins with our common names: unload
# removes only objects of ours, judged by name and type, not by file name.
mkdir -p "$BPFFS/shared"
bpftool map create "$BPFFS/shared/counters" type array key 4 value 8 entries 1 name counters
bpftool map create "$BPFFS/shared/domains" type array key 4 value 4 entries 1 name stats
out=$(mxg unload --pin-dir "$BPFFS/shared" 2>&1)
tap_ok "unload of a shared directory leaves others' 'counters' and 'domains' pins" \
	test -e "$BPFFS/shared/counters" -a -e "$BPFFS/shared/domains"
tap_like "$out" "not mxgate's" "and says they are not mxgate's"

# Not a bpffs: say so and how to mount one.
mkdir -p "$TN_DIR/notbpf"
out=$(mxg gate-attach --pin-dir "$TN_DIR/notbpf/mxgate" --iface eth0 2>&1)
tap_like "$out" "not a bpf filesystem; mount one with: mount -t bpf -o mode=0700 bpf $TN_DIR/notbpf" \
	"pin_dir on a non-bpf filesystem is refused with advice"
touch "$TN_DIR/notbpf/domains"
tap_ok "unload refuses a directory that is not on a bpffs" \
	sh -c '! "$@"' unload "$MXG" unload --pin-dir "$TN_DIR/notbpf"
tap_ok "and leaves its files alone" test -e "$TN_DIR/notbpf/domains"

tap_done
