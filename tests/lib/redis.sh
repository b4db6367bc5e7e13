# Real Redis for the fleet tests, on top of testnet.sh: Debian's
# redis-server (a master and its replicas) and redis-sentinel, each in a
# host namespace of the test network, with an ACL user and a password file
# as mxgated uses them (the default user is off: nothing talks to these
# servers without credentials). Everything runs through tn_spawn, so the
# test network's cleanup (trap and watchdog) kills it even when a test
# fails or hangs.
#
#   source "$MXG_SRC/tests/lib/redis.sh"   (after testnet.sh, or instead)
#   tn_init 120; tn_up
#   rd_init                      users, password files, checks the tools
#   rd_set                       hosts r1 r2 r3: master on r1, replicas on
#                                r2 r3, a sentinel on each (quorum 2 of 3)
#   rd_conf_lines [sentinel]     the mxgate.conf lines to reach them
#
# ---- Setup -------------------------------------------------------------
# rd_init               Checks redis-server, redis-sentinel, redis-cli
#                       (bails out naming install-deps.sh if missing). Writes
#                       $RD_PASS_FILE (the ACL user's password, mode 0600)
#                       and the admin's, used by replicas and sentinels.
# rd_hosts              Adds hosts r1 r2 r3 (192.0.2.61-63, 2001:db8::61-63).
# rd_server_start HOST [MASTER_HOST]  Starts redis-server in HOST's namespace
#                       on port $RD_PORT of HOST's first v4 and v6 address
#                       and 127.0.0.1, no persistence; with MASTER_HOST a
#                       replica of that host's server. Waits until it
#                       answers PING through the ACL (and, for a replica,
#                       until its link to the master is up).
# rd_sentinel_start HOST MASTER_HOST  Starts redis-sentinel in HOST's
#                       namespace on port $RD_SENTINEL_PORT, monitoring
#                       MASTER_HOST's server as $RD_MASTER_NAME with quorum
#                       $RD_QUORUM (default 2), down-after $RD_DOWN_AFTER_MS
#                       (1000), failover timeout $RD_FAILOVER_TIMEOUT_MS
#                       (5000), both times MXG_TIME_SCALE (tn_ms). Waits
#                       until it reports the master.
# rd_set                rd_hosts, then master r1, replicas r2 r3, sentinels
#                       on r1 r2 r3; waits until every sentinel knows the
#                       two replicas and the two other sentinels.
# rd_server_stop HOST [SIG]  Stops HOST's server (SIGTERM; KILL after 5 s);
#                       SIG KILL for a crash.
# rd_sentinel_stop HOST
#
# ---- Asking -------------------------------------------------------------
# rd_cli HOST ARGS...   redis-cli as the ACL user $RD_USER against HOST's
#                       server (run in HOST's namespace); raw output.
# rd_admin HOST ARGS... The same as the admin user (CONFIG, ROLE, INFO...).
# rd_sentinel HOST ARGS...  redis-cli to HOST's sentinel.
# rd_role HOST          master / slave (ROLE's first word); empty if down.
# rd_link_up HOST       0 when HOST is a replica whose master link is up.
# rd_sentinel_master HOST  The master's address as HOST's sentinel sees it.
# rd_wait_master HOST ADDR SECS  Waits until HOST's sentinel names ADDR.
# rd_conf_lines [sentinel]  Prints the mxgate.conf lines for these servers:
#                       state_backend, redis (r1) or redis_sentinels and
#                       redis_master_name, redis_user, redis_password_file,
#                       redis_prefix.
#
# ---- Variables -----------------------------------------------------------
# RD_USER (mxgate), RD_PASS_FILE, RD_PREFIX (per run: "$TN:"), RD_PORT (6379),
# RD_SENTINEL_PORT (26379), RD_MASTER_NAME (mxgate), RD_QUORUM (2),
# RD_DOWN_AFTER_MS (1000), RD_FAILOVER_TIMEOUT_MS (5000);
# files per host: $TN_DIR/HOST/redis/{redis.conf,sentinel.conf},
# $TN_DIR/HOST/{redis,sentinel}.log (tn_spawn).

# shellcheck source=tests/lib/testnet.sh
declare -F tn_init >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/testnet.sh"

