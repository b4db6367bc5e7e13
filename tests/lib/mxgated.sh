# Helpers for the end-to-end tests of mxgated (tests/integration/5x-*.t),
# on top of testnet.sh: a standard scene (DNS, Postfix on the primary p1
# and on the edge, mxgated on the edge with the tc gate in a private
# bpffs), and short questions to ask it.
#
#   source "$MXG_SRC/tests/lib/mxgated.sh"
#   mxg_scene [SECONDS]        tn_init, tn_up, DNS, Postfix p1 + edge
#   mxg_config [KEY=VALUE...]  writes $MXG_CONF (short timings; overrides)
#   mxg_start                  starts mxgated -f -d in the edge namespace
#   mxg_state DOMAIN           gated / open / unknown (from status --json)
#   mxg_wait_state DOMAIN STATE SECS
#   mxg_addr_gated ADDR        true / false
#   mxg_rcpt DOMAIN            swaks from snd to the edge; prints the
#                              server's reply to RCPT TO (e.g. "551 ...")
#   mxg_send DOMAIN            a whole message from snd to the edge with
#                              swaks; 0 when the edge accepted it
#
# The timings (short, so a scenario fits a test): probe_interval 1s, probe_timeout 1s, rise 2,
# fall 1, state_ttl 4s, recovery_grace 2s, each times MXG_TIME_SCALE (1
# on the host; the measured slowdown in check-kernel's VM; testnet.sh). offender_threshold 0: these
# tests poll the backup many times and are not about escalation (the
# responder's tests are). reply reject: most of these tests prove the gate
# by the 551 of a gated domain, which the built-in default (greylist, a
# 451) no longer gives; `mxg_config reply=` writes no reply key and so
# runs the default (tests/demo.sh shows both). reject_grace 0: several
# tests expect that 551 right after the primary comes back, which the
# default grace (1 h of 451) would not give; 97-reject-grace.t tests it.

# shellcheck source=tests/lib/testnet.sh
. "$MXG_SRC/tests/lib/testnet.sh"

MXGATED=$MXG_OUT/mxgated
# The keys mxg_config scales by MXG_TIME_SCALE: the timers a scene's
# events wait on. Bounds a test asserts on them scale with tn_ms/tn_dur.
MXG_SCALED_KEYS="probe_interval probe_timeout state_ttl recovery_grace greylist_delay greylist_window"

MXGATE=$MXG_OUT/mxgate
MXG_CONF=
MXG_SOCK=
MXG_PIN=
MXG_LOG=
MXG_PID=
MXG_BGPID=

mxg_scene() {
	tn_init "${1:-120}"
	command -v jq >/dev/null || tn__die "jq not found; run: sh scripts/install-deps.sh"
	command -v bpftool >/dev/null || tn__die "bpftool not found; run: sh scripts/install-deps.sh"
	[ -x "$MXGATED" ] || tn__die "$MXGATED not built; run make"
	tn_up
	tn_dns_std_zone | tn_dns_zone
	tn_dns_start
	tn_postfix_start p1 primary
	tn_postfix_start edge backup
	MXG_PIN=$(tn_bpffs)/mxgate
	MXG_CONF=$TN_DIR/mxgate.conf
	MXG_SOCK=$TN_DIR/run/control.sock
	MXG_LOG=$TN_DIR/mxgated.log
	tn_on_cleanup mxg_stop
}

