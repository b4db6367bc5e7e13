#!/bin/bash
# domains_from = postfix: The edge's own Postfix is a classic
# backup MX (role relay) whose relay_domains is a hash: table; mxgated
# serves exactly those domains, read with postconf -c from that Postfix's
# config dir. A SIGHUP after the table gains a domain and loses one adds
# and drops just those: the domains that stay keep their state (no state
# change, no gate opening). The same Postfix is also the final destination
# of hosted.test (virtual_mailbox_domains): not served, and mxgated -n
# warns that on a gated address mail for it can only be deferred without a
# handoff to the MTA.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120
tn_postfix_start p2 primary
tn_postfix_start edge relay
PF=$TN_DIR/edge/postfix
printf 'example.test OK\nother.test OK\n' >"$PF/relay"
tn_exec edge postmap -c "$PF" "hash:$PF/relay" || tn_die "postmap failed"
tn_postconf edge "relay_domains = hash:$PF/relay" || tn_die "postconf failed"

tap_plan 12
mxg_config domains= domains_from=postfix postfix_config_dir="$PF"
tap_ok "mxgated -n accepts it" tn_exec edge "$MXGATED" -n -c "$MXG_CONF"
tap_unlike "$(tn_exec edge "$MXGATED" -n -c "$MXG_CONF" 2>&1)" "final destination" \
	"no final-destination warning while Postfix only relays"
tn_postconf edge "virtual_mailbox_domains = hosted.test" || tn_die "postconf failed"
out=$(tn_exec edge "$MXGATED" -n -c "$MXG_CONF" 2>&1)
tap_like "$out" "warning: Postfix is also the final destination of 1 domain\(s\) \(hosted\.test in virtual_mailbox_domains\): .* answered 451 .*set handoff" \
	"mxgated -n warns that mail for hosted.test on a gated address is deferred without a handoff"
tap_like "$out" "configuration ok" "and still accepts the configuration"
mxg_start
tap_ok "example.test (from the hash: table) gated" mxg_wait_state example.test gated 10
tap_ok "other.test (from the hash: table) gated" mxg_wait_state other.test gated 10
tap_is "$(mxg_status | jq -r '[.domains[].name] | sort | join(" ")')" \
	"example.test other.test" "exactly Postfix's relay domains are served"

changes() { "$MXGATE" metrics -s "$MXG_SOCK" | awk '$1 == "mxgate_state_transitions_total" { print $2 }'; }
before=$(changes)
since=$(mxg_status | jq -r '.domains[] | select(.name == "example.test") | .since_ms_ago')

# The table changes: other.test leaves, third.test comes; then SIGHUP.
printf 'example.test OK\nthird.test OK\n' >"$PF/relay"
tn_exec edge postmap -c "$PF" "hash:$PF/relay"
kill -HUP "$MXG_PID"
tap_ok "third.test is served after SIGHUP" tn_wait 10 mxg_is_state third.test unknown
tap_is "$(mxg_status | jq -r '[.domains[].name] | sort | join(" ")')" \
	"example.test third.test" "other.test is no longer served"
tap_is "$(mxg_state example.test)" gated "example.test stays gated through the reload"
now=$(mxg_status | jq -r '.domains[] | select(.name == "example.test") | .since_ms_ago')
tap_ok "example.test kept its state (gated since before the reload)" test "$now" -ge "$since"
tap_is "$(changes)" "$before" "no state change counted for the domains that stayed"

tap_done
