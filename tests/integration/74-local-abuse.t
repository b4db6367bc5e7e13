#!/bin/bash
# A local user cannot make a client an offender.
#  - the unix policy socket is root:postfix 0660: nobody cannot connect,
#    Postfix's smtpd user can;
#  - mxgated -n refuses an inet policy listener beyond loopback unless
#    policy_allow_remote = yes;
#  - a connection to the responder's own listener (not steered from port
#    25) is closed without a greeting and counts nowhere;
#  - a loopback client is never an offender, even on port 25 (the
#    responder harness in --strict mode, as under mxgated);
#  - nor, for the policy service, is one of this host's own addresses
#    (its MTA or a content filter over the public address).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

HARNESS=$MXG_OUT/tests/helpers/responder_harness
SOCK=
mxg_scene 150
tap_plan 16

SOCK=$TN_DIR/policy.sock
mxg_config policy_listen=unix:$SOCK offender_threshold=2
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10

# --- the policy socket
tap_is "$(stat -c '%U:%G %a' "$SOCK")" "root:postfix 660" "policy socket: root:postfix, mode 0660"
ASK='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.51.100.7\n"
          b"instance=a1\nrecipient=u@example.test\n\n")
print(s.recv(1024).decode().strip())'
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 -c "$ASK" "$SOCK" 2>&1)
tap_like "$out" "PermissionError" "a local user (nobody) cannot connect to the policy socket"
out=$(setpriv --reuid=postfix --regid=postfix --init-groups /usr/bin/python3 -c "$ASK" "$SOCK" 2>&1)
tap_like "$out" "^action=551 5\.7\.1 " "Postfix's user (postfix) asks and gets the answer"

# --- the policy service: this host's own addresses are never offenders
ASKC='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
           "instance=%s\nrecipient=u@example.test\n\n" % (sys.argv[2], sys.argv[3])).encode())
print(s.recv(1024).decode().split()[0])'
policy_codes() { # CLIENT: the answer to each of five messages from it
	local codes=
	for i in 1 2 3 4 5; do
		codes+="$(/usr/bin/python3 -c "$ASKC" "$SOCK" "$1" "m$i" 2>&1) "
	done
	echo "$codes"
}
own= want=
for a in $TN_IP_edge $TN_IP6_edge; do
	own+=$(policy_codes "$a")
	want+="action=551 action=551 action=551 action=551 action=551 "
done
tap_is "$own" "$want" "the edge's own addresses ($TN_IP_edge $TN_IP6_edge): 551 past offender_threshold, never 550"
tap_is "$(policy_codes 203.0.113.50)" "action=551 action=551 action=550 action=550 action=550 " \
	"another client: 550 past offender_threshold (2)"

# --- an inet policy listener beyond loopback
printf 'self = mx2.example.org\ndomains = example.org\ngate = none\npolicy_listen = inet:0.0.0.0:10040\n' \
	>"$TN_DIR/remote.conf"
out=$("$MXGATED" -n -c "$TN_DIR/remote.conf" 2>&1)
rc=$?
tap_like "$rc:$out" "^1:mxgated: $TN_DIR/remote.conf:4: policy_listen: inet:0\.0\.0\.0:10040 is not a loopback address; .*policy_allow_remote = yes" \
	"mxgated -n refuses policy_listen on 0.0.0.0, says what to do"
echo "policy_allow_remote = yes" >>"$TN_DIR/remote.conf"
out=$("$MXGATED" -n -c "$TN_DIR/remote.conf" 2>/dev/null)
tap_is "$?:$out" "0:mxgated: $TN_DIR/remote.conf: configuration ok" "accepted with policy_allow_remote = yes"

# --- the responder's own listener, dialled from this host
port=$(tn_exec edge ss -Hltnp | awk '/mxgated/ && $4 ~ /^127\.0\.0\.1:/ { n = split($4, a, ":"); print a[n]; exit }')
tap_ok "the responder listens on 127.0.0.1 (port ${port:-none})" test -n "$port" -a "${port:-25}" != 25
sessions() { "$MXGATE" metrics -s "$MXG_SOCK" | awk '$1 == "mxgate_responder_sessions_total" { print $2 }'; }
before=$(sessions)
greet=
for _ in 1 2 3 4 5 6; do
	greet+=$(tn_swaks edge --server 127.0.0.1 --port "$port" --from a@sender.test \
		--to u@example.test --quit-after RCPT --timeout 3 2>&1 | grep -E '^<[-* ]+[0-9]{3} ')
done
tap_is "$greet" "" "six direct connections: no greeting, no reply"
sleep 1.5 # the responder reports its counters about once a second
tap_is "$(sessions)" "$before" "no session counted (still $before)"
tap_unlike "$("$MXGATE" offenders -s "$MXG_SOCK" 2>&1)" "127\.0\.0\.1" "127.0.0.1 is not an offender"

# --- loopback on port 25 (steered-looking) in strict mode: never an offender
tn_spawn p2 strict "$HARNESS" --strict --port 25 --listen4 127.0.0.1 --listen6 none \
	--offender 2/1h --domain example.test=gated:mx1.example.test
tn_wait_smtp p2 127.0.0.1 25 10 || tap_diag "harness: $(cat "$TN_DIR/p2/strict.log")"
replies=
for _ in 1 2 3 4 5; do
	replies+="$(tn_swaks p2 --server 127.0.0.1 --port 25 --from a@sender.test \
		--to u@example.test --quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next } r && /^<[-*~ ]+[0-9][0-9][0-9] / { print $2; exit }') "
done
tap_is "$replies" "551 551 551 551 551 " "five sessions from loopback: 551 each, never 550" ||
	tap_diag "$(tn_swaks p2 --server 127.0.0.1 --port 25 --from a@sender.test --to u@example.test --quit-after RCPT --timeout 5 2>&1) $(cat "$TN_DIR/p2/strict.log")"
tn_kill p2 strict
tn_spawn p2 strict2 "$HARNESS" --strict --port 2525 --listen4 127.0.0.1 --listen6 none \
	--domain example.test=gated:mx1.example.test
tn_wait_port p2 127.0.0.1 2525 10
out=$(tn_swaks p2 --server 127.0.0.1 --port 2525 --quit-after CONNECT --timeout 3 2>&1)
tap_unlike "$out" "<-  220 " "strict harness on port 2525: no greeting (not steered)"
tap_unlike "$(cat "$TN_DIR/p2/strict2.log")" "session client=" "and counted no session"
tap_ok "and is still listening" tn_wait_port p2 127.0.0.1 2525 3
