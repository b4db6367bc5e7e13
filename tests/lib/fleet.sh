# Helpers for the fleet tests (tests/integration/99-fleet-*.t) on top of
# mxgated.sh and redis.sh: two backups of example.test (mx2 at edge, mx3
# at edge2), a Redis server, the second edge's mxgated, and the questions
# both kinds of test ask.
#
#   fleet_scene SECONDS [ZONE]  tn_init, tn_up, edge2, DNS (the standard
#                               zone, mx3 and the lines ZONE), p1's
#                               Postfix, the MXG_* of mxgated.sh;
#                               cleanup stops both mxgated
#   fleet_redis                 rd_init, host r1 (192.0.2.61), its
#                               redis-server
#   fleet_start2                edge2's mxgated from $MXG_CONF (self mx3,
#                               its own pins, socket and state), waits
#   status2                     edge2's status --json
#   rcpt_to SERVER SRC RCPT     the reply to RCPT TO, one session from snd

# shellcheck source=tests/lib/mxgated.sh
. "$MXG_SRC/tests/lib/mxgated.sh"
# shellcheck source=tests/lib/redis.sh
. "$MXG_SRC/tests/lib/redis.sh"

PIN2=
SOCK2=
CONF2=

fleet_scene() {
	tn_init "${1:-200}"
	tn_up
	tn_host_add edge2 192.0.2.21 2001:db8::21
	{
		tn_dns_std_zone
		echo "example.test.      300 IN MX   20 mx3.example.test."
		echo "mx3.example.test.  300 IN A    192.0.2.21"
		echo "mx3.example.test.  300 IN AAAA 2001:db8::21"
		[ -n "${2:-}" ] && echo "$2"
	} | tn_dns_zone
	tn_dns_start
	tn_postfix_start p1 primary
	MXG_PIN=$(tn_bpffs)/mxgate
	MXG_CONF=$TN_DIR/mxgate.conf
	MXG_SOCK=$TN_DIR/run/control.sock
	MXG_LOG=$TN_DIR/mxgated.log
	PIN2=$TN_DIR/bpf/mxgate2
	SOCK2=$TN_DIR/run2/control.sock
	CONF2=$TN_DIR/mxgate2.conf
	tn_on_cleanup mxg_stop
}

fleet_redis() {
	rd_init
	tn_host_add r1 192.0.2.61 2001:db8::61
	rd_server_start r1
}

status2() {
	"$MXGATE" status --json -s "$SOCK2" 2>/dev/null
}

# Written from $MXG_CONF as it is now (write that first).
fleet_start2() {
	sed -e "s|^self = .*|self = mx3.example.test|" -e "s|^pin_dir = .*|pin_dir = $PIN2|" \
		-e "s|^control_socket = .*|control_socket = $SOCK2|" \
		-e "s|^state_dir = .*|state_dir = $TN_DIR/state2|" "$MXG_CONF" >"$CONF2"
	tn_spawn edge2 mxgated "$MXGATED" -f -d -c "$CONF2"
	tn_wait 20 status2 || tap_diag "edge2's mxgated did not start: $(tail -5 "$TN_DIR/edge2/mxgated.log")"
}

rcpt_to() {
	tn_swaks snd --server "$1" --local-interface "$2" --from a@sender.test --to "$3" \
		--quit-after RCPT --timeout $((5 * TN_TIME_SCALE)) 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
