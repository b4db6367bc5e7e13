#!/bin/sh
# Install the Debian packages named after the caller's name, those missing
# only: sh scripts/install-packages.sh NAME PACKAGE...
# Shared by install-deb-deps.sh and install-kernel-deps.sh. Idempotent and
# quiet: does nothing when all are present; not root and something
# missing: one line saying what and how, exit 1.
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
echo "$name: installing:$missing" >&2
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
