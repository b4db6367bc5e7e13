#!/bin/bash
# Two backups of one domain, each with its own mxgated and tc gate, share
# their passes through Redis found by Sentinel (redis_sentinels,
# redis_master_name): a master r1, replicas r2 r3, a sentinel on each
# (tests/lib/redis.sh). The master is killed (SIGKILL) while edge gives
# passes; the sentinels promote a replica; then:
#   - both edges reconnect to the new master (status and metrics say so);
#   - the passes earned at edge before the kill are honoured at edge2
#     (the sender gets edge2's Postfix, its mail is delivered there), and
#     every pass of edge is on the new master once edge has written back;
#   - a pass earned after the failover reaches edge2;
#   - no SMTP reply of the whole test is a 5xx (every reply is recorded);
#   - the writes lost by Redis itself are counted and printed: passes given
#     before the kill and missing on the promoted replica, and greylist
#     tuples first seen at edge around the kill and missing afterwards.
#     The bound: Redis replicates asynchronously, so a failover loses what
#     the master took in the last moments before it died and had not yet
#     streamed to the replica (on one bridge: milliseconds). Asserted: no
#     pass given more than 1 s (times MXG_TIME_SCALE) before the kill is
#     missing on the promoted replica, and none is missing anywhere once
#     the edges have written back what they hold at reconnection (tuples
#     are not written back: a lost one costs its sender one more 451).
set -u
. "$MXG_SRC/tests/lib/fleet.sh"

fleet_scene 300
tn_postfix_start edge backup
tn_postfix_start edge2 backup
tap_plan 22

# Senders: BEFORE earn their passes well before the kill, BURST around it
# (passes), TUPLES are first seen at edge around it and retried at edge2
# after it, AFTER earn theirs once the fleet has recovered, and NOISE
# keeps asking both edges while the master is away.
BEFORE="192.0.2.71 192.0.2.72 192.0.2.73 192.0.2.74"
BURST="192.0.2.81 192.0.2.82 192.0.2.83 192.0.2.84 192.0.2.85 192.0.2.86 192.0.2.87 192.0.2.88"
TUPLES="192.0.2.91 192.0.2.92 192.0.2.93 192.0.2.94 192.0.2.95 192.0.2.96 192.0.2.97 192.0.2.98"
AFTER="192.0.2.101 192.0.2.102"
NOISE="192.0.2.111 192.0.2.112"
for a in $BEFORE $BURST $TUPLES $AFTER $NOISE; do
	tn_addr_add snd "$a"
done
rd_init
rd_set

REPLIES=$TN_DIR/smtp-replies
: >"$REPLIES"
DEFER='^451 4\.7\.1 example\.test: this is a backup MX'
now_ms() { echo $(($(date +%s%N) / 1000000)); }
dump() { tn_exec "$1" "$MXGATE" dump --pin-dir "$2"; }
fresh_at() { # fresh_at edge|edge2 ADDR: a fresh pass in that edge's kernel map
	if [ "$1" = edge ]; then dump edge "$MXG_PIN"; else dump edge2 "$PIN2"; fi |
		sed -n '/^passes:/,$p' | grep -q "^  $2 .*fresh"
}
# swaks from snd; every reply of the server goes to $REPLIES (LABEL: REPLY).
smtp() {
	local label=$1 out
	shift
	out=$(tn_swaks snd "$@" 2>&1)
	printf '%s\n' "$out" | awk -v l="$label" '/^<[-*~ ]+[0-9][0-9][0-9][ -]/ {
		sub(/^<[-*~ ]+/, ""); print l ": " $0 }' >>"$REPLIES"
	printf '%s\n' "$out"
}
rcpt_to() { # rcpt_to SERVER SRC RCPT: the reply to RCPT TO
	smtp "$2>$1" --server "$1" --local-interface "$2" --from a@sender.test --to "$3" \
		--quit-after RCPT --timeout 5 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
status_of() { if [ "$1" = edge ]; then mxg_status; else status2; fi; }
sock_of() { if [ "$1" = edge ]; then echo "$MXG_SOCK"; else echo "$SOCK2"; fi; }
metric() { # metric edge|edge2 NAME
	"$MXGATE" metrics -s "$(sock_of "$1")" 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }'
}
on_server() { # on_server edge|edge2 ADDR: connected, to ADDR:port
	[ "$(status_of "$1" | jq -r '.counters.redis | "\(.connected) \(.server)"')" = "true $2:$RD_PORT" ]
}
# The pass keys under the prefix on HOST's server, one address a line.
pass_keys() {
	rd_cli "$1" --scan --pattern "${RD_PREFIX}p:*" 2>/dev/null | sed "s/^${RD_PREFIX}p://" | sort
}

mxg_config reply=greylist greylist_delay=3s greylist_window=5m pass_ttl=30m pass_max=1h
rd_conf_lines sentinel >>"$MXG_CONF"
mxg_start
fleet_start2
both_gated() {
	mxg_is_state example.test gated && [ "$(status2 | jq -r '.domains[0].state')" = gated ]
}
tap_ok "both backups gate example.test (the primary is up)" tn_wait 20 both_gated
both_on() { on_server edge "$1" && on_server edge2 "$1"; }
tap_ok "both found the master r1 through the sentinels" tn_wait 15 both_on "$TN_IP_r1"

