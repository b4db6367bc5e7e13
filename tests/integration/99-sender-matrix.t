#!/bin/bash
# Real senders against a gated backup: Postfix 3.7, Exim 4.96 and
# OpenSMTPD 6.8 (Debian 12's, tests/lib/senders.sh), each in
#   up    the sender reaches the primary,
#   blk   its path to the primary is blocked,
#   heal  blocked for one message, healed 2 s before the next,
#   stop  the primary stopped 15 s (mxgated opens), then back (gated again),
#   pdef  the primary defers everyone but its backup (its probe passes),
#   tls   (Exim only) hosts_require_tls = * and its path blocked: it quits
#         any MX without STARTTLS, so it is delivered only because the
#         responder offers STARTTLS (tls_cert_file) and greylists inside TLS,
# with the default reply (no reply key: greylist), reply = reject and reply
# = defer, one domain per place and reply. A pass is per client address, so
# the default (greylist) cell of each place has a sender host of its own;
# reject and defer, which pass no one, share the other one. Asserted per cell:
# where each message ended (the primary, the backup's MTA, bounced) and
# that no default or defer cell bounced. reject bounces where
# docs/reject-vs-defer.md says it does.
#
# All cells run at once in one test network to keep the wall time small.
# The senders' retry schedules are shortened (tests/lib/senders.sh says
# how): Postfix retries every 2-4 s and has no host memory; Exim's retry
# rule is F,1h,30s with a queue runner every 2 s, so like Debian's default
# (F,2h,15m) it skips a failed host for a while, here 30 s instead of 15
# min; OpenSMTPD is told `smtpctl schedule all` every 2 s and keeps its own
# route memory (it disables a route that failed, for 15 s and more).
# greylist_delay is 3 s.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"
. "$MXG_SRC/tests/lib/senders.sh"

KINDS="postfix exim opensmtpd"
declare -A KL=([postfix]=p [exim]=e [opensmtpd]=o)
SCENS="up blk heal stop pdef"
modes_of() { # pdef: the default and defer (reject bounces there, documented)
	case $1 in
	pdef) echo dflt defer ;;
	*) echo dflt reject defer ;;
	esac
}

DOMAINS=
for s in $SCENS; do
	for m in $(modes_of "$s"); do
		DOMAINS="$DOMAINS $s-$m.test"
	done
done
DOMAINS="${DOMAINS# } tls-dflt.test"
export TN_MAIL_DOMAINS=$DOMAINS

tn_senders_available || { echo "1..0 # SKIP Exim/OpenSMTPD not unpacked: sh scripts/install-deps.sh"; exit 0; }
mxg_scene 900
# Per sender kind: up 6, blk 3, heal 8, stop 9, pdef 4; then blk defer 2
# per kind; tls 3.
tap_plan $((3 * (6 + 3 + 8 + 9 + 4) + 3 * 2 + 3))

# --- the network: p1 primary of up/blk/heal, p2 of stop (behind its own
# gate address mx3, so stopping it opens only its domains), p3 of pdef.
tn_addr_add edge 192.0.2.21
tn_addr_add edge 2001:db8::21
tn_postfix_start edge backup
tn_postfix_start p2 primary
tn_host_add p3 192.0.2.13 2001:db8::13
tn_postfix_start p3 primary
cat >"$TN_DIR/p3/postfix/backup.cidr" <<EOF
$TN_IP_edge OK
192.0.2.21 OK
$TN_IP6_edge OK
2001:db8::21 OK
EOF
tn_postconf p3 "smtpd_recipient_restrictions = check_client_access cidr:$TN_DIR/p3/postfix/backup.cidr, defer"
# One certificate for the responder and the backup's Postfix (a sender
# that requires TLS needs it from both: the 451, then the mail).
mkdir -p "$TN_DIR/tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TN_DIR/tls/key.pem" -out "$TN_DIR/tls/cert.pem" \
	-days 2 -subj /CN=mx2.example.test 2>/dev/null || tap_bail "openssl req failed"
chmod 600 "$TN_DIR/tls/key.pem"
tn_postconf edge "smtpd_tls_security_level = may" \
	"smtpd_tls_chain_files = $TN_DIR/tls/key.pem, $TN_DIR/tls/cert.pem"

