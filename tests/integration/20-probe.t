#!/bin/bash
# `mxgate probe` against a real authoritative DNS server (nsd) and real
# Postfix primaries on the test network, run from the edge host (self =
# mx2.example.test, preference 20): gate while a primary accepts mail; open
# when it is down, greets 421, tarpits, or when the domain has no primary
# to probe (self missing, null MX, no MX); unknown when DNS is down; a clear
# error for a nonexistent domain; cascading and IPv6-only primaries; TCP
# fallback when the UDP answer is truncated.
set -u
. "${MXG_SRC:-$(dirname "$0")/../..}/tests/lib/testnet.sh"

tn_init 240
tn_up

big_zone() {
	local i
	echo "big.test.  300 IN MX 10 mx1.example.test."
	echo "big.test.  300 IN MX 20 mx2.example.test."
	# Over 512 octets without EDNS: nsd sets TC and we must retry on TCP.
	for i in $(seq 1 24); do
		echo "big.test.  300 IN MX $((30 + i)) filler-host-with-a-long-name-$i.big.test."
	done
}

{
	cat <<'EOF'
example.test.      300 IN MX   10 mx1.example.test.
example.test.      300 IN MX   20 mx2.example.test.
mx1.example.test.  300 IN A    192.0.2.11
mx1.example.test.  300 IN AAAA 2001:db8::11
mx2.example.test.  300 IN A    192.0.2.20
mx2.example.test.  300 IN AAAA 2001:db8::20
mx1.other.test.    300 IN A    192.0.2.12
mx1.other.test.    300 IN AAAA 2001:db8::12
casc.test.         300 IN MX   10 mx1.example.test.
casc.test.         300 IN MX   15 mx1.other.test.
casc.test.         300 IN MX   20 mx2.example.test.
v6.test.           300 IN MX   10 v6only.test.
v6.test.           300 IN MX   20 mx2.example.test.
v6only.test.       300 IN AAAA 2001:db8::11
null.test.         300 IN MX   0 .
nomx.test.         300 IN A    192.0.2.99
selfp.test.        300 IN MX   10 mx1.selfp.test.
selfp.test.        300 IN MX   20 mx2.example.test.
mx1.selfp.test.    300 IN A    192.0.2.20
EOF
	big_zone
} | tn_dns_zone || tap_bail "cannot write the zone"
tn_dns_start || tap_bail "nsd did not start"
# The probe asks each primary for postmaster@DOMAIN: the primaries host
# every domain of this zone, as real ones would.
TN_MAIL_DOMAINS="casc.test v6.test big.test selfp.test"
tn_postfix_start p1 primary || tap_bail "Postfix on p1 did not start"
tn_postfix_start p2 primary || tap_bail "Postfix on p2 did not start"

OUT=$TN_DIR/probe.out
ERR=$TN_DIR/probe.err
RC=0
MS=0

# probe ARGS...: mxgate probe from the edge host; sets OUT, ERR, RC, MS.
probe() {
	local t0 t1
	t0=$(date +%s%N)
	tn_exec edge "$MXG_OUT/mxgate" probe "$@" >"$OUT" 2>"$ERR"
	RC=$?
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	tap_diag "mxgate probe $* -> exit $RC in ${MS} ms" "$(cat "$OUT" "$ERR")"
}

verdict() {
	grep '^verdict: ' "$OUT"
}

SELF=(--self mx2.example.test --resolver "$TN_DNS_IP")

tap_plan 38

# A primary that accepts mail: gate.
probe example.test "${SELF[@]}"
tap_is "$RC" 0 "primary up: exit 0"
tap_like "$(verdict)" '^verdict: gate \(primary up: mx1\.example\.test ' "primary up: verdict gate"
tap_like "$(cat "$OUT")" 'probe mx1\.example\.test 192\.0\.2\.11: ok 250' \
	"the primary's IPv4 address answered 220 and 250"
tap_like "$(cat "$OUT")" 'MX +10 mx1\.example\.test +primary +192\.0\.2\.11 2001:db8::11' \
	"the MX listing shows the primary with both addresses"
tap_like "$(cat "$OUT")" 'MX +20 mx2\.example\.test +self' "the edge is listed as self"

# The same as JSON, and with the resolver from the edge's resolv.conf.
probe example.test --self mx2.example.test --json
tap_is "$RC" 0 "json: exit 0"
tap_ok "json: one valid object with verdict gate and the probes" \
	jq -e '.verdict == "gate" and .reason == "primary_up" and (.probes | length) == 2
		and .hosts[0].role == "primary" and .pref_self == 20' "$OUT"
# The verdict is the daemon's state machine's: its state name, its reason
# token and sentence (as `mxgate status --json` has them), the details.
tap_ok "json: state, reason token and sentence as the daemon's status says them" \
	jq -e '.state == "gated" and .reason_text == "primary up" and .mx_status == "ok"
		and (.message | startswith("primary up: mx1.example.test "))' "$OUT"

