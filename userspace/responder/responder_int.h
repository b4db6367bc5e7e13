/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals of the responder shared by responder.c (the controller's
 * side), responder_priv.c (privilege drop) and responder_proc.c (the
 * child's event loop). Not for other modules. */
#ifndef MXG_RESPONDER_INT_H
#define MXG_RESPONDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/types.h>
#include <seccomp.h>

#include "config.h"
#include "offender.h"

struct responder_wire_reader;

/* responder_fleet.c: a FLEET_OFFENDERS message into t; -EBADMSG for a
 * record that does not check (the controller is trusted: a bug). */
int responder_fleet_offenders(struct offender_table *t, const struct responder_wire_reader *rd,
			      uint64_t now_ms);

/* responder_role.c: the READY message on ctl, error 0 (serving) or an
 * errno with text; _exit(1) when it cannot be sent. */
void responder_send_ready(int ctl, int error, const char *text);

/* Become uid/gid for good (when change_user), with no capabilities and
 * no way to gain any; raise RLIMIT_NOFILE to nofile first. Then verify
 * it: CapEff, CapPrm, CapInh, CapAmb all zero. status_fd: /proc/self/status
 * opened before a chroot (-1: open it now). 0 or -errno with err. */
int responder_drop_privileges(uid_t uid, gid_t gid, bool change_user, unsigned nofile,
			      int status_fd, char *err, size_t errlen);

/* responder_confine.c. The controller picks the chroot directory before
 * the fork: /var/empty when it is an empty root-owned directory, else
 * "empty" beside the control socket (/run/mxgate/empty), made here.
 * out = "" when not root (no chroot possible). */
#define RESPONDER_JAIL_SYSTEM "/var/empty"
int responder_jail_dir(const struct mxg_config *cfg, char *out, size_t outlen, char *err,
		       size_t errlen);
/* The child, still root: chroot to dir ("" = none). */
int responder_chroot(const char *dir, char *err, size_t errlen);
/* The child, after the privilege drop (no_new_privs set): install the
 * system call allowlist; anything else kills the process. */
int responder_seccomp(char *err, size_t errlen);
/* Load into this process a filter that kills it on any system call but
 * allowed[0..n) and what rules (may be NULL) adds to ctx: the responder's
 * and the handoff connector's. 0 or a negative errno. */
int responder_seccomp_load(const int *allowed, size_t n,
			   int (*rules)(scmp_filter_ctx ctx, void *arg), void *arg);

/* responder_tls.c, in the child before the chroot: the TLS server
 * context from tls_cert_file and tls_key_file (*ctx NULL when none is
 * set), with OpenSSL's random generators seeded. 0 or -errno with err. */
int responder_tls_prepare(const struct mxg_config *cfg, SSL_CTX **ctx, char *err, size_t errlen);

/* The child's event loop: serve the listening sockets, take domain
 * tables from ctl (and STARTTLS with tls, NULL = none). Returns when ctl
 * closes (0) or on a fatal error (1). */
/* Note this host's addresses (before the privilege drop): local clients
 * are never offenders. */
void responder_self_snapshot(void);
/* steered_port: struct responder's; connector: the handoff connector's
 * end (responder_connector.h), -1 = none. */
int responder_child_run(const struct mxg_config *cfg, int fd_v4, int fd_v6, uint16_t steered_port,
			int ctl, SSL_CTX *tls, int connector);

/* The settings the responder uses as they are (config.c sets their
 * defaults, config_keys.c refuses 0): 0, or -EINVAL with err naming the one that is
 * missing. A configuration not from config_load (the test harness) must
 * set them too. */
int responder_cfg_check(const struct mxg_config *cfg, char *err, size_t errlen);

#endif
