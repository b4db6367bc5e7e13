#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The benchmark's load generator (tests/helpers/smtpload) measures sessions,
# not the server's limits: from AnyIP ranges (-S) it spreads its sessions
# over many IPv4 /24s and IPv6 /48s, so the responder at its default limits
# (10 per client, 100 per network) answers every one 551; from one address
# the same load gets 421 and every failed session is counted by kind
# (refused421, timeouts), with exit status 3, so bench/run can mark the
# figure invalid instead of printing what completed.
. "$MXG_SRC/tests/lib/fault.sh"
HARNESS=$OUT/tests/helpers/responder_harness
LOAD=$OUT/tests/helpers/smtpload
fl_init 120 /usr/bin/python3 "$HARNESS" "$LOAD"

SRC6=2001:db8:a000::/36
SRC4=10.128.0.0/16
fl_exec ip -6 route add local $SRC6 dev lo
fl_exec ip route add local $SRC4 dev lo

# The responder at its default per-client and per-network limits.
fl_exec "$HARNESS" --listen4 127.0.0.1 --listen6 ::1 --port 2525 \
	--domain gated.test=gated:mx1.gated.test \
	--idle 20s --offender 0/1m >"$FL_DIR/h.out" 2>"$FL_DIR/h.err" &
FL_PIDS+=("$!")
for i in $(seq 50); do
	grep -q pid= "$FL_DIR/h.out" && break
	sleep 0.1
done
ok "the responder runs" grep -q pid= "$FL_DIR/h.out"

key() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$2"; }
sum_kinds() { echo $(($(key refused421 "$1") + $(key conn_err "$1") + $(key timeouts "$1") + $(key other_err "$1"))); }

# --- many sources: every session answered as asked
out=$(fl_exec "$LOAD" -m session -S $SRC6 -S $SRC4 -c 300 -n 1200 ::1,127.0.0.1 2525)
rc=$?
diag "spread: $out"
like "$out" '^done=1200 errors=0 ' "from the AnyIP ranges all 1200 sessions got 551 and 221 at concurrency 300"
is "$rc" 0 "exit status 0"
# The responder logs each session's client when it ends.
for i in $(seq 50); do
	[ "$(grep -c 'session client=' "$FL_DIR/h.err")" -ge 1200 ] && break
	sleep 0.1
done
clients=$(sed -n 's/.*session client=\([^ ]*\) .*/\1/p' "$FL_DIR/h.err")
n48=$(grep ':' <<<"$clients" | grep -v '^::ffff:' | cut -d: -f1-3 | sort -u | wc -l)
n24=$(grep -E '^(::ffff:)?10\.128\.' <<<"$clients" | sed 's/^::ffff://' | cut -d. -f1-3 | sort -u | wc -l)
maxper=$(sort <<<"$clients" | uniq -c | sort -rn | awk 'NR == 1 {print $1}')
diag "the responder saw $n48 IPv6 /48s, $n24 IPv4 /24s, at most $maxper sessions from one address"
ok "the sessions came from 600 IPv6 /48s" test "$n48" -eq 600
ok "and from all 256 IPv4 /24s of the /16" test "$n24" -eq 256
ok "no address sent more than the per-client limit over the whole run" test "${maxper:-99}" -le 10

out=$(fl_exec "$LOAD" -m idle -S $SRC6 -S $SRC4 -r 5000 -w 100 -c 500 ::1,127.0.0.1 2525 | head -1)
like "$out" '^idle open=500 errors=0 ' "500 idle sessions from the ranges all opened"

# --- one address: the limits answer, and each failure is counted
out=$(fl_exec "$LOAD" -m session -c 150 -n 600 ::1 2525)
rc=$?
diag "one address: $out"
ok "from one address the per-client limit answers 421 (refused421=$(key refused421 "$out"))" \
	test "$(key refused421 "$out")" -gt 0
is "$(key errors "$out")" "$(sum_kinds "$out")" "errors= is the sum of the failures by kind"
is $(($(key done "$out") + $(key errors "$out"))) 600 "every session is either done or failed"
is "$rc" 3 "exit status 3 when a session failed"
# The sessions above gone at the responder too (it counts a client's
# sessions until it has closed them).
for i in $(seq 50); do
	[ "$(fl_exec ss -Htn state established "sport = :2525" | wc -l)" -eq 0 ] && break
	sleep 0.2
done
out=$(fl_exec "$LOAD" -m idle -c 50 ::1 2525 | head -1)
like "$out" '^idle open=10 errors=40 refused421=40 ' "of 50 idle sessions from one address 10 open, 40 refused"

# --- a server that never greets: the sessions time out and are counted
fl_exec /usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::1", 2526)); s.listen(64)
open("'"$FL_DIR"'/mute.ready", "w").close()
time.sleep(60)' &
FL_PIDS+=("$!")
for i in $(seq 50); do
	[ -e "$FL_DIR/mute.ready" ] && break
	sleep 0.1
done
out=$(fl_exec "$LOAD" -m session -t 1 -c 5 -n 5 ::1 2526)
rc=$?
like "$out" '^done=0 errors=5 .* timeouts=5 ' "5 sessions without a greeting: 5 timeouts after -t 1 s"
is "$rc" 3 "exit status 3"
fl_done
