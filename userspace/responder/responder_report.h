/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the responder child tells the controller (responder_wire.h,
 * COUNTS, OFFENDERS and ACK): its counters, the clients it answered 550 as
 * offenders, and that it installed a domain table. Pure apart from send():
 * the child's loop calls report_tick() once a second, report_ack() per
 * table and report_flush() when ctl is writable. The output is
 * bounded: when the controller does not read, new messages are skipped
 * (the counters are totals, so the next one catches up) and offenders
 * beyond RESPONDER_OFFENDERS_MAX per tick are dropped and counted.
 */
#ifndef MXG_RESPONDER_REPORT_H
#define MXG_RESPONDER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "responder_wire.h"

#define REPORT_INTERVAL_MS 1000 /* at most one COUNTS message a second */
#define REPORT_OUT_MAX 8192	/* unsent octets kept; more are skipped */

struct responder_report {
	int fd;
	struct responder_counts cnt;  /* totals since the child started */
	struct responder_counts sent; /* as of the last COUNTS queued */
	struct responder_offender pend[RESPONDER_OFFENDERS_MAX];
	size_t n_pend;
	uint64_t dropped;			    /* offender reports that did not fit */
	char unserved[RESPONDER_UNSERVED_MAX][254]; /* since the last tick */
	size_t n_unserved;
	uint32_t ack_seq; /* an ACK that did not fit yet; 0: none */
	uint8_t out[REPORT_OUT_MAX];
	size_t out_len;
};

void report_init(struct responder_report *r, int fd);
/* A client answered 550 as an offender at now_ms. */
void report_offender(struct responder_report *r, const struct mxg_ip *ip, uint64_t now_ms);
/* A client to pass, for reason (enum mxg_pass_reason): queued at once
 * and flushed (the client's retry must find the pass in the kernel);
 * dropped and counted when the buffer is full. */
void report_pass(struct responder_report *r, const struct mxg_ip *ip, uint64_t now_ms,
		 unsigned reason);
/* A greylist tuple seen (hash, the client): queued at once and flushed. */
void report_tuple(struct responder_report *r, const struct mxg_ip *ip, uint64_t now_ms,
		  uint64_t hash);
/* A RCPT named a domain this responder does not serve (bounded, deduplicated
 * per tick; more are dropped: status shows a sample, not a census). */
void report_unserved(struct responder_report *r, const char *domain);
/* Queue COUNTS (when changed), OFFENDERS and UNSERVED (when any), then
 * flush. */

void report_tick(struct responder_report *r);
/* Queue an ACK of the seq-th domain table installed, then flush. When the
 * buffer is full it waits for room (report_flush queues it then): the
 * controller kills a child whose table goes unacknowledged, and the next
 * table, which would acknowledge both, may be a round away. */
void report_ack(struct responder_report *r, uint32_t seq);
/* Send what is queued without blocking; true while some is left (wait
 * for the socket to become writable), false when empty. A fatal send
 * error leaves it queued: the read side sees the EOF. */
bool report_flush(struct responder_report *r);

#endif
