// SPDX-License-Identifier: GPL-2.0-only
/* The fleet's queue of writes while away; see fleet_queue.h. */
#include "fleet_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int fleet_queue_init(struct fleet_queue *q)
{
	uint64_t seed = 0;

	memset(q, 0, sizeof(*q));
	/* Clients choose their addresses: keep them from aiming at one run
	 * of the count table. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)(uintptr_t)q;
	q->r = calloc(FLEET_QUEUE_MAX, sizeof(*q->r));
	if (!q->r || netcount_init(&q->nets, FLEET_QUEUE_MAX, seed) < 0) {
		fleet_queue_free(q);
		return -ENOMEM;
	}
	return 0;
}

void fleet_queue_free(struct fleet_queue *q)
{
	free(q->r);
	netcount_free(&q->nets);
	memset(q, 0, sizeof(*q));
}

static uint64_t net_of(const struct fleet_record *r)
{
	uint64_t net, net64;

	mxg_net_keys(&r->ip, &net, &net64);
	return net;
}

static void take_head(struct fleet_queue *q, struct fleet_record *out)
{
	struct fleet_record *r = &q->r[q->head];

	netcount_dec(&q->nets, net_of(r));
	if (out)
		*out = *r;
	q->head = (q->head + 1) % FLEET_QUEUE_MAX;
	q->n--;
}

void fleet_queue_put(struct fleet_queue *q, const struct fleet_record *r)
{
	uint64_t net = net_of(r);

	if (netcount_get(&q->nets, net) >= FLEET_QUEUE_PER_NET) {
		q->dropped++;
		return;
	}
	if (q->n == FLEET_QUEUE_MAX) {
		take_head(q, NULL);
		q->dropped++;
	}
	q->r[(q->head + q->n) % FLEET_QUEUE_MAX] = *r;
	q->n++;
	netcount_inc(&q->nets, net);
}

bool fleet_queue_pop(struct fleet_queue *q, struct fleet_record *r)
{
	if (!q->n)
		return false;
	take_head(q, r);
	return true;
}