tn_wait_1s() { # tn_wait_1s SECS CMD...: tn_wait polling once a second
	local end=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 1
	done
}
primary_of() {
	case $1 in
	stop-*) echo mx1.other.test ;;
	pdef-*) echo mx1.pdef.test ;;
	*) echo mx1.example.test ;;
	esac
}
{
	tn_dns_std_zone
	echo "mx3.example.test. 300 IN A 192.0.2.21"
	echo "mx3.example.test. 300 IN AAAA 2001:db8::21"
	echo "mx1.pdef.test. 300 IN A 192.0.2.13"
	echo "mx1.pdef.test. 300 IN AAAA 2001:db8::13"
	for d in $DOMAINS; do
		echo "$d. 300 IN MX 10 $(primary_of "$d")."
		case $d in
		stop-*) echo "$d. 300 IN MX 20 mx3.example.test." ;;
		*) echo "$d. 300 IN MX 20 mx2.example.test." ;;
		esac
	done
} | tn_dns_zone
tn_dns_reload

extra=
for d in $DOMAINS; do
	case $d in
	*-reject.test) extra="${extra}[domain $d]"$'\n'"reply = reject"$'\n' ;;
	*-defer.test) extra="${extra}[domain $d]"$'\n'"reply = defer"$'\n' ;;
	esac
done
# reply= and reject_grace= (empty): no key, the built-in defaults apply
# (greylist; reject_grace 1 h for the reject domains). Probes get
# 2.5 s: a probe that times out on a loaded host opens the gate (fail open)
# and lets a blocked sender through to the backup's MTA, which is safe but
# not the cell under test. A stopped primary refuses at once.
MXG_CONF_EXTRA=$extra mxg_config self="mx2.example.test mx3.example.test" domains="$DOMAINS" \
	reply= reject_grace= greylist_delay=3s greylist_window=10m pass_ttl=10m pass_max=1h \
	probe_interval=3s probe_timeout=2500ms state_ttl=15s \
	tls_cert_file="$TN_DIR/tls/cert.pem" tls_key_file="$TN_DIR/tls/key.pem"
mxg_start
all_gated() {
	[ "$(mxg_status | jq '[.domains[] | select(.state == "gated")] | length')" = "$(echo "$DOMAINS" | wc -w)" ]
}
tn_wait_1s 60 all_gated || tap_bail "not every domain is gated: $(mxg_status | jq -c "[.domains[] | {name, state}]"; tail -n 3 "$MXG_LOG")"

# --- the senders: IPv4 only (a tuple is per family). Host names: kind
# letter, place letter, g (the default) or x (reject and defer).
declare -A HOST
n=100
for k in $KINDS; do
	for s in $SCENS; do
		for m in $(modes_of "$s"); do
			case $s.$m in
			up.*) h=${KL[$k]}u ;;
			*.dflt) h=${KL[$k]}${s:0:1}g ;;
			*) h=${KL[$k]}${s:0:1}x ;;
			esac
			HOST[$k.$s.$m]=$h
			case " $TN_HOSTS " in
			*" $h "*) ;;
			*)
				tn_host_add "$h" "192.0.2.$n" ""
				echo "$k" >"$TN_DIR/$h/kind"
				case $s in blk | heal) tn_block_host "$h" p1 ;; esac
				n=$((n + 1))
				;;
			esac
		done
	done
