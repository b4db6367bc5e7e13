#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fault suite, DNS: `mxgate probe` against a DNS server that answers
# SERVFAIL or REFUSED, garbage, answers cut short, a compression loop, a
# TC bit with a broken TCP side, answers with the wrong ID or question (a
# spoofer), no answer at all (timeout) and no server at all. Every case
# must end in the verdict "unknown" (DNS failed), never "gate", never a
# crash, within the resolver's deadline (3 attempts of 2 s).
. "$MXG_SRC/tests/lib/fault.sh"
fl_init 90 /usr/bin/python3 "$OUT/mxgate"

FAKE="/usr/bin/python3 $SRC/tests/helpers/fake_dns.py"
MODES="servfail refused garbage cut loop tc tc-garbage wrongid wrongq silent addr-servfail"

start_dns() { # MODE: sets $port (not via $(...): the server would hold its pipe)
	fl_bg fl_exec $FAKE "$1" 127.0.0.1 0 >"$FL_DIR/dns.$1"
	local i
	for i in $(seq 50); do
		grep -q ready "$FL_DIR/dns.$1" && break
		sleep 0.1
	done
	port=$(awk '{print $2}' "$FL_DIR/dns.$1")
}

probe() { # NAME PORT: mxgate probe in the background, results in $FL_DIR
	(
		t0=$(date +%s%N)
		fl_exec "$OUT/mxgate" probe example.test --self mx2.example.test \
			--resolver "127.0.0.1:$2" --timeout 500ms >"$FL_DIR/out.$1" 2>"$FL_DIR/err.$1"
		echo "$? $((($(date +%s%N) - t0) / 1000000))" >"$FL_DIR/rc.$1"
	) &
}

# A working server first, so the failures below are the server's doing.
start_dns good
probe good "$port"
for m in $MODES; do
	start_dns "$m"
	probe "$m" "$port"
done
# No server at all on this port (ICMP port unreachable).
probe none 1
wait_all() {
	local m
	for m in good $MODES none; do
		while [ ! -s "$FL_DIR/rc.$m" ]; do sleep 0.2; done
	done
}
wait_all

read -r rc ms <"$FL_DIR/rc.good"
is "$rc" 0 "good server: exit 0"
like "$(cat "$FL_DIR/out.good")" 'MX +10 mx1\.example\.test +primary' \
	"good server: the MX set was read (the fake server works)"
like "$(grep '^verdict' "$FL_DIR/out.good")" '^verdict: open \(primary down' \
	"good server: primary unreachable here -> open"

for m in $MODES none; do
	read -r rc ms <"$FL_DIR/rc.$m"
	diag "$m: exit $rc in $ms ms: $(cat "$FL_DIR/out.$m" "$FL_DIR/err.$m" | grep -v '^ ' | head -3)"
	is "$rc" 0 "$m: exit 0 (no crash, no usage error)"
	like "$(grep '^verdict' "$FL_DIR/out.$m")" '^verdict: unknown \(DNS failing past dns_grace: ' \
		"$m: verdict unknown (DNS failed)"
	ok "$m: within the resolver's deadline (took $ms ms)" test "$ms" -lt 9000
	ok "$m: no sanitizer or crash report" \
		bash -c "! grep -qE 'ERROR: AddressSanitizer|runtime error|Segmentation' '$FL_DIR/err.$m'"
done

fl_done
