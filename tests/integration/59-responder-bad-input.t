#!/bin/bash
# Bad SMTP input, end to end (real DNS, Postfix, mxgated, tc gate):
# bad SMTP input to the responder through port 25 of the edge: overlong
# lines, binary bytes, pipelined garbage and a client that never speaks get
# their error replies (500/501, then 421 4.7.0 and close), the responder
# does not crash or restart, and a normal session beside them is answered
# 551 as usual. The session log shows the original destination port 25,
# as getsockname reports it on a socket bpf_sk_assign steered.
set -u
if [ ! -f "${MXG_SRC:-.}/tests/lib/mxgated.sh" ]; then
	echo "1..0 # SKIP tests/lib/mxgated.sh (controller branch) not merged yet"
	exit 0
fi
. "$MXG_SRC/tests/lib/mxgated.sh"

CLIENT=$MXG_SRC/tests/helpers/smtp_client.py
NL=$'\n'

# smtp_client.py from snd to the edge's port 25.
raw() {
	tn_exec snd /usr/bin/python3 "$CLIENT" "$TN_IP_edge" 25 "$@"
}

responder_pid() {
	pgrep -P "$MXG_PID" | head -1
}

mxg_scene 120
tap_plan 12
mxg_config idle_timeout=2s max_connections_per_client=3
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10
pid=$(responder_pid)
tap_ok "the responder runs" test -n "$pid"

raw --wait 6 >"$TN_DIR/silent.out" &
silent=$!
raw --wait 6 --send 'EHLO g.test\r\n' --send 'garbage\x00\r\n' --repeat 40 >"$TN_DIR/flood.out" &
flood=$!
long=$(printf 'NOOP %0700d' 0)
out=$(raw --wait 4 --send 'EHLO b.test\r\n' --send "$long"'\r\nNOOP\r\n' \
	--send 'MAIL FROM:<a@\xff\xfe>\r\n' --send "$long" --send "$long" \
	--send '\r\nNOOP\r\nQUIT\r\n')
tap_like "$out" "^220 mx2\\.example\\.test ESMTP$NL" "the responder greets on port 25"
tap_like "$out" "500 5\\.5\\.6 [^$NL]*line too long${NL}250 2\\.0\\.0 Ok${NL}501 5\\.5\\.4 [^$NL]*${NL}500 5\\.5\\.6 [^$NL]*line too long${NL}250 2\\.0\\.0 Ok${NL}221 2\\.0\\.0 [^$NL]*${NL}END closed" \
	"overlong lines (complete, partial) 500 5.5.6, binary 501 5.5.4, the session goes on"
tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*please try mx1\.example\.test$' \
	"meanwhile a normal session is answered 551"
tap_like "$(mxg_rcpt example.test "$TN_IP6_edge")" '^551 5\.7\.1 ' "and one over IPv6"
wait "$flood"
tap_like "$(cat "$TN_DIR/flood.out")" "(501 5\\.5\\.4 [^$NL]*$NL){10}421 4\\.7\\.0 too many errors${NL}END closed" \
	"pipelined garbage with NULs: 501 5.5.4 ten times, then 421 4.7.0 and close"
wait "$silent"
tap_like "$(cat "$TN_DIR/silent.out")" "^220 mx2\\.example\\.test ESMTP${NL}421 4\\.7\\.0 idle timeout${NL}END closed" \
	"a client that never speaks: 421 4.7.0 idle timeout, then close"
out=$(raw --hold 4 --wait 1)
tap_like "$out" "^(220 [^$NL]*$NL){3}421 4\\.7\\.0 too many connections$" \
	"max_connections_per_client 3: the fourth connection gets 421 4.7.0"
tap_is "$(responder_pid)" "$pid" "the responder neither crashed nor restarted"
tap_like "$(cat "$MXG_LOG")" "session client=192\\.0\\.2\\.30 port=[0-9]+ dst=192\\.0\\.2\\.20 port=25 " \
	"the log shows the original destination 192.0.2.20 port 25 (getsockname after sk_assign)"
tap_is "$(tn_mail_count edge)" 0 "the backup's Postfix received nothing"