# --- passes earned at edge well before the kill
first_tries=
for a in $BEFORE; do first_tries="$first_tries$(rcpt_to "$TN_IP_edge" "$a" u1@example.test)
"; done
tap_is "$(grep -cE "$DEFER" <<<"$first_tries")" 4 "their first tries at edge are deferred (451)"
tn_sleep 3.5
for a in $BEFORE; do rcpt_to "$TN_IP_edge" "$a" u1@example.test >/dev/null; done
all_at() { # all_at edge|edge2 ADDRS...
	local e=$1 a
	shift
	for a in "$@"; do fresh_at "$e" "$a" || return 1; done
}
# shellcheck disable=SC2086
tap_ok "4 senders earn a pass at edge" tn_wait 5 all_at edge $BEFORE
# shellcheck disable=SC2086
tap_ok "and the passes reach edge2 through Redis" tn_wait 10 all_at edge2 $BEFORE

# --- the kill, while edge gives passes and sees new tuples
for a in $BURST; do rcpt_to "$TN_IP_edge" "$a" u2@example.test >/dev/null; done
tn_sleep 3.5
burst() { # the retries that earn the passes, each followed by a new tuple
	local a t i=0
	# shellcheck disable=SC2086
	set -- $TUPLES
	for a in $BURST; do
		i=$((i + 1))
		rcpt_to "$TN_IP_edge" "$a" u2@example.test >/dev/null
		t=${!i}
		rcpt_to "$TN_IP_edge" "$t" u3@example.test >/dev/null
		echo "$t $(now_ms)" >>"$TN_DIR/tuple-times"
	done
}
burst &
burst_pid=$!
half() { # half of the burst's passes given at edge
	local a n=0
	for a in $BURST; do fresh_at edge "$a" && n=$((n + 1)); done
	[ "$n" -ge 4 ]
}
tn_wait 30 half || tap_diag "the burst is slow: fewer than 4 passes in 30 s"
conns() { echo "$(status_of edge | jq .counters.redis.connects) $(status_of edge2 | jq .counters.redis.connects)"; }
conns0=$(conns)
t_kill=$(now_ms)
rd_server_stop r1 KILL
# What the replicas hold now is what survived: nothing writes to them
# until one is promoted and an edge connects to it (and writes back).
pass_keys r2 >"$TN_DIR/snap-r2" &
pass_keys r3 >"$TN_DIR/snap-r3"
wait $!
snap_ms=$(($(now_ms) - t_kill))
tap_is "$(conns)" "$conns0" \
	"the replicas were read ($snap_ms ms after the kill) before either edge connected again"
noise() { # new tuples at both edges while the master is away
	local i=0
	while [ ! -e "$TN_DIR/noise-stop" ] && [ $i -lt 200 ]; do
		rcpt_to "$TN_IP_edge" 192.0.2.111 "n$i@example.test" >/dev/null
		rcpt_to "$TN_IP_edge2" 192.0.2.112 "n$i@example.test" >/dev/null
		i=$((i + 1))
		sleep 0.2
	done
}
noise &
noise_pid=$!

promoted() {
	local m
	m=$(rd_sentinel_master r2)
	[ "$m" = "$TN_IP_r2" ] || [ "$m" = "$TN_IP_r3" ]
}
tap_ok "the sentinels promote a replica" tn_wait 30 promoted
t_promoted=$(now_ms)
new=r2
[ "$(rd_sentinel_master r2)" = "$TN_IP_r3" ] && new=r3
new_ip=$(rd__ip "$new")
tap_ok "both edges reconnect to the new master ($new) (status: connected to $new_ip:$RD_PORT)" \
	tn_wait 30 both_on "$new_ip"
t_back=$(now_ms)
tap_diag "failover: promoted $((t_promoted - t_kill)) ms after the kill, both edges connected to it $((t_back - t_kill)) ms after the kill"
touch "$TN_DIR/noise-stop"
wait "$burst_pid" "$noise_pid" 2>/dev/null
tap_is "$(metric edge mxgate_redis_connected) $(metric edge2 mxgate_redis_connected)" "1 1" \
	"metrics: mxgate_redis_connected 1 on both"
tap_ok "metrics: both counted the lost connection (mxgate_redis_disconnects_total)" \
	sh -c "[ '$(metric edge mxgate_redis_disconnects_total)' -ge 1 ] && [ '$(metric edge2 mxgate_redis_disconnects_total)' -ge 1 ]"

