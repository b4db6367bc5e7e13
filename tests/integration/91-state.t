#!/bin/bash
# State that survives a restart: passes and greylist tuples are
# saved under state_dir on SIGTERM (and every minute) and loaded at
# start; the kernel gets the passes back. A corrupt state file is
# reported and ignored, never a crash, and replaced at the next save.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 180
tap_plan 15
tn_addr_add snd 192.0.2.61
tn_addr_add snd 192.0.2.62

DEFER='^451 4\.7\.1 example\.test: this is a backup MX'
STATE=$TN_DIR/state/state
dump() { tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN"; }
passed() { dump | sed -n '/^passes:/,$p' | grep -q "^  $1 .*fresh.*$2"; }
rcpt_to() { # rcpt_to SRC RCPT
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$1" --from a@sender.test --to "$2" \
		--quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}
banner_from() {
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$1" --quit-after CONNECT --timeout 3 2>&1 |
		awk '/^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

mxg_config reply=greylist greylist_delay=3s greylist_window=10m pass_ttl=10m
mxg_start
tap_ok "gated" mxg_wait_state example.test gated 10
tap_like "$(rcpt_to 192.0.2.61 postmaster@example.test)" '^451 4\.7\.1 <example\.test>: you may deliver' \
	"postmaster@: 451, the client is passed"
tap_ok "192.0.2.61 is passed in the kernel" tn_wait 5 passed 192.0.2.61 recipient
tap_like "$(rcpt_to 192.0.2.62 tuple@example.test)" "$DEFER" "a greylist tuple is seen once from 192.0.2.62"

# --- SIGTERM: everything is detached and unpinned, the state is saved
mxg_term
tap_is "$MXG_RC" 0 "SIGTERM: mxgated exits 0"
tap_like "$(cat "$STATE" 2>/dev/null)" $'^mxgate-state 1\nseed [0-9a-f]{16}\n(.*\n)*pass 192\\.0\\.2\\.61 recipient [0-9]+ [0-9]+\n(.*\n)*tuple [0-9a-f]{16} [0-9]+ [0-9]+' \
	"the state file holds the pass and the tuple"
tap_is "$(stat -c %a "$STATE" 2>/dev/null)" 600 "it is mode 0600"

# --- start again
mxg_start
tap_ok "gated again" mxg_wait_state example.test gated 10
tap_like "$(cat "$MXG_LOG")" "state: loaded $STATE: 1 pass\\(es\\), 1 greylist tuple\\(s\\)" "the log says what was loaded"
tap_ok "the pass is back in the kernel" tn_wait 5 passed 192.0.2.61 recipient
tap_like "$(banner_from 192.0.2.61)" "mxgate-test-backup" "the passed client still reaches the backup's Postfix"
sleep 3 # greylist_delay since the tuple was first seen, across the restart
rcpt_to 192.0.2.62 tuple@example.test >/dev/null
tap_ok "the remembered tuple, retried after the delay, passes its client" tn_wait 5 passed 192.0.2.62 greylist

# --- a corrupt state file
mxg_term
printf 'mxgate-state 1\npass 192.0.2.99 greylist 1 \001\002\n' >"$STATE"
mxg_start
tap_like "$(cat "$MXG_LOG")" "state: $STATE is corrupt or not mxgate's \\(line 2: not a valid record: pass 192\\.0\\.2\\.99 greylist 1 \\?\\?\\); ignored" \
	"a corrupt state file is reported and ignored"
tap_ok "mxgated runs and gates as usual" mxg_wait_state example.test gated 10
mxg_term
tap_like "$(head -n 1 "$STATE")" '^mxgate-state 1$' "the next save replaces it with a good one"
tap_done
