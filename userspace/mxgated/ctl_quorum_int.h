/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The quorum's exchange of verdicts, shared by its two files only:
 * ctl_quorum.c (writes, start and stop, status and metrics) and
 * ctl_quorum_read.c (the read of the other edges' verdicts).
 */
#ifndef MXG_CTL_QUORUM_INT_H
#define MXG_CTL_QUORUM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "event.h"
#include "quorum.h"

struct qread;

/* A write waiting for room on the connection. */
struct qw {
	struct mxg_ip ip;
	bool up;
};

struct ctl_quorum {
	struct controller *c;
	struct quorum_view view;
	char edge[QUORUM_EDGE_ID_MAX];
	char prefix[MXG_REDIS_PREFIX_MAX];
	uint64_t connects; /* the fleet's, at the last round: changed = all again */
	struct qw *w;	   /* this round's writes, w_next the next to send */
	size_t n_w, w_next, cap_w;
	int64_t w_wall; /* their time */
	struct ev_timer w_timer;
	unsigned w_inflight; /* SETs sent, not yet answered */
	uint64_t written;

	struct qread *read;	 /* in progress; NULL none */
	struct ev_timer r_timer; /* the next MGETs, when the connection was full */
	uint64_t reads, reads_failed, keys_read;
	unsigned edges_seen;   /* other edges in the index at the last read */
	bool read_failing;     /* the last read failed (logged once per run) */
	uint64_t read_took_ms; /* the last complete read, from its first command */
};

/* ctl_quorum_read.c: once at the start; a read unless one runs; the one
 * running abandoned (the quorum stops). */
void ctl_quorum_read_init(struct ctl_quorum *q);
void ctl_quorum_read_start(struct ctl_quorum *q);
void ctl_quorum_read_abandon(struct ctl_quorum *q);

#endif
