# SPDX-License-Identifier: GPL-2.0-only
# Small shared part of the fault suite (tests/integration/8x-fault-*.t):
# TAP output, a private network namespace, a temp dir, a watchdog, and a
# cleanup that removes all of it, on any exit. Only what the fault tests
# start is ever killed: by pid, or by namespace.
#   fl_init SECONDS [NEEDS...]   skip unless root and NEEDS exist; sets
#                                $FL_NS (namespace, lo up), $FL_DIR
#   fl_bg CMD...                 start CMD in the background, remember it
#   fl_bpffs                     mount a private bpffs at $FL_BPFFS
#   ok DESC CMD... / is GOT WANT DESC / like GOT REGEX DESC / diag TEXT
#   fl_done                      the plan and the exit status
set -u
OUT=${MXG_OUT:-$PWD/build}
SRC=${MXG_SRC:-$PWD}
FL_N=0
FL_FAILS=0
FL_PIDS=()
FL_NS=
FL_DIR=
FL_WATCHDOG=
FL_BPFFS=

fl_cleanup() {
	local p
	if [ -n "$FL_WATCHDOG" ]; then
		pkill -P "$FL_WATCHDOG" sleep 2>/dev/null # its own sleep, by parent pid
		kill "$FL_WATCHDOG" 2>/dev/null
	fi
	for p in "${FL_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${FL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$FL_BPFFS" ] && umount "$FL_BPFFS" 2>/dev/null
	if [ -n "$FL_NS" ]; then
		ip netns pids "$FL_NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$FL_NS" 2>/dev/null
	fi
	[ -n "$FL_DIR" ] && [ -s "$FL_DIR/watchdog" ] && cat "$FL_DIR/watchdog"
	[ -n "$FL_DIR" ] && rm -rf "$FL_DIR"
}

fl_init() {
	local secs=$1 t
	shift
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root (network namespace)"
		exit 0
	fi
	for t in ip "$@"; do
		if ! command -v "$t" >/dev/null && [ ! -x "$t" ]; then
			echo "1..0 # SKIP $t missing (make; sh scripts/install-deps.sh)"
			exit 0
		fi
	done
	FL_NS="mxgf$$"
	FL_DIR=$(mktemp -d /tmp/mxg-fault.XXXXXX)
	chmod 755 "$FL_DIR"
	trap fl_cleanup EXIT
	trap 'exit 1' INT TERM
	# The watchdog ends a hung test; the EXIT trap then cleans up and says
	# so (the watchdog itself keeps no output open, or prove would wait
	# for it). SECONDS are on this machine's pace: times MXG_TIME_SCALE,
	# the slowdown of check-kernel's VM (testnet.sh), 1 on the host.
	local f=${MXG_TIME_SCALE:-1}
	case "$f" in "" | *[!0-9]* | 0) f=1 ;; esac
	secs=$((secs * f))
	(sleep "$secs" && echo "# watchdog: over $secs s, giving up" >"$FL_DIR/watchdog" && kill -TERM $$) \
		</dev/null >/dev/null 2>&1 &
	FL_WATCHDOG=$!
	ip netns add "$FL_NS" || exit 1
	ip -n "$FL_NS" link set lo up
}

# A private bpffs under $FL_DIR (a pin under /sys/fs/bpf made inside
# `ip netns exec` is invisible elsewhere); sets $FL_BPFFS.
fl_bpffs() {
	mkdir -p "$FL_DIR/bpf" && mount -t bpf -o mode=0700 bpf "$FL_DIR/bpf" && FL_BPFFS=$FL_DIR/bpf
}

fl_bg() {
	"$@" &
	FL_PIDS+=("$!")
}

fl_exec() { ip netns exec "$FL_NS" "$@"; }

ok() {
	local desc=$1
	shift
	FL_N=$((FL_N + 1))
	if "$@"; then
		echo "ok $FL_N - $desc"
	else
		echo "not ok $FL_N - $desc"
		FL_FAILS=$((FL_FAILS + 1))
	fi
}

is() {
	FL_N=$((FL_N + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $FL_N - $3"
	else
		echo "not ok $FL_N - $3"
		printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
		FL_FAILS=$((FL_FAILS + 1))
	fi
}

like() {
	FL_N=$((FL_N + 1))
	if [[ $1 =~ $2 ]]; then
		echo "ok $FL_N - $3"
	else
		echo "not ok $FL_N - $3"
		printf '%s\n' "got: $1" "expected to match: $2" | sed 's/^/#   /'
		FL_FAILS=$((FL_FAILS + 1))
	fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

fl_done() {
	echo "1..$FL_N"
	[ "$FL_FAILS" -eq 0 ]
}
