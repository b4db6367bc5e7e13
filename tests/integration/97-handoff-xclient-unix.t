#!/bin/bash
# The handoff in the daemon over the paths test 97 does not take, with the
# backup's Postfix configured from `mxgate handoff-config postfix` alone:
# mxgated hands a let-through recipient over XCLIENT to a unix-domain
# listener (handoff = unix:PATH), then to a loopback inet listener. Each
# time the sender gets Postfix's own 250 after DATA through the gated
# address, the mail is delivered, and Postfix's log names the sender's real
# address (XCLIENT ADDR), never localhost or 127.0.0.1; the metrics count
# the handoff ok. The printed lines for PROXY v2 are fed to Postfix by
# tests 97-handoff (and refused for Exim and OpenSMTPD with XCLIENT).
set -u
TN_MAIL_DOMAINS=hosted.test
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 180
{
	tn_dns_std_zone
	echo "hosted.test.       300 IN MX   10 mx2.example.test."
} | tn_dns_zone
tn_dns_reload
CF=$TN_DIR/edge/postfix
# Postfix makes a unix service (private = n) in the queue's public/, 0710
# postfix:postdrop: the responder's connector runs as "nobody" and must be
# able to reach it (docs/responder.md says so).
SOCK=$TN_DIR/edge/queue/public/handoff
tn_postfix_start snd sender

metric() {
	tn_exec edge "$MXGATE" metrics --pin-dir "$MXG_PIN" -s "$MXG_SOCK" |
		awk -v k="$1" '$1 == k { print $2 }'
}
ok_counted() { [ "$(metric mxgate_handoff_ok_total)" = 1 ]; }

tap_plan 13
for kind in unix inet; do
	if [ $kind = unix ]; then
		target=unix:$SOCK
	else
		target=inet:127.0.0.1:10026
	fi
	mxg_config reply=defer handoff=$target handoff_protocol=xclient
	lines=$("$MXGATE" handoff-config postfix -c "$MXG_CONF")
	tap_like "$lines" "smtpd_authorized_xclient_hosts=127\.0\.0\.1" "$kind: handoff-config prints the XCLIENT listener"
	echo "$lines" >>"$CF/master.cf"
	tn_postconf edge "smtpd_banner = \$myhostname ESMTP mxgate-test-backup" || tn_die "reload failed"
	if [ $kind = unix ]; then
		tn_wait 10 test -S "$SOCK" || tn_die "no unix handoff listener: $lines"
		chmod 0711 "$(dirname "$SOCK")"
	else
		tn_wait_smtp edge 127.0.0.1 10026 || tn_die "no inet handoff listener: $lines"
	fi
	mxg_start
	tap_ok "$kind: example.test gated" mxg_wait_state example.test gated 10
	out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to $kind@hosted.test \
		--header "Subject: $kind" --timeout 20 2>&1)
	tap_like "$out" "<- *250 2\.0\.0 Ok: queued as" \
		"$kind: steered to the responder, Postfix's 250 after DATA (XCLIENT)"
	tap_ok "$kind: delivered" tn_mail_wait edge 1 15 $kind@hosted.test
	id=$(echo "$out" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' | head -n 1)
	tap_ok "$kind: Postfix's log names the sender's real address ($id)" \
		tn_wait 10 grep -qE "postfix/handoff/smtpd\[[0-9]+\]: $id: client=unknown\[$TN_IP_snd\]" "$TN_DIR/edge/maillog"
	tap_ok "$kind: the handoff is counted ok" tn_wait 10 ok_counted
	mxg_term
done
# Exim and OpenSMTPD take no XCLIENT: handoff-config says what to set.
out=$("$MXGATE" handoff-config exim -c "$MXG_CONF" 2>&1)
tap_like "$?:$out" "^1:mxgate: Exim takes the handoff as PROXY v2 .*handoff_protocol = proxy" \
	"handoff-config refuses Exim lines for XCLIENT and names the setting"
tap_done
