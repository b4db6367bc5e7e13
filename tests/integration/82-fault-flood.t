#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, connection flood: far more connections than max_connections
# from many addresses at once. The responder admits max_connections (220),
# answers the rest "421 4.7.0 too many connections" and closes them, keeps
# its memory bounded, and serves normally once the flood is gone.
. "$MXG_SRC/tests/lib/fault.sh"
HARNESS=$OUT/tests/helpers/responder_harness
CLIENT="/usr/bin/python3 $SRC/tests/helpers/fault_client.py"
fl_init 60 /usr/bin/python3 "$HARNESS"

MAX=200
fl_exec "$HARNESS" --listen4 127.0.0.1 --listen6 none --port 2525 \
	--domain gated.test=gated:mx1.gated.test --max-conn $MAX --max-per-client 1000 --max-per-net 1000 \
	--idle 20s --offender 0/1m >"$FL_DIR/h.out" 2>"$FL_DIR/h.err" &
FL_PIDS+=("$!")
for i in $(seq 50); do
	grep -q pid= "$FL_DIR/h.out" && break
	sleep 0.1
done
CHILD=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$FL_DIR/h.out")
ok "the responder runs (pid ${CHILD:-none})" test -n "$CHILD"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$CHILD/status"; }
RSS0=$(rss)

# Four flooding addresses, 250 connections each: 1,000 against a limit of 200.
for a in 2 3 4 5; do
	fl_exec $CLIENT flood 250 127.0.0.$a 127.0.0.1 2525 3 >"$FL_DIR/flood.$a" &
	FL_PIDS+=("$!")
done
sleep 2
RSS1=$(rss)
for a in 2 3 4 5; do
	while [ ! -s "$FL_DIR/flood.$a" ]; do sleep 0.1; done
done
diag "$(cat "$FL_DIR"/flood.*)"
sum() { cat "$FL_DIR"/flood.* | awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) s += $(i + 1) } END { print s + 0 }'; }
is "$(sum 220)" $MAX "exactly max_connections ($MAX) were greeted with 220"
is "$(sum 421)" $((1000 - MAX)) "the other $((1000 - MAX)) got 421 (too many connections)"
is "$(sum other)$(sum fail)" 00 "no connection got anything else or nothing at all"
diag "responder RSS: $RSS0 KiB before, $RSS1 KiB during the flood"
ok "memory bounded: RSS grew by less than 8 MiB with $MAX sessions open" \
	test $((RSS1 - RSS0)) -lt 8192
ok "the responder is still alive" kill -0 "$CHILD"

# Wait for the flooders to let go, then a normal session.
for i in $(seq 50); do
	[ "$(fl_exec ss -Htn state established "sport = :2525" | wc -l)" -eq 0 ] && break
	sleep 0.2
done
read -r code secs < <(fl_exec $CLIENT session 127.0.0.9 127.0.0.1 2525)
is "$code" 551 "after the flood a normal client is served (551 in $secs s)"
ok "no sanitizer or crash report from the responder" \
	bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation|died' '$FL_DIR/h.err'"
fl_done
