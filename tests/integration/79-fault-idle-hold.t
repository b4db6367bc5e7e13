#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, idle hold: a hostile tester once held every responder slot
# for 25 minutes with 1,050 idle connections from 105 addresses, one NOOP
# every 20 s each, and everyone else got 421. Scaled down here:
#  1. many addresses of one /24 get no more than max_connections_per_network
#     slots; a client of another network is served meanwhile;
#  2. NOOPs keep a session within idle_timeout, but session_timeout ends it
#     ("421 4.7.0 session time limit"): no slot is held for ever;
#  3. when every slot is taken, a new client is served and the session
#     idle longest is closed ("421 4.7.0 too busy, closing idle session").
. "$MXG_SRC/tests/lib/fault.sh"
HARNESS=$OUT/tests/helpers/responder_harness
CLIENT="/usr/bin/python3 $SRC/tests/helpers/fault_client.py"
fl_init 90 /usr/bin/python3 "$HARNESS"

HPID=
harness() { # harness PORT ARGS...: a responder on 127.0.0.1:PORT
	local port=$1
	shift
	: >"$FL_DIR/h.out"
	fl_exec "$HARNESS" --listen4 127.0.0.1 --listen6 none --port "$port" \
		--domain gated.test=gated:mx1.gated.test --offender 0/1m "$@" \
		>"$FL_DIR/h.out" 2>>"$FL_DIR/h.err" &
	HPID=$!
	FL_PIDS+=("$HPID")
	for _ in $(seq 50); do
		grep -q pid= "$FL_DIR/h.out" && return 0
		sleep 0.1
	done
	return 1
}
field() { # field NAME FILE
	awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$2"
}

# --- 1 and 2: 105 connections from 21 addresses of 127.0.1.0/24, a NOOP
# every second, against max_connections_per_network 30, session_timeout 4s.
ok "responder started (per network 30, session 4s)" harness 2525 --max-conn 100 \
	--max-per-client 10 --max-per-net 30 --idle 6s --session 4s
fl_exec $CLIENT hold 105 127.0.1.1-21 127.0.0.1 2525 1 20 >"$FL_DIR/hold1" &
H1=$!
FL_PIDS+=("$H1")
wait_held() { # wait_held N PORT: N client connections established
	for _ in $(seq 100); do
		[ "$(fl_exec ss -Htn state established "dport = :$2" | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
ok "the holders are in" wait_held 30 2525
read -r code _ < <(fl_exec $CLIENT session 127.0.2.9 127.0.0.1 2525)
is "$code" 551 "a client of another network is served while they hold (551)"
wait "$H1"
diag "holders: $(cat "$FL_DIR/hold1")"
is "$(field greeted "$FL_DIR/hold1")" 30 "one /24 got max_connections_per_network (30) slots"
is "$(field refused "$FL_DIR/hold1")" 75 "the other 75 got 421 at once"
is "$(field lifetime "$FL_DIR/hold1")" 30 "every held session ended with 421 session time limit, NOOPs or not"
is "$(field open "$FL_DIR/hold1")" 0 "none was still open when the holders gave up"

# --- 3: every slot idle, then a new client.
ok "responder started (20 slots, idle 9s)" harness 2526 --max-conn 20 --max-per-client 1000 \
	--max-per-net 1000 --idle 9s --session 60s
fl_exec $CLIENT hold 20 127.0.3.1 127.0.0.1 2526 0 8 >"$FL_DIR/hold3" &
H3=$!
FL_PIDS+=("$H3")
ok "the idlers are in" wait_held 20 2526
# Idle a third of idle_timeout (3 s) makes a session the one to close.
sleep 4
read -r code _ < <(fl_exec $CLIENT session 127.0.4.1 127.0.0.1 2526)
is "$code" 551 "all 20 slots idle: a new client is served (551)"
wait "$H3"
diag "idlers: $(cat "$FL_DIR/hold3")"
is "$(field busy "$FL_DIR/hold3")" 1 "one idle session was closed with 421 too busy, closing idle session"
is "$(field open "$FL_DIR/hold3")" 19 "the other 19 stayed"
ok "no sanitizer or crash report from the responder" \
	bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation|died' '$FL_DIR/h.err'"
fl_done
