/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One tc gate per interface. Our filter sits at a fixed handle and
 * priority, and a program is taken as ours by its pinned id or its name
 * (tc_hook.h), so two mxgated gating the same interface from different
 * pin_dirs would each replace the other's filter, and each would write
 * maps the running program no longer reads. Each interface a gate
 * attaches to is claimed: an abstract unix socket "mxgate/tc/IFNAME",
 * bound and listening while the gate is open. The abstract namespace
 * belongs to the network namespace, as interface names do, and the kernel
 * releases the name when the process dies, however it dies: a claim
 * cannot go stale the way a pin or a lock file can. A second daemon
 * finds the name taken, learns the holder's pid by connecting
 * (SO_PEERCRED) and refuses to start.
 */
#ifndef MXG_TC_CLAIM_H
#define MXG_TC_CLAIM_H

#include <stddef.h>

/*
 * Claim ifname for this process: 0 and *fd (close-on-exec; tc_unclaim
 * releases it); -EBUSY with err saying which process holds it, after
 * waiting TC_CLAIM_WAIT_MS for a daemon that is going away; another
 * negative errno when no socket can be had. A name held by a process of
 * another user cannot be an mxgated (which runs as root): logged and
 * ignored (*fd = -1), so that an unprivileged user cannot keep the gate
 * from starting.
 */
int tc_claim(const char *ifname, int *fd, char *err, size_t errlen);
void tc_unclaim(int fd);
/* In a child forked without exec (ctl_job.c): close its copies of the
 * claims, which are the parent's. A job child that outlives a killed
 * daemon would otherwise hold the interface against its restart. */
void tc_claims_close_inherited(void);

#endif
