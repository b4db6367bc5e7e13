# Real senders in the test network beside testnet.sh's Postfix: Debian 12's
# Exim 4.96 and OpenSMTPD 6.8, unpacked (never installed: they conflict
# with Postfix) by scripts/install-deps.sh into $TN_SENDERS_ROOT. Each runs
# in its own host namespace with a private config, spool, log and
# resolv.conf, and listens only on 127.0.0.1:25 inside that namespace (for
# submission); it relays everything by MX through the test DNS, as a
# sender on the internet would. One set of questions works for all three
# kinds (postfix, exim, opensmtpd): submit, wait, where did it end up.
#
#   source "$MXG_SRC/tests/lib/senders.sh"   (after testnet.sh or mxgated.sh)
#   tn_host_add sx 192.0.2.40 2001:db8::40
#   tn_sender_start sx exim            # short retries (below)
#   tn_sender_send sx a@sx.test u@example.test "subject"
#   tn_sender_wait sx u@example.test 60    # delivered or bounced
#   tn_sender_where sx u@example.test      # p1 / edge / bounced / queued
#
# ---- Start and stop ----------------------------------------------------
# tn_sender_start HOST KIND [SCHEDULE]  KIND postfix, exim or opensmtpd.
#                       SCHEDULE short (default) or default:
#   short   the tests' retry schedule, a few seconds:
#           postfix    testnet.sh's sender role (2 s connect timeout,
#                      minimal/maximal_backoff_time and queue_run_delay
#                      2-4 s);
#           exim       retry rule "* * F,1h,1s" and a queue runner every
#                      2 s (exim -bdf -q2s), connect_timeout 2s;
#           opensmtpd  has no retry knob in 6.8 (the scheduler backs off
#                      400 s x n^2 per envelope and `queue ttl` only sets
#                      when it gives up), so a helper process runs
#                      `smtpctl schedule all` every 2 s in the daemon's
#                      namespaces, which makes every envelope due now.
#   default the sender's own defaults, for measuring (docs/reject-vs-defer.md):
#           postfix    Postfix's (queue_run_delay and minimal_backoff_time
#                      300 s, maximal_backoff_time 4000 s, connect 30 s);
#           exim       Debian's: retry "* * F,2h,15m; G,16h,1h,1.5; F,4d,6h"
#                      (exim4-config's) and a queue runner every 30 min
#                      (QUEUEINTERVAL of /etc/default/exim4);
#           opensmtpd  its built-in scheduler, nothing forced.
#                       Extra settings, before the start:
#                       TN_EXIM_TRANSPORT  lines for the remote_smtp
#                         transport (e.g. "hosts_require_tls = *");
#                       TN_POSTFIX_MAIN as in testnet.sh.
#                       Mail domain of the sender: HOST.test (bounces go to
#                       postmaster there; counted from its log, not stored).
# tn_sender_stop HOST   Stops it (its queue is kept).
# tn_sender_kind HOST   Prints its kind.
#
# ---- Mail --------------------------------------------------------------
# tn_sender_send HOST FROM TO [SUBJECT]  Submits one message over SMTP to
#                       HOST's MTA (inside its namespace); 0 if accepted.
# tn_sender_retry HOST  Makes it retry its queue now (postfix flush, exim
#                       -qff, smtpctl schedule all).
# tn_sender_where HOST RCPT  Prints where the last message to RCPT ended:
#                       the test host that took it (p1, edge, ...: found by
#                       the address in the log), "bounced", or "queued"
#                       (no final status yet).
# tn_sender_wait HOST RCPT SECS  Waits until the message to RCPT is
#                       delivered or bounced; 1 on timeout.
# tn_sender_bounces HOST [TEXT]  Prints how many recipients it bounced
#                       (only those whose log line has TEXT, e.g. "@dom.test").
# tn_sender_deferrals HOST RCPT  Prints how many temporary failures it
#                       logged for RCPT.
# tn_sender_log HOST    Prints its log (Exim's mainlog, smtpd's -d output,
#                       Postfix's maillog).
# tn_sender_first_try HOST RCPT / tn_sender_done_at HOST RCPT
#                       The epoch second of the first attempt / of the final
#                       status for RCPT, from the log (for timing).
#
# Files: $TN_DIR/HOST/exim/{exim.conf,spool/,log/mainlog,...},
#        $TN_DIR/HOST/opensmtpd/{smtpd.conf,spool/,varlib/,run/},
#        $TN_DIR/HOST/opensmtpd.log (smtpd -d, each line after the epoch
#        second), kicker.log.

