// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test hook kept out of the shipped binaries: preloaded into mxgated
 * (LD_PRELOAD, see mxg_start in tests/lib/mxgated.sh) by
 * tests/integration/93-responder-not-ready.t to hold a responder child
 * before it reports READY. The child is mxgated's only caller of
 * chroot(2), on its way to READY: while the file named by
 * $MXG_TEST_HOLD_FILE exists, the caller stops itself (SIGSTOP) first and
 * makes the real call once continued.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int chroot(const char *path)
{
	int (*real)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "chroot");
	const char *hold = getenv("MXG_TEST_HOLD_FILE");

	if (hold && hold[0] && access(hold, F_OK) == 0)
		raise(SIGSTOP);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(path);
}
