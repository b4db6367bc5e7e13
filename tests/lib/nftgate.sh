# Helpers for the nft gate tests (sourced after testnet.sh): drive
# gate_nft_ops through build/tests/helpers/nft_gate_drive as a coprocess in
# a namespace, read SMTP banners, and compare rulesets with mxgate's own
# objects left out.
#
#   ng_drive_start HOST     start the driver in HOST's namespace
#   ng_cmd LINE...          send one command; its answer is in $NG_REPLY;
#                           returns 0 when the answer starts with "ok"
#   ng_banner HOST ADDR     first line a client on HOST gets from ADDR:25
#   ng_ruleset HOST [strip] `nft list ruleset` without table inet mxgate;
#                           "strip" also drops every "elements = {...}"
#   ng_steered_to HOST ADDR connect from HOST to ADDR:25 while the driver
#                           accepts; prints the local address and port the
#                           accepted socket shows (the original destination)

NG_REPLY=
NG_DRIVE_PID=

ng_drive_start() {
	local h=$1
	coproc NG_D { tn_exec "$h" "$MXG_OUT/tests/helpers/nft_gate_drive" 2>>"$TN_DIR/drive.log"; }
	NG_DRIVE_PID=$NG_D_PID
	tn_on_cleanup ng_drive_stop
}

ng_drive_stop() {
	[ -n "$NG_DRIVE_PID" ] || return 0
	echo quit >&"${NG_D[1]}" 2>/dev/null
	kill "$NG_DRIVE_PID" 2>/dev/null
	NG_DRIVE_PID=
}

ng_cmd() {
	NG_REPLY=
	echo "$*" >&"${NG_D[1]}" || return 1
	IFS= read -r -t $((20 * TN_TIME_SCALE)) NG_REPLY <&"${NG_D[0]}" || NG_REPLY="error no answer"
	[ "${NG_REPLY%% *}" = ok ]
}

ng_banner() {
	# Bounds times MXG_TIME_SCALE (testnet.sh), as ng_steered_to's accept.
	tn_exec "$1" timeout $((5 * TN_TIME_SCALE)) /usr/bin/python3 -c '
import socket, sys
t = 3 * int(sys.argv[2])
s = socket.create_connection((sys.argv[1], 25), t)
s.settimeout(t)
print(s.recv(200).decode(errors="replace").splitlines()[0])
' "$2" "$TN_TIME_SCALE" 2>/dev/null
}

ng_ruleset() {
	tn_exec "$1" nft list ruleset | awk -v strip="${2:-}" '
		/^table inet mxgate \{/ { ours = 1 }
		ours { if ($0 == "}") ours = 0; next }
		strip && /elements = \{/ { skip = 1 }
		skip { if ($0 ~ /\}/) skip = 0; next }
		{ print }'
}

ng_steered_to() {
	local h=$1 a=$2 cpid
	ng_banner "$h" "$a" >"$TN_DIR/banner.out" &
	cpid=$!
	ng_cmd accept $((5 * TN_TIME_SCALE))
	wait "$cpid"
	[ "${NG_REPLY%% *}" = ok ] && echo "${NG_REPLY#ok }"
}
