// SPDX-License-Identifier: GPL-2.0-only
/* Passed clients; see pass_table.h. */
#include "pass_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "netcount.h"

int pass_table_init(struct pass_table *t, size_t cap)
{
	*t = (struct pass_table){0};
	if (!cap)
		return -EINVAL;
	t->e = calloc(cap, sizeof(*t->e));
	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->e || !t->slot || htab_init(&t->idx)) {
		pass_table_free(t);
		return -ENOMEM;
	}
	/* Clients choose their addresses: keep them from aiming at one chain. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t->e;
	t->cap = cap;
	return 0;
}

void pass_table_free(struct pass_table *t)
{
	free(t->e);
	free(t->slot);
	htab_fini(&t->idx);
	*t = (struct pass_table){0};
}

static void index_add(struct pass_table *t, size_t i)
{
	htab_add(&t->idx, &t->slot[i], mxg_ip_hash(&t->e[i].ip, t->seed));
}

static void index_del(struct pass_table *t, size_t i)
{
	htab_del(&t->idx, &t->slot[i]);
}

/* Take e[i] out: the last entry moves into its place. */
static void remove_at(struct pass_table *t, size_t i)
{
	size_t last = --t->n;

	index_del(t, i);
	if (i == last)
		return;
	index_del(t, last);
	t->e[i] = t->e[last];
	index_add(t, i);
}

const struct pass_entry *pass_table_find(const struct pass_table *t, const struct mxg_ip *ip)
{
	uint64_t h = mxg_ip_hash(ip, t->seed);

	for (struct htab_node *n = htab_first(&t->idx, h); n; n = n->next) {
		const struct pass_entry *e = &t->e[n - t->slot];

		if (n->hash == h && mxg_ip_equal(&e->ip, ip))
			return e;
	}
	return NULL;
}

bool pass_table_live(const struct pass_table *t, const struct mxg_ip *ip, uint64_t now_ms)
{
	const struct pass_entry *e = pass_table_find(t, ip);

	return e && e->expires_ms > now_ms;
}

size_t pass_table_count_live(const struct pass_table *t, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->e[i].expires_ms > now_ms;
	return n;
}

/* Who could make room: the pass that expires first, and the unproven one
 * that does. */
struct pick {
	struct pass_entry *any, *unproven;
	size_t n;
};

static void pick(struct pick *p, struct pass_entry *e)
{
	p->n++;
	if (!p->any || e->expires_ms < p->any->expires_ms)
		p->any = e;
	if (!e->proven && (!p->unproven || e->expires_ms < p->unproven->expires_ms))
		p->unproven = e;
}

/* One scan of the table for a new pass from net/net64. */
struct scan {
	struct pass_entry *free; /* an expired pass */
	struct pick all, net, net64;
};

static void scan(struct pass_table *t, uint64_t net, uint64_t net64, uint64_t now_ms,
		 struct scan *sc)
{
	for (size_t i = 0; i < t->n; i++) {
		struct pass_entry *e = &t->e[i];

		if (e->expires_ms <= now_ms) {
			if (!sc->free || e->expires_ms < sc->free->expires_ms)
				sc->free = e;
			continue;
		}
		pick(&sc->all, e);
		if (e->net == net)
			pick(&sc->net, e);
		if (net64 && e->net64 == net64)
			pick(&sc->net64, e);
	}
}

static struct pass_entry *take(struct pass_table *t, struct pass_entry *v,
			       struct pass_entry *evicted, bool *had_evicted)
{
	if (evicted)
		*evicted = *v;
	*had_evicted = true;
	t->evicted++;
	return v;
}