done
HOST[exim.tls.dflt]=etls
tn_host_add etls "192.0.2.$n" ""
echo exim >"$TN_DIR/etls/kind"
tn_block_host etls p1
n=$((n + 1))
# Started four at a time: one after the other takes minutes on a loaded
# host, all at once overloads it.
t_start=$(date +%s)
pids=()
for h in $TN_HOSTS; do
	[ -f "$TN_DIR/$h/kind" ] || continue
	if [ "$h" = etls ]; then
		TN_EXIM_TRANSPORT="hosts_require_tls = *" tn_sender_start "$h" exim >/dev/null &
	else
		tn_sender_start "$h" "$(cat "$TN_DIR/$h/kind")" >/dev/null &
	fi
	pids+=($!)
	[ ${#pids[@]} -lt 4 ] && continue
	for p in "${pids[@]}"; do
		wait "$p" || tap_bail "a sender did not start (see the messages above)"
	done
	pids=()
done
for p in "${pids[@]}"; do
	wait "$p" || tap_bail "a sender did not start (see the messages above)"
done
tap_diag "$((n - 100)) senders started in $(($(date +%s) - t_start)) s"

host() { # host KIND SCEN MODE: the cell's sender
	echo "${HOST[$1.$2.$3]}"
}
send() { # send KIND SCEN MODE MSG
	local h d
	h=$(host "$1" "$2" "$3")
	d=$2-$3.test
	tn_sender_send "$h" "a@$h.test" "$4-$h@$d" "$2 $3 $4" || tap_diag "submitting $4 on $h failed"
}
rcpt() { # rcpt KIND SCEN MODE MSG
	local h
	h=$(host "$1" "$2" "$3")
	echo "$4-$h@$2-$3.test"
}
where() { # where KIND SCEN MODE MSG
	local h
	h=$(host "$1" "$2" "$3")
	tn_sender_where "$h" "$(rcpt "$@")"
}
settled() { # settled KIND SCEN MODE MSG SECS: delivered or bounced
	local h
	h=$(host "$1" "$2" "$3")
	tn_sender_wait "$h" "$(rcpt "$1" "$2" "$3" "$4")" "$5"
}
first_try() { # first_try KIND SCEN MODE MSG: it got an answer (deferral or final)
	local h r
	h=$(host "$1" "$2" "$3")
	r=$(rcpt "$@")
	[ "$(tn_sender_deferrals "$h" "$r")" -gt 0 ] || [ "$(tn_sender_where "$h" "$r")" != queued ]
}

# --- send: up, blk, pdef, heal's first message
t0=$(date +%s)
for k in $KINDS; do
	for m in dflt reject defer; do
		send "$k" up "$m" m1
		send "$k" blk "$m" m1
		send "$k" heal "$m" m1
	done
	send "$k" pdef dflt m1
	send "$k" pdef defer m1
done
send exim tls dflt m1

# --- stop: p2 down, mxgated opens stop-*; a message from each stop sender
# meets the dead primary (retry memory) and the open backup.
tn_postfix_stop p2
stop_open() { [ "$(mxg_state stop-dflt.test)" = open ] && [ "$(mxg_addr_gated 192.0.2.21)" = false ]; }
tn_wait_1s 20 stop_open || tap_diag "stop-*: the gate did not open when p2 stopped"
t_stop=$(date +%s)
for k in $KINDS; do
	for m in dflt reject defer; do
		send "$k" stop "$m" m1
	done
done

# --- heal: once every first message was answered, heal, and 2 s later the next
for k in $KINDS; do
	for m in dflt reject defer; do
		tn_wait_1s 30 first_try "$k" heal "$m" m1 || tap_diag "heal $k $m: no first try in 30 s"
	done
done
for k in $KINDS; do
	for m in dflt reject defer; do
		tn_unblock_host "$(host "$k" heal "$m")" p1
	done
done
sleep 2
for k in $KINDS; do
	for m in dflt reject defer; do
		send "$k" heal "$m" m2
	done
done

# --- stop: p2 back after 15 s; once gated again, the next message
sleep $((t_stop + 15 - $(date +%s) > 0 ? t_stop + 15 - $(date +%s) : 0))
tn_postfix_start p2 primary
stop_gated() { [ "$(mxg_state stop-dflt.test)" = gated ] && [ "$(mxg_addr_gated 192.0.2.21)" = true ]; }
tn_wait_1s 30 stop_gated || tap_diag "stop-*: not gated again after p2 came back"
for k in $KINDS; do
	for m in dflt reject defer; do
		send "$k" stop "$m" m2
	done
done
tap_diag "all messages submitted after $(($(date +%s) - t0)) s"

# --- outcomes. Every wait shares one deadline; cells settle concurrently.
deadline=$(($(date +%s) + 240))
left() { local l=$((deadline - $(date +%s))); echo $((l > 1 ? l : 1)); }
is_in() { # is_in VALUE ERE
	[[ $1 =~ ^($2)$ ]]
}
cell() { # cell KIND SCEN MODE MSG ERE DESC: wait until settled, assert where
	local w
	settled "$1" "$2" "$3" "$4" "$(left)"
	w=$(where "$1" "$2" "$3" "$4")
	if is_in "$w" "$5"; then
		tap_pass "$1, $2, $3, $4: $6 ($w)"
	else
		tap_fail "$1, $2, $3, $4: $6 (got: $w)"
		tap_diag "$(tn_sender_log "$(host "$1" "$2" "$3")" | grep -F "$(rcpt "$1" "$2" "$3" "$4")" | tail -n 5)"
	fi
}
no_bounce() { # no_bounce KIND SCEN MODE: none of the cell's messages bounced
	tap_is "$(tn_sender_bounces "$(host "$1" "$2" "$3")" "@$2-$3.test")" 0 "$1, $2, $3: no bounce"
}
for k in $KINDS; do
	for m in dflt reject defer; do
		cell "$k" up "$m" m1 p1 "the sender reaches the primary: delivered there"
		no_bounce "$k" up "$m"
	done
	# blk: greylist delivers through the backup after the delay; reject
	# bounces (551 at once, documented); defer keeps it queued
	cell "$k" blk dflt m1 edge "greylisted, passed after greylist_delay, delivered by the backup"
	no_bounce "$k" blk dflt
	cell "$k" blk reject m1 bounced "551: bounced (reject-vs-defer.md: bounced at once)"
	# heal: greylist delivers both (primary after the heal, or the backup
	# once passed); defer delivers both to the primary; reject bounced the
	# first and, for senders that remember the failed path (Exim, OpenSMTPD),
	# the next one too, while Postfix goes to the primary.
	cell "$k" heal dflt m1 'p1|edge' "blocked, then healed: delivered, not bounced"
	cell "$k" heal dflt m2 'p1|edge' "sent 2 s after the heal: delivered, not bounced"
	no_bounce "$k" heal dflt
	cell "$k" heal defer m1 p1 "451 while blocked, delivered to the primary after the heal"
	cell "$k" heal defer m2 p1 "sent 2 s after the heal: delivered to the primary"
	no_bounce "$k" heal defer
	cell "$k" heal reject m1 bounced "551 while blocked: bounced (documented)"
	case $k in
	postfix) cell "$k" heal reject m2 p1 "sent 2 s after the heal: Postfix tries the primary first, delivered there" ;;
	*) cell "$k" heal reject m2 'bounced|p1' "sent 2 s after the heal: its retry memory may send it to the backup, 551, bounced (documented)" ;;
	esac
	# stop: the first message goes to the open backup; the next one after
	# the primary is back: the primary, or the backup if the sender still
	# remembers the outage (greylist passes it; defer holds it for the primary)
	for m in dflt reject defer; do
		cell "$k" stop "$m" m1 edge "primary stopped, the gate opened: delivered by the backup"
	done
	cell "$k" stop dflt m2 'p2|edge' "primary back: delivered, not bounced"
	no_bounce "$k" stop dflt
	cell "$k" stop defer m2 p2 "primary back: delivered to the primary (451 meanwhile)"
	no_bounce "$k" stop defer
	# reject_grace (default 1 h) answers 451 after the round in which p2
	# failed: a sender that remembers the outage is deferred, not bounced
	cell "$k" stop reject m2 'p2|edge' "primary back: not bounced (Postfix goes to the primary; reject_grace answers 451 to the others)"
	no_bounce "$k" stop reject
	# pdef: the primary defers the sender (450), which tries the backup:
	# greylist delivers it there after the delay; defer keeps it queued
	# OpenSMTPD 6.8 does not try the next MX after a 4xx at RCPT: it keeps
	# the message for the primary that deferred it (seen: 450 from p3
	# every 2 s, never the backup), so it never meets the gate here.
	if [ "$k" = opensmtpd ]; then
		tap_ok "$k, pdef, dflt, m1: the primary defers it, it keeps retrying the primary, queued" \
			test "$(where "$k" pdef dflt m1)" = queued
	else
		cell "$k" pdef dflt m1 edge "the primary defers it, the backup greylists and then delivers it"
	fi
	no_bounce "$k" pdef dflt
	h=$(host "$k" pdef defer)
	tap_ok "$k, pdef, defer: still queued, retried, not bounced" \
		test "$(tn_sender_where "$h" "$(rcpt "$k" pdef defer m1)")" = queued -a \
		"$(tn_sender_deferrals "$h" "$(rcpt "$k" pdef defer m1)")" -ge 2
	no_bounce "$k" pdef defer
