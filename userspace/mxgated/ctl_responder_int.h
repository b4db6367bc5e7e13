/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state of the controller's responder, shared by the two files of its
 * unit only: supervise.c (start, restart, push, stop) and ctl_resp_msg.c
 * (reports and heartbeat). Nothing else includes this.
 */
#ifndef MXG_CTL_RESPONDER_INT_H
#define MXG_CTL_RESPONDER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "ctl_responder.h"
#include "event.h"
#include "responder.h"
#include "responder_wire.h"

#define CTL_RESPONDER_BACKOFF_MS 1000 /* first restart delay, doubled */
#define CTL_RESPONDER_BACKOFF_MAX_MS 60000
#define CTL_RESPONDER_STABLE_MS 60000 /* lived this long: reset backoff */
/* A domain table the responder has not acknowledged (RESPONDER_MSG_ACK)
 * this long after it was sent: its loop is stuck, and it is killed. Its
 * loop never blocks, so a healthy one answers in milliseconds; 5 s leaves
 * room for a loaded host and is still far below a sender's greeting
 * timeout. A round pushes a table, so a stuck child is found within
 * probe_interval + this. */
#define CTL_RESPONDER_ACK_MS 5000
#define CTL_RESPONDER_ACK_RING 64 /* send times kept of unacknowledged tables */

/* The messages read from the responder (ctl_resp_msg.c). */
struct ctl_resp_reader {
	bool watching;
	struct responder_wire_reader rd;
};

struct ctl_responder {
	struct responder proc; /* the child: pid, ctl_fd, its sockets */
	bool alive;
	struct ev_timer restart_timer;
	uint64_t backoff_ms;
	uint64_t started_ms;
	struct ctl_resp_reader rr;
	struct responder_counts base; /* totals of responders gone */
	struct responder_counts cur;  /* the running one's last report */
	/* The heartbeat: tables sent to the running child and acknowledged,
	 * and when each unacknowledged one was sent (by number % ring). */
	uint32_t pushed;
	uint32_t acked;
	uint64_t push_ms[CTL_RESPONDER_ACK_RING];
	struct ev_timer ack_timer;
};

/* The one way to end a running child that misbehaves (stuck, garbage,
 * cannot be sent its table): log "responder (pid N)" and the reason (fmt,
 * starting with ": " or " "), stop reading it, close our end and
 * SIGKILL it. Its sockets close, the gate stops steering (mail passes to
 * the MTA), and SIGCHLD restarts it (ctl_responder_reap). */
void ctl_responder_kill(struct controller *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ctl_resp_msg.c */
void ctl_responder_watch(struct controller *c);
/* Stop reading; the running child's counts go into base. */
void ctl_responder_unwatch(struct controller *c);
/* ack_timer: kill a child that has not acknowledged a table. */
void ctl_responder_ack_cb(struct ev_loop *loop, void *arg);

#endif
