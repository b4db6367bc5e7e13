/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stored MX sets, sized to what DNS returned and shared where identical.
 * DNS hands over a struct mx_set with room for the worst case (32 hosts of
 * 16 addresses, ~20 KB); a domain keeps an mxs instead: one allocation
 * holding its hosts, their addresses and names, interned in a store so
 * that 10,000 domains naming the same two MX hosts share one copy.
 * Immutable once made; reference counted. Pure, no I/O.
 */
#ifndef MXG_MXS_H
#define MXG_MXS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dns.h"
#include "htab.h"

struct mxs_host {
	const char *name; /* lower case, no trailing dot; inside the mxs */
	const struct mxg_ip *addrs;
	uint16_t pref;
	uint8_t n_addrs;     /* <= MXG_MX_MAX_ADDRS */
	uint8_t addr_status; /* enum mx_status: MX_OK, or why no address */
};

struct mxs_store;

struct mxs {
	struct mxs_store *store;
	struct htab_node node; /* in the store */
	uint32_t refs;
	uint8_t status;	 /* enum mx_status: MX_OK, MX_NULL, MX_NO_RECORDS */
	uint8_t n_hosts; /* <= MXG_MX_MAX_HOSTS, in the order DNS gave */
	struct mxs_host hosts[];
};

struct mxs_store *mxs_store_new(void);
/* Every mxs must have been put back first. */
void mxs_store_free(struct mxs_store *s);
/* Distinct sets and bytes they hold (for metrics). */
size_t mxs_store_count(const struct mxs_store *s);
size_t mxs_store_bytes(const struct mxs_store *s);

/* The stored copy of set (status, hosts, addresses; not the TTL or the
 * error text), made or shared, with a reference for the caller. NULL on
 * out of memory. */
struct mxs *mxs_get(struct mxs_store *s, const struct mx_set *set);
/* Another reference to x. */
struct mxs *mxs_ref(struct mxs *x);
/* Drop a reference; the last one frees. NULL is fine. */
void mxs_put(struct mxs *x);

#endif
