#!/bin/sh
# The Debian packages `make deb` needs beyond scripts/install-deps.sh:
# dpkg-buildpackage (dpkg-dev), debhelper, fakeroot and lintian; and what
# tests/integration/05-systemd-boot.t boots the package with:
# systemd-nspawn (systemd-container) and mmdebstrap.
# Idempotent and quiet: does nothing when all are present.
set -eu

sh "$(dirname "$0")/install-deps.sh"

PACKAGES="dpkg-dev debhelper fakeroot lintian systemd-container mmdebstrap"
missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deb-deps: missing packages:$missing; run as root: sh scripts/install-deb-deps.sh" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deb-deps: installing:$missing" >&2
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
