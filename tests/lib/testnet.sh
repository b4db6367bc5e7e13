# mxgate test network: network namespaces joined by a bridge, a real
# authoritative DNS server (nsd), real Postfix instances, swaks and a few
# scripted SMTP servers, all torn down on exit. Sourced by
# tests/integration/*.t; pure bash, safe under `set -u`; prints only TAP on
# stdout (diagnostics as "# ..."), everything else goes to files in $TN_DIR
# or to stderr.
#
# Typical use:
#   source "$MXG_SRC/tests/lib/testnet.sh"
#   tn_init 120          # root check (else 1..0 # SKIP), prefix, trap, watchdog
#   tn_up                # namespaces dns p1 p2 edge snd + bridge
#   tn_dns_std_zone | tn_dns_zone && tn_dns_start
#   tn_postfix_start p1 primary; tn_postfix_start snd sender
#   tap_plan 2
#   tap_ok "swaks to p1" tn_swaks snd --server "$TN_IP_p1" --to u@example.test
#   tn_postfix_send snd a@sender.test u@example.test
#   tap_ok "delivered" tn_mail_wait p1 2 15
#   (cleanup runs from the EXIT/INT/TERM trap; tn_cleanup may be called early)
#
# The TAP helpers of tap.sh are loaded too: tap_plan N, tap_ok DESC CMD...,
# tap_is GOT WANT DESC, tap_like GOT ERE DESC, tap_unlike, tap_pass, tap_fail,
# tap_skip N REASON, tap_skip_all REASON, tap_bail REASON, tap_diag TEXT,
# tap_done (plan at the end; status 1 if anything failed).
#
# Notes:
# - Written for `set -u`; under `set -e` only the cleanup is guaranteed
#   (helpers may return non-zero by design: tn_mail_find, tn_wait...).
# - Do not set your own EXIT/INT/TERM traps (they would replace ours): use
#   tn_on_cleanup. Call tn_init before anything else.
# - tn_exec, tn_swaks pass stdin through and print to stdout: capture their
#   output ($(...)) or redirect it; swaks transcripts are not TAP.
# - tap_ok runs CMD in a subshell: variables it sets are lost.
# - Files per host: $TN_DIR/HOST/{resolv.conf,addrs,postfix/,queue/,data/,
#   mail/box/,maillog,postfix.out,fake-PORT.{log,out,pid},NAME.{log,pid}};
#   DNS: $TN_DIR/dns/nsd/{nsd.conf,test.zone,nsd.log,nsd.pid,serial}.
# - Never clean up namespaces by pattern by hand: other runs (and other
#   tests) use the same "mx" prefix style. tests/lib/tn-clean lists runs
#   whose test and watchdog are both gone and removes them.
# - MXG_TIME_SCALE (a whole number, default 1) is how many times slower
#   than the machine the tests were written on this one runs them:
#   tests/kernel/guest-run sets it to the measured slowdown of a VM under
#   software emulation; unset (make check on the host) it is 1. It
#   multiplies the watchdog, every tn_wait, and the scene's own timers
#   (mxg_config scales probe_interval, probe_timeout, state_ttl,
#   recovery_grace, greylist_delay and greylist_window; tests scale the
#   bounds they assert with tn_ms, tn_dur, tn_sleep, tn_nft_dur), so what
#   is asserted keeps its proportions: a bound of state_ttl + 1 s becomes
#   S x (state_ttl + 1 s) with a state_ttl of S x 4 s, never a bound
#   loosened on its own.
#
# ---- Setup -------------------------------------------------------------
# tn_init [SECONDS]     Skips the test (1..0 # SKIP) unless root; bails out if
#                       a tool is missing. Sets $TN (run prefix "mx" + 4 hex,
#                       claimed atomically, unused by any namespace), $TN_DIR
#                       (0755 temp dir /tmp/$TN.run), traps EXIT/INT/TERM to
#                       tn_cleanup, and starts a watchdog (default 180 s)
#                       that prints "Bail out!", kills everything in our
#                       namespaces and the test, and cleans up. The watchdog
#                       also cleans up if the test shell dies (SIGKILL).
# tn_up                 Creates $TN-hub (bridge br0) and the five standard
#                       hosts (more with tn_host_add):
#                         dns 192.0.2.53 2001:db8::53   p1 .11 ::11
#                         p2  .12 ::12   edge .20 ::20   snd .30 ::30
#                       (/24 and /64, IPv6 nodad). Every host gets a private
#                       resolv.conf naming the dns host (see tn_exec).
# tn_host_add NAME V4 V6  Adds host NAME (<= 8 chars) with namespace $TN-NAME,
#                       interface eth0 (veth to br0 in $TN-hub), lo up,
#                       addresses V4/24 and V6/64 (either may be "").
#                       Sets TN_IP_NAME, TN_IP6_NAME, appends to TN_HOSTS and
#                       writes its private resolv.conf (the dns host).
# tn_addr_add HOST ADDR Adds another address to HOST's eth0 (/24 or /64,
#                       nodad), e.g. tn_addr_add edge 192.0.2.21; before
#                       tn_postfix_start if that Postfix should listen on it.
# tn_ns HOST            Prints the namespace name of HOST ($TN-HOST).
# tn_addrs HOST         Prints all of HOST's addresses, one per line.
# tn_exec HOST CMD...   Runs CMD in HOST's namespace (ip netns exec). If
#                       $TN_DIR/HOST/resolv.conf (or hosts) exists it is
#                       bind-mounted over /etc/resolv.conf (/etc/hosts) for
#                       that command only (its private mount namespace);
#                       daemons started this way keep it.
# tn_spawn HOST NAME CMD...  Starts CMD in the background in HOST's namespace
#                       (as tn_exec), output to $TN_DIR/HOST/NAME.log, pid in
#                       $TN_DIR/HOST/NAME.pid (CMD's own pid). Killed by
#                       cleanup like everything in our namespaces.
# tn_spawn_pid HOST NAME  Prints that pid.
# tn_kill HOST NAME [SIG] Sends SIG (default TERM), waits up to 5 s for the
#                       exit (then KILL).
# tn_wait_port HOST ADDR PORT [SECS]  Waits (default 10 s) until a TCP
#                       connect from HOST to ADDR:PORT succeeds.
# tn_wait_smtp HOST ADDR PORT [SECS]  Waits until ADDR:PORT greets with 220.
# tn_resolv_conf HOST [NS...]  (Re)writes HOST's private resolv.conf
#                       (default nameserver: the dns host, v4 and v6).
# tn_block HOST ADDR [TYPE]    Makes ADDR unreachable from HOST with a route
#                       of TYPE (unreachable (default), prohibit, blackhole)
#                       inside HOST's namespace; no firewall is touched.
# tn_unblock HOST ADDR [TYPE]  Removes it again.
# tn_block_host HOST OTHER [TYPE] / tn_unblock_host HOST OTHER [TYPE]
#                       The same for every address of host OTHER (v4 and v6:
#                       Postfix picks either family at random).
# tn_bpffs              Mounts a private bpffs at $TN_DIR/bpf (once), prints
#                       the path; visible inside tn_exec. Unmounted in cleanup.
# tn_on_cleanup CMD...  Registers CMD to run first during cleanup.
# tn_cleanup            Kills every process in our namespaces, unmounts our
#                       mounts, deletes our namespaces and $TN_DIR. Idempotent;
#                       runs from the trap, may also be called explicitly.
# tn_die MESSAGE        Reports MESSAGE as "# " and "Bail out!", exits 1.
# tn_wait SECS CMD...   Polls CMD every 0.1 s until it succeeds (0) or SECS
#                       pass (1). SECS may be fractional.
# tn_at_least CMD... N  CMD prints a number of at least N (for tn_wait).
#
# ---- DNS (nsd in $TN-dns, authoritative for "test.") ------------------
# tn_dns_zone           Reads the zone body from stdin (absolute names, e.g.
#                       "example.test. 300 IN MX 10 mx1.example.test."); the
#                       library adds $TTL, SOA (serial bumped each call), NS
#                       ns.test. and its glue (192.0.2.53, 2001:db8::53).
#                       Checks it with nsd-checkzone (1 and a message on
#                       stderr if broken). Does not reload a running
#                       server: see tn_dns_reload.
# tn_dns_std_zone       Prints the standard body: example.test MX 10 mx1
#                       (-> p1), MX 20 mx2 (-> edge); other.test MX 10
#                       mx1.other.test (-> p2), MX 20 mx2.example.test;
#                       sender.test A/AAAA -> snd; all with A and AAAA.
# tn_dns_start          Starts nsd (own config, pid, zone, logs in
#                       $TN_DIR/dns/nsd), waits until it answers.
# tn_dns_reload         Makes the running nsd load the current zone (from
#                       tn_dns_zone) and waits until it serves the new serial.
# tn_dns_stop           Stops nsd (queries then time out / are refused).
# TN_DNS_IP, TN_DNS_IP6 The server's addresses.
#
# ---- Postfix ----------------------------------------------------------
# tn_postfix_start HOST ROLE [PORT]  Starts a Postfix instance in HOST's
#                       namespace with config $TN_DIR/HOST/postfix, queue
#                       $TN_DIR/HOST/queue, data, maillog $TN_DIR/HOST/maillog,
#                       listening on HOST's addresses (all of eth0's at start),
#                       port PORT (default 25); waits for its 220.
#                       ROLE primary: final destination for example.test,
#                         other.test and $TN_MAIL_DOMAINS (any local part),
#                         stored in one maildir $TN_DIR/HOST/mail/box/
#                         (Delivered-To: says for whom).
#                         mynetworks = the host itself: no open relay.
#                       ROLE backup: the same (the edge's own MTA keeps the
#                         mail it accepts, so tests can count it; it does not
#                         forward it to the primary).
#                       ROLE relay: a classic backup MX: accepts mail for
#                         those domains (relay_domains), queues it and
#                         forwards it by MX to the lower-preference MX,
#                         retrying every 2-4 s (tn_queue_count shows it).
#                       ROLE sender: relays mail for anyone on the test net
#                         (mynetworks 192.0.2.0/24, 2001:db8::/64) by MX via
#                         the test DNS, with 2 s connect timeout and 2-4 s
#                         retries; bounces come back to sender.test and are
#                         stored in its mail dir.
#                       Starting a running instance again restarts it
#                       (mail and queue are kept; the role may change).
#                       myhostname: p1 mx1.example.test, p2 mx1.other.test,
#                         edge mx2.example.test, snd sender.test, other
#                         hosts HOST.test ($TN_MYHOSTNAME_<host> overrides).
#                       Extra main.cf lines: $TN_POSTFIX_MAIN (newline-separated
#                         "name = value") are appended before start.
# tn_postconf HOST NAME=VALUE...  Changes main.cf settings; reloads if running.
# tn_postfix_stop HOST  Stops it (returns when its port is closed).
# tn_postfix_flush HOST Asks it to retry its deferred mail now.
# tn_postfix_send HOST FROM TO [SUBJECT]  Submits a message with swaks to
#                       HOST's own Postfix (port 25 on its first address);
#                       returns swaks' exit status.
# tn_mail_count HOST [RCPT]  Prints how many messages HOST's Postfix stored
#                       (for RCPT only: by their Delivered-To header).
# tn_mail_wait HOST N [SECS] [RCPT]  Waits (default 15 s) until
#                       tn_mail_count HOST [RCPT] >= N; 1 on timeout.
# tn_mail_find HOST ERE Prints the stored message files matching ERE; 0 if any.
# tn_queue_count HOST   Prints how many messages are still in its queue.
# tn_queue_wait HOST N [SECS]  Waits (default 15 s) until exactly N are queued.
# tn_bounces HOST       Prints the number of "status=bounced" log lines.
# tn_deferrals HOST     Prints the number of "status=deferred" log lines.
# tn_maillog HOST       Prints its maillog.
#
# ---- Clients and scripted servers --------------------------------------
# tn_swaks HOST ARGS... Runs swaks ARGS in HOST's namespace.
# tn_fake_smtp HOST MODE [PORT] [ADDR]  Starts a scripted server on ADDR
#                       (default: all of HOST's addresses, v4 and v6) port
#                       PORT (default 25); returns once it listens. MODE:
#                         tarpit   accepts, never sends a byte
#                         greet421 "421 4.3.2 busy", then closes
#                         greet554 "554 5.7.1 go away", then closes
#                         ehlo554  "220 ...", then 554 to EHLO/HELO
#                         close    accepts and closes at once
#                       Each connection is logged as "connect ADDR" to
#                       $TN_DIR/HOST/fake-PORT.log.
# tn_fake_stop HOST [PORT]  Stops that scripted server.
#
# ---- Variables --------------------------------------------------------
# TN                    run prefix (namespaces are $TN-<host>, $TN-hub)
# TN_DIR                the run's temp dir; $TN_DIR/<host>/ per host
# TN_HOSTS              space-separated host names
# TN_IP_<host>, TN_IP6_<host>   first IPv4 / IPv6 address of each host
# TN_MAIL_DOMAINS       extra domains primary/backup accept (set before start)
# TN_WATCHDOG_PID       pid of the watchdog process
# TN_KEEP=1             keep $TN_DIR after the run (debugging; namespaces
#                       are still removed)

