#!/bin/bash
# mxgate demo (`make demo`, root): the whole story on a throw-away test
# network, narrated step by step with the real commands and their real
# output. A sender, a primary MX (mx1, Postfix), the backup MX (mx2, the
# "edge", with its own Postfix and mxgated) and an authoritative DNS server
# (nsd), each in its own network namespace. Every step checks what it
# shows: if an expectation fails, the demo says what it expected and what
# happened, and exits 1. Everything is removed on exit, Ctrl-C or failure
# (the test network library's trap).
#
# Environment: OUT (build dir, default build), DEMO_PACE (seconds to pause
# between steps, default 3), TN_KEEP=1 (keep the run's temp dir).
set -u

MXG_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-build}
case $OUT in
/*) MXG_OUT=$OUT ;;
*) MXG_OUT=$MXG_SRC/$OUT ;;
esac
export MXG_SRC MXG_OUT
PACE=${DEMO_PACE:-3}

if [ -t 1 ]; then
	B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GRN=$'\e[32m' CYN=$'\e[36m' RST=$'\e[0m'
else
	B='' DIM='' RED='' GRN='' CYN='' RST=''
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (it creates network namespaces, a bpffs and a tc filter); run: sudo make demo" >&2
	exit 1
fi
for t in jq bpftool drill swaks; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "demo: $t not found; run: sh scripts/install-deps.sh" >&2; exit 1; }
done
if ! [ -x "$MXG_OUT/mxgated" ] || ! [ -x "$MXG_OUT/mxgate" ]; then
	echo "demo: $MXG_OUT/mxgated or mxgate not built; run: make" >&2
	exit 1
fi

# shellcheck source=tests/lib/mxgated.sh
. "$MXG_SRC/tests/lib/mxgated.sh"

# ---- narration -------------------------------------------------------

T0=$(date +%s%N)
STEP=0

elapsed() {
	awk -v n="$(date +%s%N)" -v t="$T0" 'BEGIN { printf "%.1f", (n - t) / 1e9 }'
}

# step TITLE WHY: a numbered heading and one line saying why.
step() {
	STEP=$((STEP + 1))
	[ "$STEP" -gt 1 ] && sleep "$PACE"
	printf '\n%s%d. %s%s %s[%ss]%s\n' "$B" "$STEP" "$1" "$RST" "$DIM" "$(elapsed)" "$RST"
	printf '   %s\n' "$2"
}

# say TEXT: a narration line.
say() {
	printf '   %s\n' "$*"
}

# prompt HOST COMMAND: the command as one would type it on that host.
prompt() {
	printf '   %s%s#%s %s\n' "$CYN" "$1" "$RST" "$2"
}

# out: indents stdin as command output.
out() {
	sed "s/^/     ${DIM}│${RST} /"
}

ok() {
	printf '   %s✓ %s%s\n' "$GRN" "$*" "$RST"
}

# fail EXPECTED GOT: the step's expectation did not hold; exit 1.
fail() {
	printf '\n   %s✗ step %d failed%s\n' "$RED$B" "$STEP" "$RST"
	printf '     expected: %s\n' "$1"
	printf '     got:      %s\n' "$2"
	if [ -s "${MXG_LOG:-}" ]; then
		printf '     last lines of the mxgated log:\n'
		grep -v 'libbpf' "$MXG_LOG" | tail -n 15 | out
	fi
	printf '   the test network is being removed; rerun with TN_KEEP=1 to keep %s\n' "$TN_DIR"
	exit 1
}

# expect DESC CMD...: ok DESC if CMD succeeds, else fail.
expect() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		fail "$desc" "it did not hold ($*)"
	fi
}

demo_bye() {
	printf '\n%sCleaning up%s: namespaces, Postfix, nsd, bpffs and temp files of run %s.\n' \
		"$B" "$RST" "$TN"
}

# ---- the scene ---------------------------------------------------------

printf '%smxgate demo%s: a backup MX that says "please try the primary" while the primary is up,\n' "$B" "$RST"
printf 'and gets out of the way when it is not. Takes about half a minute.\n'

# Setup chatter (TAP diagnostics, tool noise) goes to a log, shown only if
# the setup fails (the library's "Bail out!" paths exit the shell).
SETUP_LOG=$(mktemp /tmp/mxgate-demo.XXXXXX)
SETUP_DONE=
setup_report() {
	if [ -z "$SETUP_DONE" ]; then
		printf '%s✗ setting up the test network failed; its log:%s\n' "$RED$B" "$RST"
		out <"$SETUP_LOG"
	fi
	rm -f "$SETUP_LOG"
}
trap 'setup_report' EXIT
tn_init 150 >>"$SETUP_LOG" 2>&1
# From here on the library's trap cleans up; our hooks run first.
tn_on_cleanup demo_bye
tn_on_cleanup setup_report
{
	tn_up
	tn_dns_zone <<-ZONE
		example.test. 300 IN MX 10 mx1.example.test.
		example.test. 300 IN MX 20 mx2.example.test.
		mx1.example.test. 300 IN A $TN_IP_p1
		mx1.example.test. 300 IN AAAA $TN_IP6_p1
		mx2.example.test. 300 IN A $TN_IP_edge
		mx2.example.test. 300 IN AAAA $TN_IP6_edge
		sender.test. 300 IN A $TN_IP_snd
		sender.test. 300 IN AAAA $TN_IP6_snd
	ZONE
	tn_dns_start
	tn_postfix_start p1 primary
	tn_postfix_start edge backup
} >>"$SETUP_LOG" 2>&1
SETUP_DONE=1

# mxgated.sh's variables: its helpers (mxg_start, mxg_status, ...) use them.
MXG_PIN=$(tn_bpffs)/mxgate
MXG_CONF=$TN_DIR/mxgate.conf
MXG_SOCK=$TN_DIR/run/control.sock
MXG_LOG=$TN_DIR/mxgated.log
tn_on_cleanup mxg_stop

# The demo's timings: short, so the story fits in a minute.
INTERVAL=2 TIMEOUT=1 RISE=3

# edge CMD...: run on the edge host (in its namespace).
edge() {
	tn_exec edge "$@"
}

# swaks_lines: the greeting, then the envelope and DATA dialogue (no EHLO
# list, no message body, no QUIT).
swaks_lines() {
	awk '/^<.. +220 / && !g { g = 1; print; next }
		/^ *-> (MAIL|RCPT|DATA)/ { d = 1; print; next }
		d && /^<.. +[2-5][0-9][0-9] / && !/^<.. +221 / { print }'
}

# rcpt_reply: the server's reply to RCPT TO in a swaks transcript (or the
# last reply, if it never got that far).
rcpt_reply() {
	awk '/^<.. +[0-9][0-9][0-9] / { last = $0; if (r) { print; found = 1; exit } }
		/^ *-> RCPT/ { r = 1 }
		END { if (!found) print (last == "" ? "no reply" : last) }'
}

status_lines() {
	"$MXGATE" status -s "$MXG_SOCK" | grep -E "^(${1:-domain|address})"
}

# ---- 1 ------------------------------------------------------------------
step "The test network and the zone" \
	"Hosts in network namespaces on one bridge; DNS says mx1 (the primary) has preference 10, mx2 (our edge) 20."
say "sender  $TN_IP_snd   swaks, the sending client"
say "dns     $TN_DNS_IP   nsd, authoritative for test."
say "p1      $TN_IP_p1   mx1.example.test, the primary MX (Postfix)"
say "edge    $TN_IP_edge   mx2.example.test, the backup MX (Postfix + mxgated)"
prompt sender "drill MX example.test"
mx=$(tn_exec snd drill MX example.test 2>&1)
grep -E 'IN[[:space:]]+(MX|A)[[:space:]]' <<<"$mx" | grep -v -e '^;' -e '^ns\.' | out
if ! grep -qE 'MX[[:space:]]+10 mx1\.example\.test\.' <<<"$mx" ||
	! grep -qE 'MX[[:space:]]+20 mx2\.example\.test\.' <<<"$mx"; then
	fail "MX 10 mx1.example.test and MX 20 mx2.example.test" "$(tr '\n' ' ' <<<"$mx")"
fi
ok "MX 10 mx1 (the primary), MX 20 mx2 (this backup)"

# ---- 2 ------------------------------------------------------------------
step "One-shot probe from the edge" \
	"mxgate probe resolves the MX set and speaks SMTP to each primary (connect, 220, EHLO, QUIT); no root needed."
prompt edge "mxgate probe example.test --self mx2.example.test"
probe=$(edge "$MXGATE" probe example.test --self mx2.example.test 2>&1)
out <<<"$probe"
grep -q '^verdict: gate' <<<"$probe" ||
	fail "verdict: gate" "$(grep verdict <<<"$probe" || echo "no verdict: $probe")"
ok "verdict: gate (the primary accepts mail, so senders should use it)"

# ---- 3 ------------------------------------------------------------------
step "mxgated starts on the edge" \
	"It attaches its tc program to eth0, probes every ${INTERVAL}s, and gates only after rise=$RISE good rounds in a row."
cat >"$MXG_CONF" <<CONF
self = mx2.example.test
domains = example.test
gate = tc
interfaces = eth0
pin_dir = $MXG_PIN
control_socket = $MXG_SOCK
probe_interval = ${INTERVAL}s
probe_timeout = ${TIMEOUT}s
rise = $RISE
fall = 1
state_ttl = 6s
recovery_grace = 5s
state_dir = $TN_DIR/state
CONF
prompt edge "cat mxgate.conf"
out <"$MXG_CONF"
say "(no reply key: the default, reply = greylist)"
prompt edge "mxgated -n -c mxgate.conf && mxgated -f -c mxgate.conf &"
chk=$(edge "$MXGATED" -n -c "$MXG_CONF" 2>&1) || fail "mxgated -n accepts the config" "$chk"
mxg_start >/dev/null || fail "mxgated starts and opens its control socket" "$(tail -n 5 "$MXG_LOG")"
tn_wait 5 mxg_is_state example.test open
prompt edge "mxgate status"
status_lines | out
say "(not gated yet: fewer than $RISE good rounds; polling up to $((RISE * INTERVAL + TIMEOUT + 3))s)"
mxg_wait_state example.test gated $((RISE * INTERVAL + TIMEOUT + 3)) ||
	fail "example.test gated after $RISE good rounds" "$(mxg_state example.test)"
prompt edge "mxgate status"
status_lines 'domain|address|  probe' | out
ok "example.test is gated, and with it the edge's addresses $TN_IP_edge and $TN_IP6_edge"

# ---- 4 ------------------------------------------------------------------
step "A sender tries the backup while the primary is up" \
	"The kernel steers the new connection to mxgated's unprivileged responder; by default (greylist) it says \"try later\", never a bounce."
prompt sender "swaks --server $TN_IP_edge --from a@sender.test --to u@example.test"
sw=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test \
	--header "Subject: mxgate demo 1" --timeout 5 2>&1)
swaks_lines <<<"$sw" | out
grep -qE '^<.. 451 4\.7\.1 .*please try mx1\.example\.test' <<<"$sw" ||
	fail "451 4.7.1 ... please try mx1.example.test" "$(rcpt_reply <<<"$sw")"
ok "451 4.7.1 naming the primary: a real sender keeps the message queued and tries mx1 again"
say "(a sender that cannot reach mx1 and retries after greylist_delay, 5m, is passed to the backup's"
say " Postfix: tests/integration/78-greylist.t; one that sends once, like most backup-MX spam, never is)"
rpid=$(mxg_status | jq -r '.responder.pid')
prompt edge "grep -E '^(Uid|CapEff)' /proc/$rpid/status   ${DIM}(the responder that answered)${RST}"
priv=$(edge grep -E '^(Uid|CapEff)' "/proc/$rpid/status" 2>&1)
out <<<"$priv"
if ! grep -qE '^CapEff:[[:space:]]+0+$' <<<"$priv" || grep -qE '^Uid:[[:space:]]+0[[:space:]]' <<<"$priv"; then
	fail "the responder runs unprivileged (not uid 0, CapEff 0)" "$(tr '\n' ' ' <<<"$priv")"
fi
ok "it parses the internet's input with no privileges: uid $(awk '/^Uid/ { print $2 }' <<<"$priv") (nobody), no capabilities"
sleep 0.5 # let the backup's Postfix log a connection, had there been one
prompt edge "grep -c ': connect from .*\\[$TN_IP_snd\\]' maillog; find Maildir -type f | wc -l   ${DIM}(the backup's Postfix)${RST}"
n_conn=$(grep -c ": connect from .*\[$TN_IP_snd\]" "$TN_DIR/edge/maillog")
n_mail=$(find "$TN_DIR/edge/mail" -type f 2>/dev/null | wc -l)
printf '%s\n' "$n_conn" "$n_mail" | out
if [ "$n_conn" -ne 0 ] || [ "$n_mail" -ne 0 ]; then
	fail "the backup's Postfix sees nothing" "$n_conn connections from the sender, $n_mail messages"
fi
ok "the backup's Postfix never saw the connection"

# ---- 5 ------------------------------------------------------------------
step "An administrator who chooses reply = reject" \
	"The 551 bounces at once; mxgated -n names what that risks. A SIGHUP reloads the config, the gate stays."
prompt edge "echo 'reply = reject' >>mxgate.conf; mxgated -n -c mxgate.conf"
echo "reply = reject" >>"$MXG_CONF"
chk=$(edge "$MXGATED" -n -c "$MXG_CONF" 2>&1) || fail "mxgated -n accepts reply = reject" "$chk"
sed "s|$MXG_CONF|mxgate.conf|" <<<"$chk" | out
[ "$(grep -c 'warning: reply = reject risk: ' <<<"$chk")" -ge 4 ] ||
	fail "mxgated -n names the risks of reply = reject" "$chk"
ok "accepted, with a warning line for each risk"
prompt edge "kill -HUP \$(pidof mxgated)"
kill -HUP "$MXG_PID"
rejecting() { [ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]; }
tn_wait 10 rejecting || fail "551 after the reload" "$(mxg_rcpt example.test)"
prompt sender "swaks --server $TN_IP_edge --from a@sender.test --to u@example.test"
sw=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test \
	--header "Subject: mxgate demo 1b" --timeout 5 2>&1)
swaks_lines <<<"$sw" | out
grep -qE '^<.. 551 5\.7\.1 .*please try mx1\.example\.test' <<<"$sw" ||
	fail "551 5.7.1 ... please try mx1.example.test" "$(rcpt_reply <<<"$sw")"
ok "551 5.7.1 naming the primary: the sender bounces the message at once"

# ---- 6 ------------------------------------------------------------------
step "Why: the pinned gate map" \
	"Each gate address has an entry with an expiry on the monotonic clock; mxgated rewrites it every round."
prompt edge "bpftool map dump pinned $MXG_PIN/gate_addrs"
map=$(edge bpftool map dump pinned "$MXG_PIN/gate_addrs" 2>&1)
# Keys are 16-byte addresses (IPv4 mapped into IPv6): one line each.
sed -e ':a' -e '/\[[0-9,]*$/{N;s/\n *//;ba' -e '}' <<<"$map" | out
now=$(/usr/bin/python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))')
entry=$(bpftool -j map dump pinned "$MXG_PIN/gate_addrs" 2>/dev/null |
	jq -r --argjson now "$now" '.[].formatted | select(.key.addr[10:16] == [255,255,192,0,2,20])
		| "\(.value.state) \((.value.expires_ns - $now) / 1e8 | floor / 10)"')
read -r st secs <<<"$entry"
say "192.0.2.20 = key [0,..,0,255,255,192,0,2,20]: state ${st:-?} (1 = gated), expires in ${secs:-?}s (CLOCK_MONOTONIC now $now)"
if [ "${st:-}" != 1 ] || ! awk -v s="${secs:-0}" 'BEGIN { exit !(s > 0) }'; then
	fail "a fresh gated entry for $TN_IP_edge" "${entry:-no entry}"
fi
ok "fresh and gated: the tc program steers new SYNs to port 25 of this address"
prompt edge "mxgate dump --pin-dir $MXG_PIN"
dump=$(edge "$MXGATE" dump --pin-dir "$MXG_PIN" 2>&1)
awk '/^(gate_addrs|domains|responder)/ { p = 1 } /^(counters|program)/ { p = 0 }
	p || /^  (syn25|steered) / { print }' <<<"$dump" | out
grep -qE '^  192\.0\.2\.20 +gated +fresh' <<<"$dump" ||
	fail "mxgate dump: 192.0.2.20 gated fresh" "$(grep 192.0.2.20 <<<"$dump" || echo "$dump")"
steered=$(awk '$1 == "steered" { print $2 }' <<<"$dump")
[ "${steered:-0}" -ge 1 ] || fail "the counters show the steered connection" "steered ${steered:-missing}"
ok "the same, decoded: gated and fresh; $steered connection(s) steered"

# ---- 7 ------------------------------------------------------------------
step "The primary goes down" \
	"One failed round (fall=1) opens the domain: expected within probe_interval + probe_timeout = $((INTERVAL + TIMEOUT))s."
prompt p1 "postfix stop"
tn_postfix_stop p1 >/dev/null 2>&1
t_stop=$(mxg_ms)
# Poll longer than the bound below so a late opening shows how late it was.
mxg_wait_state example.test open $((INTERVAL + TIMEOUT + 5)) ||
	fail "open within $((INTERVAL + TIMEOUT + 1))s" "$(mxg_state example.test) after $(($(mxg_ms) - t_stop))ms"
took=$(($(mxg_ms) - t_stop))
prompt edge "mxgate status"
status_lines 'domain|address|  probe' | out
reason=$(mxg_status | jq -r '.domains[0].reason')
[[ $reason == primary_down ]] || fail "reason: primary_down" "$reason"
# The next round starts within probe_interval and its probe fails within
# probe_timeout; 1 s more for a loaded machine and
# for polling `mxgate status`.
[ "$took" -le $(((INTERVAL + TIMEOUT + 1) * 1000)) ] ||
	fail "open within $((INTERVAL + TIMEOUT + 1))s" "open after ${took}ms"
ok "open (primary down) ${took}ms after the primary stopped"

# ---- 8 ------------------------------------------------------------------
step "Now the backup takes the mail" \
	"The gate entry says open: the SYN passes to the backup's own Postfix, untouched."
prompt sender "swaks --server $TN_IP_edge --from a@sender.test --to u@example.test"
sw=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test \
	--header "Subject: mxgate demo 2" --timeout 5 2>&1)
