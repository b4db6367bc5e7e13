#!/bin/bash
# A SIGHUP reload whose postconf takes 5 s does not stall mxgated's loop:
# postconf runs in a helper process; while it sleeps, status answers at
# once, probe rounds go on, and the longest loop iteration
# (mxgate_loop_stall_max_seconds) stays under a second, and status names
# the callback it was spent in. The reload is
# applied when postconf answers (a new relay domain is served); SIGHUPs
# during a reload are folded into one more reload after it; a helper past
# its deadline is killed and the reload refused; a bad config is still
# refused with its error line and the old one kept.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tn_postfix_start p2 primary
tn_postfix_start edge relay
PF=$TN_DIR/edge/postfix
tn_postconf edge "relay_domains = example.test" || tn_die "postconf failed"

# A postconf earlier in mxgated's PATH that sleeps while $TN_DIR/slow
# exists, then runs the real one.
real=$(command -v postconf) || tn_die "no postconf"
mkdir -p "$TN_DIR/bin"
cat >"$TN_DIR/bin/postconf" <<STUB
#!/bin/sh
[ -f "$TN_DIR/slow" ] && sleep 5
if [ -f "$TN_DIR/trickle" ]; then # a byte every 5 s: past the helper's 30 s
	for i in 1 2 3 4 5 6 7 8 9; do printf ' '; sleep 5; done
fi
exec "$real" "\$@"
STUB
chmod +x "$TN_DIR/bin/postconf"

tap_plan 18
mxg_config domains= domains_from=postfix postfix_config_dir="$PF"
PATH="$TN_DIR/bin:$PATH" mxg_start || tn_die "mxgated did not start"
tap_ok "example.test (Postfix's relay_domains) gated" mxg_wait_state example.test gated 10

metric() {
	"$MXGATE" metrics -s "$MXG_SOCK" 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'
}
reloads() { mxg_status | jq -r .counters.reloads; }
reloads_are() { [ "$(reloads)" = "$1" ]; }
served() { mxg_status | jq -r '[.domains[].name] | sort | join(" ")'; }
ms() { date +%s%3N; }

tn_postconf edge "relay_domains = example.test other.test" || tn_die "postconf failed"
touch "$TN_DIR/slow"
rounds0=$(metric mxgate_probe_rounds_total)
t0=$(ms)
kill -HUP "$MXG_PID"
sleep 1.5
t1=$(ms)
st=$(mxg_status)
t2=$(ms)
tap_is "$(jq -r .counters.reloads <<<"$st")" 0 "1.5 s after SIGHUP the slow postconf still runs: not applied yet"
tap_ok "status answers during the reload (in $((t2 - t1)) ms)" test $((t2 - t1)) -lt 1000
sleep 1.5
rounds1=$(metric mxgate_probe_rounds_total)
tap_ok "probe rounds go on during the reload ($rounds0 -> $rounds1)" \
	test "${rounds1:-0}" -ge $((${rounds0:-0} + 2))
tap_ok "the reload is applied once postconf answers" tn_wait 15 reloads_are 1
t3=$(ms)
tap_ok "it waited for postconf's 5 s ($((t3 - t0)) ms)" test $((t3 - t0)) -ge 4500
tap_is "$(served)" "example.test other.test" "other.test is served after the reload"
stall=$(metric mxgate_loop_stall_max_seconds)
tap_ok "the loop never stalled a second (mxgate_loop_stall_max_seconds $stall)" \
	awk -v s="${stall:-9}" 'BEGIN { exit !(s < 1) }'
# Where the longest iteration went: the callback, by file and name.
tap_like "$(mxg_status | jq -r '.loop.longest_callback + " " + .loop.most_cpu_callback')" \
	'^[a-z_]+\.c:[a-z_0-9]+ [a-z_]+\.c:[a-z_0-9]+$' "status --json names the callbacks of the longest iterations"
tap_like "$("$MXGATE" status -s "$MXG_SOCK" | sed -n 2p)" \
	'^loop: longest iteration [0-9.]+ ms \(wall; [0-9.]+ ms of it in [a-z_]+\.c:[a-z_0-9]+\), most CPU in one' \
	"and so does the text status, on its second line"

# Three SIGHUPs during one slow reload: one more reload after it.
kill -HUP "$MXG_PID"
sleep 0.5
kill -HUP "$MXG_PID"
kill -HUP "$MXG_PID"
rm -f "$TN_DIR/slow" # the one after it is quick: a fourth would show
tap_ok "SIGHUPs during a reload are folded into one more" tn_wait 30 reloads_are 3
sleep 3
tap_is "$(reloads)" 3 "and no fourth one follows"
tap_ok "the log says so" grep -q "SIGHUP came during the last reload" "$MXG_LOG"

# A helper that takes too long (postconf trickling its answer) is killed
# with its postconf after 30 s, and the reload refused.
touch "$TN_DIR/trickle"
kill -HUP "$MXG_PID"
killed() { grep -q "reload refused: the helper reading $MXG_CONF: it did not finish within 30 s; killed it; keeping the previous configuration" "$MXG_LOG"; }
tap_ok "a helper over its 30 s deadline is killed, the reload refused" tn_wait 40 killed
no_stub() { ! pgrep -f "$TN_DIR/bin/postconf" >/dev/null; }
tap_ok "and its postconf with it" tn_wait 3 no_stub
tap_is "$(reloads)" 3 "the config stays as it was"
rm -f "$TN_DIR/trickle"

# A bad file is refused with its line, the old config kept.
sed -i 's/^rise = .*/rise = often/' "$MXG_CONF"
kill -HUP "$MXG_PID"
refused() { grep -q "reload refused: $MXG_CONF:[0-9]*: rise" "$MXG_LOG"; }
tap_ok "a bad file is refused with its file, line and key" tn_wait 10 refused
tap_is "$(served)" "example.test other.test" "and the old config is kept"

tap_done
