#!/bin/bash
# What a Redis server sends is bounded (hiredis 0.14 has no cap of its
# own): a message of 9 MiB on the fleet's channel, or a value of 9 MiB
# under the prefix, makes mxgated close that connection and say why, never
# hold it; it reconnects, backing off between attempts, and keeps deciding
# with its own tables meanwhile (a new sender still gets the greylist's
# 451, never a 5xx); once the value is gone it is connected again and
# takes records as before.
set -u
. "$MXG_SRC/tests/lib/fleet.sh"

mxg_scene 180
tn_on_cleanup mxg_stop
tap_plan 11
fleet_redis
mxg_config reply=greylist greylist_delay=3s greylist_window=60s
rd_conf_lines >>"$MXG_CONF"
mxg_start

redis() { mxg_status | jq -r ".counters.redis.$1"; }
connects_at_least() { [ "$(redis connected)" = true ] && [ "$(redis connects)" -ge "$1" ]; }
DEFER='^451 4\.7\.1 example\.test: this is a backup MX'
rcpt() {
	tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to "u$1@example.test" \
		--quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
big=$TN_DIR/big
head -c $((9 << 20)) /dev/zero | tr '\0' x >"$big"

tap_ok "connected to Redis" tn_wait 10 connects_at_least 1
# The bound must hold for a connection in steady state, not only in its
# first moments: the message comes once the domain is gated (which also
# makes the greylist's 451 below certain).
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$MXG_PID/status"; }
rss0=$(hwm)
rd_cli r1 -x PUBLISH "${RD_PREFIX}events" <"$big" >/dev/null
tap_ok "a 9 MiB message on the channel: refused, the log says why" \
	tn_wait 10 grep -q -E "redis .*: a reply (with more string octets|larger) than accepted" "$MXG_LOG"
tap_ok "and it reconnects" tn_wait 10 connects_at_least 2
# Held whole, it would be buffered (9 MiB) and copied into a reply (9 MiB
# more); refused, at most the 8 MiB bound was buffered.
grew=$(($(hwm) - rss0))
tap_ok "without having held the whole message (peak RSS grew by $grew kB, less than 12 MiB)" \
	test "$grew" -lt 12288

rd_cli r1 -x SET "${RD_PREFIX}p:192.0.2.77" <"$big" >/dev/null
n=$(grep -cE "a reply (with more string octets|larger) than accepted" "$MXG_LOG")
rd_admin r1 CLIENT KILL USER "$RD_USER" >/dev/null
more() { [ "$(grep -cE "a reply (with more string octets|larger) than accepted" "$MXG_LOG")" -gt "$n" ]; }
tap_ok "a 9 MiB value under the prefix: its catch-up read is refused" tn_wait 10 more
# Each connection is made (counted) and lost at its catch-up: the backoff
# must grow through that, not start again at every connection (0.25 s,
# then 0.5, 1, 2, 4: at most 6 connections in 10 s; 20 or more without).
c1=$(redis connects)
tn_sleep 10
c2=$(redis connects)
tap_ok "it backs off meanwhile: $((c2 - c1)) connections in 10 s" test $((c2 - c1)) -le 6
tap_like "$(rcpt 1)" "$DEFER" "meanwhile a new sender gets the greylist's 451 (never a 5xx)"
rd_cli r1 DEL "${RD_PREFIX}p:192.0.2.77" >/dev/null
stays_up() { # connected, and still on the same connection a second later
	local c
	[ "$(redis connected)" = true ] || return 1
	c=$(redis connects)
	sleep 1
	[ "$(redis connected) $(redis connects)" = "true $c" ]
}
tap_ok "the value gone: connected again, and it stays" tn_wait 40 stays_up
now=$(($(date +%s%N) / 1000000))
rd_cli r1 PUBLISH "${RD_PREFIX}events" "${RD_PREFIX}p:192.0.2.78 1 1 $now $((now + 60000)) 1 1" >/dev/null
taken() { grep -q "client 192.0.2.78 passed for .* by another edge" "$MXG_LOG"; }
tap_ok "and a record of the usual size is taken as before" tn_wait 10 taken
tap_ok "the oversized value was never taken" sh -c "! grep -q '192.0.2.77 passed' '$MXG_LOG'"
tap_done