# mxg_config [KEY=VALUE...]: the standard config; later keys override.
mxg_config() {
	local kv
	declare -A v=(
		[self]=mx2.example.test
		[domains]=example.test
		[gate]=tc
		[interfaces]=eth0
		[pin_dir]=$MXG_PIN
		[control_socket]=$MXG_SOCK
		[resolver]=$TN_DNS_IP
		[probe_interval]=1s
		[probe_timeout]=1s
		[rise]=2
		[fall]=1
		[state_ttl]=4s
		[recovery_grace]=2s
		[offender_threshold]=0
		[state_dir]=$TN_DIR/state
		[reply]=reject
		[reject_grace]=0
	)
	local order=(self domains gate interfaces pin_dir control_socket resolver
		probe_interval probe_timeout rise fall state_ttl recovery_grace
		offender_threshold state_dir reply reject_grace)
	for kv in "$@"; do
		[ -n "${v[${kv%%=*}]+x}" ] || order+=("${kv%%=*}")
		v[${kv%%=*}]=${kv#*=}
	done
	# The scene's timers, and a test's overrides of them, run
	# MXG_TIME_SCALE times longer on a slower machine (testnet.sh).
	for kv in $MXG_SCALED_KEYS; do
		[ -n "${v[$kv]:-}" ] && v[$kv]=$(tn_dur "${v[$kv]}")
	done
	: >"$MXG_CONF"
	for kv in "${order[@]}"; do
		[ -n "${v[$kv]}" ] && echo "$kv = ${v[$kv]}" >>"$MXG_CONF"
	done
	[ -n "${MXG_CONF_EXTRA:-}" ] && echo "$MXG_CONF_EXTRA" >>"$MXG_CONF"
	return 0
}

mxg_status() {
	"$MXGATE" status --json -s "$MXG_SOCK" 2>/dev/null
}

# Starts mxgated in the edge namespace and waits for its control socket.
# Call it directly (not inside tap_ok: that is a subshell): it sets
# MXG_PID (mxgated's pid) and MXG_BGPID (the job to `wait` for).
# MXG_PRELOAD=SO: mxgated runs with that test hook preloaded (tests/preload/).
MXG_PRELOAD=
mxg_start() {
	local pre=()
	[ -n "$MXG_PRELOAD" ] &&
		pre=(env LD_PRELOAD="$MXG_PRELOAD" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	tn_exec edge "${pre[@]}" "$MXGATED" -f -d -c "$MXG_CONF" >>"$MXG_LOG" 2>&1 &
	MXG_BGPID=$!
	MXG_PID=
	if ! tn_wait 20 mxg_status; then
		tap_diag "mxgated did not start; its log:"
		sed 's/^/#   /' "$MXG_LOG"
		return 1
	fi
	MXG_PID=$(mxg_status | jq -r .pid)
}

# SIGTERM and wait (call directly, not in $(...)); sets MXG_RC to
# mxgated's exit status.
MXG_RC=
mxg_term() {
	kill -TERM "$MXG_PID" 2>/dev/null
	wait "$MXG_BGPID" 2>/dev/null
	MXG_RC=$?
	MXG_PID=
	MXG_BGPID=
}

mxg_stop() {
	if [ -n "$MXG_PID" ] && kill -0 "$MXG_PID" 2>/dev/null; then
		kill -TERM "$MXG_PID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$MXG_PID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	MXG_PID=
	return 0
}

mxg_state() {
	mxg_status | jq -r --arg d "$1" '.domains[] | select(.name == $d) | .state'
}

mxg_is_state() {
	[ "$(mxg_state "$1")" = "$2" ]
}

mxg_wait_state() {
	tn_wait "$3" mxg_is_state "$1" "$2"
}

mxg_addr_gated() {
	mxg_status | jq -r --arg a "$1" '.addresses[] | select(.address == $a) | .gated'
}

mxg_is_addr_gated() {
	[ "$(mxg_addr_gated "$1")" = "${2:-true}" ]
}

# The reply to RCPT TO, one line. --quit-after RCPT: no message is sent.
mxg_rcpt() {
	local server=${2:-$TN_IP_edge}
	tn_swaks snd --server "$server" --from a@sender.test --to "u@$1" \
		--quit-after RCPT --timeout $((5 * TN_TIME_SCALE)) 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

# The greeting the edge gives on port 25 (the responder's or Postfix's).
mxg_banner() {
	tn_swaks snd --server "${1:-$TN_IP_edge}" --quit-after CONNECT --timeout $((3 * TN_TIME_SCALE)) 2>&1 |
		awk '/^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

# A whole message to the edge; 0 when accepted (250 after DATA).
mxg_send() {
	tn_swaks snd --server "${2:-$TN_IP_edge}" --from a@sender.test --to "u@$1" \
		--header "Subject: mxgate test $RANDOM" --timeout $((5 * TN_TIME_SCALE)) >/dev/null 2>&1
}

# The gate map as bpftool sees it (JSON with BTF).
mxg_gate_map() {
	bpftool -j map dump pinned "$MXG_PIN/gate_addrs" 2>/dev/null
}

# Milliseconds on a monotonic-enough clock for timing assertions.
mxg_ms() {
	echo $(($(date +%s%N) / 1000000))
}
