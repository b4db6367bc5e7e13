/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How many entries of a table each client network holds, exactly, for the
 * per-network limits of the greylist and pass tables and of the fleet's
 * write queue (postgrey and rspamd aggregate clients by network the same
 * way). A network is a 64-bit key
 * (mxg_net_keys); the counts live in a fixed open-addressing table sized
 * for the most entries the counted table can hold, so it never grows.
 */
#ifndef MXG_NETCOUNT_H
#define MXG_NETCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct netcount_slot {
	uint64_t key; /* 0: free */
	uint32_t n;
};

struct netcount {
	struct netcount_slot *s;
	size_t mask; /* slots - 1, a power of two */
	uint64_t seed;
};

/* Room for at most max networks with a count (the counted table's size). */
int netcount_init(struct netcount *nc, size_t max, uint64_t seed);
void netcount_free(struct netcount *nc);
uint32_t netcount_get(const struct netcount *nc, uint64_t key);
void netcount_inc(struct netcount *nc, uint64_t key);
void netcount_dec(struct netcount *nc, uint64_t key);

/* A client's networks: *net its IPv4 /24 or IPv6 /48, *net64 its IPv6
 * /64 (0 for IPv4, which has no such level). Never 0 otherwise. */
void mxg_net_keys(const struct mxg_ip *ip, uint64_t *net, uint64_t *net64);

#endif
