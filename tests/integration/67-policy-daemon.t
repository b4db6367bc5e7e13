#!/bin/bash
# mxgated's policy service (policy_listen) with a real Postfix on the edge:
# one shared address serves example.test (primary p1 up: gated, 551 naming
# mx1.example.test) and other.test (primary p2 down: open, DUNNO, the mail
# is accepted). gate = none: only Postfix's answers change.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 120 # p1 and the edge's Postfix; p2 (other.test's primary) stays down
tap_plan 8
# The edge's Postfix only: on the primaries a policy service that is not
# there answers 451 to every RCPT, and mxgate's probe (RCPT to postmaster)
# rightly sees a primary that takes no mail.
tn_postconf edge "smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10040" \
	"smtpd_policy_service_default_action = DUNNO"

mxg_config gate=none interfaces= "domains=example.test other.test" policy_listen=inet:127.0.0.1:10040 policy_allow_local_inet=yes
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 8
tap_ok "other.test is open (its primary is down)" mxg_wait_state other.test open 8

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test --quit-after RCPT 2>&1)
tap_like "$out" "<\*\* 551 5\.7\.1 .*<?example\.test>?: this is a backup MX and the primary MX mx1\.example\.test is online; please try mx1\.example\.test" \
	"Postfix asks mxgated: 551 for the gated domain"
out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@other.test 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued" "DUNNO for the open domain: accepted"
tap_ok "and stored by the backup's Postfix" tn_mail_wait edge 1 10

# The primary of other.test comes up: after rise rounds it is gated too.
tn_postfix_start p2 primary
tap_ok "other.test becomes gated when its primary comes up" mxg_wait_state other.test gated 10
out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@other.test --quit-after RCPT 2>&1)
tap_like "$out" "<\*\* 551 5\.7\.1 .*please try mx1\.other\.test" "now 551 naming other.test's primary"

mxg_term
out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to u@example.test 2>&1)
tap_like "$out" "<-  250 2\.0\.0 Ok: queued" "mxgated stopped: Postfix fails open"
tap_done
