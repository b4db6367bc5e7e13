#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The responder as mxgated runs it (forked, unprivileged), driven through
# tests/helpers/responder_harness in a private network namespace (and
# offenders from a second one: clients on the host itself never are): the
# replies of DESIGN.md's table (551 naming the primary, defer 451, offender
# 550 per client and IPv6 /64), no capabilities, bad input (overlong lines,
# binary, pipelined garbage, a silent client), connection limits, and
# fail-open: when the responder dies its listening sockets close.
# The defer reply and bad input end to end, before the controller exists.
set -u

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (network namespace)"
	exit 0
fi
for tool in swaks ip /usr/bin/python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "1..0 # SKIP $tool missing: sh scripts/install-deps.sh"
		exit 0
	fi
done

OUT=${MXG_OUT:-$PWD/build}
SRC=${MXG_SRC:-$PWD}
HARNESS=$OUT/tests/helpers/responder_harness
CLIENT="/usr/bin/python3 $SRC/tests/helpers/smtp_client.py"
NS=mxgr$$
NSC=mxgrc$$ # remote clients, over a veth pair: 198.51.100.0/24, 2001:db8:1::/64, 2001:db8:2::/64
DIR=$(mktemp -d /tmp/mxg-responder.XXXXXX)
HPID=
PORT=2525

cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # runs the EXIT trap too

n=0
fails=0
NL=$'\n'
ok() { # ok DESC CMD...
	local desc=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		fails=$((fails + 1))
	fi
}
like() { # like GOT REGEX DESC
	n=$((n + 1))
	if [[ $1 =~ $2 ]]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		printf '#   got: %s\n#   expected to match: %s\n' "$1" "$2" | sed '2,$s/^/#   /'
		fails=$((fails + 1))
	fi
}
unlike() { # unlike GOT REGEX DESC
	n=$((n + 1))
	if [[ ! $1 =~ $2 ]]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		printf '#   got: %s\n' "$1"
		fails=$((fails + 1))
	fi
}
in_ns() { ip netns exec "$NS" "$@"; }
# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds, at most SECS
# seconds (generous bounds: CI is a loaded 2-core machine).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}
# log_has FILE ERE: the file has a line matching ERE.
log_has() { grep -qE "$2" "$1" 2>/dev/null; }
# refused PORT ADDR: a connection to ADDR:PORT is refused.
refused() { [ "$(client "$2" "$1" --connect-only)" = refused ]; }
client() { in_ns $CLIENT "$@"; }
swaks_to() { # swaks_to ADDR [SRC] RCPT...   ($SWAKS_PORT overrides the port, $SWAKS_NS the namespace)
	local server=$1 src=$2
	shift 2
	local args=(--server "$server" --port "${SWAKS_PORT:-$PORT}" --from sender@sender.test --helo sender.test
		--timeout 10 -q RCPT)
	[ -n "$src" ] && args+=(--local-interface "$src")
	ip netns exec "${SWAKS_NS:-$NS}" swaks "${args[@]}" --to "$(
		IFS=,
		echo "$*"
	)" 2>&1
}



ip netns add "$NS"
ip netns add "$NSC"
in_ns ip link set lo up
in_ns ip -6 addr add 2001:db8:ff::20/64 dev lo nodad
in_ns ip addr add 192.0.2.20/32 dev lo
ip link add mxgr$$s netns "$NS" type veth peer name mxgr$$c netns "$NSC"
in_ns ip link set mxgr$$s up
in_ns ip addr add 198.51.100.1/24 dev mxgr$$s
in_ns ip -6 addr add 2001:db8:ee::1/64 dev mxgr$$s nodad
in_ns ip -6 route add 2001:db8:1::/64 dev mxgr$$s
in_ns ip -6 route add 2001:db8:2::/64 dev mxgr$$s
ip -n "$NSC" link set lo up
ip -n "$NSC" link set mxgr$$c up
for a in 198.51.100.5/24 198.51.100.6/24; do
	ip -n "$NSC" addr add $a dev mxgr$$c
