#!/bin/bash
# Smoke test of the test network library (tests/lib/testnet.sh): real DNS
# over IPv4 and IPv6, real Postfix as primary, backup and sender (delivery
# by MX, fallback to the backup), the scripted servers, bpffs, blocking a
# path, and a cleanup that leaves nothing behind.
set -u
. "${MXG_SRC:-$(dirname "$0")/../..}/tests/lib/testnet.sh"

tn_init 90
tn_up

# ---- DNS
tn_dns_std_zone | tn_dns_zone
tap_ok "nsd starts and answers" tn_dns_start
mx4=$(tn_exec snd drill @"$TN_DNS_IP" MX example.test. | grep -E '^example\.test\..*MX' | awk '{print $5, $6}' | sort | tr '\n' ' ')
tap_is "$mx4" "10 mx1.example.test. 20 mx2.example.test. " "MX set over IPv4"
mx6=$(tn_exec snd drill -6 @"$TN_DNS_IP6" MX example.test. | grep -E '^example\.test\..*MX' | awk '{print $5, $6}' | sort | tr '\n' ' ')
tap_is "$mx6" "10 mx1.example.test. 20 mx2.example.test. " "MX set over IPv6"
aaaa=$(tn_exec snd drill @"$TN_DNS_IP" AAAA mx1.example.test. | awk '$1 == "mx1.example.test." && $4 == "AAAA" { print $5 }')
tap_is "$aaaa" "2001:db8::11" "AAAA of mx1"

{
	tn_dns_std_zone
	echo "new.example.test. 300 IN A 192.0.2.99"
	echo "nullmx.test. 300 IN MX 0 ."
	echo "alias.example.test. 300 IN CNAME mx1.example.test."
} | tn_dns_zone
tap_ok "nsd reloads a changed zone" tn_dns_reload
a=$(tn_exec p2 drill @"$TN_DNS_IP" A new.example.test. | awk '$1 == "new.example.test." && $4 == "A" { print $5 }')
tap_is "$a" "192.0.2.99" "new record served after reload"
tap_like "$(tn_exec snd drill @"$TN_DNS_IP" MX nullmx.test.)" 'nullmx\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+MX[[:space:]]+0 \.' \
	"null MX served"
tap_like "$(tn_exec snd drill @"$TN_DNS_IP" A alias.example.test.)" 'CNAME[[:space:]]+mx1\.example\.test\.' \
	"CNAME served"
tap_ok "a broken zone is refused" eval '! echo "bad.test. IN MX zzz" | tn_dns_zone'
tap_like "$(tn_exec snd getent ahosts mx2.example.test | head -n 1)" '^(192\.0\.2\.20|2001:db8::20) ' \
	"tn_exec uses the private resolv.conf"

tap_ok "nsd stops" tn_dns_stop
tap_ok "... and no longer answers" eval '! tn_exec snd timeout 3 drill @"$TN_DNS_IP" SOA test. | grep -q "IN[[:space:]]SOA"'
tap_ok "nsd starts again" tn_dns_start

# ---- Postfix
tn_addr_add edge 192.0.2.21
tn_addr_add edge 2001:db8::21
tn_host_add p3 "" 2001:db8::13
tap_ok "postfix primary starts on p1" tn_postfix_start p1 primary
tap_ok "postfix backup starts on edge" tn_postfix_start edge backup
tap_ok "postfix sender starts on snd" tn_postfix_start snd sender
tap_like "$(tn_swaks snd --server 192.0.2.21 --quit-after CONNECT 2>&1)" '<-  220 mx2\.example\.test' \
	"edge's Postfix listens on an added IPv4 address"
tap_like "$(tn_swaks snd --server '[2001:db8::21]' --quit-after CONNECT 2>&1)" '<-  220 mx2\.example\.test' \
	"... and on an added IPv6 address"
tap_ok "an added IPv6-only host runs Postfix" tn_postfix_start p3 primary
tap_like "$(tn_swaks snd --server "[$TN_IP6_p3]" --quit-after CONNECT 2>&1)" '<-  220 p3\.test' \
	"... reachable from snd"

out=$(tn_swaks snd --server "$TN_IP_p1" --from alice@sender.test --to user@example.test 2>&1)
tap_like "$out" '<-  250 2\.0\.0 Ok: queued' "swaks snd -> p1 accepted with 250"
tn_mail_wait p1 1 10
tap_is "$(tn_mail_count p1)" 1 "p1 stored the message"

out=$(tn_swaks snd --server "$TN_IP_p1" --from alice@sender.test --to user@elsewhere.test --quit-after RCPT 2>&1)
tap_like "$out" '<\*\* 554 5\.7\.1' "p1 is not an open relay"

tap_ok "tn_postconf changes a running instance" tn_postconf p1 'smtpd_banner=$myhostname ESMTP changed'
tap_ok "... and it is reloaded" tn_wait 5 eval 'tn_swaks snd --server "$TN_IP_p1" --quit-after CONNECT | grep -q "220 mx1.example.test ESMTP changed"'

tap_ok "message submitted to the sending MTA" \
	tn_postfix_send snd alice@sender.test bob@example.test "by MX"