enum pass_add pass_table_add(struct pass_table *t, const struct mxg_ip *ip, unsigned reason,
			     bool proven, uint64_t now_ms, uint64_t ttl_ms, uint64_t max_ms,
			     const struct pass_entry **out, struct pass_entry *evicted,
			     bool *had_evicted)
{
	struct pass_entry *e = (struct pass_entry *)pass_table_find(t, ip);
	struct scan sc = {0};
	struct pick *over = NULL;
	struct pass_entry *v;
	uint64_t until, net, net64;
	bool indexed = true; /* e is in the index (under its old address) */

	*had_evicted = false;
	if (e && e->expires_ms > now_ms) {
		until = now_ms + ttl_ms;
		if (until > e->since_ms + max_ms)
			until = e->since_ms + max_ms;
		if (until > e->expires_ms)
			e->expires_ms = until;
		e->renewals++;
		e->proven |= proven;
		t->renewed++;
		*out = e;
		return PASS_ADD_RENEWED;
	}
	pass_net_keys(ip, &net, &net64);
	scan(t, net, net64, now_ms, &sc);
	/* The narrower network first: the /64, then the /24 or /48. */
	if (net64 && t->per_64 && sc.net64.n >= t->per_64)
		over = &sc.net64;
	else if (t->per_network && sc.net.n >= t->per_network)
		over = &sc.net;
	if (over) {
		/* Its network has its share: the newcomer takes the place of
		 * one of that network's own, never another network's: the
		 * unproven pass that expires first, or for a proven newcomer
		 * any. An unproven newcomer is not dropped while its network
		 * holds an unproven pass: it was just told "you may deliver
		 * now" (a postmaster@ sender sharing a /64 with a flood of
		 * them would hear that on every retry and never get in). */
		if (!proven && !over->unproven) {
			if (over == &sc.net64)
				t->dropped_64++;
			else
				t->dropped_network++;
			return PASS_ADD_DROPPED;
		}
		v = take(t, over->unproven ? over->unproven : over->any, evicted, had_evicted);
		if (e) {
			/* ip's own expired pass is reused; v leaves the table. */
			size_t vi = (size_t)(v - t->e), ei = (size_t)(e - t->e);

			remove_at(t, vi);
			if (ei == t->n)
				e = &t->e[vi];
		} else {
			e = v;
		}
	} else if (!e && t->n == t->cap) {
		/* Full: an expired pass, else the unproven pass that expires
		 * first; a proven pass makes room only for a proven one. */
		v = sc.free	      ? sc.free
		    : sc.all.unproven ? sc.all.unproven
		    : proven	      ? sc.all.any
				      : NULL;
		if (!v) {
			t->dropped_full++;
			return PASS_ADD_DROPPED;
		}
		e = take(t, v, evicted, had_evicted);
	}
	if (!e) {
		e = &t->e[t->n++];
		indexed = false;
	}
	if (indexed)
		index_del(t, (size_t)(e - t->e));
	/* config_check.c refuses a pass_max shorter than pass_ttl. */
	*e = (struct pass_entry){.ip = *ip,
				 .since_ms = now_ms,
				 .expires_ms = now_ms + ttl_ms,
				 .net = net,
				 .net64 = net64,
				 .reason = reason,
				 .proven = proven};
	index_add(t, (size_t)(e - t->e));
	*out = e;
	return PASS_ADD_NEW;
}

void pass_table_sweep(struct pass_table *t, uint64_t now_ms, uint64_t keep_ms,
		      void (*fn)(void *arg, const struct pass_entry *e), void *arg)
{
	for (size_t i = 0; i < t->n;) {
		if (t->e[i].expires_ms + keep_ms > now_ms) {
			i++;
			continue;
		}
		if (fn)
			fn(arg, &t->e[i]);
		remove_at(t, i);
	}
}

bool pass_table_restore(struct pass_table *t, const struct pass_entry *in, uint64_t now_ms)
{
	struct pass_entry *e;

	if (in->expires_ms <= now_ms || t->n >= t->cap || pass_table_find(t, &in->ip))
		return false;
	e = &t->e[t->n++];
	*e = *in;
	pass_net_keys(&e->ip, &e->net, &e->net64);
	index_add(t, (size_t)(e - t->e));
	return true;
}