done
for a in 2001:db8:1::1 2001:db8:1::2 2001:db8:2::1; do
	ip -n "$NSC" -6 addr add $a/64 dev mxgr$$c nodad
done
ip -n "$NSC" -6 route add 2001:db8:ee::/64 dev mxgr$$c

in_ns "$HARNESS" --listen4 0.0.0.0 --listen6 :: --port $PORT --helo backup.test \
	--domain example.test=gated:mx1.example.test \
	--domain defer.test=gated:mx2.example.test:defer \
	--domain other.test=open: \
	--offender 3/60s --idle 2s --max-per-client 3 --max-commands 40 --bulk 4000 \
	>"$DIR/harness.out" 2>"$DIR/harness.err" &
HPID=$!
wait_for 20 log_has "$DIR/harness.out" pid=
CHILD=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$DIR/harness.out")
ok "harness spawned the responder" test -n "$CHILD"
if [ -z "$CHILD" ]; then
	sed 's/^/# /' "$DIR/harness.err"
	exit 1
fi
# $! is the shell running `ip netns exec`; signal the harness itself.
HPID=$(awk '/^PPid:/ {print $2}' /proc/"$CHILD"/status)

# Least privilege: the process that reads the internet holds nothing.
status=$(cat /proc/"$CHILD"/status)
like "$status" $'CapEff:\t0000000000000000' "responder CapEff is 0"
like "$status" $'CapPrm:\t0000000000000000' "responder CapPrm is 0"
like "$status" $'CapBnd:\t0000000000000000' "responder bounding set is empty"
like "$status" $'Uid:\t'"$(id -u nobody)"$'\t'"$(id -u nobody)" "responder runs as nobody"
like "$status" $'NoNewPrivs:\t1' "responder has no_new_privs"
fds=$(ls /proc/"$CHILD"/fd | wc -l)
ok "responder holds only stdio, two listeners and the socketpair (+epoll)" test "$fds" -le 7

# Scenario 1 in small: a gated domain is answered 551 naming the primary.
out=$(swaks_to 127.0.0.1 "" user@example.test)
like "$out" "<\*\* 551 5\.7\.1 example\.test: this is a backup MX and the primary MX mx1\.example\.test is online; please try mx1\.example\.test" \
	"gated domain: 551 5.7.1 naming the primary"
out=$(swaks_to ::1 "" user@Example.TEST.)
like "$out" "551 5\.7\.1 example\.test: .*please try mx1\.example\.test" "IPv6 too, case and trailing dot ignored"

# Scenario 6: defer mode.
out=$(swaks_to 127.0.0.1 "" user@defer.test)
like "$out" "<\*\* 451 4\.7\.1 defer\.test: this is a backup MX and the primary MX mx2\.example\.test is online; please try mx2\.example\.test" \
	"reply = defer: 451 4.7.1 with the same explanation"
out=$(swaks_to 127.0.0.1 "" user@other.test)
like "$out" "451 4\.7\.1 <other\.test>: .*try again later" "served domain no longer gated: 451 4.7.1"
out=$(swaks_to 127.0.0.1 "" user@stranger.test)
like "$out" "451 4\.7\.1 <stranger\.test>: not served by this backup MX now; please try again later" "domain not served: 451 4.7.1, never a 5xx (the MTA behind may take it)"

# Scenario 6: offender escalation, per client address, counting sessions:
# one session with four RCPTs counts once (an MTA's queue is not abuse).
# The clients are remote (the second namespace): local ones never count.
rcpt='RCPT TO:<u@example.test>\r\n'
export SWAKS_NS=$NSC
out=$(ip netns exec "$NSC" $CLIENT 198.51.100.1 $PORT --bind 198.51.100.5 --wait 15 \
	--send 'EHLO o.test\r\nMAIL FROM:<a@o.test>\r\n' \
	--send "$rcpt" --send "$rcpt" --send "$rcpt" --send "$rcpt" --send 'QUIT\r\n')
