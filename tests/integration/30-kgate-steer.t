#!/bin/bash
# The kernel gate on a real veth, driven by hand (the test helper
# tc_gate_drive): a new SMTP connection to a gated address reaches the
# responder (fake_responder, listening on loopback), which sees the original destination address and
# port 25; every case of doubt (no entry, open, expired, responder gone)
# reaches the real Postfix on the edge; a session already open to Postfix
# survives the address becoming gated; another port is never touched.
set -u
# shellcheck source=tests/lib/testnet.sh
. "$MXG_SRC/tests/lib/testnet.sh"

tn_init 150
tap_plan 25

MXG=$MXG_OUT/mxgate
FAKE=$MXG_OUT/tests/helpers/fake_responder
V4=192.0.2.20
V6=2001:db8::20
POSTFIX_RE='^220 [^ ]+ ESMTP'
FAKE_RE='^220 fake-responder$'

tn_up
tn_postfix_start edge backup || tap_bail "postfix on edge did not start"
PIN=$(tn_bpffs)/mxgate

# gate-* commands: the test helper that drives the gate by hand.
GATE=$MXG_OUT/tests/helpers/tc_gate_drive
mxg() {
	local bin=$MXG
	case $1 in gate-*) bin=$GATE ;; esac
	tn_exec edge "$bin" "$@" --pin-dir "$PIN"
}

# greet FROM ADDR [PORT]: the first line the server at ADDR:PORT sends.
# The bound is generous: a loaded machine may take seconds to fork smtpd.
greet() {
	tn_exec "$1" timeout $((15 * TN_TIME_SCALE)) bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		IFS= read -r line <&3 && printf "%s\n" "$line"
		printf "QUIT\r\n" >&3' greet "$2" "${3:-25}" | tr -d '\r'
}

# greet_becomes FROM ADDR ERE SECS: greet until the greeting matches ERE, at
# most SECS seconds; prints the last greeting.
greet_becomes() {
	local end=$((SECONDS + $4 * TN_TIME_SCALE)) g
	while :; do
		g=$(greet "$1" "$2")
		if [[ $g =~ $3 ]] || [ "$SECONDS" -ge "$end" ]; then
			printf '%s\n' "$g"
			return
		fi
		sleep 0.2
	done
}

counter() {
	mxg dump | awk -v n="$1" '$1 == n { print $2 }'
}

tap_ok "gate-attach loads, pins and attaches at edge eth0 ingress" mxg gate-attach --iface eth0
FAKE_OUT=$TN_DIR/edge/fake.log
tn_spawn edge fake "$FAKE" --pin-dir "$PIN"
tap_ok "fake responder listens on loopback and is in the SOCKMAP" \
	tn_wait 15 grep -q '^listening' "$FAKE_OUT"
tap_diag "$(cat "$FAKE_OUT")"

tap_like "$(greet snd $V4)" "$POSTFIX_RE" "no gate entry: Postfix answers (IPv4)"
tap_like "$(greet snd $V6)" "$POSTFIX_RE" "no gate entry: Postfix answers (IPv6)"

mxg gate-set $V4 gated 60
mxg gate-set $V6 gated 60
tap_like "$(greet snd $V4)" "$FAKE_RE" "gated fresh: the responder answers (IPv4)"
tap_ok "the responder's socket shows $V4:25 and the sender" \
	grep -q "^accepted local=$V4:25 peer=192.0.2.30:" "$FAKE_OUT"
tap_like "$(greet snd $V6)" "$FAKE_RE" "gated fresh: the responder answers (IPv6)"
tap_ok "the responder's socket shows [$V6]:25 and the sender" \
	grep -qF "accepted local=[$V6]:25 peer=[2001:db8::30]:" "$FAKE_OUT"
tap_is "$(counter steered)" 2 "counters: two SYNs steered"

# Another port on the same gated address is not touched.
tn_fake_smtp edge greet554 2525 $V4 || tap_bail "fake smtp on 2525 did not start"
syn_before=$(counter syn25)
tap_like "$(greet snd $V4 2525)" '^554 ' "gated address, port 2525: its own listener answers"
tap_is "$(counter syn25)" "$syn_before" "the program did not even count it as a port-25 SYN"

mxg gate-set $V4 open 60
tap_like "$(greet snd $V4)" "$POSTFIX_RE" "entry says open: Postfix answers"

# Fail open by expiry: nobody touches the entry, the kernel's clock does.
# The TTL leaves a loaded machine seconds for the first greeting; then we
# poll (bounded) instead of sleeping exactly the TTL. 6 s times
# MXG_TIME_SCALE (testnet.sh), as greet_becomes's bounds.
ttl=$((6 * TN_TIME_SCALE))
mxg gate-set $V4 gated $ttl
mxg gate-set $V6 gated $ttl
expired_before=$(counter pass_expired)
tap_like "$(greet snd $V4)" "$FAKE_RE" "gated for $ttl s: the responder answers"
tap_like "$(greet_becomes snd $V4 "$POSTFIX_RE" 30)" "$POSTFIX_RE" \
	"once the entry expired: Postfix answers (IPv4)"
tap_like "$(greet_becomes snd $V6 "$POSTFIX_RE" 30)" "$POSTFIX_RE" \
	"expired entry: Postfix answers (IPv6)"
tap_ok "the program counted SYNs passed for expiry" \
	test "$(counter pass_expired)" -gt "$expired_before"
tap_like "$(mxg dump | grep -F " $V4 ")" 'gated +expired' "mxgate dump marks the entry expired"

# A session to Postfix opened while the gate is open survives gating.
# Each reply line goes to the file as it arrives (a pipe through tr would
# hold it until the end), so we gate only once the greeting is in.
rm -f "$TN_DIR/go" "$TN_DIR/session.out"
tn_exec snd timeout 40 bash -c '
	cr=$(printf "\r")
	exec 3<>"/dev/tcp/$1/25" || exit 1
	IFS= read -r line <&3 && printf "%s\n" "${line%"$cr"}" >>"$3"
	while [ ! -e "$2" ]; do sleep 0.1; done
	printf "EHLO sender.test\r\n" >&3
	IFS= read -r line <&3 && printf "%s\n" "${line%"$cr"}" >>"$3"
	printf "QUIT\r\n" >&3' session $V4 "$TN_DIR/go" "$TN_DIR/session.out" &
SESSION=$!
tap_ok "a session to Postfix is open before the address is gated" \
	tn_wait 15 grep -q . "$TN_DIR/session.out"
mxg gate-set $V4 gated 60
touch "$TN_DIR/go"
wait $SESSION
tap_like "$(sed -n 1p "$TN_DIR/session.out")" "$POSTFIX_RE" "session opened while open: Postfix greeted"
tap_like "$(sed -n 2p "$TN_DIR/session.out")" '^250[- ]mx2\.example\.test' \
	"after the address became gated the same session still talks to Postfix"
tap_like "$(greet snd $V4)" "$FAKE_RE" "while a new connection goes to the responder"
tap_like "$(mxg dump | grep -F " $V4 ")" 'gated +fresh' "mxgate dump marks the entry fresh"

# A responder that is gone is never steered to: its sockets leave the
# SOCKMAP when they close.
tn_kill edge fake
tap_like "$(mxg dump | grep 'v4 (slot 0)')" 'absent' "responder killed: its SOCKMAP slot is empty"
tap_like "$(greet snd $V4)" "$POSTFIX_RE" "gated fresh but no responder: Postfix answers"

mxg gate-del $V4
tap_like "$(greet snd $V4)" "$POSTFIX_RE" "entry deleted: Postfix answers"

tap_diag "$(mxg dump)"
tap_done
