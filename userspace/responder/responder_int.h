/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals of the responder shared by responder.c (the controller's
 * side), responder_priv.c (privilege drop) and responder_proc.c (the
 * child's event loop). Not for other modules. */
#ifndef MXG_RESPONDER_INT_H
#define MXG_RESPONDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* Become uid/gid for good (when change_user), with no capabilities and
 * no way to gain any; raise RLIMIT_NOFILE to nofile first. Then verify
 * it: CapEff, CapPrm, CapInh, CapAmb all zero. 0 or -errno with err. */
int responder_drop_privileges(uid_t uid, gid_t gid, bool change_user, unsigned nofile, char *err,
			      size_t errlen);
/* True when /proc/self/status shows no capability at all. */
int responder_caps_are_zero(char *err, size_t errlen);

/* The child's event loop: serve the listening sockets, take domain
 * tables from ctl. Returns when ctl closes (0) or on a fatal error (1). */
int responder_child_run(const struct mxg_config *cfg, int fd_v4, int fd_v6, int ctl);

#define RESPONDER_DEFAULT_IDLE_MS 30000 /* used when the config says 0 */
#define RESPONDER_DEFAULT_MAX_CONNECTIONS 1000
#define RESPONDER_DEFAULT_MAX_PER_CLIENT 10
#define RESPONDER_DEFAULT_MAX_PER_NET 100
#define RESPONDER_DEFAULT_SESSION_MS 60000

#endif
