#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make deb` builds the Debian package (dpkg-buildpackage -us -uc -b, debhelper
# compat 13) and lintian finds no error in it. The package holds the
# daemon, the CLI, the man pages, the systemd unit (with StateDirectory and
# RuntimeDirectory) and /etc/mxgate/mxgate.conf as a conffile that gates
# nothing until self and the domains are set; its dependencies come from
# ${shlibs:Depends}; installing it neither enables nor starts the service.
# The package is left in $MXG_OUT/deb/ for 05-systemd-boot.t.
set -u
. "$MXG_SRC/tests/lib/tap.sh"
OUT=${MXG_OUT:-$MXG_SRC/build}
for t in dpkg-buildpackage dh lintian fakeroot; do
	if ! command -v "$t" >/dev/null && [ "$(id -u)" -ne 0 ]; then
		tap_skip_all "$t missing and not root to install it (run: sh scripts/install-deb-deps.sh)"
	fi
done
NL=$'\n'
tap_plan 16

make -C "$MXG_SRC" --no-print-directory deb OUT="$OUT" >"$OUT/deb-test.log" 2>&1
rc=$?
tap_is "$rc" 0 "make deb: exit 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$OUT/deb-test.log" | tail -30
deb=$(ls "$OUT"/deb/mxgate_*_amd64.deb 2>/dev/null | head -1)
tap_ok "it left mxgate_*.deb in $OUT/deb" test -f "$deb"
tap_unlike "$(cat "$OUT/deb/lintian.log" 2>/dev/null)" '^E: ' "lintian: no error"
files=$(dpkg-deb -c "$deb" 2>/dev/null | awk '{ print $6 }')
for f in ./usr/sbin/mxgated ./usr/sbin/mxgate ./usr/share/man/man8/mxgated.8.gz \
	./usr/share/man/man8/mxgate.8.gz ./usr/share/man/man5/mxgate.conf.5.gz \
	./lib/systemd/system/mxgated.service ./etc/mxgate/mxgate.conf; do
	tap_like "$files" "(^|$NL)${f//./\\.}($NL|$)" "the package holds ${f#.}"
done
tap_is "$(dpkg-deb -f "$deb" Depends 2>/dev/null | grep -oE 'libbpf1|libseccomp2|libnftnl11' | sort | tr '\n' ' ')" \
	"libbpf1 libnftnl11 libseccomp2 " "Depends computed by shlibs (libbpf1, libnftnl11, libseccomp2)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -e "$deb" "$tmp/ctl" && dpkg-deb -x "$deb" "$tmp/root"
tap_is "$(cat "$tmp/ctl/conffiles")" "/etc/mxgate/mxgate.conf" "mxgate.conf is a conffile"
tap_unlike "$(cat "$tmp/ctl/postinst")" 'deb-systemd-invoke (start|restart)|was-enabled.*\|\| *deb-systemd-helper enable|systemctl (start|enable)' \
	"postinst neither starts nor enables mxgated (only keeps an admin's enable)"
unit=$(cat "$tmp/root/lib/systemd/system/mxgated.service")
tap_like "$unit" "ExecStart=/usr/sbin/mxgated -f -c /etc/mxgate/mxgate.conf" "the unit runs /usr/sbin/mxgated"
tap_like "$unit" "${NL}StateDirectory=mxgate${NL}(.*$NL)?" "the unit has StateDirectory=mxgate"
out=$("$OUT/mxgated" -n -c "$tmp/root/etc/mxgate/mxgate.conf" 2>&1)
tap_like "$?:$out" "^1:mxgated: .*self: required key missing.*nothing is gated until self and the domains are set" \
	"the packaged mxgate.conf refuses to gate until self and the domains are set"
tap_done
