#!/bin/sh
# The Debian packages `make check-kernel` needs beyond scripts/install-deps.sh:
# qemu to boot a Debian kernel, busybox-static for the initramfs that
# mounts this host's root over 9p, kmod (depmod, modprobe) for the kernel's
# modules, xz-utils to unpack the few the initramfs loads. Idempotent and
# quiet: does nothing when all are present.
set -eu

sh "$(dirname "$0")/install-deps.sh"

sh "$(dirname "$0")/install-packages.sh" install-kernel-deps qemu-system-x86 busybox-static kmod xz-utils cpio
