#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# STARTTLS in the responder, run as mxgated runs it (forked, chrooted,
# unprivileged, under its seccomp allowlist) through
# tests/helpers/responder_harness: a TLS session completes under seccomp
# and gets the domain's reply inside TLS; plaintext pipelined behind
# STARTTLS is dropped (CVE-2011-0411); a client that sends no handshake
# is closed at the handshake deadline and one that sends garbage at once;
# handshakes in progress are bounded per network and in all (454), and a
# handshake flood leaves plaintext sessions served.
set -u
. "$MXG_SRC/tests/lib/tap.sh"

[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (network namespace)"
for tool in swaks ip openssl /usr/bin/python3; do
	command -v "$tool" >/dev/null || tap_skip_all "$tool missing: sh scripts/install-deps.sh"
done
perl -MNet::SSLeay -e1 2>/dev/null || tap_skip_all "swaks --tls needs Net::SSLeay: sh scripts/install-deps.sh"

OUT=${MXG_OUT:-$PWD/build}
HARNESS=$OUT/tests/helpers/responder_harness
TLSC="/usr/bin/python3 $MXG_SRC/tests/helpers/starttls_client.py"
NS=mxgtls$$
DIR=$(mktemp -d /tmp/mxg-starttls.XXXXXX)
HPID=
PORT=2525
BG=()

cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_ns() { ip netns exec "$NS" "$@"; }
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}
log_has() { grep -qE "$2" "$1" 2>/dev/null; }
swaks_tls() { # swaks_tls SRC RCPT
	in_ns swaks --server 127.0.0.1 --port $PORT --local-interface "$1" --tls \
		--from sender@sender.test --helo sender.test --timeout 10 -q RCPT --to "$2" 2>&1
}
# hold SRC NAME: a client from SRC that says STARTTLS and then nothing.
hold() {
	in_ns $TLSC 127.0.0.1 $PORT hold --bind "$1" --wait 30 >"$DIR/$2.out" 2>&1 &
	BG+=($!)
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/key.pem" -out "$DIR/cert.pem" \
	-days 2 -subj /CN=backup.test 2>/dev/null
chmod 600 "$DIR/key.pem"

ip netns add "$NS"
in_ns ip link set lo up
# max_connections 32 and 16 per network: at most 32/8 = 4 handshakes in
# progress in all, 16/8 = 2 per network (127.0.0.0/24, 127.1.0.0/24, ...).
in_ns "$HARNESS" --listen4 0.0.0.0 --listen6 none --port $PORT --helo backup.test \
	--domain example.test=gated:mx1.example.test --max-conn 32 --max-per-net 16 \
	--max-per-client 10 --tls-cert "$DIR/cert.pem" --tls-key "$DIR/key.pem" \
	>"$DIR/harness.out" 2>"$DIR/harness.err" &
wait_for 20 log_has "$DIR/harness.out" pid=
CHILD=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' "$DIR/harness.out")
[ -n "$CHILD" ] || {
	sed 's/^/# /' "$DIR/harness.err"
	tap_bail "the harness did not start the responder"
}
HPID=$(awk '/^PPid:/ {print $2}' /proc/"$CHILD"/status)

tap_like "$(grep -E '^(Seccomp|NoNewPrivs):' /proc/"$CHILD"/status | tr -s '\t\n' '  ')" \
	'NoNewPrivs: 1 Seccomp: 2' "the responder with a certificate runs under its seccomp allowlist"
tap_is "$(readlink /proc/"$CHILD"/root)" /run/mxgate/empty "and chrooted into the empty directory"
tap_unlike "$(ls -l /proc/"$CHILD"/fd 2>/dev/null)" 'pem' "it holds no certificate or key file open"

out=$(swaks_tls 127.0.0.1 user@example.test)
tap_like "$out" '250-STARTTLS' "EHLO advertises STARTTLS"
tap_like "$out" '220 2\.0\.0 Ready to start TLS' "STARTTLS gets 220 2.0.0 Ready to start TLS"
tap_like "$out" '=== TLS started with cipher TLSv1\.[23]' "the handshake completes under seccomp"
tap_like "$out" '<~\* 551 5\.7\.1 example\.test: .*mx1\.example\.test' "the gated reply comes inside TLS"
tap_unlike "$(echo "$out" | sed -n '/TLS started/,$p')" '250-STARTTLS' "inside TLS, EHLO no longer offers STARTTLS"
tap_ok "the responder survived the session (no SIGSYS)" kill -0 "$CHILD"
tap_ok "the session's log line says tls=yes" \
	wait_for 5 log_has "$DIR/harness.err" 'session client=127\.0\.0\.1 .*reply=551 end=quit .*tls=yes'
out=$(in_ns swaks --server 127.0.0.1 --port $PORT --tls --tls-protocol tlsv1_2 \
	--from a@sender.test --to user@example.test -q RCPT 2>&1)
tap_like "$out" 'TLS started with cipher TLSv1\.2:.*<~\* 551 ' "TLS 1.2 too"

# The STARTTLS command injection: plaintext pipelined behind STARTTLS
# would, if read after the handshake, open a transaction inside TLS.
out=$(in_ns $TLSC 127.0.0.1 $PORT inject --bind 127.0.0.2 \
	--after 'EHLO evil.test\r\nMAIL FROM:<evil@evil.test>\r\n')
tap_like "$out" $'220 2\\.0\\.0 Ready to start TLS\n~503 5\\.5\\.1 Error: need MAIL command' \
	"plaintext pipelined behind STARTTLS is dropped: inside TLS, RCPT gets 503 need MAIL"
tap_like "$out" $'~250-backup\\.test' "and the session goes on inside TLS"
tap_ok "the log line names the dropped plaintext" \
	wait_for 5 log_has "$DIR/harness.err" 'client=127\.0\.0\.2 .*tls=yes dropped=plaintext-after-starttls'

out=$(in_ns $TLSC 127.0.0.1 $PORT garbage --bind 127.0.0.3 --wait 10)
tap_like "$out" 'END closed after [0-2]\.' "a plaintext line for a ClientHello: closed at once"
tap_ok "its log line says the handshake failed" \
	wait_for 5 log_has "$DIR/harness.err" 'client=127\.0\.0\.3 .*end=TLS handshake failed'

# Bounds. Two handshakes held from 127.0.0.0/24 fill its share: a third
# from that network gets 454, a client of another network still starts.
hold 127.0.0.10 h1
hold 127.0.0.11 h2
wait_for 10 log_has "$DIR/h1.out" '^220 2\.0\.0' && wait_for 10 log_has "$DIR/h2.out" '^220 2\.0\.0'
hold 127.0.0.12 h3
wait_for 10 log_has "$DIR/h3.out" '^(220|454) '
tap_like "$(cat "$DIR/h3.out")" '454 4\.7\.0 TLS not available due to temporary reason' \
	"a third handshake from one /24 while two are in progress: 454"
hold 127.1.0.10 h4
hold 127.1.0.11 h5
wait_for 10 log_has "$DIR/h4.out" '^(220|454) ' && wait_for 10 log_has "$DIR/h5.out" '^(220|454) '
tap_like "$(cat "$DIR/h4.out" "$DIR/h5.out")" $'220 2\\.0\\.0 Ready to start TLS\n.*220 2\\.0\\.0 Ready' \
	"another network gets its own two"
hold 127.2.0.10 h6
wait_for 10 log_has "$DIR/h6.out" '^(220|454) '
tap_like "$(cat "$DIR/h6.out")" '454 4\.7\.0 TLS not available' \
	"the fifth handshake in all gets 454 though its network has none (total bound 4)"
out=$(in_ns swaks --server 127.0.0.1 --port $PORT --local-interface 127.3.0.1 \
	--from a@sender.test --to user@example.test -q RCPT 2>&1)
tap_like "$out" '<\*\* 551 5\.7\.1 example\.test' "while they are held, a plaintext session is served"
# The deadline (10 s) closes the silent ones and frees the slots.
tap_ok "a client silent after STARTTLS is closed at the handshake deadline" \
	wait_for 20 log_has "$DIR/h1.out" 'END closed after (9|1[0-2])\.'
tap_ok "its log line says so" \
	wait_for 5 log_has "$DIR/harness.err" 'client=127\.0\.0\.10 .*end=TLS handshake timeout'
out=$(swaks_tls 127.2.0.11 user@example.test)
tap_like "$out" 'TLS started with cipher.*<~\* 551 ' "with the slots free again, TLS works for the next client"
tap_ok "the responder is still the same process" kill -0 "$CHILD"
tap_done
