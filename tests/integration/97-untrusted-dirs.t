#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Directories and files mxgated trusts are root's alone, and what it loads
# stays within the configured limits: a state_dir an unprivileged user owns
# is not read (a pass for ten years, a remote MTA in the offender set); a
# root's state file with the same records is loaded clamped to pass_ttl
# and offender_window, and the kernel, the nft set and `mxgate offenders`
# end together. A control or policy socket in a directory someone else
# owns is refused at start; an inet policy listener on loopback must be
# asked for (policy_allow_local_inet) and `mxgated -n` warns; one client
# holding every policy connection cannot keep Postfix's smtpd out.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 180
command -v nft >/dev/null || tap_skip_all "nft not installed"
tap_plan 22
NOBODY=$(id -u nobody)
SDIR=$TN_DIR/state
STATE=$SDIR/state
dump() { tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN"; }
offenders() { tn_exec edge "$MXGATE" offenders -s "$MXG_SOCK"; }
set4() { tn_exec edge nft list set inet mxgate offenders4 2>&1; }
plant() { # a pass with ten years left, an offender for ten years
	local now=$(($(date +%s%N) / 1000000)) decade=315360000000
	printf 'mxgate-state 1\nseed 0123456789abcdef\npass 192.0.2.99 greylist %s %s\noffender 192.0.2.98 %s %s %s 7\n' \
		"$now" "$((now + decade))" "$((now - 1000))" "$now" "$((now + decade))" >"$STATE"
}

# ---- a state_dir owned by an unprivileged user is not read ----
mkdir -p "$SDIR" && plant && chown -R nobody "$SDIR"
mxg_config reply=greylist pass_ttl=10m pass_max=1h offender_threshold=3 offender_window=30s \
	offender_set=yes
mxg_start
tap_ok "gated" mxg_wait_state example.test gated 10
tap_like "$(cat "$MXG_LOG")" "state: state_dir $SDIR: $SDIR is owned by uid $NOBODY, not root.*chown root:root $SDIR.*; starting with no saved state" \
	"nobody's state_dir: refused, the log names the directory and the fix"
tap_unlike "$(dump)" "192\\.0\\.2\\.99" "no pass from nobody's file in the kernel"
tap_is "$(offenders)" "no offenders" "no offender from nobody's file"
tap_unlike "$(set4)" "192\\.0\\.2\\.98" "nor in the nft offender set"
mxg_term

# ---- root's state_dir: loaded, clamped to the configured limits ----
chown -R root "$SDIR" && chmod 0700 "$SDIR" && plant
mxg_start
tap_ok "gated again" mxg_wait_state example.test gated 10
tap_like "$(cat "$MXG_LOG")" "state: loaded $STATE: 1 pass\\(es\\), 0 greylist tuple\\(s\\), 1 offender\\(s\\)" \
	"root's state file is loaded"
left=$(dump | sed -n 's/^  192\.0\.2\.99 .*fresh *\([0-9]*\)s left.*/\1/p')
tap_diag "pass 192.0.2.99: ${left:-none}s left in the kernel"
tap_ok "the ten-year pass is in the kernel with at most pass_ttl (600 s) left" \
	test -n "$left" -a "${left:-0}" -le 600 -a "${left:-0}" -ge 590
o=$(offenders)
tap_like "$o" "^192\\.0\\.2\\.98: 7 report\\(s\\), .*expires in (2[0-9]|30)s, nft set inet mxgate offenders4" \
	"the ten-year offender is listed for at most offender_window (30 s)"
tap_like "$(set4)" "192\\.0\\.2\\.98 timeout 30s expires (2[0-9]|30)s" \
	"the nft element has the same rest"
sleep 31
tap_is "$(offenders)" "no offenders" "after the window the list is empty ..."
tap_unlike "$(set4)" "192\\.0\\.2\\.98" "... and so is the set: both ended together"
mxg_term

# ---- socket directories someone else owns ----
mkdir -p "$TN_DIR/theirs" && chown nobody "$TN_DIR/theirs"
mxg_config gate=none interfaces= control_socket="$TN_DIR/theirs/control.sock"
out=$(tn_exec edge timeout 20 "$MXGATED" -f -c "$MXG_CONF" 2>&1)
tap_is "$?" 1 "control socket in nobody's directory: mxgated refuses to start"
tap_like "$out" "control_socket $TN_DIR/theirs/control.sock: $TN_DIR/theirs is owned by uid $NOBODY, not root" \
	"... and names the directory"
tap_ok "no socket was made there" test ! -e "$TN_DIR/theirs/control.sock"
mxg_config gate=none interfaces= policy_listen="unix:$TN_DIR/theirs/policy.sock"
out=$(tn_exec edge timeout 20 "$MXGATED" -f -c "$MXG_CONF" 2>&1)
tap_like "$?:$out" "^1:.*policy_listen $TN_DIR/theirs/policy.sock: $TN_DIR/theirs is owned by uid $NOBODY, not root" \
	"policy socket in nobody's directory: refused, named"

# ---- an inet listener on loopback must be asked for ----
mxg_config gate=none interfaces= policy_listen=inet:127.0.0.1:10040
out=$(tn_exec edge "$MXGATED" -n -c "$MXG_CONF" 2>&1)
tap_like "$?:$out" "^1:.*policy_listen: inet:127\\.0\\.0\\.1:10040 answers every local user, .*policy_allow_local_inet = yes" \
	"inet:127.0.0.1 without policy_allow_local_inet: refused"
mxg_config gate=none interfaces= policy_listen=inet:127.0.0.1:10040 policy_allow_local_inet=yes
out=$(tn_exec edge "$MXGATED" -n -c "$MXG_CONF" 2>&1)
tap_like "$?:$out" "^0:.*warning: policy_listen = inet:127\\.0\\.0\\.1:10040: every local user can reach the policy service" \
	"with it: accepted, and mxgated -n warns"

# ---- one client holding every policy connection ----
PSOCK=$TN_DIR/run/policy.sock
mxg_config gate=none interfaces= policy_listen="unix:$PSOCK"
mxg_start
tap_is "$(stat -c '%U:%G %a' "$PSOCK")" "root:postfix 660" "the policy socket is root:postfix 0660"
tn_spawn edge holder /usr/bin/python3 -c '
import signal, socket, sys, time
signal.alarm(20)
held = []
for i in range(300):
    s = socket.socket(socket.AF_UNIX)
    for t in range(50):
        try:
            s.connect(sys.argv[1])
            break
        except BlockingIOError:
            time.sleep(0.05)
    else:
        break
    held.append(s)
signal.alarm(0)
print("holding", len(held), flush=True)
time.sleep(60)
' "$PSOCK"
tn_wait 10 grep -q holding "$TN_DIR/edge/holder.log"
tap_diag "$(cat "$TN_DIR/edge/holder.log")"
ask() {
	tn_exec edge setpriv --reuid=postfix --regid=postfix --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.77\nrecipient=u@example.test\n\n")
print(s.recv(512).decode().strip())
' "$PSOCK" 2>&1
}
tap_like "$(ask)" "^action=" "with 256 connections held by root, smtpd (user postfix) still gets an answer"
tap_like "$(ask)" "^action=" "... and again"
tap_like "$(cat "$MXG_LOG")" "policy: 256 connections already; closing the longest idle of the client holding 256 of them" \
	"the log says a connection of the biggest holder made room"
tn_kill edge holder
tap_done
