#!/bin/bash
# An offender found at one backup is an offender at the other: two
# backups of example.test (reply = reject) and of defer.test (reply =
# defer), each with its own mxgated, share a real redis-server
# (state_backend = redis), offender_threshold = 2. A client that opens
# three sessions at edge in a burst gets 551, 551, then 550; the offender
# record reaches Redis, edge2's list, and edge2's responder: the client's
# very first session at edge2 is answered 550 (it counted nothing there),
# while another client there still gets 551, and the offender still gets
# 451 for defer.test (a deferral never becomes a bounce). edge2's
# responder killed and restarted: the new one is told too.
set -u
. "$MXG_SRC/tests/lib/fleet.sh"

fleet_scene 200 "defer.test.        300 IN MX   10 mx1.example.test.
defer.test.        300 IN MX   20 mx2.example.test.
defer.test.        300 IN MX   20 mx3.example.test."
tap_plan 12
# Not 192.0.2.53 (the test DNS server's address).
for a in 57 58; do
	tn_addr_add snd 192.0.2.$a
done
fleet_redis

OFFENDER='^550 5\.7\.1 '
GATED='^551 5\.7\.1 '
offenders() { # offenders edge|edge2
	if [ "$1" = edge ]; then
		"$MXGATE" offenders -s "$MXG_SOCK" 2>/dev/null
	else
		"$MXGATE" offenders -s "$SOCK2" 2>/dev/null
	fi
}

mxg_config domains="example.test defer.test" reply=reject offender_threshold=2 offender_window=60s
rd_conf_lines >>"$MXG_CONF"
printf '\n[domain defer.test]\nreply = defer\n' >>"$MXG_CONF"
mxg_start
fleet_start2
gated2() { [ "$(status2 | jq -r '[.domains[] | select(.state == "gated")] | length')" = 2 ]; }
both_gated() { mxg_is_state example.test gated && mxg_is_state defer.test gated && gated2; }
tap_ok "both backups gate example.test and defer.test (the primary is up)" tn_wait 20 both_gated
both_up() {
	mxg_status | jq -e '.counters.redis.connected' >/dev/null &&
		status2 | jq -e '.counters.redis.connected' >/dev/null
}
tn_wait 10 both_up || tap_diag "not both connected to Redis"

# --- three sessions in a burst at edge: the third is an offender's
r=""
for i in 1 2 3; do
	r="$r$(rcpt_to "$TN_IP_edge" 192.0.2.57 "u$i@example.test" | cut -c1-3) "
done
tap_is "$r" "551 551 550 " "a burst of three sessions at edge: 551, 551, then 550 (offender_threshold 2)"
listed() { offenders "$1" | grep -q "^192\.0\.2\.57: "; }
tap_ok "edge lists the client as an offender" tn_wait 5 listed edge
in_redis() { [ -n "$(rd_cli r1 GET "${RD_PREFIX}o:192.0.2.57")" ]; }
tap_ok "Redis holds its offender record (${RD_PREFIX}o:192.0.2.57)" tn_wait 5 in_redis
tap_ok "edge2 lists it too, from Redis" tn_wait 5 listed edge2
marked() { grep -q "responder: 1 offender(s) of other edges" "$TN_DIR/edge2/mxgated.log"; }
tap_ok "edge2's responder is told" tn_wait 5 marked

# --- at edge2: 550 at its first session; others unchanged
tap_like "$(rcpt_to "$TN_IP_edge2" 192.0.2.57 u4@example.test)" "$OFFENDER" \
	"its first session at edge2 is answered 550 (an offender found at edge)"
tap_like "$(rcpt_to "$TN_IP_edge2" 192.0.2.58 u5@example.test)" "$GATED" \
	"another client's first session at edge2: 551"
tap_like "$(rcpt_to "$TN_IP_edge2" 192.0.2.57 u6@defer.test)" '^451 4\.7\.1 ' \
	"the offender asking for defer.test at edge2 still gets 451 (a deferral never becomes a bounce)"
one550() { [ "$(status2 | jq -r '.counters.responder.offenders')" = 1 ]; }
tap_ok "edge2's responder counts exactly one RCPT answered 550 as an offender" tn_wait 5 one550

# --- a new responder at edge2 is told the other edges' offenders
rpid=$(status2 | jq -r '.responder.pid')
kill -KILL "$rpid"
restarted() {
	local p
	p=$(status2 | jq -r 'select(.responder.state == "running") | .responder.pid')
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$rpid" ]
}
tap_ok "edge2's responder killed and restarted" tn_wait 15 restarted
tap_like "$(rcpt_to "$TN_IP_edge2" 192.0.2.57 u7@example.test)" "$OFFENDER" \
	"the new responder answers the offender 550 at its first session"
tap_done