# shellcheck disable=SC2016 # single quotes keep $ for sh -c
true

TN_SENDERS_ROOT=${TN_SENDERS_ROOT:-${MXG_SENDERS_DIR:-/opt/mxgate-test}/root}
TN_EXIM=$TN_SENDERS_ROOT/usr/sbin/exim4
TN_SMTPD=$TN_SENDERS_ROOT/usr/sbin/smtpd
TN_SMTPCTL=$TN_SENDERS_ROOT/usr/sbin/smtpctl
TN_EXIM_TRANSPORT=${TN_EXIM_TRANSPORT:-}

tn_senders_available() {
	[ -x "$TN_EXIM" ] && [ -x "$TN_SMTPD" ] && [ -x "$TN_SMTPCTL" ] &&
		id Debian-exim >/dev/null 2>&1 && id opensmtpq >/dev/null 2>&1
}

tn_sender_kind() {
	cat "$TN_DIR/$1/sender.kind" 2>/dev/null
}

tn_sender_start() {
	local h=$1 kind=$2 sched=${3:-short}
	case $sched in short | default) ;; *) tn__die "tn_sender_start: schedule $sched" ;; esac
	tn_senders_available ||
		tn__die "Exim/OpenSMTPD not unpacked in $TN_SENDERS_ROOT; run: sh scripts/install-deps.sh"
	mkdir -p "$TN_DIR/$h"
	[ -f "$TN_DIR/$h/resolv.conf" ] || tn_resolv_conf "$h"
	echo "$kind" >"$TN_DIR/$h/sender.kind"
	echo "$sched" >"$TN_DIR/$h/sender.schedule"
	case $kind in
	postfix) tn__sender_postfix "$h" "$sched" ;;
	exim) tn__sender_exim "$h" "$sched" ;;
	opensmtpd) tn__sender_opensmtpd "$h" "$sched" ;;
	*) tn__die "tn_sender_start: unknown kind '$kind'" ;;
	esac
}

tn__sender_postfix() {
	local h=$1 sched=$2 main
	main="myhostname = $h.test
smtp_bind_address = $(tn__first_v4 "$h")
smtp_bind_address6 = $(tn__first_v6 "$h")"
	# A host without IPv6 says so, as an IPv4-only site's Postfix would
	# (else each try spends its sessions on unreachable IPv6 addresses).
	[ -z "$(tn__first_v6 "$h")" ] && main="$main
inet_protocols = ipv4"
	if [ "$sched" = default ]; then
		main="$main
smtp_connect_timeout = 30s
minimal_backoff_time = 300s
maximal_backoff_time = 4000s
queue_run_delay = 300s"
	fi
	[ -n "${TN_POSTFIX_MAIN:-}" ] && main="$main
$TN_POSTFIX_MAIN"
	TN_POSTFIX_MAIN=$main tn_postfix_start "$h" sender
}

tn__first_v4() {
	tn_addrs "$1" | grep -v : | head -n 1
}

tn__first_v6() {
	tn_addrs "$1" | grep : | head -n 1
}

tn__sender_exim() {
	local h=$1 sched=$2 d retry q ct
	d=$TN_DIR/$h/exim
	mkdir -p "$d/spool" "$d/log" "$d/mail"
	chown -R Debian-exim:Debian-exim "$d/spool" "$d/log" "$d/mail"
	if [ "$sched" = default ]; then
		retry='*  *  F,2h,15m; G,16h,1h,1.5; F,4d,6h'
		q=30m
		ct=5m
	else
		retry='*  *  F,1h,1s'
		q=2s
		ct=2s
	fi
	cat >"$d/exim.conf" <<EOF
# mxgate test network: Exim sender on $h ($TN); schedule $sched
exim_path = $TN_EXIM
keep_environment =
primary_hostname = $h.test
qualify_domain = $h.test
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = <; 127.0.0.1.25
daemon_smtp_ports = 25
domainlist local_domains = $h.test
hostlist relay_from_hosts = <; 127.0.0.1
acl_smtp_rcpt = acl_check_rcpt
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
log_selector = +deliver_time +delivery_size +smtp_protocol_error +tls_cipher +subject
begin acl
acl_check_rcpt:
  accept hosts = +relay_from_hosts
  accept domains = +local_domains
  deny message = relay not permitted
begin routers
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  no_more
local:
  driver = accept
  transport = local_delivery
begin transports
remote_smtp:
  driver = smtp
  connect_timeout = $ct
$TN_EXIM_TRANSPORT
local_delivery:
  driver = appendfile
  directory = $d/mail
  maildir_format
  create_directory
  user = Debian-exim
begin retry
$retry
begin rewrite
EOF
	# A host without IPv6 says so (disable_ipv6), as an IPv4-only site would.
	[ -z "$(tn__first_v6 "$h")" ] && sed -i '/^keep_environment/a disable_ipv6 = true' "$d/exim.conf"
	chmod 0644 "$d/exim.conf"
	tn_kill "$h" exim
	tn_spawn "$h" exim "$TN_EXIM" -C "$d/exim.conf" -bdf -q"$q"
	tn_wait 60 tn__smtp_greets "$h" 127.0.0.1 25 ||
		{ tn__log "exim on $h does not greet: $(cat "$TN_DIR/$h/exim.log" "$d/log/paniclog" 2>/dev/null)"; return 1; }
}

