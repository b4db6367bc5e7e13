#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, active hold: a hostile tester held every responder slot with
# connections that NOOP every few seconds (never idle long enough to be
# closed as idle) and legitimate clients got 421. Scaled down here:
#  1. every slot held by sessions that NOOP every second (one /24): each
#     of 5 clients of another network (one after the other) is served
#     (551), and one holder gives its slot ("421 4.7.0 too busy, closing session without progress");
#  2. a session that only NOOPs ends after the budget of commands without
#     progress ("421 4.7.0 too many commands without progress");
#  3. the slot comes from the network holding the most such sessions,
#     not simply from the oldest holder.
. "$MXG_SRC/tests/lib/fault.sh"
HARNESS=$OUT/tests/helpers/responder_harness
CLIENT="/usr/bin/python3 $SRC/tests/helpers/fault_client.py"
fl_init 90 /usr/bin/python3 "$HARNESS"

harness() { # harness PORT ARGS...: a responder on 127.0.0.1:PORT
	local port=$1
	shift
	: >"$FL_DIR/h.out"
	fl_exec "$HARNESS" --listen4 127.0.0.1 --listen6 none --port "$port" \
		--domain gated.test=gated:mx1.gated.test --offender 0/1m "$@" \
		>"$FL_DIR/h.out" 2>>"$FL_DIR/h.err" &
	FL_PIDS+=("$!")
	for _ in $(seq 50); do
		grep -q pid= "$FL_DIR/h.out" && return 0
		sleep 0.1
	done
	return 1
}
field() { # field NAME FILE
	awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$2"
}
wait_held() { # wait_held N PORT: N client connections established
	for _ in $(seq 100); do
		[ "$(fl_exec ss -Htn state established "dport = :$2" | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- 1: 20 slots, idle_timeout 9 s (a session idle 3 s may be closed as
# idle): holders NOOP every second, so none is ever idle.
ok "responder started (20 slots, idle 9s)" harness 2527 --max-conn 20 --max-per-client 1000 \
	--max-per-net 1000 --idle 9s --session 60s
fl_exec $CLIENT hold 20 127.0.5.1-10 127.0.0.1 2527 1 8 >"$FL_DIR/hold1" &
H1=$!
FL_PIDS+=("$H1")
ok "the holders are in" wait_held 20 2527
sleep 1.5 # every holder has sent a NOOP
served=0
for i in 1 2 3 4 5; do
	read -r code _ < <(fl_exec $CLIENT session 127.0.6.$i 127.0.0.1 2527)
	diag "client 127.0.6.$i: $code"
	[ "$code" = 551 ] && served=$((served + 1))
done
is "$served" 5 "5 of 5 clients of another network served (551) while every slot was held"
wait "$H1"
diag "holders: $(cat "$FL_DIR/hold1")"
# One slot made, and each client left it free for the next.
is "$(field busy "$FL_DIR/hold1")" 1 "one holder gave its slot (421 too busy, closing session without progress)"
is "$(field open "$FL_DIR/hold1")" 19 "the other holders kept theirs"
is "$(field stalled "$FL_DIR/hold1")" 0 "none reached the budget in 8 NOOPs"

# --- 2: one session that only NOOPs, 5 a second.
fl_exec $CLIENT hold 1 127.0.7.1 127.0.0.1 2527 0.2 6 >"$FL_DIR/hold2"
diag "noop-only: $(cat "$FL_DIR/hold2")"
is "$(field stalled "$FL_DIR/hold2")" 1 "a session that only NOOPs ends with 421 too many commands without progress"
# --- 3: the network holding most pays first: 4 older holders of one /24,
# then 16 of another; a new client takes a slot of the 16.
ok "responder started (20 slots, idle 9s)" harness 2528 --max-conn 20 --max-per-client 1000 \
	--max-per-net 1000 --idle 9s --session 60s
fl_exec $CLIENT hold 4 127.0.8.1 127.0.0.1 2528 1 8 >"$FL_DIR/hold3a" &
H3A=$!
FL_PIDS+=("$H3A")
ok "the 4 older holders are in" wait_held 4 2528
sleep 1.2
fl_exec $CLIENT hold 16 127.0.9.1-8 127.0.0.1 2528 1 6 >"$FL_DIR/hold3b" &
H3B=$!
FL_PIDS+=("$H3B")
ok "the 16 holders are in" wait_held 20 2528
sleep 1.5
read -r code _ < <(fl_exec $CLIENT session 127.0.10.1 127.0.0.1 2528)
is "$code" 551 "a new client is served (551)"
wait "$H3A" "$H3B"
diag "4 older: $(cat "$FL_DIR/hold3a"); 16: $(cat "$FL_DIR/hold3b")"
is "$(field busy "$FL_DIR/hold3b")" 1 "the slot came from the network holding 16"
is "$(field busy "$FL_DIR/hold3a")" 0 "the network holding 4 kept its older sessions"
ok "no sanitizer or crash report from the responder" \
	bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation|died' '$FL_DIR/h.err'"
fl_done