tap_ok "sender delivers by MX to p1" tn_mail_wait p1 2 15
tap_is "$(tn_mail_count p1 bob@example.test)" 1 "p1 has bob's message"
tap_ok "tn_mail_find finds it by subject" tn_mail_find p1 '^Subject: by MX$'

tap_ok "p1 stops" tn_postfix_stop p1
out=$(tn_swaks snd --server "$TN_IP_p1" --quit-after CONNECT 2>&1)
tap_like "$out" 'refused' "p1 refuses connections once stopped"
t0=$(date +%s)
tn_postfix_send snd alice@sender.test carol@example.test "fallback"
tap_ok "sender falls back to the backup (edge)" tn_mail_wait edge 1 15
tap_diag "fallback took $(($(date +%s) - t0)) s"
tap_is "$(tn_mail_count edge carol@example.test)" 1 "edge has carol's message"

tap_ok "p1 starts again" tn_postfix_start p1 primary
tn_block_host snd p1
out=$(tn_swaks snd --server "$TN_IP_p1" --quit-after CONNECT 2>&1)
tap_like "$out" '(unreachable|No route)' "tn_block makes p1 unreachable from snd"
tap_like "$(tn_swaks edge --server "$TN_IP_p1" --quit-after CONNECT 2>&1)" '<-  220 ' \
	"... but not from edge"
tn_postfix_send snd alice@sender.test dave@example.test "blocked"
tap_ok "blocked sender delivers to edge" tn_mail_wait edge 2 15
tn_unblock_host snd p1
tap_like "$(tn_swaks snd --server "$TN_IP_p1" --quit-after CONNECT 2>&1)" '<-  220 ' \
	"tn_unblock restores the path"
tap_is "$(tn_queue_count snd)" 0 "sender queue is empty"
tap_is "$(tn_bounces snd)" 0 "no bounces"

# ---- A relaying backup queues while the primary is down
tap_ok "edge restarts as a relaying backup" tn_postfix_start edge relay
tap_ok "p1 stops" tn_postfix_stop p1
tap_like "$(tn_swaks snd --server "$TN_IP_edge" --from alice@sender.test --to erin@example.test 2>&1)" \
	'<-  250 2\.0\.0 Ok: queued' "relay accepts erin's mail"
queued_on_edge() { [ "$(tn_queue_count edge)" -eq 1 ] && [ "$(tn_deferrals edge)" -ge 1 ]; }
tap_ok "relay queues it while p1 is down" tn_wait 10 queued_on_edge
tn_postfix_start p1 primary
tn_postfix_flush edge
tap_ok "relay delivers it once p1 is back" tn_mail_wait p1 1 15 erin@example.test
tap_ok "relay queue is empty" tn_queue_wait edge 0 5

# ---- Scripted servers
tn_postfix_stop p1
tap_ok "greet421 server starts" tn_fake_smtp p1 greet421
tap_like "$(tn_swaks snd --server "$TN_IP_p1" --quit-after EHLO 2>&1)" '<\*\* +421 4\.3\.2 busy' \
	"greet421 greets 421 4.3.2"
tap_ok "ehlo554 server starts" tn_fake_smtp p2 ehlo554 2525
out=$(tn_swaks snd --server "[$TN_IP6_p2]" --port 2525 --quit-after EHLO 2>&1)
tap_like "$out" '<-  220 .*<\*\* +554' "ehlo554 greets 220, then 554 to EHLO (IPv6)"
tap_ok "tarpit server starts" tn_fake_smtp p2 tarpit
t0=$(date +%s%N)
out=$(tn_exec snd timeout 10 bash -c 'exec 3<>/dev/tcp/$1/25 && echo connected && IFS= read -r -t 1 l <&3; echo "read=$?"' tn "$TN_IP_p2" 2>&1)
tap_like "$out" $'connected\nread=1[0-9][0-9]' "tarpit accepts and never greets"
tap_is "$(wc -l <"$TN_DIR/p2/fake-25.log")" 1 "fake server logged the connection"

# ---- Background processes
tn_spawn p2 sleeper sleep 300
pid=$(tn_spawn_pid p2 sleeper)
tap_like " $(ip netns pids "$(tn_ns p2)" | tr '\n' ' ') " " $pid " "tn_spawn runs CMD in the namespace with its own pid"
tn_kill p2 sleeper
tap_ok "tn_kill stops it" tn__not_running "$pid"
tap_ok "tn_wait_port sees the tarpit" tn_wait_port snd "$TN_IP6_p2" 25 10

# ---- bpffs
bpf=$(tn_bpffs)
tap_is "$(tn_exec p1 stat -f -c %T "$bpf")" bpf_fs "tn_bpffs is a bpffs visible inside the namespace"

# ---- Cleanup
prefix=$TN dir=$TN_DIR
tn_cleanup
tap_is "$(ip netns list | grep -c "^$prefix-")" 0 "no namespace left"
tap_ok "no temp dir left" test ! -e "$dir"
tap_is "$(grep -c " $dir/" /proc/self/mountinfo)" 0 "no mount left"
tn_cleanup
tap_pass "tn_cleanup is idempotent"
tap_done