done

# blk defer: still queued, retried, never bounced; delivered once the path heals
for k in $KINDS; do
	h=$(host "$k" blk defer)
	tap_ok "$k, blk, defer: queued, retried, not bounced while blocked" \
		test "$(where "$k" blk defer m1)" = queued -a "$(tn_sender_bounces "$h" @blk-defer.test)" = 0 -a \
		"$(tn_sender_deferrals "$h" "$(rcpt "$k" blk defer m1)")" -ge 2
	tn_unblock_host "$h" p1
done
# OpenSMTPD keeps a route that failed for minutes disabled for 15 s x its
# penalty^2 (up to an hour), and meanwhile goes to the backup (451): its
# mail waits, queued, beyond this test's patience.
for k in $KINDS; do
	if [ "$k" = opensmtpd ]; then
		cell "$k" blk defer m1 'p1|queued' "path healed: delivered to the primary, or still queued while its route memory lasts"
	else
		cell "$k" blk defer m1 p1 "path healed: delivered to the primary"
	fi
done
# tls: greylisted inside TLS, passed, delivered by the backup over TLS
cell exim tls dflt m1 edge "requires TLS: STARTTLS at the responder, greylisted, delivered by the backup"
no_bounce exim tls dflt
tap_like "$(tn_sender_log etls | grep -F "=> $(rcpt exim tls dflt m1)")" ' X=TLS' \
	"exim, tls: the delivery went over TLS"
tap_diag "sender matrix: $(($(date +%s) - t0)) s from the first message, $(($(date +%s) - t_start)) s in all"
tap_done
