#!/bin/bash
# The man pages render without a single warning (groff -ww and
# man --warnings -l), and mxgate.conf(5) documents every key of the key
# table (config_keys.c).
set -u
[ -f "$MXG_SRC/tests/lib/tap.sh" ] || { echo "1..0 # SKIP testnet library (tap.sh) not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/tap.sh"
command -v groff >/dev/null || tap_skip_all "groff not installed"

pages="mxgated.8 mxgate.8 mxgate.conf.5"
tap_plan 7
for p in $pages; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MXG_SRC/man/$p" 2>&1 >/dev/null;
		groff -ww -man -z "$MXG_SRC/man/$p" 2>&1)
	tap_is "$out" "" "$p renders without warnings"
done
keys=$(sed -n 's/^ *{"\([a-z_0-9]*\)", K_.*/\1/p' "$MXG_SRC/userspace/config/config_keys.c")
missing=
for k in $keys; do
	grep -qE "^\.(BI|BR|B) $k( |$)" "$MXG_SRC/man/mxgate.conf.5" || missing="$missing $k"
done
tap_like "$(echo $keys | wc -w)" "^[1-9][0-9]+$" "config_keys.c's key table was read"
tap_is "$missing" "" "mxgate.conf(5) documents every configuration key"
for o in c f d n h; do
	grep -qE "^\.BI? \\\\-$o( |$)" "$MXG_SRC/man/mxgated.8" || missing="$missing -$o"
done
for s in SIGHUP SIGTERM; do
	grep -qE "^\.BR? $s" "$MXG_SRC/man/mxgated.8" || missing="$missing $s"
done
tap_is "$missing" "" "mxgated(8) documents every option and signal"
for c in status probe dump unload metrics; do
	grep -qE "^\.B $c( |$)" "$MXG_SRC/man/mxgate.8" || missing="$missing $c"
done
tap_is "$missing" "" "mxgate(8) documents every command"
tap_done
