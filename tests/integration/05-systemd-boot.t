#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The package under a real systemd: boot Debian 12 in a container
# (systemd-nspawn --boot, a root made once by mmdebstrap from Debian's
# mirror and cached under /var/cache/mxgate-test), install the .deb of
# 04-deb.t, and check what an administrator would: installed but neither
# enabled nor started; with self, domains and interfaces set it starts
# under the unit's hardening (BPF, rtnetlink, the bpffs pins, the
# responder's chroot and seccomp all work), `systemctl reload` is a SIGHUP
# that reloads, `systemctl stop` removes the filter and the pins. The
# container has its own network (lo only): the gate attaches to lo.
# Skips, saying exactly what failed, where a container cannot run.
set -u
. "$MXG_SRC/tests/lib/tap.sh"
OUT=${MXG_OUT:-$MXG_SRC/build}
CACHE=${MXG_NSPAWN_CACHE:-/var/cache/mxgate-test}
# Bump the suffix when the package list changes: CI then builds a new one.
ROOT=$CACHE/nspawn-bookworm-2
ROOT_PKGS=systemd,systemd-sysv,dbus,iproute2,procps,libbpf1,libnftnl11,libseccomp2,libinih1,libldns3,libmnl0,libcap2,libhiredis0.14

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (systemd-nspawn, mmdebstrap)"
if ! command -v systemd-nspawn >/dev/null || ! command -v mmdebstrap >/dev/null; then
	sh "$MXG_SRC/scripts/install-deb-deps.sh" >/dev/null 2>&1 ||
		tap_skip_all "systemd-nspawn or mmdebstrap missing and install-deb-deps.sh failed"