# --- what was lost
# shellcheck disable=SC2086
tap_ok "every pass of the burst was given at edge" all_at edge $BURST
all_on_new() {
	local a keys
	keys=$(pass_keys "$new")
	for a in $BEFORE $BURST; do grep -qxF "$a" <<<"$keys" || return 1; done
}
tap_ok "once the edges wrote back, every pass is on the new master" tn_wait 10 all_on_new
# Each pass's start (wall ms) as edge wrote it: before or after the kill.
snap=$(cat "$TN_DIR/snap-$new")
lost=0 lost_old=0 before_kill=0 last_s=0 lost_list=
for a in $BEFORE $BURST; do
	since=$(rd_cli "$new" GET "${RD_PREFIX}p:$a" | awk '{ print $3 }')
	if [ -z "$since" ] || [ "$since" -ge "$t_kill" ]; then continue; fi
	before_kill=$((before_kill + 1))
	[ $((t_kill - since)) -le 1000 ] && last_s=$((last_s + 1))
	grep -qxF "$a" <<<"$snap" && continue
	lost=$((lost + 1))
	lost_list="$lost_list $a($((t_kill - since)) ms before)"
	[ $((t_kill - since)) -gt "$(tn_ms 1000)" ] && lost_old=$((lost_old + 1))
done
tap_diag "writes lost by the failover: $lost of the $before_kill passes given before the kill ($last_s of them in its last second) were not on the promoted replica${lost_list:+:$lost_list}"
tap_is "$lost_old" 0 "no pass given more than $(tn_ms 1000) ms before the kill was lost by Redis"

# Tuples first seen at edge in the burst, retried at edge2 now (well past
# greylist_delay): passed where the tuple survived, 451 where it was lost.
tuples_lost=0 tuples_old_lost=0 n_tuples=0 t_before=0 t_list=
while read -r t at; do
	r=$(rcpt_to "$TN_IP_edge2" "$t" u3@example.test)
	n_tuples=$((n_tuples + 1))
	[ "$at" -lt "$t_kill" ] && t_before=$((t_before + 1))
	fresh_at edge2 "$t" && continue
	tuples_lost=$((tuples_lost + 1))
	if [ "$at" -lt "$t_kill" ]; then
		t_list="$t_list $t($((t_kill - at)) ms before the kill: $r)"
		[ $((t_kill - at)) -gt "$(tn_ms 1000)" ] && tuples_old_lost=$((tuples_old_lost + 1))
	else
		t_list="$t_list $t($((at - t_kill)) ms after the kill: $r)"
	fi
done <"$TN_DIR/tuple-times"
tap_diag "greylist tuples first seen at edge during the burst and unknown at edge2 after the failover: $tuples_lost of $n_tuples ($t_before first seen before the kill)${t_list:+:$t_list}"
tap_is "$tuples_old_lost" 0 "no tuple seen more than $(tn_ms 1000) ms before the kill was lost"

# --- the passes earned before the kill, honoured at edge2
for a in $BEFORE; do
	smtp "$a>edge2" --server "$TN_IP_edge2" --local-interface "$a" --from a@sender.test \
		--to "before-$a@example.test" --timeout 5 >/dev/null
done
n_in() { # messages delivered at edge2 for the BEFORE senders
	local a n=0
	for a in $BEFORE; do
		[ "$(tn_mail_count edge2 "before-$a@example.test")" -ge 1 ] && n=$((n + 1))
	done
	echo "$n"
}
got4() { [ "$(n_in)" = 4 ]; }
tap_ok "the 4 senders that passed at edge before the kill are delivered by edge2's Postfix" tn_wait 20 got4
first=${BEFORE%% *}
tap_like "$(smtp "$first>edge2 banner" --server "$TN_IP_edge2" --local-interface "$first" \
	--quit-after CONNECT --timeout 3 | awk '/^<[-*~ ]+220 / { print; exit }')" \
	"mx3|edge2|Postfix|ESMTP" "such a sender connecting to edge2 gets edge2's MTA, not the responder"

# --- passes earned after the failover propagate
for a in $AFTER; do rcpt_to "$TN_IP_edge" "$a" u4@example.test >/dev/null; done
tn_sleep 3.5
for a in $AFTER; do rcpt_to "$TN_IP_edge" "$a" u4@example.test >/dev/null; done
# shellcheck disable=SC2086
tap_ok "senders earn passes at edge after the failover" tn_wait 5 all_at edge $AFTER
# shellcheck disable=SC2086
tap_ok "and those reach edge2's kernel pass map through the new master" tn_wait 10 all_at edge2 $AFTER
a=${AFTER%% *}
smtp "$a>edge2" --server "$TN_IP_edge2" --local-interface "$a" --from a@sender.test \
	--to after@example.test --timeout 5 >/dev/null
tap_ok "its message is delivered by edge2's Postfix" tn_mail_wait edge2 1 20 after@example.test

# --- no 5xx, anywhere
n_replies=$(wc -l <"$REPLIES")
tap_ok "the test recorded SMTP replies ($n_replies)" test "$n_replies" -ge 100
fives=$(grep -E ': 5[0-9][0-9]' "$REPLIES" | head -3)
tap_is "$fives" "" "no SMTP reply of the whole test was a 5xx"
tap_ok "both edges still gate example.test" both_gated
tap_done