# OpenSMTPD's spool, chroot and control socket paths are compiled in
# (/var/spool/smtpd, /var/lib/opensmtpd/empty, /run/smtpd.sock): it runs
# in a private mount namespace where our own directories are bound over
# /var/spool, /var/lib and /run, so nothing of the host's is used.
tn__sender_opensmtpd() {
	local h=$1 sched=$2 d
	d=$TN_DIR/$h/opensmtpd
	mkdir -p "$d/spool/smtpd" "$d/varlib/opensmtpd/empty" "$d/run"
	chmod 0711 "$d/spool/smtpd"
	chmod 0755 "$d/varlib/opensmtpd/empty" "$d/varlib/opensmtpd" "$d/varlib"
	cat >"$d/smtpd.conf" <<EOF
# mxgate test network: OpenSMTPD sender on $h ($TN); schedule $sched
listen on lo port 25 hostname $h.test
action "relay" relay helo $h.test
match from local for any action "relay"
EOF
	chmod 0644 "$d/smtpd.conf"
	tn_kill "$h" kicker
	tn_kill "$h" opensmtpd
	# smtpd -d logs without time stamps: each line gets the epoch second
	# (bash's printf, no fork per line); $! stays smtpd's own pid.
	tn_spawn "$h" opensmtpd bash -c '
		d=$1; shift
		mount --bind "$d/spool" /var/spool &&
			mount --bind "$d/varlib" /var/lib &&
			mount --bind "$d/run" /run || exit 1
		exec "$@" > >(while IFS= read -r l; do printf "%(%s)T %s\n" -1 "$l"; done) 2>&1' \
		sh "$d" "$TN_SMTPD" -d -f "$d/smtpd.conf"
	tn_wait 60 tn__smtp_greets "$h" 127.0.0.1 25 ||
		{ tn__log "opensmtpd on $h does not greet: $(tail -n 20 "$TN_DIR/$h/opensmtpd.log")"; return 1; }
	if [ "$sched" = short ]; then
		tn_spawn "$h" kicker sh -c 'while sleep 2; do "$@" >/dev/null 2>&1; done' sh \
			nsenter -t "$(tn_spawn_pid "$h" opensmtpd)" -m "$TN_SMTPCTL" schedule all
	fi
}

# Runs smtpctl in the daemon's mount namespace (its socket is there).
tn_smtpctl() {
	local h=$1
	shift
	nsenter -t "$(tn_spawn_pid "$h" opensmtpd)" -m -n "$TN_SMTPCTL" "$@"
}

tn_sender_stop() {
	case $(tn_sender_kind "$1") in
	postfix) tn_postfix_stop "$1" ;;
	exim) tn_kill "$1" exim ;;
	opensmtpd)
		tn_kill "$1" kicker
		tn_kill "$1" opensmtpd
		;;
	esac
}

tn_sender_send() {
	local h=$1 from=$2 to=$3 subj=${4:-mxgate test $RANDOM} server=127.0.0.1
	[ "$(tn_sender_kind "$h")" = postfix ] && server=$(tn__first_v4 "$h")
	tn_swaks "$h" --server "$server" --from "$from" --to "$to" \
		--header "Subject: $subj" --timeout 10 >>"$TN_DIR/$h/submit.log" 2>&1
}

tn_sender_retry() {
	local h=$1
	case $(tn_sender_kind "$h") in
	postfix) tn_postfix_flush "$h" ;;
	exim) tn_exec "$h" "$TN_EXIM" -C "$TN_DIR/$h/exim/exim.conf" -qff >/dev/null 2>&1 ;;
	opensmtpd) tn_smtpctl "$h" schedule all >/dev/null 2>&1 ;;
	esac
}

