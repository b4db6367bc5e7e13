#!/bin/sh
# The Debian packages `make deb` needs beyond scripts/install-deps.sh:
# dpkg-buildpackage (dpkg-dev), debhelper, fakeroot and lintian; and what
# tests/integration/05-systemd-boot.t boots the package with:
# systemd-nspawn (systemd-container) and mmdebstrap.
# Idempotent and quiet: does nothing when all are present.
set -eu

sh "$(dirname "$0")/install-deps.sh"

sh "$(dirname "$0")/install-packages.sh" install-deb-deps dpkg-dev debhelper fakeroot lintian systemd-container mmdebstrap
