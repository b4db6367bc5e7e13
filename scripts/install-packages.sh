#!/bin/sh
# Install the Debian packages named after the caller's name, those missing
# only: sh scripts/install-packages.sh NAME PACKAGE...
# The one package loop of install-deps.sh, install-deb-deps.sh and
# install-kernel-deps.sh. Idempotent and quiet: does nothing when all are
# present; not root and something missing: one line saying what and how,
# exit 1. $MXG_DEBCONF, when set: debconf-set-selections lines given
# before the install (answers a package would ask for).
set -eu

name=$1
shift
missing=""
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "$name: missing packages:$missing; run as root: sh scripts/$name.sh" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
[ -n "${MXG_DEBCONF:-}" ] && printf '%s\n' "$MXG_DEBCONF" | debconf-set-selections
echo "$name: installing:$missing" >&2
apt-get update -qq >/dev/null
# Another apt may be running (a shared machine): wait for its lock.
# shellcheck disable=SC2086
apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null