RD_USER=${RD_USER:-mxgate}
RD_PORT=${RD_PORT:-6379}
RD_SENTINEL_PORT=${RD_SENTINEL_PORT:-26379}
RD_MASTER_NAME=${RD_MASTER_NAME:-mxgate}
RD_QUORUM=${RD_QUORUM:-2}
RD_DOWN_AFTER_MS=${RD_DOWN_AFTER_MS:-1000}
RD_FAILOVER_TIMEOUT_MS=${RD_FAILOVER_TIMEOUT_MS:-5000}
RD_PASS_FILE=
RD_PREFIX=
RD__ADMIN=rdadmin
RD__ADMIN_PASS=
RD__PASS=
# Set by rd_hosts (declared for set -u and shellcheck).
# shellcheck disable=SC2034
{
	TN_IP_r1='' TN_IP6_r1='' TN_IP_r2='' TN_IP6_r2='' TN_IP_r3='' TN_IP6_r3=''
}

rd_init() {
	local t
	[ -n "$TN_DIR" ] || tn__die "rd_init before tn_init"
	for t in redis-server redis-sentinel redis-cli; do
		command -v "$t" >/dev/null 2>&1 ||
			tn__die "$t not found; run: sh scripts/install-deps.sh"
	done
	RD_PREFIX="$TN:"
	RD_PASS_FILE=$TN_DIR/redis.pass
	RD__PASS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	RD__ADMIN_PASS=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	(umask 077 && printf '%s\n' "$RD__PASS" >"$RD_PASS_FILE")
}

rd_hosts() {
	tn_host_add r1 192.0.2.61 2001:db8::61
	tn_host_add r2 192.0.2.62 2001:db8::62
	tn_host_add r3 192.0.2.63 2001:db8::63
}

rd__ip() {
	local v=TN_IP_$1
	echo "${!v}"
}

rd__ip6() {
	local v=TN_IP6_$1
	echo "${!v}"
}

# The ACL, the same on every server: a replica authenticates to its master
# and a sentinel to every server as the admin; mxgated's user reaches only
# the keys and channels under its prefix, with no admin commands.
rd__acl() {
	echo "user default off"
	echo "user $RD__ADMIN on >$RD__ADMIN_PASS ~* &* +@all"
	echo "user $RD_USER on >$RD__PASS ~$RD_PREFIX* &$RD_PREFIX* &__keyspace@0__:$RD_PREFIX* +@all -@admin -@dangerous +info +ping"
}

rd_server_start() {
	local h=$1 master=${2:-} d ip6
	d=$TN_DIR/$h/redis
	mkdir -p "$d"
	ip6=$(rd__ip6 "$h")
	{
		echo "bind 127.0.0.1 $(rd__ip "$h")${ip6:+ $ip6}"
		echo "port $RD_PORT"
		echo "daemonize no"
		echo "dir $d"
		echo "save \"\""
		echo "appendonly no"
		echo "protected-mode no"
		echo "loglevel notice"
		# Keyspace events for the fleet's pass propagation; harmless here.
		echo "notify-keyspace-events Kgx"
		echo "masteruser $RD__ADMIN"
		echo "masterauth $RD__ADMIN_PASS"
		echo "repl-diskless-sync yes"
		echo "repl-diskless-sync-delay 0"
		[ -n "$master" ] && echo "replicaof $(rd__ip "$master") $RD_PORT"
		rd__acl
	} >"$d/redis.conf"
	chmod 0600 "$d/redis.conf"
	tn_spawn "$h" redis redis-server "$d/redis.conf"
	tn_wait 15 rd__pong "$h" || tn__die "redis-server on $h does not answer (see $TN_DIR/$h/redis.log)"
	if [ -n "$master" ]; then
		tn_wait 15 rd_link_up "$h" || tn__die "redis-server on $h does not replicate $master"
	fi
}

rd__pong() {
	[ "$(rd_cli "$1" PING 2>/dev/null)" = PONG ]
}

rd_server_stop() {
	local pid
	pid=$(tn_spawn_pid "$1" redis)
	tn_kill "$1" redis "${2:-TERM}"
	# Reaped here, so bash reports no "Killed" on the test's stderr.
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	return 0
}

rd__cli() {
	local h=$1 port=$2 user=$3 pass=$4
	shift 4
	# The password in the environment, never on a command line.
	ip netns exec "$TN-$h" env REDISCLI_AUTH="$pass" \
		timeout 10 redis-cli --no-auth-warning --raw -h 127.0.0.1 -p "$port" \
		${user:+--user "$user"} "$@"
}

rd_cli() {
	local h=$1
	shift
	rd__cli "$h" "$RD_PORT" "$RD_USER" "$RD__PASS" "$@"
}

