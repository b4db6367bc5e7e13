#!/bin/bash
# deploy/mxgated.service.in: systemd-analyze verify accepts the unit as
# `make install` writes it, and its offline security exposure stays low.
set -u
[ -f "$MXG_SRC/tests/lib/tap.sh" ] || { echo "1..0 # SKIP testnet library (tap.sh) not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/tap.sh"
command -v systemd-analyze >/dev/null || tap_skip_all "systemd-analyze not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|@SBINDIR@|$MXG_OUT|g; s|@SYSCONFDIR@|/etc|g" "$MXG_SRC/deploy/mxgated.service.in" >"$tmp/mxgated.service"

tap_plan 4
tap_ok "systemd-analyze verify accepts the unit" systemd-analyze verify --man=no "$tmp/mxgated.service"
sec=$(systemd-analyze security --offline=true "$tmp/mxgated.service" 2>&1)
level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for mxgated.service: \([0-9.]*\).*/\1/p')
tap_like "$level" "^[0-9]+\.[0-9]+$" "systemd-analyze security reports an exposure level ($level)"
tap_ok "exposure is at most 3.0 (OK)" awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }'
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$MXG_SRC/deploy/mxgated.service.in")
tap_is "$caps" "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_SYS_CHROOT" \
	"the bounding set is exactly the documented one"
tap_done
