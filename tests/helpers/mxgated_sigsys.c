// SPDX-License-Identifier: GPL-2.0-only
/*
 * mxgated, built for one test (47-responder-confined.t): its responder,
 * once confined, makes a system call outside the seccomp allowlist
 * (mkdirat) as soon as it accepts a connection, as an exploited parser
 * would. The kernel must kill it with SIGSYS; its listening sockets close,
 * the tc program stops steering (the gate opens) and the controller
 * restarts it. The production mxgated has no such hook (the weak symbol
 * responder_test_after_accept is NULL there).
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "responder_int.h"

void responder_test_after_accept(void)
{
	syscall(SYS_mkdirat, AT_FDCWD, "/forbidden", 0700);
}

#include "../../userspace/mxgated/main_mxgated.c"