# shellcheck disable=SC2016 # single quotes keep $ for sh -c, awk, postconf
true
# shellcheck source=tests/lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

TN=${TN:-}
TN_DIR=${TN_DIR:-}
TN_HOSTS=${TN_HOSTS:-}
TN_MAIL_DOMAINS=${TN_MAIL_DOMAINS:-}
TN_WATCHDOG_PID=
TN_DNS_IP=192.0.2.53
TN_DNS_IP6=2001:db8::53
# Set by tn_up (declared here for shellcheck and set -u).
# shellcheck disable=SC2034
{
	TN_IP_dns='' TN_IP6_dns='' TN_IP_p1='' TN_IP6_p1='' TN_IP_p2=''
	TN_IP6_p2='' TN_IP_edge='' TN_IP6_edge='' TN_IP_snd='' TN_IP6_snd=''
}
TN__HOOKS=()
TN__PY=/usr/bin/python3
# Waits scale with the machine (see MXG_TIME_SCALE above); not a number: 1.
TN_TIME_SCALE=${MXG_TIME_SCALE:-1}
case "$TN_TIME_SCALE" in "" | *[!0-9]* | 0) TN_TIME_SCALE=1 ;; esac

# tn_ms MS: MS milliseconds on this machine (times MXG_TIME_SCALE).
tn_ms() {
	echo $(($1 * TN_TIME_SCALE))
}

