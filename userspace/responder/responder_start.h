/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the responder starts with. mxgated forks and executes its own
 * binary as `mxgated -x responder` (as OpenSMTPD re-executes each of its
 * processes): the responder gets a fresh address space and nothing of
 * the controller's heap. It inherits only the descriptors below, at
 * fixed numbers, and reads everything else from the start blob: the ids
 * and chroot directory of its confinement, how to log, and the part of
 * the configuration it uses (responder_config_subset), never the
 * served domains (they come over the wire) or the controller's state.
 * The blob is a sealed memfd: written once by the controller, read and
 * checked here before a byte from the network.
 */
#ifndef MXG_RESPONDER_START_H
#define MXG_RESPONDER_START_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* The descriptors the responder process is given; every other is closed
 * before the exec (0-2 stay: stderr is the log under mxgated -f). */
#define RSP_FD_WIRE 3	 /* the socketpair to the controller */
#define RSP_FD_START 4	 /* the start blob (closed once read) */
#define RSP_FD_LISTEN4 5 /* listening socket, IPv4 (absent: see have_v4) */
#define RSP_FD_LISTEN6 6 /* listening socket, IPv6 */
#define RSP_FD_INHERIT 7 /* the first descriptor closed before the exec */

/* The role in the executed command line: argv {"mxgated", "-x", "responder"}. */
#define RSP_ROLE_OPT "-x"
#define RSP_ROLE_NAME "responder"

struct rsp_start {
	pid_t parent; /* the controller: its death ends the responder */
	uid_t uid;
	gid_t gid;
	bool change_user; /* uid/gid to take (the controller runs as root) */
	bool log_syslog;  /* else stderr */
	bool log_debug;
	bool have_v4, have_v6; /* RSP_FD_LISTEN4/6 are ours */
	uint16_t steered_port; /* see struct responder */
	char user[64];	       /* for the log line only */
	char jail[256];	       /* the chroot directory; "" = none */
	struct mxg_config cfg; /* the subset only (responder_config_subset) */
};

/* Copy into *to (zeroed here) only the settings the responder process
 * reads: its limits, HELO name, passes, greylist and offender timings,
 * TLS files, the handoff target. No domains, no paths of the controller,
 * no other secret. */
void responder_config_subset(const struct mxg_config *from, struct mxg_config *to);
/* s as a sealed memfd (close-on-exec; the spawn moves it to
 * RSP_FD_START): the fd, or -errno with err. */
int responder_start_write(const struct rsp_start *s, char *err, size_t errlen);
/* Read and check the blob of fd into *s (its cfg to config_free on 0).
 * 0, or -errno with err. Trusts nothing: sizes, seals, magic, counts. */
int responder_start_read(int fd, struct rsp_start *s, char *err, size_t errlen);

/* The process entry of the role: when argv is the role's command line,
 * run the responder and never return; else return 0 (the caller goes on
 * with its own main). ident names the log lines and the process (comm). */
int responder_role_main(int argc, char **argv, const char *ident);

#endif
