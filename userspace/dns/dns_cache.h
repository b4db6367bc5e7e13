/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DNS for many domains, above the transport (dns_request.c and below).
 *
 * A hosted backup MX serves 100,000 domains that name a few hundred MX
 * hosts. Resolving each domain's MX set with the A and AAAA of each of its
 * hosts would ask for the same host addresses once per domain, all at
 * once at start-up. So:
 *   - a bounded number of lookups run at once (max_inflight); the others
 *     wait in a FIFO queue, so the resolver sees a steady stream, never a
 *     burst of 100,000 questions;
 *   - host addresses are cached by host name for their TTL (clamped): a
 *     host is resolved once per TTL for every domain that names it, and
 *     lookups that need a host being resolved wait for that one answer;
 *   - a host whose lookup failed is not asked again for DNS_HOST_FAIL_MS,
 *     so a failing name server is not hammered by every domain.
 * The callback gets the same complete struct mx_set as dns_resolve_mx,
 * with ttl_s the lowest of the MX TTL and the host TTLs used.
 */
#ifndef MXG_DNS_CACHE_H
#define MXG_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

#define DNS_CACHE_INFLIGHT 64	 /* domain lookups at once (each <= 1 + 2x32 queries) */
#define DNS_CACHE_START_BATCH 16 /* lookups started per loop iteration */
#define DNS_HOST_FAIL_MS 5000	 /* a failed host lookup is not repeated for this long */
#define DNS_HOST_NEGATIVE_S 300	 /* a host without addresses is asked again after */

struct dns_cache;
struct dns_lookup;

struct dns_cache_stats {
	uint64_t lookups;     /* domain lookups completed */
	uint64_t host_hits;   /* host addresses taken from the cache */
	uint64_t host_misses; /* host lookups started */
	uint64_t host_joined; /* waited for a host lookup already running */
	size_t queued;	      /* domain lookups waiting now */
	size_t inflight;      /* domain lookups running now */
	size_t max_queued;    /* most waiting at once */
	size_t hosts;	      /* host names in the cache */
};

/* Uses r (not owned: free the cache first). max_inflight 0 = default. */
struct dns_cache *dns_cache_new(struct dns_resolver *r, unsigned max_inflight);
/* Cancels every lookup (no callbacks). */
void dns_cache_free(struct dns_cache *c);

/* Queue a lookup of domain's MX set with host addresses. name is copied.
 * Returns a handle for dns_cache_cancel (valid until the callback) or
 * NULL with errno set. */
struct dns_lookup *dns_cache_resolve(struct dns_cache *c, const char *domain, mx_resolve_cb cb,
				     void *arg);
/* No callback will come; O(1). */
void dns_cache_cancel(struct dns_cache *c, struct dns_lookup *l);

void dns_cache_stats(const struct dns_cache *c, struct dns_cache_stats *out);

#endif