# tn_dur DURATION: a duration in mxgate.conf's syntax (500ms, 4s, 1m, 2h)
# scaled by MXG_TIME_SCALE, in the largest unit that divides it ("8s",
# "1500ms"); 0 stays 0, anything else is printed unchanged.
tn_dur() {
	local d=$1 n u ms
	[[ "$d" =~ ^([0-9]+)(ms|s|m|h|d)$ ]] || {
		echo "$d"
		return 0
	}
	n=${BASH_REMATCH[1]} u=${BASH_REMATCH[2]}
	case "$u" in
	ms) ms=$n ;; s) ms=$((n * 1000)) ;; m) ms=$((n * 60000)) ;;
	h) ms=$((n * 3600000)) ;; d) ms=$((n * 86400000)) ;;
	esac
	ms=$((ms * TN_TIME_SCALE))
	if [ "$ms" -eq 0 ]; then echo 0
	elif [ $((ms % 3600000)) -eq 0 ]; then echo "$((ms / 3600000))h"
	elif [ $((ms % 60000)) -eq 0 ]; then echo "$((ms / 60000))m"
	elif [ $((ms % 1000)) -eq 0 ]; then echo "$((ms / 1000))s"
	else echo "${ms}ms"; fi
}

# tn_sleep SECONDS: sleeps SECONDS (may be fractional) times MXG_TIME_SCALE;
# for a test that lets one of the scene's timers run out.
tn_sleep() {
	sleep "$(awk -v s="$1" -v f="$TN_TIME_SCALE" 'BEGIN { printf "%.3f", s * f }')"
}

# tn_nft_dur SECONDS: how nft lists a timeout of SECONDS whole seconds
# ("4s", "1m", "1m20s", "2h"), to match a scaled one in `nft list` output.
tn_nft_dur() {
	local s=$1 out=
	[ "$s" -ge 86400 ] && out+="$((s / 86400))d" && s=$((s % 86400))
	[ "$s" -ge 3600 ] && out+="$((s / 3600))h" && s=$((s % 3600))
	[ "$s" -ge 60 ] && out+="$((s / 60))m" && s=$((s % 60))
	[ "$s" -gt 0 ] || [ -z "$out" ] && out+="${s}s"
	echo "$out"
}

tn__die() {
	tap_diag "testnet: $*"
	tap_bail "testnet: $*"
}

tn_die() {
	tn__die "$@"
}

tn__log() {
	echo "testnet: $*" >&2
}

tn_ns() {
	echo "$TN-$1"
}

# ---------------------------------------------------------------- setup

