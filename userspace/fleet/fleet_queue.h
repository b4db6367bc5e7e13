/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The records written while Redis is away (or too slow to take them):
 * a ring, bounded twice. In all, the newest FLEET_QUEUE_MAX: a full queue
 * forgets its oldest. Per client network (IPv4 /24, IPv6 /48, as the
 * greylist and pass tables count them), FLEET_QUEUE_PER_NET: a network
 * at its share has its new records dropped, so one network's flood of
 * tuples cannot push every other sender's out while the edge is away.
 * Nothing lost here becomes a bounce: passes and offenders are written
 * again at reconnection (fleet_hooks.ready), and a tuple not shared costs
 * its sender one more 451 at another edge.
 */
#ifndef MXG_FLEET_QUEUE_H
#define MXG_FLEET_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_sync.h"
#include "netcount.h"

#define FLEET_QUEUE_MAX 4096	/* records written while away */
#define FLEET_QUEUE_PER_NET 256 /* of them, one client network's at most */

struct fleet_queue {
	struct fleet_record *r; /* ring of FLEET_QUEUE_MAX */
	size_t head, n;
	struct netcount nets; /* records queued per network */
	uint64_t dropped;     /* forgotten: the oldest of a full queue, a network past its share */
};

/* 0 or -ENOMEM. */
int fleet_queue_init(struct fleet_queue *q);
void fleet_queue_free(struct fleet_queue *q);
/* Keep a copy of r, within the bounds above. */
void fleet_queue_put(struct fleet_queue *q, const struct fleet_record *r);
/* The oldest record into *r, taken out; false when empty. */
bool fleet_queue_pop(struct fleet_queue *q, struct fleet_record *r);

#endif
