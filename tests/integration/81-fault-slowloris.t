#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, slowloris: one client address holds as many connections to
# the responder as it may, each dribbling an endless line a byte at a
# time. Others are still served at once; the dribblers get nothing beyond
# their per-client limit (421) and are cut off by the idle timeout (which a
# dribbled line does not extend); the responder survives.
. "$MXG_SRC/tests/lib/fault.sh"
HARNESS=$OUT/tests/helpers/responder_harness
CLIENT="/usr/bin/python3 $SRC/tests/helpers/fault_client.py"
fl_init 60 /usr/bin/python3 "$HARNESS"

IDLE_S=2
fl_exec "$HARNESS" --listen4 127.0.0.1 --listen6 none --port 2525 \
	--domain gated.test=gated:mx1.gated.test --max-conn 100 --max-per-client 20 \
	--idle ${IDLE_S}s --offender 0/1m >"$FL_DIR/h.out" 2>"$FL_DIR/h.err" &
FL_PIDS+=("$!")
for i in $(seq 50); do
	grep -q pid= "$FL_DIR/h.out" && break
	sleep 0.1
done
CHILD=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$FL_DIR/h.out")
ok "the responder runs (pid ${CHILD:-none})" test -n "$CHILD"

# 25 dribblers from 127.0.0.2: 20 allowed, 5 refused.
fl_exec $CLIENT slowloris 25 127.0.0.2 127.0.0.1 2525 $((IDLE_S * 4)) >"$FL_DIR/slow" &
SLOW=$!
FL_PIDS+=("$SLOW")
sleep 1

# Meanwhile, a well-behaved client from another address.
read -r code secs < <(fl_exec $CLIENT session 127.0.0.3 127.0.0.1 2525)
is "$code" 551 "a normal client is answered 551 while the dribblers hang on"
ok "... within 1 s (took $secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 1) }'

wait "$SLOW"
diag "$(sort "$FL_DIR/slow" | uniq -c | sort -rn | head -5)"
is "$(grep -c 'too many connections' "$FL_DIR/slow")" 5 \
	"the 5 connections past the per-client limit got 421 too many connections"
is "$(grep -c '^open' "$FL_DIR/slow")" 0 "no dribbler outlived the test"
idle_cut=$(grep -c 'idle timeout' "$FL_DIR/slow")
is "$idle_cut" 20 "the 20 admitted dribblers were cut off with 421 idle timeout"
max=$(grep 'idle timeout' "$FL_DIR/slow" | awk '{print $2}' | sort -g | tail -1)
ok "... within the idle timeout plus 1 s, dribbling did not extend it (slowest ${max:-?} s)" \
	awk -v m="${max:-99}" -v i=$IDLE_S 'BEGIN { exit !(m <= i + 1) }'
ok "the responder is still alive" kill -0 "$CHILD"
read -r code secs < <(fl_exec $CLIENT session 127.0.0.2 127.0.0.1 2525)
is "$code" 551 "the dribbling address is served again once its connections are gone"
ok "no sanitizer or crash report from the responder" \
	bash -c "! grep -qE 'AddressSanitizer|runtime error|Segmentation|died' '$FL_DIR/h.err'"
fl_done
