#!/bin/bash
# mxgated as a daemon, without a network: gate = none, a resolver nobody
# answers. Without -f it detaches and its first process exits 0 once it
# runs; a second one refuses to start (exit 1, the control socket is
# taken); `mxgate status` reports, and says clearly when no daemon runs;
# SIGTERM removes the control socket. Needs no root.
set -u
. "$MXG_SRC/tests/lib/tap.sh"

MXGATED=$MXG_OUT/mxgated
MXGATE=$MXG_OUT/mxgate
dir=$(mktemp -d /tmp/mxg-daemon.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

tap_plan 14
sock=$dir/run/sub/control.sock
cat >"$dir/mxgate.conf" <<EOF
self = mx2.example.test
domains = example.test
gate = none
resolver = 127.0.0.1:9
control_socket = $sock
probe_interval = 1s
probe_timeout = 500ms
state_ttl = 3s
$([ "$(id -u)" -eq 0 ] || echo "user = $(id -un)")
EOF

out=$("$MXGATE" status -s "$sock" 2>&1)
tap_is "$?" 1 "status without a daemon exits 1"
tap_like "$out" "^mxgate: cannot connect to $sock: No such file or directory; is mxgated running\\?$" \
	"and says why and what to check"

"$MXGATED" -c "$dir/mxgate.conf" 2>"$dir/err"
tap_is "$?" 0 "mxgated (no -f) exits 0 once the daemon runs"
pid=$("$MXGATE" status --json -s "$sock" | jq -r .pid)
tap_like "$pid" '^[0-9]+$' "status answers from the daemon (pid $pid)"
# Double fork: a new session, whose leader (the middle process) is gone,
# so the daemon can never acquire a terminal.
sid=$(ps -o sid= -p "$pid" | tr -d ' ')
tap_ok "the daemon runs in a new session it does not lead (sid $sid)" \
	test "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" -a "$sid" != "$pid"
tap_is "$(readlink "/proc/$pid/cwd")" / "its working directory is /"
tap_is "$(stat -c %a "$sock")" 600 "the control socket is mode 0600"
tap_is "$(stat -c %a "$(dirname "$sock")")" 755 "its directory is mode 0755"
tap_is "$("$MXGATE" status --json -s "$sock" | jq -r '.domains[0].state')" unknown \
	"no DNS answer: the domain is unknown"
out=$("$MXGATE" status not-served.example -s "$sock" 2>&1)
tap_is "$?" 1 "status for a domain it does not serve exits 1"
tap_like "$out" '^mxgate: not-served\.example is not a served domain' "and says so on one line"

"$MXGATED" -f -c "$dir/mxgate.conf" 2>"$dir/err2"
tap_is "$?" 1 "a second mxgated refuses to start"
tap_like "$(cat "$dir/err2")" 'another mxgated is running' "because another one runs"

kill -TERM "$pid"
for _ in $(seq 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
pid=
tap_ok "SIGTERM: the control socket is removed" test ! -e "$sock"