like "$out" "(551 5\.7\.1 example\.test[^$NL]*$NL){4}221 " \
	"offender: four RCPTs in one session are one session: 551 each"
swaks_to 198.51.100.1 198.51.100.5 user@example.test >/dev/null
swaks_to 198.51.100.1 198.51.100.5 user@example.test >/dev/null
out=$(swaks_to 198.51.100.1 198.51.100.5 user@example.test)
like "$out" "550 5\.7\.1 You tried me, a backup MX, too often while the primary MX is online" \
	"offender: the fourth session gets 550 5.7.1"
out=$(swaks_to 198.51.100.1 198.51.100.5 user@example.test)
like "$out" "550 5\.7\.1 You tried me" "the offender stays refused in a new session"
out=$(swaks_to 198.51.100.1 198.51.100.6 user@example.test)
like "$out" "551 5\.7\.1 example\.test" "another client still gets 551"
for _ in 1 2 3; do
	swaks_to 2001:db8:ee::1 2001:db8:1::1 user@example.test >/dev/null
done
out=$(swaks_to 2001:db8:ee::1 2001:db8:1::1 user@example.test)
like "$out" "550 5\.7\.1 You tried me" "IPv6 offender escalates too"
out=$(swaks_to 2001:db8:ee::1 2001:db8:1::2 user@example.test)
like "$out" "550 5\.7\.1 You tried me" "IPv6 offenders are counted per /64"
out=$(swaks_to 2001:db8:ee::1 2001:db8:2::1 user@example.test)
like "$out" "551 5\.7\.1 example\.test" "another /64 still gets 551"
unset SWAKS_NS
# A client on the host itself never becomes one (the host's own MTA,
# local submission): five sessions from loopback, still 551.
for _ in 1 2 3 4; do
	swaks_to 127.0.0.1 127.0.0.7 user@example.test >/dev/null
done
out=$(swaks_to 127.0.0.1 127.0.0.7 user@example.test)
like "$out" "551 5\.7\.1 example\.test" "a loopback client is never an offender"

# Scenario 10: bad input, while a normal session runs beside it.
long=$(printf 'NOOP %0600d' 0)
client 127.0.0.1 $PORT --bind 127.0.0.20 --wait 15 >"$DIR/silent.out" &
silent=$!
client 127.0.0.1 $PORT --bind 127.0.0.21 --wait 15 --send 'EHLO g.test\r\n' \
	--send 'garbage\r\n' --repeat 30 >"$DIR/flood.out" &
flood=$!
out=$(client 127.0.0.1 $PORT --bind 127.0.0.22 --wait 15 \
	--send 'EHLO b.test\r\n' --send "$long"'\r\n' --send 'NOOP\r\n' \
	--send 'NOOP\x00\xff\r\n' --send "${long}" --send "$long" --send '\r\nNOOP\r\nQUIT\r\n')
like "$out" "^220 backup\.test ESMTP" "greeting 220 backup.test ESMTP"
like "$out" $'500 5\\.5\\.6 [^\n]*line too long\n250 2\\.0\\.0 Ok\n501 5\\.5\\.4 [^\n]*\n500 5\\.5\\.6 [^\n]*line too long\n250 2\\.0\\.0 Ok\n221 2\\.0\\.0' \
	"overlong line 500 5.5.6 (complete and partial), binary 501 5.5.4, the session goes on"
out=$(swaks_to 127.0.0.1 127.0.0.23 user@example.test)
like "$out" "551 5\.7\.1 example\.test" "a normal session is served during the abuse"
wait $flood
out=$(cat "$DIR/flood.out")
like "$out" $'(500 5\\.5\\.2 [^\n]*\n){10}421 4\\.7\\.0 too many errors\nEND closed' \
	"pipelined garbage: ten 500 5.5.2, then 421 4.7.0 and close"
wait $silent
out=$(cat "$DIR/silent.out")
like "$out" $'^220 backup\\.test ESMTP\n421 4\\.7\\.0 idle timeout\nEND closed' \
	"a client that never speaks: 421 4.7.0 idle timeout and close"