# Cascading: the first lower-preference MX is down, the second is up.
tn_postfix_stop p1
probe casc.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: gate \(primary up: mx1\.other\.test ' \
	"cascade: MX 10 down, MX 15 up -> gate"
tap_like "$(cat "$OUT")" 'probe mx1\.example\.test 192\.0\.2\.11: refused' \
	"cascade: the MX 10 host was probed and refused"

# The primary's Postfix is stopped: open.
probe example.test "${SELF[@]}"
tap_is "$RC" 0 "primary down: exit 0"
tap_like "$(verdict)" '^verdict: open \(primary down' "primary down: verdict open"
probe example.test "${SELF[@]}" --json
tap_ok "primary down, json: open, primary_down, the sentence" \
	jq -e '.verdict == "open" and .state == "open" and .reason == "primary_down"
		and .reason_text == "primary down"
		and .message == "primary down: no address of 1 primary accepted the probe"' "$OUT"

# A primary that greets 421 is not accepting mail.
tn_fake_smtp p1 greet421 || tap_bail "fake 421 server did not start"
probe example.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: open \(primary down' "421 greeting: verdict open"
tap_like "$(cat "$OUT")" 'bad-greeting 421' "421 greeting: the probe shows the 421"
tn_fake_stop p1

# A tarpit never greets: open within the probe deadline.
tn_fake_smtp p1 tarpit || tap_bail "tarpit did not start"
probe example.test "${SELF[@]}" --timeout 1500ms
tap_like "$(verdict)" '^verdict: open \(primary down' "tarpit: verdict open"
tap_like "$(cat "$OUT")" 'probe mx1\.example\.test 192\.0\.2\.11: timeout' "tarpit: probe timed out"
# The probe's own clock says when it gave up (process start and DNS are
# not in it); the wall clock of the whole command only gets a loose bound,
# since a loaded CI machine may take seconds to start a process.
elapsed=$(sed -n 's/^probe mx1\.example\.test 192\.0\.2\.11: timeout.*(\([0-9]*\) ms)$/\1/p' "$OUT")
tap_ok "tarpit: the probe gave up at its deadline (after ${elapsed:-?} ms)" \
	test "${elapsed:-0}" -ge 1500 -a "${elapsed:-0}" -lt 3000
tap_ok "tarpit: the command waited for the deadline, not for ever (took ${MS} ms)" \
	test "$MS" -ge 1500 -a "$MS" -lt 10000
tn_fake_stop p1

tn_postfix_start p1 primary || tap_bail "Postfix on p1 did not restart"

# IPv6-only primary.
probe v6.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: gate \(primary up: v6only\.test 2001:db8::11 ' \
	"IPv6-only primary: verdict gate"
tap_unlike "$(cat "$OUT")" 'probe v6only\.test 192\.' "IPv6-only primary: no IPv4 probe"

# A primary on the edge's own address (a DNS mistake, a migration): the
# probe would reach our own Postfix and see 220/250; gating on that would
# refuse every sender with a 551 naming ourselves. Open, and say so.
tn_postfix_start edge backup || tap_bail "Postfix on edge did not start"
probe selfp.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: open \(a primary.s address is this host.s own \(misconfiguration\): mx1\.selfp\.test 192\.0\.2\.20' \
	"primary on our own address: verdict open"
tap_like "$(cat "$OUT")" 'probe mx1\.selfp\.test 192\.0\.2\.20: self' "its probe result is self"
tn_postfix_stop edge

# Self is not one of the MX hosts: open, and say so.
probe example.test --self backup.example.test --resolver "$TN_DNS_IP"
tap_is "$RC" 0 "self not in MX: exit 0"
tap_like "$(verdict)" '^verdict: open \(self not in the MX set \(misconfiguration\): none of backup\.example\.test' \
	"self not in MX: verdict open with the reason"
tap_like "$(cat "$ERR")" 'check --self' "self not in MX: stderr says what to check"

# Null MX and no MX: nothing to gate for.
probe null.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: open \(null MX \(RFC 7505\)' "null MX: verdict open"
probe nomx.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: open \(no MX records' "no MX records: verdict open"

# A domain that does not exist is an error, not a verdict.
probe nowhere.test "${SELF[@]}"
tap_is "$RC" 1 "NXDOMAIN: exit 1"
tap_is "$(cat "$ERR")" \
	"mxgate: nowhere.test: domain does not exist (NXDOMAIN); check the name" \
	"NXDOMAIN: one clear error line"
tap_is "$(verdict)" "" "NXDOMAIN: no verdict"

# An answer too big for UDP: TCP fallback, then the usual verdict.
tap_like "$(tn_exec edge drill -u big.test MX @"$TN_DNS_IP" 2>&1)" 'flags:[^;]*tc' \
	"big.test: the UDP answer is truncated (TC)"
probe big.test "${SELF[@]}"
tap_like "$(verdict)" '^verdict: gate \(primary up: mx1\.example\.test ' \
	"truncated UDP answer: verdict gate via TCP"
tap_is "$(grep -c '^  MX ' "$OUT")" 26 "truncated UDP answer: all 26 MX hosts read over TCP"

# Usage errors exit 2.
probe "${SELF[@]}"
tap_is "$RC" 2 "no domain: exit 2"
probe example.test "${SELF[@]}" --timeout soon
tap_is "$RC" 2 "bad --timeout: exit 2"

# The DNS server is down: unknown, not open or gate.
tn_dns_stop
probe example.test "${SELF[@]}"
tap_is "$RC" 0 "DNS down: exit 0"
tap_like "$(verdict)" '^verdict: unknown \(DNS failing past dns_grace: ' "DNS down: verdict unknown"

tap_done
