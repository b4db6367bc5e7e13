/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller's responder: the one unit (supervise.c, ctl_resp_msg.c)
 * that starts the child, feeds it the domain table, reads its reports,
 * watches its heartbeat and kills and restarts it. The rest of mxgated
 * calls only what this header declares; the state is ctl_responder_int.h's.
 */
#ifndef MXG_CTL_RESPONDER_H
#define MXG_CTL_RESPONDER_H

#include <stdbool.h>
#include <sys/types.h>

#include "responder_wire.h"

struct controller;
struct ctl_responder;

/* Allocate the (stopped) responder state: NULL when out of memory. */
struct ctl_responder *ctl_responder_new(struct controller *c);
/* Stop the child (if any) and free the state. */
void ctl_responder_free(struct controller *c);

/* Start the child now; on failure retry with a backoff. 0, or negative
 * errno when not even a retry could be planned. */
int ctl_responder_begin(struct controller *c);
/* SIGCHLD: reap; a dead responder is restarted with a backoff. */
void ctl_responder_reap(struct controller *c);
/* A reload changed what the child was started with (pass_recipients,
 * user, limits, greeting name, offender settings): end it and start a new
 * one at once (fail open in between). Nothing when it is not running. */
void ctl_responder_renew(struct controller *c, const char *why);
/* Send the current domain table (every round and on changes). */
void ctl_responder_push(struct controller *c);
/* Another edge's offender, an offender here until until_ms (monotonic):
 * sent after the next table or SAME (pushed at once); a bounded queue,
 * kept while no child is ready. */
void ctl_responder_fleet_offender(struct controller *c, const struct mxg_ip *ip, uint64_t until_ms);
/* The same without the push (a new child's first table takes them):
 * 0, -ENOSPC when the queue is full (counted), -ENOENT without a child. */
int ctl_responder_fleet_offender_queue(struct controller *c, const struct mxg_ip *ip,
				       uint64_t until_ms);

bool ctl_responder_alive(const struct controller *c); /* READY: serving */
pid_t ctl_responder_pid(const struct controller *c);  /* 0 when not alive */
/* "down", "starting" (forked, not ready yet), "running", "stopping". */
const char *ctl_responder_phase(const struct controller *c);
/* The child in any phase but down, even before READY; 0 for none. */
pid_t ctl_responder_child(const struct controller *c);
/* Counts of every responder so far: those gone plus the running one. */
void ctl_responder_counts(const struct controller *c, struct responder_counts *out);

#endif
