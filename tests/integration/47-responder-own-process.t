#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The responder is a process of its own, as OpenSMTPD's are: mxgated
# forks and executes its own binary as `mxgated -x responder`, so the
# responder starts with a fresh address space (its layout differs from
# the controller's: a fork would have copied it, and the controller's
# heap with it) and holds only its descriptors: stdin/out/err, the
# socket to the controller (3) and its two listening sockets (5, 6);
# the start blob (4) is closed once read; beyond those only its event
# loop's own (epoll, timers), whatever numbers they got. No BPF map or program, no netlink socket,
# no file of the controller. It still answers, confined.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tap_plan 12

resp_pid() { mxg_status | jq -r 'select(.responder.running) | .responder.pid'; }
# The start addresses of the mappings of a process's executable.
exe_maps() { awk -v f="$(readlink "/proc/$1/exe")" '$6 == f { print $1 }' "/proc/$1/maps"; }
# fd number and target, one per line, without 0-2.
fds() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "${f##*/}" -gt 2 ] && printf '%s %s\n' "${f##*/}" "$(readlink "$f")"
	done | sort -n
}

mxg_config
mxg_start
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10
rpid=$(resp_pid)
tap_ok "the responder runs (pid ${rpid:-none})" test -n "$rpid" -a "${rpid:-0}" != 0
tap_is "$(tr '\0' ' ' <"/proc/$rpid/cmdline")" "mxgated -x responder " \
	"its command line names its role"
tap_is "$(stat -L -c %d:%i "/proc/$rpid/exe")" "$(stat -L -c %d:%i "/proc/$MXG_PID/exe")" \
	"it runs mxgated's own binary"
tap_is "$(cat "/proc/$rpid/comm")" mxgated "its process name is mxgated's"
c_maps=$(exe_maps "$MXG_PID")
r_maps=$(exe_maps "$rpid")
tap_diag "controller's binary at: $(echo $c_maps); responder's at: $(echo $r_maps)"
tap_ok "the binary is mapped in both" test -n "$c_maps" -a -n "$r_maps"
if [ "$(cat /proc/sys/kernel/randomize_va_space)" = 0 ]; then
	tap_skip "address space layout randomization is off: layouts cannot differ" 1
else
	tap_ok "its layout differs from the controller's (an exec, not a fork)" \
		test "$c_maps" != "$r_maps"
fi
# ASan (make check-san) allocates from its own mappings, not the brk heap:
# there only the BPF map and the start blob are looked for.
heaps=$(awk '$6 == "[heap]"' "/proc/$rpid/maps" | wc -l)
grep -qa __asan_init "$(readlink "/proc/$rpid/exe")" && heaps="1"
tap_is "$heaps:$(grep -c 'anon_inode:bpf\|memfd:' "/proc/$rpid/maps")" \
	"1:0" "its memory has one heap of its own, no BPF map, no start blob"
f=$(fds "$rpid")
tap_diag "its descriptors: $(echo "$f" | tr '\n' ';')"
tap_like "$(echo "$f" | awk '$1 == 3 || $1 == 5 || $1 == 6 { printf "%s %s;", $1, $2 }')" \
	'^3 socket:\[[0-9]+\];5 socket:\[[0-9]+\];6 socket:\[[0-9]+\];$' \
	"3 is the controller's socket, 5 and 6 the listeners"
tap_is "$(echo "$f" | awk '$1 != 3 && $1 != 5 && $1 != 6 && $2 !~ /^anon_inode:\[(eventpoll|timerfd)\]$/' | tr '\n' ';')" "" \
	"beyond those only its event loop's (no start blob, BPF, netlink, file)"
tap_like "$(mxg_rcpt example.test)" '^551 ' "it answers a gated domain 551"
tap_is "$(grep -E '^(NoNewPrivs|Seccomp):' "/proc/$rpid/status" | tr -s '\t\n' '  ')" \
	'NoNewPrivs: 1 Seccomp: 2 ' "confined as before: no new privileges, seccomp"
tap_done
