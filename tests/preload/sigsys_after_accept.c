// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test hook kept out of the shipped binaries: preloaded into mxgated
 * (LD_PRELOAD, see mxg_start in tests/lib/mxgated.sh) by
 * tests/integration/47-responder-confined.t. The responder process
 * (mxgated executed as `mxgated -x responder`, which inherits the
 * environment and so this preload) makes a system call outside its
 * seccomp allowlist (mkdirat) as soon as it accepts a connection, as an
 * exploited parser would. The kernel must kill it with SIGSYS; its
 * listening sockets close, the gate opens and the controller restarts
 * it. The controller's own accepts go through untouched.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int is_responder;

/* glibc hands a preloaded object's constructors the command line: the
 * role is known before main, and before the chroot hides /proc. */
__attribute__((constructor)) static void role(int argc, char **argv)
{
	is_responder = argc == 3 && !strcmp(argv[1], "-x") && !strcmp(argv[2], "responder");
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int (*real)(int, struct sockaddr *, socklen_t *, int) =
	    (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
	int rc;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(fd, addr, len, flags);
	if (rc >= 0 && is_responder)
		syscall(SYS_mkdirat, AT_FDCWD, "/forbidden", 0700);
	return rc;
}
