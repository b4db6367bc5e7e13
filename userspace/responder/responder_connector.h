/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handoff's connector (docs/responder.md, "Handoff"): a small process
 * the responder child forks before its chroot, which makes the one kind of
 * outgoing connection the responder may have, to the configured handoff
 * address, and passes each back over a SOCK_SEQPACKET socketpair
 * (SCM_RIGHTS). The responder keeps socket() and connect() refused by its
 * seccomp allowlist: whatever it is made to do, it can only ask for a
 * connection, never name where to. The connector reads nothing but
 * 8-octet request ids, runs as the responder's user under an allowlist of
 * its own, and exits when the responder's end closes.
 */
#ifndef MXG_RESPONDER_CONNECTOR_H
#define MXG_RESPONDER_CONNECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Fork the connector for addr. Returns the responder's end (non-blocking,
 * close-on-exec) and the pid, or -errno with err. */
int rsp_connector_start(const struct sockaddr_storage *addr, socklen_t addr_len, uid_t uid,
			gid_t gid, bool change_user, pid_t *pid, char *err, size_t errlen);

/* Ask for one connection, named by id in the answer. 0, -EAGAIN (the
 * connector is behind: answer the client 451), or -errno. */
int rsp_connector_ask(int fd, uint64_t id);

/* One answer: 1 with *id and either *conn (a non-blocking socket whose
 * connect is under way: wait for it to be writable, then SO_ERROR) or
 * *conn = -1 and *error (socket's or connect's errno); 0 = none yet;
 * -errno when the connector is gone. */
int rsp_connector_take(int fd, uint64_t *id, int *conn, int *error);

#endif