out=$(client 127.0.0.1 $PORT --bind 127.0.0.24 --wait 15 --send 'EHLO d.test\r\nMAIL FROM:<>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n')
like "$out" "554 5\.5\.1 " "DATA: 554 5.5.1"
unlike "$out" "354" "DATA is never answered 354"

# Per-client connection limit (3): the fourth gets 421.
out=$(client 127.0.0.1 $PORT --bind 127.0.0.30 --hold 4 --wait 1)
like "$out" $'^(220 backup\\.test ESMTP\n){3}421 4\\.7\\.0 too many connections$' \
	"per-client limit: the fourth connection gets 421 4.7.0 too many connections"

# A big table (4000 more domains, long reply texts: ~1.7 MB) went through
# the socketpair; over-long replies are cut at 512 octets with CRLF.
out=$(swaks_to 127.0.0.1 127.0.0.40 user@bulk3999.test)
like "$out" "551 5\.7\.1 bulk3999\.test: xxxx" "a 4000-domain table arrived whole"
line=$(grep -a '551 5.7.1 bulk3999' <<<"$out" | sed 's/^<\*\* //')
ok "a reply stays within 512 octets with CRLF" test "${#line}" -le 510

# A new table while the responder runs: states flipped, and back. The
# harness says when it has sent the table; the responder reads it a moment
# later, so ask until the answer changes (each try from a fresh client
# address, so no try counts towards the offender threshold of another).
rcpt_becomes() { # rcpt_becomes ERE: swaks until the reply matches, <= 20 s
	local end=$((SECONDS + 20))
	while :; do
		try=$((try + 1))
		out=$(swaks_to 127.0.0.1 "127.0.1.$try" user@example.test)
		[[ $out =~ $1 ]] || [ "$SECONDS" -ge "$end" ] || [ "$try" -ge 250 ] && return
		sleep 0.2
	done
}
pushed_twice() { [ "$(grep -c "table pushed again" "$DIR/harness.err")" -ge 2 ]; }
try=0
kill -USR1 "$HPID"
wait_for 20 log_has "$DIR/harness.err" "table pushed again"
rcpt_becomes "451 4\.7\.1"
like "$out" "451 4\.7\.1 <example\.test>: .*try again later" "table update: no longer gated -> 451 4.7.1"
kill -USR1 "$HPID"
wait_for 20 pushed_twice
rcpt_becomes "551 5\.7\.1"
like "$out" "551 5\.7\.1 example\.test" "table update: gated again -> 551"

# Behind an nft redirect (gate = nft) the original destination comes from
# conntrack; with bpf_sk_assign getsockname shows it directly. A responder
# as mxgated runs it (--strict: only what was dialled to port 25 is
# served) on its own port, with port 25 redirected to it.
PORT3=2527
in_ns "$HARNESS" --strict --listen4 0.0.0.0 --listen6 :: --port $PORT3 \
	--domain example.test=gated:mx1.example.test >"$DIR/harness3.out" 2>"$DIR/harness3.err" &
wait_for 20 log_has "$DIR/harness3.out" pid=
CHILD3=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$DIR/harness3.out")
if in_ns nft -f - <<EOF; then
table inet mxgtest {
	chain out {
		type nat hook output priority -100;
		ip daddr 192.0.2.20 tcp dport 25 redirect to :$PORT3
		ip6 daddr 2001:db8:ff::20 tcp dport 25 redirect to :$PORT3
	}
}
EOF
	out=$(SWAKS_PORT=25 swaks_to 192.0.2.20 127.0.0.42 user@example.test)
	like "$out" "551 5\.7\.1 example\.test" "nft redirect: 551"
	out=$(SWAKS_PORT=25 swaks_to 2001:db8:ff::20 "" user@example.test)
	like "$out" "551 5\.7\.1 example\.test" "nft redirect, IPv6: 551"
	# The session line is written when the client's FIN arrives.
	wait_for 20 log_has "$DIR/harness3.err" "dst=2001:db8:ff::20 port=25 "
	log=$(cat "$DIR/harness3.err")
	like "$log" "session client=127\.0\.0\.42 port=[0-9]+ dst=192\.0\.2\.20 port=25 " \
		"the log names the original destination 192.0.2.20 port 25"
	like "$log" "dst=2001:db8:ff::20 port=25 " "and the IPv6 one"
	out=$(SWAKS_PORT=$PORT3 swaks_to 127.0.0.1 127.0.0.43 user@example.test)
	unlike "$out" "<-  220 " "dialled to its own port, not redirected: no greeting"
	in_ns nft delete table inet mxgtest
