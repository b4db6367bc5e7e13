#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, a flapping primary: the primary's addresses become
# unreachable from the edge and reachable again every 2 s. The domain opens
# at the first failure (fall 1) and must not change state faster than rise
# x probe_interval allows; with recovery_grace it stays open while the
# flapping lasts, and is gated again once the primary is steady. The
# daemon survives it all.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 100
tap_plan 7

# probe_interval 1s, probe_timeout 1s, rise 2, fall 1, recovery_grace 2s
mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10

# Record every state the daemon reports, with our own clock.
(
	last=
	while :; do
		s=$(mxg_state example.test)
		if [ -n "$s" ] && [ "$s" != "$last" ]; then
			echo "$(mxg_ms) $s"
			last=$s
		fi
		sleep 0.1
	done
) >"$TN_DIR/states" &
REC=$!
tn_on_cleanup "kill $REC 2>/dev/null"

block() {
	tn_block edge "$TN_IP_p1"
	tn_block edge "$TN_IP6_p1"
}
unblock() {
	tn_unblock edge "$TN_IP_p1"
	tn_unblock edge "$TN_IP6_p1"
}

FLAPS=4
t0=$(mxg_ms)
for i in $(seq $FLAPS); do
	block
	sleep 2
	unblock
	sleep 2
done
t1=$(mxg_ms)
tap_ok "primary steady again: gated within rise x interval + grace + 3 s" \
	mxg_wait_state example.test gated 8
sleep 0.3
kill "$REC" 2>/dev/null
wait "$REC" 2>/dev/null

tap_diag "states seen (ms since the flapping began):" \
	"$(awk -v t="$t0" '{ printf "%d %s\n", $1 - t, $2 }' "$TN_DIR/states")"
# Transitions while flapping (from t0 until the flapping ended).
during=$(awk -v a="$t0" -v b="$t1" 'NR > 1 && $1 >= a && $1 <= b' "$TN_DIR/states" | wc -l)
# rise x probe_interval = 2 s: in the flapping window at most one change
# per 2 s could ever be allowed; with recovery_grace, only the first opening.
allowed=$(((t1 - t0) / 2000))
tap_ok "at most one state change per rise x probe_interval while flapping ($during in $(((t1 - t0) / 1000)) s)" \
	test "$during" -le "$allowed"
tap_is "$during" 1 "with recovery_grace the only change while flapping is the first opening"
# No gated period shorter than rise x probe_interval after an open one.
short=$(awk '{ if (p == "open" && $2 == "gated") g = $1; if (p == "gated" && $2 == "open" && g && $1 - g < 2000) n++; p = $2 } END { print n + 0 }' "$TN_DIR/states")
tap_is "$short" 0 "no gated period shorter than rise x probe_interval"
tap_ok "mxgated is still running" kill -0 "$MXG_PID"
tap_is "$(grep -c 'domain example.test: gated -> open' "$MXG_LOG"),$(grep -c 'domain example.test: open -> gated' "$MXG_LOG")" 1,2 \
	"its log shows one opening (the first failure) and two gatings (before, after)"
tap_done
