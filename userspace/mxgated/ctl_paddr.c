// SPDX-License-Identifier: GPL-2.0-only
/*
 * The index of primary addresses: each address any domain's primaries
 * have, once, with the list of the domains that have it (its dependants).
 * A round probes the index, not the domains, and a result that differs
 * from the address's last touches its dependants only (rounds.c). Kept
 * as DNS answers come: a domain's links are rebuilt only when its list of
 * addresses changed, and an address goes with its last dependant.
 */
#include "controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static size_t ip_hash(const struct mxg_ip *ip)
{
	uint64_t h = mxg_ip_hash(ip, 0);

	return (size_t)(h ^ (h >> 32));
}

/* Twice as many buckets once the addresses outnumber them. */
static int grow(struct controller *c)
{
	size_t n = c->pa_nbuckets ? 2 * c->pa_nbuckets : 256;
	struct ctl_paddr **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < c->pa_nbuckets; i++) {
		struct ctl_paddr *pa = c->pa_buckets[i], *next;

		for (; pa; pa = next) {
			next = pa->hnext;
			pa->hnext = b[ip_hash(&pa->ip) & (n - 1)];
			b[ip_hash(&pa->ip) & (n - 1)] = pa;
		}
	}
	free(c->pa_buckets);
	c->pa_buckets = b;
	c->pa_nbuckets = n;
	return 0;
}

static struct ctl_paddr *find_or_add(struct controller *c, const struct mxg_ip *ip)
{
	struct ctl_paddr *pa;
	size_t h;

	if (c->pa_nbuckets) {
		for (pa = c->pa_buckets[ip_hash(ip) & (c->pa_nbuckets - 1)]; pa; pa = pa->hnext)
			if (mxg_ip_equal(&pa->ip, ip))
				return pa;
	}
	if (c->n_paddrs >= c->pa_nbuckets && grow(c) < 0)
		return NULL;
	pa = calloc(1, sizeof(*pa));
	if (!pa)
		return NULL;
	pa->ip = *ip;
	TAILQ_INIT(&pa->deps);
	h = ip_hash(ip) & (c->pa_nbuckets - 1);
	pa->hnext = c->pa_buckets[h];
	c->pa_buckets[h] = pa;
	c->n_paddrs++;
	return pa;
}

static void remove_addr(struct controller *c, struct ctl_paddr *pa)
{
	struct ctl_paddr **pp = &c->pa_buckets[ip_hash(&pa->ip) & (c->pa_nbuckets - 1)];

	while (*pp != pa)
		pp = &(*pp)->hnext;
	*pp = pa->hnext;
	/* A probe of the running round reports into its slot, not here. */
	if (pa->slot && c->round.slots && pa->slot <= c->round.n)
		c->round.slots[pa->slot - 1].pa = NULL;
	c->n_paddrs--;
	free(pa);
}

void ctl_paddr_drop(struct ctl_domain *cd)
{
	struct controller *c = cd->c;

	for (size_t i = 0; i < cd->n_deps; i++) {
		struct ctl_dep *d = &cd->deps[i];
		struct ctl_paddr *pa = d->pa;

		if (pa->pick == d)
			pa->pick = TAILQ_NEXT(d, link);
		TAILQ_REMOVE(&pa->deps, d, link);
		if (!--pa->n_deps)
			remove_addr(c, pa);
	}
	free(cd->deps);
	cd->deps = NULL;
	cd->n_deps = 0;
}

static bool same_addrs(const struct ctl_domain *cd)
{
	if (cd->n_deps != cd->ds.n_addrs)
		return false;
	for (size_t i = 0; i < cd->n_deps; i++)
		if (!mxg_ip_equal(&cd->deps[i].pa->ip, &cd->ds.addrs[i].ip))
			return false;
	return true;
}

int ctl_paddr_update(struct ctl_domain *cd)
{
	struct controller *c = cd->c;
	struct ctl_dep *deps;

	if (same_addrs(cd))
		return 0;
	ctl_paddr_drop(cd);
	if (!cd->ds.n_addrs)
		return 0;
	deps = calloc(cd->ds.n_addrs, sizeof(*deps));
	if (!deps)
		return -ENOMEM;
	cd->deps = deps;
	for (size_t i = 0; i < cd->ds.n_addrs; i++) {
		struct ctl_paddr *pa = find_or_add(c, &cd->ds.addrs[i].ip);

		if (!pa) {
			ctl_paddr_drop(cd); /* n_deps so far */
			return -ENOMEM;
		}
		deps[i] = (struct ctl_dep){.cd = cd, .pa = pa, .addr = i};
		TAILQ_INSERT_TAIL(&pa->deps, &deps[i], link);
		pa->n_deps++;
		cd->n_deps = i + 1;
	}
	return 0;
}

void ctl_paddr_each(struct controller *c, void (*fn)(void *arg, struct ctl_paddr *pa), void *arg)
{
	for (size_t i = 0; i < c->pa_nbuckets; i++)
		for (struct ctl_paddr *pa = c->pa_buckets[i]; pa; pa = pa->hnext)
			fn(arg, pa);
}

void ctl_paddr_free(struct controller *c)
{
	/* The domains have dropped theirs: only the buckets are left. */
	free(c->pa_buckets);
	c->pa_buckets = NULL;
	c->pa_nbuckets = c->n_paddrs = 0;
}