swaks_lines <<<"$sw" | out
grep -qE '^<.. +250 2\.0\.0 Ok: queued' <<<"$sw" ||
	fail "250 2.0.0 Ok: queued" "$(grep -E '^<' <<<"$sw" | tail -n 2 | tr '\n' ' ')"
tn_mail_wait edge 1 10 || fail "the message in the backup's mailbox" "$(tn_mail_count edge) messages"
file=$(tn_mail_find edge 'Subject: mxgate demo 2' | head -n 1)
prompt edge "grep -E '^(Received|Delivered-To|Subject):' Maildir/new/${file##*/}"
grep -E '^(Received|Delivered-To|Subject):' "$file" | head -n 3 | out
prompt edge "grep ': connect from .*\\[$TN_IP_snd\\]' maillog"
conn=$(grep ": connect from .*\[$TN_IP_snd\]" "$TN_DIR/edge/maillog")
[ -n "$conn" ] || fail "the backup's Postfix logged the sender's connection" "no such line in its maillog"
out <<<"$conn"
ok "accepted by the backup's Postfix and stored"

# ---- 9 ------------------------------------------------------------------
step "SIGTERM: mxgated leaves the host open" \
	"A clean exit detaches the tc filter and removes the pins (after a crash, every entry expires within state_ttl)."
prompt edge "kill -TERM \$(pidof mxgated)"
mxg_term
say "mxgated exited with status $MXG_RC; its log ends:"
grep -E 'SIGTERM|stopped' "$MXG_LOG" | tail -n 2 | out
prompt edge "tc filter show dev eth0 ingress; ls $MXG_PIN"
filters=$(edge tc filter show dev eth0 ingress 2>&1)
pins=$(ls "$MXG_PIN" 2>&1)
printf '%s\n' "$filters" "$pins" | grep -v '^$' | out
[ "$MXG_RC" = 0 ] || fail "exit status 0" "$MXG_RC"
! grep -q bpf <<<"$filters" || fail "no tc filter on eth0" "$filters"
[ ! -e "$MXG_PIN" ] || fail "no pins" "$pins"
ok "no filter, no pins: port 25 belongs to Postfix alone"

printf '\n%sDone%s in %ss: gated while mx1 was up (451 by default, 551 with reply = reject), open once it went down.\n' \
	"$B" "$RST" "$(elapsed)"
