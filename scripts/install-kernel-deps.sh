#!/bin/sh
# The Debian packages `make check-kernel` needs beyond scripts/install-deps.sh:
# qemu to boot a Debian kernel, busybox-static for the initramfs that
# mounts this host's root over 9p, kmod (depmod, modprobe) for the kernel's
# modules, xz-utils to unpack the few the initramfs loads. Idempotent and
# quiet: does nothing when all are present.
set -eu

sh "$(dirname "$0")/install-deps.sh"

PACKAGES="qemu-system-x86 busybox-static kmod xz-utils cpio"
missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-kernel-deps: missing packages:$missing; run as root: sh scripts/install-kernel-deps.sh" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-kernel-deps: installing:$missing" >&2
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