tn_init() {
	local secs=$((${1:-180} * TN_TIME_SCALE)) t

	[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (network namespaces)"
	for t in ip nsd nsd-checkzone postconf postfix swaks drill mount umount timeout \
		"$TN__PY"; do
		command -v "$t" >/dev/null 2>&1 ||
			tn__die "$t not found; run: sh scripts/install-deps.sh"
	done

	# mkdir claims the prefix atomically, so concurrent runs cannot pick
	# the same one; a prefix with namespaces or files about is skipped.
	TN_DIR=
	for t in $(seq 50); do
		TN=mx$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		ip netns list 2>/dev/null | grep -q "^$TN-" && continue
		compgen -G "/tmp/$TN.*" >/dev/null && continue
		if mkdir "/tmp/$TN.run" 2>/dev/null; then
			TN_DIR=/tmp/$TN.run
			break
		fi
	done
	[ -n "$TN_DIR" ] || tn__die "no free run prefix"
	# Postfix and nsd workers must be able to walk into it.
	chmod 0755 "$TN_DIR"
	TN_HOSTS=
	echo $$ >"$TN_DIR/owner"
	trap 'tn_cleanup' EXIT
	trap 'tn__on_signal 130' INT
	trap 'tn__on_signal 143' TERM
	tn__watchdog "$secs"
}

tn__on_signal() {
	tn_cleanup
	trap - EXIT
	exit "$1"
}

# Runs beside the test: if the test is still running after SECS, report it,
# unblock it by killing what runs in our namespaces, stop it and clean up.
# If the test shell disappears without cleaning up, clean up after it.
tn__watchdog() {
	local secs=$1 main=$$
	# Job control puts the watchdog in a process group of its own, so it
	# survives a kill of the test's group (timeout(1), prove) and cleans up.
	set -m
	(
		trap - EXIT INT TERM
		local waited=0 p
		while [ $waited -lt "$secs" ]; do
			# Not holding the test's stdout: prove waits for it.
			# shellcheck disable=SC2217
			sleep 1 </dev/null >/dev/null 2>&1
			waited=$((waited + 1))
			if ! kill -0 "$main" 2>/dev/null; then
				tn__cleanup_system
				exit 0
			fi
		done
		echo "Bail out! testnet watchdog: test still running after ${secs}s"
		tn__kill_ns_procs
		for p in $(pgrep -P "$main"); do
			[ "$p" = "$BASHPID" ] || kill -TERM "$p" 2>/dev/null
		done
		kill -TERM "$main" 2>/dev/null
		for waited in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$main" 2>/dev/null || exit 0
			sleep 0.5
		done
		kill -KILL "$main" 2>/dev/null
		tn__cleanup_system
	) </dev/null 2>/dev/null &
	TN_WATCHDOG_PID=$!
	set +m
	echo "$TN_WATCHDOG_PID" >"$TN_DIR/watchdog"
}

tn_on_cleanup() {
	TN__HOOKS+=("$*")
}

tn_cleanup() {
	local h opts=$-
	[ -n "$TN" ] || return 0
	# Cleanup must run to the end even in a test that uses set -e.
	set +e
	if [ ${#TN__HOOKS[@]} -gt 0 ]; then
		for h in "${TN__HOOKS[@]}"; do
			eval "$h" >&2 || true
		done
		TN__HOOKS=()
	fi
	if [ -n "$TN_WATCHDOG_PID" ]; then
		kill -KILL "$TN_WATCHDOG_PID" 2>/dev/null
		wait "$TN_WATCHDOG_PID" 2>/dev/null
		TN_WATCHDOG_PID=
	fi
	tn__cleanup_system
	case $opts in *e*) set -e ;; esac
	return 0
}

tn__our_netns() {
	ip netns list 2>/dev/null | awk -v p="$TN-" \
		'substr($1, 1, length(p)) == p { print $1 }'
}

# Everything running in our namespaces, whatever started it.
tn__kill_ns_procs() {
	local ns pids i
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		pids=
		for ns in $(tn__our_netns); do
			pids="$pids $(ip netns pids "$ns" 2>/dev/null)"
		done
		# shellcheck disable=SC2116,SC2086
		pids=$(echo $pids)
		[ -z "$pids" ] && return 0
		# shellcheck disable=SC2086
		if [ $i -eq 1 ]; then
			kill -TERM $pids 2>/dev/null
		elif [ $i -ge 6 ]; then
			kill -KILL $pids 2>/dev/null
		fi
		sleep 0.1
	done
}

# Works from the state of the system, not from variables, so that the
# watchdog (a copy of the shell taken at tn_init) can clean up too.
tn__cleanup_system() {
	local ns m
	[ -n "$TN" ] || return 0
	tn__kill_ns_procs
	if [ -n "$TN_DIR" ]; then
		# Deepest mounts first.
		for m in $(awk -v d="$TN_DIR/" \
			'substr($5, 1, length(d)) == d { print $5 }' \
			/proc/self/mountinfo | sort -r); do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	fi
	for ns in $(tn__our_netns); do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TN_DIR" ] && [ -d "$TN_DIR" ] && [ "${TN_KEEP:-0}" != 1 ]; then
		rm -rf "$TN_DIR"
	fi
	return 0
}

# Every wait in this library is a bound, not a pause: it ends as soon as
# the condition holds, so bounds are generous (a loaded 2-core CI machine
# may take many seconds to start nsd or Postfix).
tn_wait() {
	local secs=$1 end
	shift
	end=$(($(date +%s%N) / 1000000 + $(awk -v s="$secs" -v f="$TN_TIME_SCALE" 'BEGIN { printf "%d", s * f * 1000 }')))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $(($(date +%s%N) / 1000000)) -ge "$end" ] && return 1
		sleep 0.1
	done
}

# tn_at_least COMMAND... N: COMMAND prints a number of at least N (for
# tn_wait: tn_wait 15 tn_at_least tn_deferrals snd 1).
tn_at_least() {
	local n=${*: -1}
	[ "$("${@:1:$#-1}")" -ge "$n" ]
}

tn_up() {
	local ns=$TN-hub
	[ -n "$TN" ] || tn__die "tn_up before tn_init"
	ip netns add "$ns" || tn__die "cannot create namespace $ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br0 type bridge forward_delay 0 stp_state 0 ||
		tn__die "cannot create bridge in $ns"
	ip -n "$ns" link set br0 up
	tn_host_add dns 192.0.2.53 2001:db8::53
	tn_host_add p1 192.0.2.11 2001:db8::11
	tn_host_add p2 192.0.2.12 2001:db8::12
	tn_host_add edge 192.0.2.20 2001:db8::20
	tn_host_add snd 192.0.2.30 2001:db8::30
}

tn_host_add() {
	local name=$1 v4=${2:-} v6=${3:-} ns=$TN-$1
	[ ${#name} -le 8 ] || tn__die "host name '$name' longer than 8 chars"
	ip netns add "$ns" || tn__die "cannot create namespace $ns"
	mkdir -p "$TN_DIR/$name"
	ip -n "$ns" link set lo up
	# No DAD anywhere in the host: binds must work at once.
	ip netns exec "$ns" sh -c 'sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0' >/dev/null 2>&1
	ip -n "$TN-hub" link add "$ns" type veth peer name eth0 netns "$ns" ||
		tn__die "cannot create veth for $name"
	ip -n "$TN-hub" link set "$ns" master br0 up
	ip -n "$ns" link set eth0 up
	TN_HOSTS="${TN_HOSTS:+$TN_HOSTS }$name"
	if [ -n "$v4" ]; then
		tn_addr_add "$name" "$v4"
		declare -g "TN_IP_$name=$v4"
	fi
	if [ -n "$v6" ]; then
		tn_addr_add "$name" "$v6"
		declare -g "TN_IP6_$name=$v6"
	fi
	tn_resolv_conf "$name"
}

tn_addr_add() {
	local ns=$TN-$1 a=$2 f
	# Every host sits on one bridge: an address given twice is answered
	# by two ARP/ND owners and traffic to it goes to either (a sender
	# given the DNS server's address made the resolver "refuse").
	for f in "$TN_DIR"/*/addrs; do
		[ -f "$f" ] && grep -qxF "$a" "$f" &&
			tn__die "address $a is already $(basename "$(dirname "$f")")'s; pick another"
	done
	case $a in
	*:*) ip -n "$ns" addr add "$a/64" dev eth0 nodad ;;
	*) ip -n "$ns" addr add "$a/24" dev eth0 ;;
	esac || tn__die "cannot add $a to $1"
	echo "$a" >>"$TN_DIR/$1/addrs"
}

# All addresses of HOST, one per line, in the order they were added.
tn__addrs() {
	cat "$TN_DIR/$1/addrs" 2>/dev/null
}

tn_addrs() {
	tn__addrs "$@"
}

# Sets TN__ARGV to the command line that runs "$@" in HOST's namespace with
# its private resolv.conf / hosts bound over /etc's.
tn__argv() {
	local h=$1
	shift
	if [ -f "$TN_DIR/$h/resolv.conf" ] || [ -f "$TN_DIR/$h/hosts" ]; then
		TN__ARGV=(ip netns exec "$TN-$h" sh -c '
			d=$1; shift
			for f in resolv.conf hosts; do
				[ -f "$d/$f" ] || continue
				mount --bind "$d/$f" "/etc/$f" ||
					echo "tn_exec: cannot bind $d/$f" >&2
			done
			exec "$@"' tn_exec "$TN_DIR/$h" "$@")
	else
		TN__ARGV=(ip netns exec "$TN-$h" "$@")
	fi
}

tn_exec() {
	local TN__ARGV
	tn__argv "$@"
	"${TN__ARGV[@]}"
}

tn_spawn() {
	local h=$1 name=$2 TN__ARGV d
	shift 2
	d=$TN_DIR/$h
	mkdir -p "$d"
	tn__argv "$h" "$@"
	# ip netns exec, sh and CMD all exec: $! is CMD's pid.
	"${TN__ARGV[@]}" </dev/null >>"$d/$name.log" 2>&1 &
	echo $! >"$d/$name.pid"
}

tn_spawn_pid() {
	cat "$TN_DIR/$1/$2.pid" 2>/dev/null
}

tn_kill() {
	local pid sig=${3:-TERM}
	pid=$(tn_spawn_pid "$1" "$2") || return 0
	kill "-$sig" "$pid" 2>/dev/null
	if ! tn_wait 5 tn__not_running "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		tn_wait 2 tn__not_running "$pid"
	fi
	rm -f "$TN_DIR/$1/$2.pid"
}

tn_resolv_conf() {
	local h=$1 n
	shift
	mkdir -p "$TN_DIR/$h"
	{
		if [ $# -eq 0 ]; then
			set -- "$TN_DNS_IP" "$TN_DNS_IP6"
		fi
		for n in "$@"; do
			echo "nameserver $n"
		done
		echo "options timeout:1 attempts:2"
	} >"$TN_DIR/$h/resolv.conf"
}

tn__route_type() {
	case ${1:-unreachable} in
	unreachable | prohibit | blackhole) echo "${1:-unreachable}" ;;
	*) tn__die "tn_block: unknown route type $1" ;;
	esac
}

tn_block() {
	local t
	t=$(tn__route_type "${3:-}")
	case $2 in
	*:*) ip -n "$TN-$1" -6 route add "$t" "$2/128" ;;
	*) ip -n "$TN-$1" route add "$t" "$2/32" ;;
	esac
}

tn_unblock() {
	local t
	t=$(tn__route_type "${3:-}")
	case $2 in
	*:*) ip -n "$TN-$1" -6 route del "$t" "$2/128" ;;
	*) ip -n "$TN-$1" route del "$t" "$2/32" ;;
	esac
}

tn_block_host() {
	local a
	for a in $(tn__addrs "$2"); do
		tn_block "$1" "$a" "${3:-}" || return 1
	done
}

tn_unblock_host() {
	local a
	for a in $(tn__addrs "$2"); do
		tn_unblock "$1" "$a" "${3:-}"
	done
	return 0
}

tn_bpffs() {
	local d=$TN_DIR/bpf
	mkdir -p "$d"
	if ! awk -v d="$d" '$5 == d { f = 1 } END { exit !f }' /proc/self/mountinfo; then
		mount -t bpf -o mode=0700 bpf "$d" || tn__die "cannot mount bpffs at $d"
	fi
	echo "$d"
}

# ------------------------------------------------------------------ DNS

tn_dns_std_zone() {
	cat <<'EOF'
example.test.      300 IN MX   10 mx1.example.test.
example.test.      300 IN MX   20 mx2.example.test.
mx1.example.test.  300 IN A    192.0.2.11
mx1.example.test.  300 IN AAAA 2001:db8::11
mx2.example.test.  300 IN A    192.0.2.20
mx2.example.test.  300 IN AAAA 2001:db8::20
other.test.        300 IN MX   10 mx1.other.test.
other.test.        300 IN MX   20 mx2.example.test.
mx1.other.test.    300 IN A    192.0.2.12
mx1.other.test.    300 IN AAAA 2001:db8::12
sender.test.       300 IN A    192.0.2.30
sender.test.       300 IN AAAA 2001:db8::30
EOF
}

tn__dns_dir() {
	echo "$TN_DIR/dns/nsd"
}

tn_dns_zone() {
	local d serial
	d=$(tn__dns_dir)
	mkdir -p "$d"
	serial=$(cat "$d/serial" 2>/dev/null || echo 0)
	serial=$((serial + 1))
	{
		echo '$ORIGIN test.'
		echo '$TTL 300'
		echo "test. 300 IN SOA ns.test. hostmaster.test. $serial 3600 600 86400 60"
		echo "test. 300 IN NS ns.test."
		echo "ns.test. 300 IN A $TN_DNS_IP"
		echo "ns.test. 300 IN AAAA $TN_DNS_IP6"
		cat
	} >"$d/test.zone.new" || return 1
	# A broken zone would only show as a timeout in tn_dns_reload.
	if ! nsd-checkzone test. "$d/test.zone.new" >"$d/checkzone.out" 2>&1; then
		tn__log "tn_dns_zone: zone rejected: $(cat "$d/checkzone.out")"
		return 1
	fi
	mv "$d/test.zone.new" "$d/test.zone" && echo "$serial" >"$d/serial"
}

# Prints the serial the server answers with, or nothing.
tn__dns_serial() {
	tn_exec dns timeout 2 drill "@$TN_DNS_IP" test. SOA 2>/dev/null |
		awk '$4 == "SOA" && $1 == "test." { print $7; exit }'
}

tn__dns_serial_is() {
	[ "$(tn__dns_serial)" = "$1" ]
}

tn_dns_start() {
	local d
	d=$(tn__dns_dir)
	[ -f "$d/test.zone" ] || tn_dns_zone </dev/null
	cat >"$d/nsd.conf" <<EOF
server:
	server-count: 1
	ip-address: $TN_DNS_IP
	ip-address: $TN_DNS_IP6
	port: 53
	do-ip4: yes
	do-ip6: yes
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	pidfile: "$d/nsd.pid"
	logfile: "$d/nsd.log"
	verbosity: 1
	hide-version: yes
	refuse-any: no
	reuseport: no
	tcp-count: 64
remote-control:
	control-enable: no
zone:
	name: "test."
	zonefile: "$d/test.zone"
EOF
	tn_exec dns nsd -c "$d/nsd.conf" >>"$d/nsd.out" 2>&1 </dev/null ||
		{ tn__log "nsd failed: $(tail -n 5 "$d/nsd.out" "$d/nsd.log" 2>/dev/null)"; return 1; }
	if ! tn_wait 30 tn__dns_serial_is "$(cat "$d/serial")"; then
		tn__log "nsd does not answer: $(tail -n 5 "$d/nsd.log" 2>/dev/null)"
		return 1
	fi
	touch "$TN_DIR/dns/.up"
}

tn_dns_reload() {
	local d pid
	d=$(tn__dns_dir)
	pid=$(cat "$d/nsd.pid" 2>/dev/null) || { tn__log "nsd not running"; return 1; }
	tn__in_ns dns "$pid" || { tn__log "nsd not running"; return 1; }
	kill -HUP "$pid" || return 1
	tn_wait 30 tn__dns_serial_is "$(cat "$d/serial")" ||
		{ tn__log "nsd did not load serial $(cat "$d/serial")"; return 1; }
}

tn_dns_stop() {
	local d pid
	d=$(tn__dns_dir)
	pid=$(cat "$d/nsd.pid" 2>/dev/null) || return 0
	tn__in_ns dns "$pid" && kill -TERM "$pid" 2>/dev/null
	tn_wait 5 tn__not_running "$pid"
	rm -f "$d/nsd.pid" "$TN_DIR/dns/.up"
}

# True if PID runs in HOST's namespace.
tn__in_ns() {
	ip netns pids "$TN-$1" 2>/dev/null | grep -qx "$2"
}

# Gone or a zombie (here PID 1 may be slow to reap orphans).
tn__not_running() {
	local st
	kill -0 "$1" 2>/dev/null || return 0
	# The name in field 2 may contain blanks: the state follows its ")".
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st%% *}
	[ "$st" = Z ] || [ "$st" = X ]
}

# -------------------------------------------------------------- Postfix

tn__pf_conf() {
	echo "$TN_DIR/$1/postfix"
}

tn__myhostname() {
	local v="TN_MYHOSTNAME_$1"
	if [ -n "${!v:-}" ]; then
		echo "${!v}"
		return
	fi
	case $1 in
	p1) echo mx1.example.test ;;
	p2) echo mx1.other.test ;;
	edge) echo mx2.example.test ;;
	snd) echo sender.test ;;
	*) echo "$1.test" ;;
	esac
}

# First address of HOST (IPv4 if it has one), for connecting to it.
tn__first_addr() {
	local a
	a=$(tn__addrs "$1" | grep -v : | head -n 1)
	[ -n "$a" ] || a=$(tn__addrs "$1" | head -n 1)
	echo "$a"
}

tn__bracket() {
	case $1 in
	*:*) echo "[$1]" ;;
	*) echo "$1" ;;
	esac
}

# True when something on HOST:PORT answers with a 220 greeting.
tn__smtp_greets() {
	tn_exec "$1" timeout 2 bash -c '
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		IFS= read -r -t 2 line <&3 || exit 1
		printf "QUIT\r\n" >&3
		case $line in 220*) exit 0 ;; esac
		exit 1' tn "$2" "$3" 2>/dev/null
}

tn_wait_smtp() {
	tn_wait "${4:-10}" tn__smtp_greets "$1" "$2" "$3"
}

tn__port_open() {
	tn_exec "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' tn "$2" "$3" \
		2>/dev/null
}

tn_wait_port() {
	tn_wait "${4:-10}" tn__port_open "$1" "$2" "$3"
}

tn__port_closed() {
	! tn_exec "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' tn "$2" "$3" \
		2>/dev/null
}

tn_postfix_start() {
	local h=$1 role=$2 port=${3:-25} d cf inet a nets domains relays uid gid
	d=$TN_DIR/$h
	cf=$d/postfix
	case $role in
	primary | backup | relay | sender) ;;
	*) tn__die "tn_postfix_start: unknown role '$role'" ;;
	esac
	[ -f "$d/resolv.conf" ] || tn_resolv_conf "$h"
	# A restart (e.g. with another role) keeps queue and stored mail.
	tn_postfix_stop "$h"
	mkdir -p "$cf" "$d/queue" "$d/data" "$d/mail"
	chown root:root "$d/queue"
	chmod 0755 "$d/queue"
	chown postfix:postfix "$d/data" "$d/mail"
	# The queue layout of /etc/postfix/postfix-files, made here because
	# "postfix start" would spend ~2 s in post-install and check-warn; the
	# quick-start file tells it to skip those.
	tn__mkdir "$d/queue/pid" root root 755
	for a in active bounce corrupt defer deferred flush hold incoming \
		private saved trace; do
		tn__mkdir "$d/queue/$a" postfix root 700
	done
	tn__mkdir "$d/queue/maildrop" postfix postdrop 730
	tn__mkdir "$d/queue/public" postfix postdrop 710
	touch "$d/queue/quick-start"
	uid=$(id -u postfix)
	gid=$(id -g postfix)
	cp /etc/postfix/master.cf "$cf/master.cf"
	inet=
	for a in $(tn__addrs "$h"); do
		inet="${inet:+$inet, }$a"
	done
	[ -n "$inet" ] || inet=loopback-only
	case $role in
	sender)
		nets="127.0.0.0/8, [::1]/128, 192.0.2.0/24, [2001:db8::]/64"
		domains='$myhostname'
		;;
	*)
		nets="127.0.0.0/8, [::1]/128"
		for a in $(tn__addrs "$h"); do
			case $a in
			*:*) nets="$nets, [$a]/128" ;;
			*) nets="$nets, $a/32" ;;
			esac
		done
		domains="example.test other.test $TN_MAIL_DOMAINS"
		;;
	esac
	relays=
	if [ "$role" = relay ]; then
		relays=$domains
		domains=
	fi
	cat >"$cf/main.cf" <<EOF
# mxgate test network: $role on $h ($TN)
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $(tn__myhostname "$h")
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
append_dot_mydomain = no
biff = no
inet_interfaces = $inet
inet_protocols = all
mynetworks = $nets
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_banner = \$myhostname ESMTP mxgate-test-$role
maillog_file = $d/maillog
maillog_file_prefixes = $TN_DIR
virtual_mailbox_domains = $domains
relay_domains = $relays
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
smtp_host_lookup = dns
disable_dns_lookups = no
smtp_dns_support_level = enabled
smtp_address_preference = any
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_connect_timeout = 2s
smtp_helo_timeout = 5s
smtp_mail_timeout = 5s
smtp_rcpt_timeout = 5s
smtp_data_init_timeout = 5s
smtp_data_xfer_timeout = 10s
smtp_data_done_timeout = 10s
smtp_connection_cache_on_demand = no
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 2s
delay_warning_time = 0
notify_classes =
smtpd_client_connection_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
in_flow_delay = 0
EOF
	[ -n "${TN_POSTFIX_MAIN:-}" ] && printf '%s\n' "$TN_POSTFIX_MAIN" >>"$cf/main.cf"
	postconf -c "$cf" -F '*/*/chroot = n' >/dev/null 2>&1 ||
		{ tn__log "postconf -F failed"; return 1; }
	if [ "$port" != 25 ]; then
		postconf -c "$cf" -MX smtp/inet >/dev/null 2>&1
		postconf -c "$cf" -M "$port/inet=$port inet n - n - - smtpd" ||
			return 1
	fi
	echo "$port" >"$d/postfix.port"
	tn__age_conf "$cf"
	if ! tn_exec "$h" postfix -c "$cf" start >>"$d/postfix.out" 2>&1 </dev/null; then
		tn__log "postfix start on $h failed: $(tail -n 5 "$d/postfix.out" "$d/maillog" 2>/dev/null)"
		return 1
	fi
	if ! tn_wait 30 tn__smtp_greets "$h" "$(tn__first_addr "$h")" "$port"; then
		tn__log "postfix on $h does not greet on port $port"
		return 1
	fi
}

# Postfix programs wait (in 300 ms steps) until main.cf is older than a
# second, in case an editor is still writing it: backdate ours.
tn__age_conf() {
	touch -d '-10 seconds' "$1/main.cf" "$1/master.cf"
}

tn__mkdir() {
	mkdir -p "$1" && chown "$2:$3" "$1" && chmod "$4" "$1"
}

tn_postconf() {
	local h=$1 cf
	shift
	cf=$(tn__pf_conf "$h")
	postconf -c "$cf" -e "$@" || return 1
	tn__age_conf "$cf"
	if [ -f "$TN_DIR/$h/queue/pid/master.pid" ]; then
		tn_exec "$h" postfix -c "$cf" reload >>"$TN_DIR/$h/postfix.out" 2>&1
	fi
}

tn_postfix_stop() {
	local h=$1 cf pid
	cf=$(tn__pf_conf "$h")
	pid=$(sed -n '1s/ //gp' "$TN_DIR/$h/queue/pid/master.pid" 2>/dev/null || true)
	[ -n "$pid" ] || return 0
	# A stale pid file: never signal a process (group) that is not ours.
	if ! tn__in_ns "$h" "$pid"; then
		rm -f "$TN_DIR/$h/queue/pid/master.pid"
		return 0
	fi
	# "postfix stop" polls once a second and the master takes about as
	# long to act on SIGTERM: signal its whole process group (the master
	# is a session leader) and escalate to SIGKILL after 0.3 s.
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	if ! tn_wait 0.3 tn__not_running "$pid"; then
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
		tn_wait 2 tn__not_running "$pid"
	fi
	rm -f "$TN_DIR/$h/queue/pid/master.pid"
	tn_wait 15 tn__port_closed "$h" "$(tn__first_addr "$h")" \
		"$(cat "$TN_DIR/$h/postfix.port" 2>/dev/null || echo 25)"
}

tn_postfix_flush() {
	tn_exec "$1" postqueue -c "$(tn__pf_conf "$1")" -f >&2
}

tn_postfix_send() {
	local h=$1 from=$2 to=$3 subject=${4:-mxgate test} port
	port=$(cat "$TN_DIR/$h/postfix.port" 2>/dev/null || echo 25)
	tn_exec "$h" swaks --silent 2 --timeout 10 \
		--server "$(tn__bracket "$(tn__first_addr "$h")")" --port "$port" \
		--helo "$(tn__myhostname "$h")" --from "$from" --to "$to" \
		--header "Subject: $subject" --body "test message from $h" \
		</dev/null
}

tn__mail_files() {
	find "$TN_DIR/$1/mail" -type f \( -path '*/new/*' -o -path '*/cur/*' \) \
		2>/dev/null
}

tn_mail_count() {
	local files
	if [ $# -lt 2 ]; then
		tn__mail_files "$1" | wc -l
		return
	fi
	files=$(tn__mail_files "$1")
	if [ -z "$files" ]; then
		echo 0
		return
	fi
	# shellcheck disable=SC2086
	grep -liF -- "Delivered-To: $2" $files | wc -l
}

tn__mail_at_least() {
	[ "$(tn_mail_count "$1" ${3:+"$3"})" -ge "$2" ]
}

tn_mail_wait() {
	tn_wait "${3:-15}" tn__mail_at_least "$1" "$2" ${4:+"$4"}
}

tn_mail_find() {
	local files
	files=$(tn__mail_files "$1")
	[ -n "$files" ] || return 1
	# shellcheck disable=SC2086
	grep -lE -- "$2" $files
}

tn_queue_count() {
	local q=$TN_DIR/$1/queue
	find "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred" "$q/hold" \
		-type f 2>/dev/null | wc -l
}

tn__queue_is() {
	[ "$(tn_queue_count "$1")" -eq "$2" ]
}

tn_queue_wait() {
	tn_wait "${3:-15}" tn__queue_is "$1" "$2"
}

tn_bounces() {
	grep -c 'status=bounced' "$TN_DIR/$1/maillog" 2>/dev/null || true
}

tn_deferrals() {
	grep -c 'status=deferred' "$TN_DIR/$1/maillog" 2>/dev/null || true
}

tn_maillog() {
	cat "$TN_DIR/$1/maillog" 2>/dev/null
}

# ------------------------------------------------- clients, fake servers

tn_swaks() {
	local h=$1
	shift
	tn_exec "$h" swaks "$@" </dev/null
}

tn__fake_script() {
	local f=$TN_DIR/fake_smtp.py
	[ -f "$f" ] && { echo "$f"; return; }
	cat >"$f" <<'EOF'
# Scripted SMTP servers for behaviour no real server has (mxgate tests).
# usage: fake_smtp.py MODE PORT ADDR|all READYFILE LOGFILE
import os, select, socket, sys, time

mode, port, addr, ready, logf = sys.argv[1:6]
port = int(port)
if addr == "all":
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    bind = ("::", port)
else:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    bind = (addr, port)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(bind)
s.listen(128)
log = open(logf, "a", buffering=1)
open(ready, "w").close()

held = []          # tarpit connections, kept until the peer closes
sessions = {}      # ehlo554: socket -> input buffer

def say(c, text):
    try:
        c.sendall(text.encode())
    except OSError:
        pass

while True:
    r, _, _ = select.select([s] + held + list(sessions), [], [], 1.0)
    for c in r:
        if c is s:
            conn, peer = s.accept()
            host = peer[0]
            if host.startswith("::ffff:"):
                host = host[7:]
            log.write("connect %s\n" % host)
            if mode == "tarpit":
                held.append(conn)
            elif mode == "greet421":
                say(conn, "421 4.3.2 busy\r\n")
                conn.close()
            elif mode == "greet554":
                say(conn, "554 5.7.1 go away\r\n")
                conn.close()
            elif mode == "close":
                conn.close()
            elif mode == "ehlo554":
                say(conn, "220 fake.test ESMTP scripted\r\n")
                sessions[conn] = b""
            continue
        try:
            data = c.recv(4096)
        except OSError:
            data = b""
        if c in held:
            if not data:
                held.remove(c)
                c.close()
            continue
        if not data:
            del sessions[c]
            c.close()
            continue
        buf = sessions[c] + data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                say(c, "554 5.7.1 no service for you\r\n")
            elif verb == b"QUIT":
                say(c, "221 2.0.0 bye\r\n")
                buf = None
                break
            else:
                say(c, "503 5.5.1 EHLO first\r\n")
        if buf is None:
            del sessions[c]
            c.close()
        else:
            sessions[c] = buf[-4096:]
EOF
	echo "$f"
}

tn_fake_smtp() {
	local h=$1 mode=$2 port=${3:-25} addr=${4:-all} d py
	case $mode in
	tarpit | greet421 | greet554 | ehlo554 | close) ;;
	*) tn__die "tn_fake_smtp: unknown mode '$mode'" ;;
	esac
	d=$TN_DIR/$h
	py=$(tn__fake_script)
	rm -f "$d/fake-$port.ready"
	# ip netns exec execs python, so $! is the server's pid.
	ip netns exec "$TN-$h" "$TN__PY" "$py" "$mode" "$port" "$addr" \
		"$d/fake-$port.ready" "$d/fake-$port.log" \
		</dev/null >>"$d/fake-$port.out" 2>&1 &
	echo $! >"$d/fake-$port.pid"
	if ! tn_wait 20 test -f "$d/fake-$port.ready"; then
		tn__log "fake smtp $mode on $h:$port did not start: $(cat "$d/fake-$port.out")"
		return 1
	fi
}

tn_fake_stop() {
	local h=$1 port=${2:-25} pid d
	d=$TN_DIR/$h
	pid=$(cat "$d/fake-$port.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	tn_wait 3 tn__not_running "$pid"
	rm -f "$d/fake-$port.pid" "$d/fake-$port.ready"
}
