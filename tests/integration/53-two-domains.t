#!/bin/bash
# Two served domains with different primaries
# (example.test -> p1, other.test -> p2) share one gate address (the
# edge's): the address is gated only while both primaries are up.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 90
tap_plan 10
tn_postfix_start p2 primary

mxg_config domains="example.test other.test"
mxg_start
tap_ok "example.test gated" mxg_wait_state example.test gated 8
tap_ok "other.test gated" mxg_wait_state other.test gated 8
tap_ok "the edge address is gated" tn_wait 10 mxg_is_addr_gated 192.0.2.20
tap_like "$(mxg_rcpt other.test)" '^551 .*mx1\.other\.test' "other.test: 551 naming its own primary"

# One primary down: that domain opens, and with it the shared address.
tn_postfix_stop p2
tap_ok "other.test opens when p2 stops" mxg_wait_state other.test open 6
tap_is "$(mxg_state example.test)" gated "example.test stays gated"
tap_ok "the shared address opens" tn_wait 10 mxg_is_addr_gated 192.0.2.20 false
tap_like "$(mxg_rcpt example.test)" '^250 ' "mail for example.test reaches the backup's Postfix"

# Back up: the address is gated again once other.test is.
tn_postfix_start p2 primary
tap_ok "other.test gated again after rise + grace" mxg_wait_state other.test gated 8
tap_ok "the shared address is gated again" tn_wait 10 mxg_is_addr_gated 192.0.2.20
