/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state of the controller's responder, shared by the files of its
 * unit only: supervise.c (start, READY, restart, stop), ctl_resp_push.c
 * (the domain table) and ctl_resp_msg.c (reports and heartbeat). Nothing
 * else includes this. None of them blocks the event loop: every wait for
 * the child is an event on its socket or a timer.
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
/* From the fork to READY: the child's chroot, privilege drop and checks
 * take milliseconds; one not ready in 5 s is stuck, and is ended. */
#define CTL_RESPONDER_READY_MS 5000
/* A table the child has not read in full this long after we began to
 * write it: its loop is stuck (the heartbeat's reasoning). */
#define CTL_RESPONDER_SEND_MS 5000
/* Other edges' offenders queued for the child: 4 messages' worth; more
 * before they are sent are dropped (counted; the nft set and the
 * controller's list still have them). */
#define CTL_RESPONDER_FLEET_OFF_MAX (4 * RESPONDER_OFFENDERS_MAX)
/* SIGTERM, then SIGKILL when it has not exited this long after. */
#define CTL_RESPONDER_STOP_GRACE_MS 1000

enum ctl_resp_phase {
	CTL_RESP_DOWN,	   /* no child (a restart may be planned) */
	CTL_RESP_STARTING, /* forked, waiting for READY */
	CTL_RESP_READY,	   /* serving: tables, reports, heartbeat */
	CTL_RESP_ENDING,   /* signalled, waiting for SIGCHLD */
};

/* The messages read from the responder (ctl_resp_msg.c). */
struct ctl_resp_reader {
	bool watching;
	struct responder_wire_reader rd;
};

struct ctl_responder {
	struct responder proc; /* the child: pid, ctl_fd, its sockets */
	enum ctl_resp_phase phase;
	struct ev_timer ready_timer; /* STARTING: READY deadline */
	struct ev_timer stop_timer;  /* ENDING: SIGKILL after the grace */
	struct ev_timer restart_timer;
	uint64_t backoff_ms;
	uint64_t started_ms;
	int oom_known;	    /* 0: oom_kills holds memory.events at the start */
	uint64_t oom_kills; /* of our cgroup, when this child started */
	struct ctl_resp_reader rr;
	struct responder_counts base; /* totals of responders gone */
	struct responder_counts cur;  /* the running one's last report */
	/* The heartbeat: tables sent to the running child and acknowledged,
	 * and when each unacknowledged one was sent (by number % ring). */
	uint32_t pushed;
	uint32_t acked;
	uint64_t push_ms[CTL_RESPONDER_ACK_RING];
	struct ev_timer ack_timer;
	/* The table being written (ctl_resp_push.c): one at a time; a push
	 * meanwhile only asks for the newest table after it. */
	uint8_t *out;
	size_t out_len, out_off;
	size_t out_tab_len; /* of out, the table or SAME (then other edges' offenders) */
	unsigned out_waits; /* times the socket was full for this table */
	bool push_again;
	bool out_same;	    /* out is a SAME, not a table */
	bool renewing;	    /* ended for a reload's new settings (ctl_responder_renew) */
	bool send_extended; /* its send deadline was extended once (ctl_resp_push.c) */
	struct ev_timer send_timer;
	/* The last table written in full to the running child, encoded: a
	 * push that encodes to these very bytes sends a SAME instead. NULL
	 * whenever the child may not hold it (none yet, a new child, a table
	 * cut off): then the full table goes, which is always right. */
	uint8_t *last;
	size_t last_len;
	/* c->table_gen when out and last were encoded: a push with last
	 * of the same generation sends a SAME without encoding at all. */
	uint64_t out_gen, last_gen;
	/* Other edges' offenders waiting for the next push (the child keeps
	 * them in its offender table; ctl_responder_fleet_offender). */
	struct responder_offender fleet_off[CTL_RESPONDER_FLEET_OFF_MAX];
	size_t n_fleet_off;
	uint64_t fleet_off_dropped;
	/* The table being encoded, CTL_RESPONDER_ENCODE_STEP domains an
	 * iteration (enc_timer), of the domain array enc_domains. */
	bool encoding;
	struct responder_wire_builder enc;
	size_t enc_next;
	struct ctl_domain **enc_domains;
	struct ev_timer enc_timer;
};

/* The one way to end a running child that misbehaves (stuck, garbage,
 * cannot be sent its table): log "responder (pid N)" and the reason (fmt,
 * starting with ": " or " "), stop reading it, close our end and
 * SIGKILL it. Its sockets close, the gate stops steering (mail passes to
 * the MTA), and SIGCHLD restarts it (ctl_responder_reap). */
void ctl_responder_kill(struct controller *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* End a child that failed to start: log why, close our end (it exits on
 * EOF), SIGTERM it and SIGKILL it after CTL_RESPONDER_STOP_GRACE_MS;
 * SIGCHLD restarts it with a backoff. */
void ctl_responder_end(struct controller *c, const char *why);
/* READY came (in cr->rr.rd): serve, or end a child that failed. */
void ctl_responder_ready(struct controller *c);

/* ctl_resp_msg.c: reading READY (phase STARTING), then the reports. */
int ctl_responder_watch(struct controller *c);
/* Stop reading and writing; the running child's counts go into base. */
void ctl_responder_unwatch(struct controller *c);
/* After READY: read reports from now on. */
void ctl_responder_read_reports(struct controller *c);
/* Read what the child has sent (bounded) before a deadline blames it:
 * our own loop may have been the slow one (a reload's postconf). */
void ctl_responder_drain(struct controller *c);

/* ctl_resp_push.c: write what is queued (the socket is writable). */
void ctl_responder_flush(struct controller *c);
/* Drop the table being written (the child is gone or being ended). */
void ctl_responder_push_drop(struct controller *c);
/* Forget the last table sent: the next push sends a full one. */
void ctl_responder_last_drop(struct controller *c);
#define CTL_RESPONDER_ENCODE_STEP 8192 /* domains of the table encoded per iteration */
#define CTL_RESPONDER_ENCODE_MIN 256   /* at least, however busy the iteration */
/* enc_timer: encode the next part of the table. */
void ctl_responder_encode_cb(struct ev_loop *loop, void *arg);
/* send_timer: the child has not read the table in time. */
void ctl_responder_send_cb(struct ev_loop *loop, void *arg);
/* ack_timer: kill a child that has not acknowledged a table. */
void ctl_responder_ack_cb(struct ev_loop *loop, void *arg);

#endif
