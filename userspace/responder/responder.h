/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The responder: a child process of mxgated that answers steered SMTP
 * connections with the replies of docs/responder.md. The controller creates the
 * listening sockets (it needs their fds for the SOCKMAP), forks and
 * executes its own binary as `mxgated -x responder` (responder_start.h:
 * what the responder inherits), and the
 * child drops to `user` with no capabilities before it reads a byte from
 * the internet. Domain states reach it over a socketpair
 * (responder_wire.h has the message format).
 *
 * The order matters for fail-open:
 *
 *     responder_listen(&r)                  two listening sockets
 *     gate->set_responder(g, r.listen_fd_v4, r.listen_fd_v6)   into the SOCKMAP
 *     responder_spawn(&r, cfg)              fork+exec; the PARENT CLOSES ITS COPIES
 *     READY on r.ctl_fd                     read without blocking
 *     a DOMAINS table (responder_wire_encode) now and on every change
 *
 * After responder_spawn() the child is the only owner of the listening
 * sockets (r.listen_fd_* are -1 in the parent): when it dies, for any
 * reason, the sockets close, the kernel removes them from the SOCKMAP and
 * the tc program stops steering (the gate opens). So the SOCKMAP must be
 * filled between listen and spawn, never later.
 *
 * The controller's end (ctl_fd) is non-blocking: mxgated waits for READY,
 * writes the tables and reads the reports on its event loop, with
 * deadlines (mxgated/supervise.c, ctl_resp_push.c, ctl_resp_msg.c). After
 * its READY message the child writes only reports (responder_wire.h).
 * EOF on ctl_fd means the responder is gone: reap it, then listen,
 * set_responder, spawn and push again. Likewise the child exits
 * when ctl_fd closes (controller gone). A config reload that changes
 * helo_name, user or a responder limit needs a respawn: the child keeps the
 * config it was started with.
 */
#ifndef MXG_RESPONDER_H
#define MXG_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "config.h"
#include "smtp_session.h"

struct responder {
	pid_t pid;	  /* 0 = no child */
	int ctl_fd;	  /* controller end of the socketpair, -1 = none */
	int listen_fd_v4; /* -1 after responder_spawn(): the child owns them */
	int listen_fd_v6;
	uint16_t port_v4; /* the ephemeral ports (for nft redirect, logs) */
	uint16_t port_v6;
	/* The destination port a connection steered to the listeners
	 * shows (its original destination): 0 = MXG_SMTP_PORT, as the tc
	 * and nft gates steer port 25. A connection showing another port
	 * was dialled to the listener from this host and is closed unserved.
	 * A caller whose clients dial the listeners directly (the test
	 * harness) names the listening port here. */
	uint16_t steered_port;
};

/* Create the two listening sockets (127.0.0.1 and ::1 with IPV6_V6ONLY,
 * ephemeral ports, non-blocking, close-on-exec, no SO_REUSEPORT:
 * bpf_sk_assign refuses it before Linux 6.6). Initialises all of *r. */
int responder_listen(struct responder *r, char *err, size_t errlen);
/* The same on given addresses and port (0 = ephemeral); v4 or v6 may be
 * NULL to leave that family out. For tests and the harness. */
int responder_listen_on(struct responder *r, const struct mxg_ip *v4, const struct mxg_ip *v6,
			uint16_t port, char *err, size_t errlen);
/*
 * Fork the child: it closes every other descriptor, drops to cfg->user
 * (when run as root; "" = nobody), verifies it holds no capability, and
 * reports READY on ctl_fd; only then does it accept connections. Does not
 * wait for READY: ctl_fd is non-blocking, and the caller reads READY
 * (responder_wire_read) within a deadline of its own. Closes the parent's
 * copies of the listening sockets in every case.
 */
int responder_spawn(struct responder *r, const struct mxg_config *cfg, char *err, size_t errlen);
/* The READY message rd holds: 0 when the child serves, or the negative
 * errno of its failed privilege drop with its words in err. */
struct responder_wire_reader;
int responder_ready_result(const struct responder_wire_reader *rd, char *err, size_t errlen);
/* Close the fds, SIGTERM the child, wait up to a second for it to exit,
 * then SIGKILL and reap it. It blocks: only for a process on its way out
 * (mxgated after its loop ended, the test harness); the loop ends a child
 * with signals and timers (supervise.c). Safe to call twice and after the
 * child died by itself. */
void responder_stop(struct responder *r);

#endif
