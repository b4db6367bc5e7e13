/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Greylisting and passes as one unit, pure: the tuples, the passed
 * clients and what status and metrics count of them. The controller owns
 * one (mxgated/ctl_passes.c writes its changes to the gate and logs them);
 * the responder and the policy service reach it only through the pass
 * decision (pass_decide.h) and the controller.
 */
#ifndef MXG_PASS_DB_H
#define MXG_PASS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "greylist.h"
#include "pass_decide.h"
#include "pass_table.h"

struct pass_db {
	struct greylist_table gl;     /* tuples (greylist.h) */
	uint64_t gl_seed;	      /* keys the stored tuple hashes */
	uint64_t gl_seen, gl_early;   /* tuples reported; back too early */
	struct pass_table passes;     /* passed clients (pass_table.h) */
	uint64_t added[2];	      /* passes given: greylist, recipient */
	uint64_t hits[PASS_GREYLIST]; /* let through by pass_decide, by why (policy) */
};

/* 0 or -ENOMEM / -EINVAL. seed: secret, keys the stored tuples;
 * tuples: the greylist table's size (0: default), max_passes the pass
 * table's. */
int pass_db_init(struct pass_db *db, uint64_t delay_ms, uint64_t window_ms, size_t tuples,
		 size_t max_passes, uint64_t seed);
void pass_db_free(struct pass_db *db);
/* The responder's tuple hash (seed 0) seen from client at now_ms with
 * the current greylist_delay and greylist_window (a reload may change
 * them, and the limits in db->gl). */
enum greylist_verdict pass_db_tuple(struct pass_db *db, const struct mxg_ip *client, uint64_t hash,
				    uint64_t now_ms, uint64_t delay_ms, uint64_t window_ms);

#endif
