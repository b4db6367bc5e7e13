#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# mxgated -n checks the responder's STARTTLS files before anything runs:
# tls_cert_file (a chain, which may hold the key) and tls_key_file must be
# readable PEM, the key must match the certificate, and a key readable by
# every user is refused (any local user could pose as this MX). With
# domains_from = postfix and no tls_* keys, Postfix's smtpd certificate is
# taken (smtpd_tls_chain_files, else smtpd_tls_cert_file and
# smtpd_tls_key_file). Each error is one "FILE:LINE: KEY: ..." line.
# Needs no network; root only to read keys of mode 0600 (as mxgated does).
set -u
. "$MXG_SRC/tests/lib/tap.sh"

MXGATED="${MXG_OUT:-$PWD/build}/mxgated"
command -v openssl >/dev/null || tap_skip_all "openssl missing: sh scripts/install-deps.sh"
command -v postconf >/dev/null || tap_skip_all "postconf missing: sh scripts/install-deps.sh"
[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root (mxgated reads keys of mode 0600 as root)"
dir=$(mktemp -d /tmp/mxg-02tls-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
tap_plan 16

run() { # run CONF: sets rc and err (stderr without warning lines)
	"$MXGATED" -n -c "$1" >/dev/null 2>"$dir/err"
	rc=$?
	err=$(grep -v ': warning: ' "$dir/err")
}
conf() { # conf NAME LINES...: a config, LINES from line 6 on
	{
		printf 'self = mx2.example.org\ninterfaces = eth0\n'
		printf 'control_socket = %s/run/control.sock\nstate_dir = %s/state\n' "$dir" "$dir"
		case $2 in
		domains_from*) ;;
		*) echo "domains = example.org" ;;
		esac
		printf '%s\n' "${@:2}"
	} >"$dir/$1.conf"
	echo "$dir/$1.conf"
}
cert() { # cert NAME: NAME.key (0600) and NAME.pem
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/$1.key" -out "$dir/$1.pem" -days 2 \
		-subj "/CN=$1" 2>/dev/null
	chmod 600 "$dir/$1.key"
}
cert a
cert b
cat "$dir/a.key" "$dir/a.pem" >"$dir/chain.pem"
chmod 600 "$dir/chain.pem"

run "$(conf ok "tls_cert_file = $dir/a.pem" "tls_key_file = $dir/a.key")"
tap_is "$rc:$err" "0:" "a certificate and its key: ok"
run "$(conf chain "tls_cert_file = $dir/chain.pem")"
tap_is "$rc:$err" "0:" "one chain file holding the key, tls_key_file unset: ok"

f=$(conf mismatch "tls_cert_file = $dir/a.pem" "tls_key_file = $dir/b.key")
run "$f"
tap_like "$rc:$err" "^1:mxgated: $f:7: tls_key_file: $dir/b\.key: the key does not match the certificate in $dir/a\.pem$" \
	"another certificate's key: exit 1, names file, line and key"
f=$(conf missing "tls_cert_file = $dir/none.pem" "tls_key_file = $dir/a.key")
run "$f"
tap_like "$rc:$err" "^1:mxgated: $f:6: tls_cert_file: $dir/none\.pem: cannot read it: No such file or directory$" \
	"a missing certificate: exit 1, names file, line and key"
f=$(conf keyonly "tls_key_file = $dir/a.key")
run "$f"
tap_like "$rc:$err" "^1:mxgated: $f:6: tls_key_file: set without tls_cert_file" "a key without a certificate: exit 1"
echo "not a certificate" >"$dir/junk.pem"
f=$(conf junk "tls_cert_file = $dir/junk.pem" "tls_key_file = $dir/a.key")
run "$f"
tap_like "$rc:$err" "^1:mxgated: $f:6: tls_cert_file: $dir/junk\.pem: cannot load a PEM certificate chain" \
	"a file that is no PEM certificate: exit 1"
cp -p "$dir/a.key" "$dir/open.key"
chmod 644 "$dir/open.key"
f=$(conf open "tls_cert_file = $dir/a.pem" "tls_key_file = $dir/open.key")
run "$f"
tap_like "$rc:$err" "^1:mxgated: $f:7: tls_key_file: $dir/open\.key: the private key is readable by every user on this host \(mode 0644\).*chmod o-rwx $dir/open\.key" \
	"a key readable by every user: refused, says how to fix it"
chmod 640 "$dir/open.key"
run "$f"
tap_is "$rc:$err" "0:" "the same key readable by its group only (Debian's ssl-cert, 0640): ok"

# domains_from = postfix takes smtpd's certificate.
pf=$dir/postfix
mkdir "$pf"
postfix_conf() { # postfix_conf LINES...: main.cf of the Postfix asked
	printf 'compatibility_level = 3.6\nrelay_domains = example.org\nmydestination =\n' >"$pf/main.cf"
	printf '%s\n' "$@" >>"$pf/main.cf"
}
pconf=$(conf pf "domains_from = postfix" "postfix_config_dir = $pf")
postfix_conf "smtpd_tls_cert_file = $dir/a.pem" "smtpd_tls_key_file = $dir/a.key"
run "$pconf"
tap_is "$rc:$err" "0:" "domains_from = postfix: smtpd_tls_cert_file and smtpd_tls_key_file taken, ok"
postfix_conf "smtpd_tls_cert_file = $dir/a.pem" "smtpd_tls_key_file = $dir/b.key"
run "$pconf"
tap_like "$rc:$err" "^1:mxgated: $pconf:5: domains_from: Postfix's smtpd_tls_cert_file and smtpd_tls_key_file: $dir/b\.key: the key does not match" \
	"Postfix's key does not match its certificate: the error names domains_from and the Postfix parameters"
postfix_conf "smtpd_tls_cert_file = $dir/chain.pem"
run "$pconf"
tap_is "$rc:$err" "0:" "smtpd_tls_key_file unset: Postfix's default, the certificate file itself"
postfix_conf "smtpd_tls_chain_files = $dir/chain.pem" "smtpd_tls_cert_file = $dir/junk.pem"
run "$pconf"
tap_is "$rc:$err" "0:" "smtpd_tls_chain_files wins over smtpd_tls_cert_file (as in Postfix)"
postfix_conf "smtpd_tls_chain_files = $dir/a.key, $dir/a.pem"
run "$pconf"
tap_is "$rc:$err" "0:" "smtpd_tls_chain_files as a key file then its chain file: ok"
postfix_conf "smtpd_tls_chain_files = $dir/gone.pem"
run "$pconf"
tap_like "$rc:$err" "^1:mxgated: $pconf:5: domains_from: Postfix's smtpd_tls_chain_files names $dir/gone\.pem: cannot read it" \
	"a chain file that is not there: exit 1"
postfix_conf "smtpd_tls_cert_file = $dir/a.pem" "smtpd_tls_key_file = $dir/open.key"
chmod 604 "$dir/open.key"
run "$pconf"
tap_like "$rc:$err" "^1:mxgated: $pconf:5: domains_from: Postfix's .*open\.key: the private key is readable by every user" \
	"Postfix's key readable by every user: refused too"
# The tls_* keys override Postfix's.
run "$(conf pfover "domains_from = postfix" "postfix_config_dir = $pf" \
	"tls_cert_file = $dir/chain.pem")"
tap_is "$rc:$err" "0:" "tls_cert_file set: Postfix's certificate is not read"
tap_done