tn_sender_log() {
	local h=$1
	case $(tn_sender_kind "$h") in
	postfix) cat "$TN_DIR/$h/maillog" 2>/dev/null ;;
	exim) cat "$TN_DIR/$h/exim/log/mainlog" 2>/dev/null ;;
	opensmtpd) cat "$TN_DIR/$h/opensmtpd.log" 2>/dev/null ;;
	esac
}

# One line per final status for RCPT: "EPOCH ADDRESS" (the address of the
# MX host that took it) or "EPOCH bounced". Each MTA logs it its own way:
#   postfix   "Dec 07 17:03:23 ... to=<RCPT>, relay=HOST[ADDR]:25, ...
#             status=sent|bounced"
#   exim      "2026-12-07 17:03:23 ID => RCPT R=... H=HOST [ADDR] ..." and
#             "... ID ** RCPT ...: 5xx ..."
#   opensmtpd "EPOCH ID mta delivery evpid=... to=<RCPT> ... relay=\"[ADDR6]
#             (ADDR6)\" (or \"ADDR4 (ADDR4)\") ... result=\"Ok\"|\"PermFail\"" (smtpd -d has no
#             time stamps: tn__sender_opensmtpd adds the epoch)
tn__sender_results() {
	local h=$1 rcpt=$2
	case $(tn_sender_kind "$h") in
	postfix)
		tn_sender_log "$h" | awk -v r="to=<$rcpt>," '
			index($0, r) && / status=(sent|bounced)/ {
				cmd = "date -d \"" $1 " " $2 " " $3 "\" +%s"; cmd | getline t; close(cmd)
				if ($0 ~ / status=bounced/) { print t, "bounced"; next }
				m = $0; sub(/.* relay=[^[]*\[/, "", m); sub(/\].*/, "", m); print t, m
			}'
		;;
	exim)
		tn_sender_log "$h" | awk -v r="$rcpt" '
			($4 == "=>" || $4 == "**") && $5 == r {
				cmd = "date -d \"" $1 " " $2 "\" +%s"; cmd | getline t; close(cmd)
				if ($4 == "**") { print t, "bounced"; next }
				m = $0; sub(/.* H=[^ ]* \[/, "", m); sub(/\].*/, "", m); print t, m
			}'
		;;
	opensmtpd)
		tn_sender_log "$h" | awk -v r="to=<$rcpt>" '
			/ mta delivery evpid=/ && index($0, r) && /result="(Ok|PermFail)"/ {
				if ($0 ~ /result="PermFail"/) { print $1, "bounced"; next }
				m = $0; sub(/.* relay="\[?/, "", m); sub(/[] ].*/, "", m); print $1, m
			}'
		;;
	esac
}

# The test host that has ADDR (p1, edge...), else ADDR.
tn__host_of() {
	local h
	for h in $TN_HOSTS; do
		if tn_addrs "$h" | grep -qxF "$1"; then
			echo "$h"
			return 0
		fi
	done
	echo "$1"
}

tn_sender_where() {
	local r
	r=$(tn__sender_results "$1" "$2" | tail -n 1)
	case $r in
	'') echo queued ;;
	*' bounced') echo bounced ;;
	*) tn__host_of "${r#* }" ;;
	esac
}

tn_sender_done_at() {
	tn__sender_results "$1" "$2" | tail -n 1 | cut -d ' ' -f 1
}

tn__sender_done() {
	[ -n "$(tn__sender_results "$1" "$2")" ]
}

# Polls once a second (not tn_wait's 0.1 s): reading the logs forks.
tn_sender_wait() {
	local end=$(($(date +%s) + $3))
	while ! tn__sender_done "$1" "$2"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 1
	done
}

tn_sender_bounces() {
	local h=$1 only=${2:-}
	case $(tn_sender_kind "$h") in
	postfix) tn_sender_log "$h" | grep -F -e "$only" | grep -c ' status=bounced' ;;
	exim) tn_sender_log "$h" | grep -F -e "$only" | awk '$4 == "**"' | wc -l ;;
	opensmtpd) tn_sender_log "$h" | grep -F -e "$only" | grep -c 'result="PermFail"' ;;
	esac
}

tn_sender_deferrals() {
	local h=$1 rcpt=$2
	case $(tn_sender_kind "$h") in
	postfix) tn_sender_log "$h" | grep -F "to=<$rcpt>," | grep -c 'status=deferred' ;;
	exim) tn_sender_log "$h" | awk -v r="$rcpt" '$4 == "==" && $5 == r' | wc -l ;;
	opensmtpd) tn_sender_log "$h" | grep -F "to=<$rcpt>" | grep -c 'result="TempFail"' ;;
	esac
}
