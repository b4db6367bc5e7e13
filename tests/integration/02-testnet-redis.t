#!/bin/bash
# The test network's Redis: a master and two replicas behind an ACL, and
# three sentinels that agree (2 of 3) on which one is the master, and move
# it when the master dies. The fleet tests build on exactly this.
set -u
. "$MXG_SRC/tests/lib/redis.sh"

tn_init 120
tn_up
rd_init
rd_set

tap_plan 10

got=$(ip netns exec "$TN-r1" redis-cli --raw -h 127.0.0.1 -p "$RD_PORT" PING 2>&1)
tap_like "$got" 'NOAUTH|NOPERM|WRONGPASS' "no command without credentials (the default user is off)"
tap_is "$(rd_cli r1 PING)" PONG "the ACL user with the password file's password gets PONG"
got=$(rd_cli r1 SET other:key 1 2>&1)
tap_like "$got" 'NOPERM' "the ACL user cannot write outside its prefix"
rd_cli r1 SET "${RD_PREFIX}probe" hello >/dev/null
replicated() {
	[ "$(rd_cli r2 GET "${RD_PREFIX}probe")" = hello ] &&
		[ "$(rd_cli r3 GET "${RD_PREFIX}probe")" = hello ]
}
tap_ok "a key written on the master is on both replicas" tn_wait 10 replicated
tap_is "$(rd_role r2) $(rd_role r3)" "slave slave" "r2 and r3 are replicas"
got=$(rd_cli r2 SET "${RD_PREFIX}x" 1 2>&1)
tap_like "$got" 'READONLY' "a replica refuses writes"
tap_is "$(rd_sentinel_master r1) $(rd_sentinel_master r2) $(rd_sentinel_master r3)" \
	"$TN_IP_r1 $TN_IP_r1 $TN_IP_r1" "every sentinel names r1 as the master"

rd_server_stop r1 KILL
promoted() {
	local m
	m=$(rd_sentinel_master r2)
	[ "$m" = "$TN_IP_r2" ] || [ "$m" = "$TN_IP_r3" ]
}
tap_ok "the sentinels promote a replica when the master dies" tn_wait 30 promoted
new=r2
[ "$(rd_sentinel_master r2)" = "$TN_IP_r3" ] && new=r3
is_master() { [ "$(rd_role "$1")" = master ]; }
tap_ok "the promoted replica says it is the master" tn_wait 10 is_master "$new"
tap_is "$(rd_cli "$new" GET "${RD_PREFIX}probe")" hello "the key survived the failover"
tap_done
