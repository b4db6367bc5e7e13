#!/bin/bash
# The test network cleans up after a test that hangs (watchdog) and after
# one that is killed outright (SIGKILL to its whole process group).
set -u
. "${MXG_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (network namespaces)"

lib=${MXG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/testnet.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A child test that records its prefix and dir, brings up the network with
# DNS, Postfix and a scripted server, then runs $1.
cat >"$tmp/child.sh" <<CHILD
set -u
. "$lib"
tn_init \${WD:-60}
echo "\$TN \$TN_DIR" >"$tmp/tn"
tn_up
tn_dns_std_zone | tn_dns_zone
tn_dns_start
tn_postfix_start p1 primary
tn_fake_smtp p2 tarpit
tn_bpffs >/dev/null
touch "$tmp/ready"
eval "\$1"
CHILD

leftovers() {
	local tn dir
	read -r tn dir <"$tmp/tn" || return 0
	ip netns list | grep "^$tn-"
	[ -e "$dir" ] && echo "$dir"
	grep " $dir/" /proc/self/mountinfo
	return 0
}

tap_plan 5

out=$(WD=4 timeout 30 bash "$tmp/child.sh" 'sleep 60' 2>/dev/null)
tap_like "$out" 'Bail out! testnet watchdog' "watchdog reports a hung test"
tap_is "$(leftovers)" "" "watchdog cleaned up everything"

rm -f "$tmp/ready" "$tmp/tn"
# The child blocks inside bash itself (no child process), then is killed
# with SIGKILL: no trap runs, only the watchdog is left to clean up.
mkfifo "$tmp/child.sh.fifo"
bash "$tmp/child.sh" 'exec 3<>"$0.fifo"; read -r -t 60 _ <&3' >/dev/null 2>&1 &
child=$!
# Bounds, not pauses: a loaded CI machine may need many seconds for nsd,
# Postfix and the watchdog's cleanup (it polls once a second).
for _ in $(seq 450); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
tap_ok "child came up" test -e "$tmp/ready"
has_leftovers() { [ -n "$(leftovers)" ]; }
tap_ok "child has namespaces" has_leftovers
kill -KILL "$child"
wait "$child" 2>/dev/null
for _ in $(seq 300); do has_leftovers || break; sleep 0.1; done
tap_is "$(leftovers)" "" "a SIGKILLed test is cleaned up by its watchdog"
