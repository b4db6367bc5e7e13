#!/bin/bash
# A forged DNS answer must not gate a domain whose
# primary is down. The primary (p1, mx1) is down; an attacker host runs a
# mail server and, while a local user reads the backup's UDP sockets from
# /proc (any user can), sprays forged A/AAAA answers for mx1 from the
# resolver's address (raw socket, bounded count and time) at every socket
# connected to the resolver, cycling through all IDs. The real nsd answers
# 1 s late (through a delaying forwarder, 192.0.2.54), the window the old code (4 long-lived sockets, one ID
# per query, no 0x20) left open. None is accepted: no lookup sees the
# attacker's address, the probe never talks to it, the domain stays open,
# the forged answers are counted, and a sending Postfix's mail reaches the
# backup without a bounce.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

FORGE=$MXG_OUT/tests/helpers/dns_forge
EVIL4=192.0.2.66
EVIL6=2001:db8::66

mxg_scene 170
[ -x "$FORGE" ] || tn__die "$FORGE not built; run make"
tap_plan 10

tn_postfix_stop p1
tn_host_add evil $EVIL4 $EVIL6
tn_postfix_start evil primary
tn_postfix_start snd sender
RESOLVER=192.0.2.54
tn_addr_add dns $RESOLVER
tn_spawn dns delay /usr/bin/python3 "$MXG_SRC/tests/helpers/dns_delay.py" $RESOLVER "$TN_DNS_IP" 1

# A process of the backup's network namespace, whose /proc/PID/net/udp the
# "local user" reads.
tn_spawn edge holder sleep 300
holder=$(tn_spawn_pid edge holder)
tn_spawn evil forge "$FORGE" "/proc/$holder/net/udp" $RESOLVER "$TN_IP_edge" \
	mx1.example.test $EVIL4 $EVIL6 4000000 30
forger=$(tn_spawn_pid evil forge)

mxg_config resolver=$RESOLVER
mxg_start
# More lookups while the forger runs: mxgate probe uses the same resolver
# code (MX, then A and AAAA of both hosts, each 1 s late).
PROBES=$TN_DIR/probes.out
for _ in 1 2 3 4 5; do
	tn_exec edge "$MXGATE" probe example.test --self mx2.example.test \
		--resolver $RESOLVER --timeout 2s >>"$PROBES" 2>&1
done
tn_wait 40 tn__not_running "$forger"
forge=$(cat "$TN_DIR/evil/forge.log")
tap_diag "forger: $forge"
tap_like "$forge" 'sent=[1-9][0-9]* ports=[1-9]' "the forger saw resolver sockets and sent answers"
tap_like "$(cat "$PROBES")" 'mx1\.example\.test' "the probes resolved mx1"
tap_unlike "$(cat "$PROBES")" "$EVIL4|$EVIL6" "no lookup took the attacker's addresses"
tap_unlike "$(mxg_status | jq -c '.')" "$EVIL4|$EVIL6" "mxgated never saw the attacker's addresses"
tap_unlike "$(tn_maillog evil)" "connect from [^ ]*\\[($TN_IP_edge|$TN_IP6_edge)\\]" "the backup never connected to the attacker's mail server"
tap_is "$(mxg_state example.test)" open "the domain is open (its primary is down)"
forged=$("$MXGATE" metrics -s "$MXG_SOCK" | awk '$1 == "mxgate_dns_forged_answers_total" { print $2 }')
tap_ok "forged answers reached mxgated's sockets and were dropped (counted: ${forged:-none})" \
	test "${forged:-0}" -gt 0

tap_ok "the sender's Postfix takes a message for example.test" \
	tn_postfix_send snd a@sender.test u@example.test
tap_ok "the message reaches the backup" tn_mail_wait edge 1 30
tap_is "$(tn_bounces snd)" 0 "no bounce at the sender"