else
	for i in 1 2 3 4 5; do
		n=$((n + 1))
		echo "ok $n # SKIP nft nat not available"
	done
fi
# Its controller (the harness) goes; the responder follows by itself.
[ -n "$CHILD3" ] && kill "$(awk '/^PPid:/ {print $2}' /proc/"$CHILD3"/status)" 2>/dev/null

ok "the responder survived all of it" kill -0 "$CHILD"
log=$(cat "$DIR/harness.err")
unlike "$log" "Sanitizer|runtime error" "no sanitizer report (when built with SAN=1)"
like "$log" "session client=127\.0\.0\.1 port=[0-9]+ dst=127\.0\.0\.1 port=$PORT rcpt=example\.test=551 reply=551 end=quit" \
	"one log line per session: client, destination, domain, reply"

# Fail-open: a dead responder leaves no listening socket behind, so the
# kernel drops it from the SOCKMAP and the gate stops steering.
kill -9 "$CHILD"
wait_for 20 refused $PORT 127.0.0.1
out=$(client 127.0.0.1 $PORT --connect-only)
like "$out" "^refused$" "responder killed: its IPv4 port refuses connections"
out=$(client ::1 $PORT --connect-only)
like "$out" "^refused$" "responder killed: its IPv6 port refuses connections"

# A second responder: the total connection limit, and the controller's
# death (the socketpair closes) ends the responder and its sockets.
PORT2=2526
in_ns "$HARNESS" --port $PORT2 --max-conn 2 --domain example.test=gated:mx1.example.test \
	>"$DIR/harness2.out" 2>"$DIR/harness2.err" &
wait_for 20 log_has "$DIR/harness2.out" pid=
CHILD2=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$DIR/harness2.out")
HPID2=$(awk '/^PPid:/ {print $2}' /proc/"$CHILD2"/status 2>/dev/null)
# Two clients hold their sessions (until the responder goes away below,
# or cleanup); the third comes only once both have been greeted.
# (Started without a function, so no subshell reports "Killed" when
# cleanup ends them.)
ip netns exec "$NS" $CLIENT 127.0.0.1 $PORT2 --bind 127.0.0.50 --hold 1 --wait 60 >"$DIR/hold1.out" &
disown
ip netns exec "$NS" $CLIENT 127.0.0.1 $PORT2 --bind 127.0.0.51 --hold 1 --wait 60 >"$DIR/hold2.out" &
disown
wait_for 20 log_has "$DIR/hold1.out" "^220 "
wait_for 20 log_has "$DIR/hold2.out" "^220 "
out=$(client 127.0.0.1 $PORT2 --bind 127.0.0.52 --hold 1 --wait 0)
like "$out" "^421 4\.7\.0 too many connections$" "max_connections 2: a third client gets 421 4.7.0"
kill -9 "$HPID2"
# Gone: no such process, or a zombie its new parent has not reaped yet
# (that can take seconds here; its sockets are closed either way).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
wait_for 10 gone "$CHILD2"
ok "controller killed: the responder exits by itself (within 10 s)" gone "$CHILD2"
out=$(client 127.0.0.1 $PORT2 --connect-only)
like "$out" "^refused$" "and its port refuses connections"

echo "1..$n" # the plan at the end: TAP allows it, and nothing to keep in step
if [ $fails -ne 0 ]; then
	echo "# harness log:"
	sed 's/^/#   /' "$DIR/harness.err"
fi
exit 0