fi
T=$(mktemp -d /tmp/mxg-nspawn.XXXXXX)
NSPAWN_PID=
C=
cleanup() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		[ -n "$C" ] && nsenter -t "$C" -m -u -i -n -p systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	mountpoint -q "$T/bpf" && umount "$T/bpf"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The package: 04-deb.t's, or built now.
deb=$(ls "$OUT"/deb/mxgate_*_amd64.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
	make -C "$MXG_SRC" --no-print-directory deb OUT="$OUT" >"$T/deb.log" 2>&1 ||
		tap_skip_all "make deb failed: $(tail -1 "$T/deb.log")"
	deb=$(ls "$OUT"/deb/mxgate_*_amd64.deb | head -1)
fi

# The root, once (about two minutes), under a lock for parallel runs.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	rm -rf "$ROOT.new"
	if ! mmdebstrap --variant=minbase --include="$ROOT_PKGS" bookworm "$ROOT.new" \
		"${mirror:-http://deb.debian.org/debian}" >"$T/mmdebstrap.log" 2>&1; then
		rm -rf "$ROOT.new"
		tap_skip_all "mmdebstrap bookworm from ${mirror:-deb.debian.org} failed: $(grep -E '^E:' "$T/mmdebstrap.log" | head -1)"
	fi
	mv "$ROOT.new" "$ROOT"
fi
flock -u 9

# A bpffs of our own for the container's /sys/fs/bpf (mode 0700: mxgated
# refuses pins that others could touch).
mkdir -p "$T/bpf" "$T/deb" && mount -t bpf -o mode=0700 bpf "$T/bpf" ||
	tap_skip_all "cannot mount a bpffs for the container"
cp "$deb" "$T/deb/"
# Not registered with machined, in our own scope: the host has no systemd.
# --volatile=overlay: the cached root is never written. The container gets
# CAP_BPF/CAP_PERFMON and the bpf system call, which nspawn withholds.
systemd-nspawn --boot --directory="$ROOT" --volatile=overlay --register=no --keep-unit \
	--private-network --machine="mxgt$$" --console=read-only \
	--capability=CAP_BPF,CAP_PERFMON --system-call-filter=bpf \
	--bind="$T/bpf:/sys/fs/bpf" --bind-ro="$T/deb:/mnt/deb" >"$T/console.log" 2>&1 &
NSPAWN_PID=$!
# The container's PID 1: systemd, a child (or grandchild) of systemd-nspawn.
init_pid() {
	local p q
	for p in $(pgrep -P "$NSPAWN_PID"); do
		for q in "$p" $(pgrep -P "$p"); do
			[ "$(cat "/proc/$q/comm" 2>/dev/null)" = systemd ] && C=$q && return 0
		done
	done
	return 1
}
in_c() { nsenter -t "$C" -m -u -i -n -p "$@"; }
booted() { init_pid && [[ $(in_c systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; }
wait_for() { # wait_for SECS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}
if ! wait_for 90 booted; then
	kill -0 "$NSPAWN_PID" 2>/dev/null || C=
	tap_skip_all "systemd-nspawn --boot did not reach running: $(grep -vE '^\s*$' "$T/console.log" | tail -1)"
fi

tap_plan 21
tap_pass "Debian 12 booted under systemd in a container (pid 1 is $C here)"
out=$(in_c dpkg -i "/mnt/deb/$(basename "$deb")" 2>&1)
tap_is "$?" 0 "dpkg -i the package"
tap_is "$(in_c systemctl is-enabled mxgated 2>&1)" disabled "installing it does not enable mxgated"
tap_is "$(in_c systemctl is-active mxgated 2>&1)" inactive "installing it does not start mxgated"
out=$(in_c mxgated -n 2>&1)
tap_like "$out" 'self: required key missing.*nothing is gated until self and the domains are set' \
	"the packaged mxgate.conf refuses to run until self and the domains are set"
in_c sh -c 'cat >/etc/mxgate/mxgate.conf' <<'EOT'
self = mx2.example.test
domains = example.test
interfaces = lo
resolver = 127.0.0.1
probe_interval = 2s
probe_timeout = 1s
EOT
in_c systemctl start mxgated >/dev/null 2>&1
# Status answers while the responder is still starting (the loop never
# waits for it): wait until it serves.
active() {
	[ "$(in_c systemctl is-active mxgated)" = active ] &&
		in_c mxgate status 2>/dev/null | grep -q 'responder pid [0-9]'
}
tap_ok "systemctl start: mxgated runs and answers mxgate status" wait_for 20 active
status=$(in_c systemctl status mxgated --no-pager 2>&1)
tap_like "$status" 'Active: active \(running\)' "systemctl status: active (running)"
journal_has() { in_c journalctl -u mxgated --no-pager 2>&1 | grep -qE "$1"; }
tap_ok "under the unit's hardening it loads BPF and attaches to lo" \
	journal_has 'tc gate attached on 1 interface\(s\), pins in /sys/fs/bpf/mxgate' ||
	in_c journalctl -u mxgated --no-pager 2>&1 | tail -5 | sed 's/^/# /'
tap_like "$(in_c tc filter show dev lo ingress 2>&1)" 'handle 0x4d58 mxgate_tc' "our tc filter is on lo"
tap_ok "its maps are pinned in the bpffs" test -e "$T/bpf/mxgate/gate_addrs"
rpid=$(in_c mxgate status 2>/dev/null | sed -n 's/.*responder pid \([0-9]*\).*/\1/p')
tap_like "$(in_c grep -E '^(Seccomp|Uid):' "/proc/${rpid:-0}/status" 2>&1 | tr -s '\t\n' '  ')" \
	"Uid: $(in_c id -u nobody) .*Seccomp: 2" "the responder runs as nobody under seccomp"
tap_is "$(in_c readlink "/proc/${rpid:-0}/root")" /run/mxgate/empty "the responder's root is /run/mxgate/empty"
tap_ok "StateDirectory=mxgate made /var/lib/mxgate" in_c test -d /var/lib/mxgate
# rtnetlink under the unit's RestrictAddressFamilies: a removed filter
# comes back.
in_c tc qdisc del dev lo clsact
back() { in_c tc filter show dev lo ingress 2>/dev/null | grep -q 'handle 0x4d58 mxgate_tc'; }
tap_ok "tc qdisc del dev lo clsact: mxgated hears it and attaches the filter again" wait_for 10 back
mpid=$(in_c systemctl show -p MainPID --value mxgated)
in_c systemctl reload mxgated >/dev/null 2>&1
tap_is "$?" 0 "systemctl reload: exit 0"
tap_ok "reload is a SIGHUP that rereads the config" \
	wait_for 10 journal_has 'reloaded /etc/mxgate/mxgate.conf'
tap_is "$(in_c systemctl show -p MainPID --value mxgated)" "$mpid" "same main pid after the reload"
in_c systemctl stop mxgated >/dev/null 2>&1
tap_is "$(in_c systemctl is-active mxgated)" inactive "systemctl stop: inactive"
tap_unlike "$(in_c tc filter show dev lo ingress 2>&1)" 'mxgate_tc' "stop removed our tc filter"
tap_ok "stop removed the pins" test ! -e "$T/bpf/mxgate"
tap_ok "the journal says the host is left open" \
	journal_has 'SIGTERM: detaching and exiting; the host is left open'
tap_done
