#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A sender that requires TLS is greylisted inside TLS and delivered through
# the backup after the delay (real DNS, Postfix, mxgated, tc). Before the
# responder offered STARTTLS such a sender quit after EHLO, never made a
# greylist tuple, and never got through while its path to the primary was
# broken.
#   - swaks --tls: 451 4.7.1 inside TLS; the same tuple after
#     greylist_delay passes the client; its next TLS session reaches the
#     backup's Postfix, which takes the message;
#   - a Postfix with smtp_tls_security_level = encrypt that cannot reach the
#     primary: its queued messages are delivered by the backup's Postfix
#     over TLS, nothing bounces;
#   - the responder doing all this is the confined one (Seccomp: 2).
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 240
perl -MNet::SSLeay -e1 2>/dev/null || tap_skip_all "swaks --tls needs Net::SSLeay: sh scripts/install-deps.sh"
tap_plan 17
tn_addr_add snd 192.0.2.61
tn_host_add snd2 192.0.2.36 2001:db8::36

NL=$'\n'
DEFER='451 4\.7\.1 example\.test: this is a backup MX and the primary MX mx1\.example\.test is online'
TLS=$TN_DIR/tls
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/key.pem" -out "$TLS/cert.pem" -days 2 \
	-subj /CN=mx2.example.test 2>/dev/null
chmod 600 "$TLS/key.pem"
# The backup's Postfix offers TLS with the same certificate, as a real
# backup MX would (the sender requires TLS there too).
TN_POSTFIX_MAIN="smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS/cert.pem
smtpd_tls_key_file = $TLS/key.pem" tn_postfix_start edge backup

swaks_tls() { # swaks_tls SRC RCPT [swaks args]
	local src=$1 rcpt=$2
	shift 2
	tn_swaks snd --server "$TN_IP_edge" --local-interface "$src" --tls --from tls@sender.test \
		--to "$rcpt" --timeout 10 "$@" 2>&1
}
passed() { tn_exec edge "$MXGATE" dump --pin-dir "$MXG_PIN" | sed -n '/^passes:/,$p' | grep -q "^  $1 .*fresh"; }

mxg_config reply=greylist greylist_delay=3s greylist_window=60s pass_ttl=60s pass_max=120s \
	tls_cert_file="$TLS/cert.pem" tls_key_file="$TLS/key.pem"
mxg_start
tap_ok "example.test becomes gated" mxg_wait_state example.test gated 10
rpid=$(mxg_status | jq -r 'select(.responder.running) | .responder.pid')
tap_like "$(grep '^Seccomp:' "/proc/$rpid/status" 2>/dev/null)" 'Seccomp:.2' \
	"the responder with the certificate runs under seccomp (pid $rpid)"

out=$(swaks_tls 192.0.2.61 user@example.test --quit-after RCPT)
tap_like "$out" 'mxgate|ESMTP' "swaks --tls reaches the responder"
tap_like "$out" '=== TLS started' "the responder offers STARTTLS and the handshake completes"
tap_like "$out" "<~\\* $DEFER" "first time: the greylist 451 4.7.1, inside TLS"
sleep 4
out=$(swaks_tls 192.0.2.61 user@example.test --quit-after RCPT)
tap_like "$out" "<~\\* $DEFER" "after greylist_delay the same tuple, inside TLS: 451 once more, and ..."
tap_ok "... the client is passed in the kernel" tn_wait 10 passed 192.0.2.61
out=$(swaks_tls 192.0.2.61 user@example.test --header "Subject: tls greylisted")
tap_like "$out" 'ESMTP mxgate-test-backup' "its next connection reaches the backup's Postfix"
tap_like "$out" '<~  250 2\.0\.0 Ok: queued' "which takes the message inside TLS"
tap_ok "and stores it" tn_mail_wait edge 1 20 user@example.test

# A sending Postfix that requires TLS and cannot reach the primary.
TN_POSTFIX_MAIN="smtp_bind_address = $TN_IP_snd2
smtp_bind_address6 = $TN_IP6_snd2
smtp_tls_security_level = encrypt" tn_postfix_start snd2 sender
tn_block_host snd2 p1
tn_postfix_send snd2 a@sender.test enc@example.test "tls required" ||
	tap_diag "submitting the message failed"
tap_ok "a Postfix with smtp_tls_security_level = encrypt delivers through the backup" \
	tn_mail_wait edge 1 60 enc@example.test
tap_like "$(grep 'status=deferred' "$TN_DIR/snd2/maillog" | head -n 1)" "$DEFER" \
	"after being greylisted first"
tap_like "$(cat "$MXG_LOG")" "session client=$TN_IP_snd2 [^$NL]*reply=451 [^$NL]*tls=yes" \
	"the responder's 451 to it was inside TLS"
tap_is "$(tn_bounces snd2)" 0 "nothing bounced"

# A renewed certificate at the same paths: SIGHUP restarts the responder,
# which shows the new one (it read the files before its chroot).
old_pid=$(mxg_status | jq -r .responder.pid)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/key.new" -out "$TLS/cert.new" -days 2 \
	-subj /CN=renewed.example.test 2>/dev/null
chmod 600 "$TLS/key.new"
mv "$TLS/key.new" "$TLS/key.pem"
mv "$TLS/cert.new" "$TLS/cert.pem"
kill -HUP "$MXG_PID"
renewed() {
	local now
	now=$(mxg_status | jq -r '"\(.responder.state) \(.responder.pid)"')
	case $now in "running $old_pid" | "running 0") return 1 ;; running\ *) return 0 ;; *) return 1 ;; esac
}
tap_ok "SIGHUP after a renewal starts a new responder" tn_wait 10 renewed
tap_like "$(cat "$MXG_LOG")" "tls_cert_file, tls_key_file or the files they name changed; restarting it" \
	"the log says why"
tap_like "$(swaks_tls "$TN_IP_snd" other@example.test --quit-after RCPT)" 'TLS peer DN="/CN=renewed\.example\.test"' \
	"and it presents the renewed certificate"
tap_done
