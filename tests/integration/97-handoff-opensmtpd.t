#!/bin/bash
# The responder hands a recipient it lets through to a real OpenSMTPD
# (Debian 12's 6.8, unpacked by scripts/install-deps.sh) listening on the
# line `mxgate handoff-config opensmtpd` prints (listen on lo port N
# proxy-v2), with the minimal rest of a receiving smtpd.conf (mail for
# hosted.test into a file). The message is delivered and OpenSMTPD's
# log names the sender's real address, not 127.0.0.1. (Exim's lines are
# not tested here: Debian's exim4-daemon-light, the Exim this machine
# unpacks, is built without SUPPORT_PROXY and refuses hosts_proxy.)
set -u
TN_MAIL_DOMAINS=hosted.test
. "$MXG_SRC/tests/lib/mxgated.sh"
. "$MXG_SRC/tests/lib/senders.sh"

[ -x "$TN_SMTPD" ] && id opensmtpq >/dev/null 2>&1 ||
	tap_skip_all "OpenSMTPD not unpacked in $TN_SENDERS_ROOT (sh scripts/install-deps.sh)"

mxg_scene 150
{
	tn_dns_std_zone
	echo "hosted.test.       300 IN MX   10 mx2.example.test."
} | tn_dns_zone
tn_dns_reload

mxg_config reply=defer handoff=inet:127.0.0.1:10025
line=$("$MXGATE" handoff-config opensmtpd -c "$MXG_CONF" | grep -v '^#')
[ "$line" = "listen on lo port 10025 proxy-v2" ] || tn_die "handoff-config printed: $line"

# OpenSMTPD's spool, chroot and socket paths are compiled in: as for the
# senders (tests/lib/senders.sh), our directories are bound over them in
# a mount namespace of its own. Mail for hosted.test is delivered as
# opensmtpq (an existing user: no user database to set up) by an mda
# appending to a file; its helper (mail.mda) is at a compiled-in path too,
# so the unpacked /usr/libexec is bound over the host's.
D=$TN_DIR/edge/opensmtpd
mkdir -p "$D/spool/smtpd" "$D/varlib/opensmtpd/empty" "$D/run" "$D/mail"
chmod 0711 "$D/spool/smtpd"
chmod 0755 "$D/varlib/opensmtpd/empty" "$D/varlib/opensmtpd" "$D/varlib"
chown opensmtpq "$D/mail"
cat >"$D/smtpd.conf" <<CONF
# The handoff listener, exactly as mxgate handoff-config opensmtpd prints it
$line
action "local" mda "cat >>$D/mail/mbox"
match from any for domain "hosted.test" action "local"
CONF
chmod 0644 "$D/smtpd.conf"
tn_spawn edge opensmtpd bash -c '
	d=$1 r=$2; shift 2
	mount --bind "$d/spool" /var/spool &&
		mount --bind "$d/varlib" /var/lib &&
		mount --bind "$d/run" /run &&
		mount --bind "$r/usr/libexec" /usr/libexec || exit 1
	exec "$@"' sh "$D" "$TN_SENDERS_ROOT" "$TN_SMTPD" -d -v -f "$D/smtpd.conf"
tn_on_cleanup tn_kill edge opensmtpd
# The listener expects the PROXY header first: only its port is checked.
tn_wait_port edge 127.0.0.1 10025 30 ||
	tn_die "OpenSMTPD does not listen: $(tail -n 20 "$TN_DIR/edge/opensmtpd.log")"

tap_plan 6
mxg_start
tap_ok "example.test gated (its primary is up)" mxg_wait_state example.test gated 10

out=$(tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to opensmtpq@hosted.test \
	--header "Subject: handed-to-opensmtpd" --timeout 30 2>&1)
tap_like "$out" "<- *250 2\.0\.0 [0-9a-f]+ Message accepted for delivery" \
	"handed off to OpenSMTPD: its 250 after DATA"
delivered() {
	grep -qs "^Subject: handed-to-opensmtpd" "$D/mail/mbox"
}
tap_ok "delivered by OpenSMTPD" tn_wait 30 delivered
tap_ok "OpenSMTPD's log names the sender's real address" \
	grep -qE "smtp connected .*address=$TN_IP_snd " "$TN_DIR/edge/opensmtpd.log"
tap_ok "and not 127.0.0.1" sh -c "! grep -q 'smtp connected .*address=127\.0\.0\.1 ' '$TN_DIR/edge/opensmtpd.log'"
tap_ok "the session line says it was handed off" \
	tn_wait 10 grep -q "rcpt=hosted.test=250 .*end=handed off" "$MXG_LOG"
tap_done
