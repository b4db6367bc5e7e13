#!/bin/sh
# Installs every Debian package that mxgate's build, tests, demo and
# benchmarks need (through scripts/install-packages.sh, the one package
# loop). Idempotent and quiet: does nothing when all are present.
# Then unpacks the real senders of the test network (Exim, OpenSMTPD) into
# a directory of the project's own, never installing them: see
# install_senders below.
set -eu

PACKAGES="
make gcc clang clang-format llvm pkg-config libc6-dev linux-libc-dev
libbpf-dev bpftool libelf-dev zlib1g-dev
libnftnl-dev libmnl-dev libldns-dev ldnsutils libinih-dev libcmocka-dev
libcap-dev libseccomp-dev libclang-rt-14-dev libssl-dev openssl ca-certificates
iproute2 nftables nsd postfix swaks libnet-ssleay-perl libio-socket-ssl-perl iperf3 jq procps psmisc
perl libtest-harness-perl libio-socket-inet6-perl man-db groff-base python3 util-linux
coreutils python3-prometheus-client systemd
redis-server redis-sentinel redis-tools libhiredis-dev
libidn12 libevent-2.1-7 libdb5.3 libgnutls30 libgnutls-dane0 libnsl2 libpcre2-8-0
libpam0g libssl3 zlib1g libcrypt1 adduser
"

# The test network's Exim and OpenSMTPD (tests/lib/senders.sh). Both
# conflict with Postfix as Debian packages, so their .debs are only
# downloaded and unpacked here (dpkg-deb -x), never installed: the host's
# MTA, /etc/exim4, /etc/smtpd.conf, /var/spool are not touched. The
# libraries they link (above) install normally. The versions are Debian
# 12's: Exim 4.96 and OpenSMTPD 6.8.
SENDERS_DIR=${MXG_SENDERS_DIR:-/opt/mxgate-test}
SENDER_DEBS="exim4-daemon-light exim4-base opensmtpd"

# They run from there (their libraries are installed, ldd finds them).
senders_run() {
	"$SENDERS_DIR/root/usr/sbin/exim4" -C /dev/null -bV >/dev/null 2>&1 &&
		"$SENDERS_DIR/root/usr/sbin/smtpd" -h 2>&1 | grep -q '^version: OpenSMTPD'
}

senders_ok() {
	[ -f "$SENDERS_DIR/.unpacked" ] && senders_run && smtpctl_ok
}

# smtpctl talks to smtpd only when setgid opensmtpq (the package's
# dpkg-statoverride); dpkg-deb -x leaves it plain.
smtpctl_ok() {
	[ "$(stat -c %a:%G "$SENDERS_DIR/root/usr/sbin/smtpctl" 2>/dev/null)" = 2755:opensmtpq ]
}

smtpctl_mode() {
	chgrp opensmtpq "$SENDERS_DIR/root/usr/sbin/smtpctl" &&
		chmod 2755 "$SENDERS_DIR/root/usr/sbin/smtpctl"
}

# The users the binaries expect, as their packages' postinst scripts make
# them (system users, no home, no login): Exim looks its compiled-in
# Debian-exim up before it reads any config; OpenSMTPD's Debian build runs
# its processes as opensmtpd and its queue as opensmtpq.
sender_users() {
	id Debian-exim >/dev/null 2>&1 ||
		adduser --system --group --quiet --allow-bad-names --home /nonexistent \
			--no-create-home Debian-exim
	for u in opensmtpd opensmtpq; do
		getent group "$u" >/dev/null || addgroup --system --quiet "$u"
		id "$u" >/dev/null 2>&1 ||
			adduser --system --quiet --home /nonexistent --no-create-home \
				--disabled-password --ingroup "$u" "$u"
	done
}

install_senders() {
	sender_users
	# Unpacked before smtpctl's mode was set here: set it, keep the rest.
	[ -f "$SENDERS_DIR/.unpacked" ] && senders_run && ! smtpctl_ok && smtpctl_mode
	senders_ok && return 0
	tmp=$(mktemp -d)
	# shellcheck disable=SC2086
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root $SENDER_DEBS >/dev/null) || {
		rm -rf "$tmp"
		echo "install-deps: apt-get download $SENDER_DEBS failed" >&2
		return 1
	}
	rm -rf "$SENDERS_DIR/root"
	mkdir -p "$SENDERS_DIR/root"
	for f in "$tmp"/*.deb; do
		dpkg-deb -x "$f" "$SENDERS_DIR/root"
	done
	# Not setuid outside a package: the tests run them as root.
	chmod u-s "$SENDERS_DIR/root/usr/sbin/exim4"
	smtpctl_mode
	rm -rf "$tmp"
	if ! senders_run; then
		echo "install-deps: the unpacked Exim or OpenSMTPD in $SENDERS_DIR/root does not run" >&2
		return 1
	fi
	date -u +%FT%TZ >"$SENDERS_DIR/.unpacked"
}

# Postfix asks how to configure itself; the tests write their own configs.
MXG_DEBCONF="postfix postfix/main_mailer_type select No configuration"
export MXG_DEBCONF
# shellcheck disable=SC2086
sh "$(dirname "$0")/install-packages.sh" install-deps $PACKAGES

senders_ok && id Debian-exim >/dev/null 2>&1 && id opensmtpq >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: the test senders in $SENDERS_DIR are missing; run as root: sh scripts/install-deps.sh" >&2
	exit 1
fi
if ! senders_ok; then
	echo "install-deps: unpacking Exim and OpenSMTPD into $SENDERS_DIR (not installed)" >&2
	install_senders
else
	sender_users
fi