rd_admin() {
	local h=$1
	shift
	rd__cli "$h" "$RD_PORT" "$RD__ADMIN" "$RD__ADMIN_PASS" "$@"
}

rd_sentinel() {
	local h=$1
	shift
	ip netns exec "$TN-$h" timeout 10 redis-cli --raw -h 127.0.0.1 \
		-p "$RD_SENTINEL_PORT" "$@"
}

rd_role() {
	rd_admin "$1" ROLE 2>/dev/null | head -n 1
}

rd_link_up() {
	rd_admin "$1" INFO replication 2>/dev/null | grep -q '^master_link_status:up'
}

rd_sentinel_start() {
	local h=$1 master=$2 d ip6
	d=$TN_DIR/$h/redis
	mkdir -p "$d"
	ip6=$(rd__ip6 "$h")
	# Sentinel rewrites this file as it learns the set: it must be its own.
	{
		echo "bind 127.0.0.1 $(rd__ip "$h")${ip6:+ $ip6}"
		echo "port $RD_SENTINEL_PORT"
		echo "daemonize no"
		echo "dir $d"
		echo "protected-mode no"
		echo "sentinel monitor $RD_MASTER_NAME $(rd__ip "$master") $RD_PORT $RD_QUORUM"
		echo "sentinel auth-user $RD_MASTER_NAME $RD__ADMIN"
		echo "sentinel auth-pass $RD_MASTER_NAME $RD__ADMIN_PASS"
		echo "sentinel down-after-milliseconds $RD_MASTER_NAME $(tn_ms "$RD_DOWN_AFTER_MS")"
		echo "sentinel failover-timeout $RD_MASTER_NAME $(tn_ms "$RD_FAILOVER_TIMEOUT_MS")"
		echo "sentinel parallel-syncs $RD_MASTER_NAME 2"
	} >"$d/sentinel.conf"
	chmod 0600 "$d/sentinel.conf"
	tn_spawn "$h" sentinel redis-sentinel "$d/sentinel.conf"
	tn_wait 15 rd__sentinel_knows "$h" "$(rd__ip "$master")" ||
		tn__die "redis-sentinel on $h does not report $master (see $TN_DIR/$h/sentinel.log)"
}

rd_sentinel_stop() {
	local pid
	pid=$(tn_spawn_pid "$1" sentinel)
	tn_kill "$1" sentinel "${2:-TERM}"
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	return 0
}

rd_sentinel_master() {
	rd_sentinel "$1" SENTINEL get-master-addr-by-name "$RD_MASTER_NAME" 2>/dev/null |
		head -n 1
}

rd__sentinel_knows() {
	[ "$(rd_sentinel_master "$1")" = "$2" ]
}

rd_wait_master() {
	tn_wait "$3" rd__sentinel_knows "$1" "$2"
}

# How many replicas / other sentinels HOST's sentinel knows of.
rd__sentinel_field() {
	rd_sentinel "$1" SENTINEL master "$RD_MASTER_NAME" 2>/dev/null |
		awk -v k="$2" 'prev == k { print; exit } { prev = $0 }'
}

rd__sentinel_complete() {
	[ "$(rd__sentinel_field "$1" num-slaves)" = 2 ] &&
		[ "$(rd__sentinel_field "$1" num-other-sentinels)" = 2 ]
}

rd_set() {
	local h
	rd_hosts
	rd_server_start r1
	rd_server_start r2 r1
	rd_server_start r3 r1
	for h in r1 r2 r3; do
		rd_sentinel_start "$h" r1
	done
	# Sentinels find each other through the master's hello channel, every
	# 2 s; a failover needs them to know each other first.
	for h in r1 r2 r3; do
		tn_wait 30 rd__sentinel_complete "$h" ||
			tn__die "sentinel on $h does not know the whole set"
	done
}

rd_conf_lines() {
	local h
	echo "state_backend = redis"
	if [ "${1:-}" = sentinel ]; then
		printf 'redis_sentinels ='
		for h in r1 r2 r3; do
			printf ' %s:%s' "$(rd__ip "$h")" "$RD_SENTINEL_PORT"
		done
		echo
		echo "redis_master_name = $RD_MASTER_NAME"
	else
		echo "redis = $(rd__ip r1):$RD_PORT"
	fi
	echo "redis_user = $RD_USER"
	echo "redis_password_file = $RD_PASS_FILE"
	echo "redis_prefix = $RD_PREFIX"
}
