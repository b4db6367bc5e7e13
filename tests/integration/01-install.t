#!/bin/bash
# make install / uninstall with DESTDIR: everything lands in the staging
# tree and nowhere else, paths follow PREFIX/SYSCONFDIR, the unit names the
# installed binary, an administrator's config survives both reinstall and
# uninstall, and uninstall removes everything else. No root needed.
set -u
[ -f "$MXG_SRC/tests/lib/tap.sh" ] || { echo "1..0 # SKIP testnet library (tap.sh) not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mk() { make -s --no-print-directory -C "$MXG_SRC" OUT="$MXG_OUT" DESTDIR="$tmp" PREFIX=/usr "$@"; }
outside="/usr/sbin/mxgated /usr/sbin/mxgate /etc/mxgate/mxgate.conf.example /usr/lib/systemd/system/mxgated.service /usr/share/man/man5/mxgate.conf.5"
pre=$(for f in $outside; do [ -e "$f" ] && echo "$f"; done)

tap_plan 9
tap_ok "make install DESTDIR=... PREFIX=/usr" mk install
want="etc/mxgate/mxgate.conf
etc/mxgate/mxgate.conf.example
usr/lib/systemd/system/mxgated.service
usr/sbin/mxgate
usr/sbin/mxgated
usr/share/man/man5/mxgate.conf.5
usr/share/man/man8/mxgate.8
usr/share/man/man8/mxgated.8"
tap_is "$(cd "$tmp" && find . -type f | sed 's|^\./||' | sort)" "$want" "exactly the expected files in the staging tree"
tap_is "$(for f in $outside; do [ -e "$f" ] && echo "$f"; done)" "$pre" "nothing was installed outside DESTDIR"
tap_like "$(grep '^ExecStart=' "$tmp/usr/lib/systemd/system/mxgated.service")" \
	"^ExecStart=/usr/sbin/mxgated -f -c /etc/mxgate/mxgate.conf$" "the unit runs the installed binary with the installed config"
tap_ok "the installed mxgate runs" "$tmp/usr/sbin/mxgate" help
tap_like "$(stat -c %a "$tmp/etc/mxgate/mxgate.conf")" "^6[04]0$" "mxgate.conf is not world-readable"

echo "# edited by the administrator" >>"$tmp/etc/mxgate/mxgate.conf"
mk install >/dev/null
tap_like "$(tail -1 "$tmp/etc/mxgate/mxgate.conf")" "edited by the administrator" "reinstall keeps an edited mxgate.conf"
mk uninstall >/dev/null
tap_is "$(cd "$tmp" && find . -type f | sed 's|^\./||')" "etc/mxgate/mxgate.conf" \
	"uninstall removes everything but the edited mxgate.conf"
rm "$tmp/etc/mxgate/mxgate.conf"
mk install >/dev/null && mk uninstall >/dev/null
tap_is "$(cd "$tmp" && find . -type f)" "" "an unmodified config is removed with the rest"
tap_done
