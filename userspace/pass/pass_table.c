// SPDX-License-Identifier: GPL-2.0-only
/* Passed clients; see pass_table.h. */
#include "pass_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hash.h"
#include "netcount.h"

#define NONE UINT32_MAX

int pass_table_init(struct pass_table *t, size_t cap)
{
	*t = (struct pass_table){.head = {NONE, NONE}, .tail = {NONE, NONE}};
	if (!cap || cap >= NONE)
		return -EINVAL;
	t->e = calloc(cap, sizeof(*t->e));
	t->slot = calloc(cap, sizeof(*t->slot));
	t->slot_net = calloc(cap, sizeof(*t->slot_net));
	t->slot_64 = calloc(cap, sizeof(*t->slot_64));
	if (!t->e || !t->slot || !t->slot_net || !t->slot_64 || htab_init(&t->idx) ||
	    htab_init(&t->by_net) || htab_init(&t->by_64)) {
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
	free(t->slot_net);
	free(t->slot_64);
	htab_fini(&t->idx);
	htab_fini(&t->by_net);
	htab_fini(&t->by_64);
	*t = (struct pass_table){.head = {NONE, NONE}, .tail = {NONE, NONE}};
}

static uint64_t net_hash(const struct pass_table *t, uint64_t key)
{
	return mxg_hash(MXG_HASH_INIT ^ t->seed, &key, sizeof(key));
}

static void index_add(struct pass_table *t, size_t i)
{
	const struct pass_entry *e = &t->e[i];

	htab_add(&t->idx, &t->slot[i], mxg_ip_hash(&e->ip, t->seed));
	htab_add(&t->by_net, &t->slot_net[i], net_hash(t, e->net));
	if (e->net64)
		htab_add(&t->by_64, &t->slot_64[i], net_hash(t, e->net64));
}

static void index_del(struct pass_table *t, size_t i)
{
	htab_del(&t->idx, &t->slot[i]);
	htab_del(&t->by_net, &t->slot_net[i]);
	if (t->e[i].net64)
		htab_del(&t->by_64, &t->slot_64[i]);
}

/* At the tail of its kind's grant-order list. */
static void list_link(struct pass_table *t, uint32_t i)
{
	struct pass_entry *e = &t->e[i];
	int k = e->proven;

	e->next = NONE;
	e->prev = t->tail[k];
	if (e->prev != NONE)
		t->e[e->prev].next = i;
	else
		t->head[k] = i;
	t->tail[k] = i;
}

static void list_unlink(struct pass_table *t, uint32_t i)
{
	struct pass_entry *e = &t->e[i];
	int k = e->proven;

	if (e->prev != NONE)
		t->e[e->prev].next = e->next;
	else
		t->head[k] = e->next;
	if (e->next != NONE)
		t->e[e->next].prev = e->prev;
	else
		t->tail[k] = e->prev;
}

/* Take e[i] out: the last entry moves into its place, keeping its place
 * in its list. */
static void remove_at(struct pass_table *t, size_t i)
{
	size_t last = --t->n;
	struct pass_entry *e;

	index_del(t, i);
	list_unlink(t, (uint32_t)i);
	if (i == last)
		return;
	index_del(t, last);
	t->e[i] = t->e[last];
	e = &t->e[i];
	if (e->prev != NONE)
		t->e[e->prev].next = (uint32_t)i;
	else
		t->head[e->proven] = (uint32_t)i;
	if (e->next != NONE)
		t->e[e->next].prev = (uint32_t)i;
	else
		t->tail[e->proven] = (uint32_t)i;
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

/* Who could make room in a network: the pass that expires first, and the
 * unproven one that does, among its n live passes. */
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

/* The live passes of one network, through its index: one chain. */
static void net_pick(struct pass_table *t, const struct htab *idx, const struct htab_node *slot,
		     uint64_t key, bool is64, uint64_t now_ms, struct pick *p)
{
	uint64_t h = net_hash(t, key);

	for (struct htab_node *n = htab_first(idx, h); n; n = n->next) {
		struct pass_entry *e = &t->e[n - slot];

		t->looked++;
		if (n->hash == h && (is64 ? e->net64 : e->net) == key && e->expires_ms > now_ms)
			pick(p, e);
	}
}

/* The first to expire among the first PASS_EVICT_LOOK passes of list k. */
static struct pass_entry *oldest(struct pass_table *t, int k)
{
	struct pass_entry *best = NULL;
	uint32_t i = t->head[k];

	for (int look = 0; i != NONE && look < PASS_EVICT_LOOK; look++, i = t->e[i].next) {
		t->looked++;
		if (!best || t->e[i].expires_ms < best->expires_ms)
			best = &t->e[i];
	}
	return best;
}

/* Full: an expired pass, else the unproven pass that expires first; a
 * proven pass makes room only for a proven one. NULL: none may go. */
static struct pass_entry *full_victim(struct pass_table *t, bool proven, uint64_t now_ms)
{
	struct pass_entry *u = oldest(t, 0), *p = oldest(t, 1);
	struct pass_entry *first = !u ? p : !p ? u : p->expires_ms < u->expires_ms ? p : u;

	if (first && first->expires_ms <= now_ms)
		return first;
	if (u)
		return u;
	return proven ? p : NULL;
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

static enum pass_add renew(struct pass_table *t, struct pass_entry *e, bool proven, uint64_t now_ms,
			   uint64_t ttl_ms, uint64_t max_ms, const struct pass_entry **out)
{
	uint32_t i = (uint32_t)(e - t->e);
	uint64_t until = now_ms + ttl_ms;
	bool moved = false;

	if (until > e->since_ms + max_ms)
		until = e->since_ms + max_ms;
	if (until > e->expires_ms) {
		e->expires_ms = until;
		/* Uncapped, it now expires after every other: the tail. */
		moved = until == now_ms + ttl_ms;
	}
	if (moved || (proven && !e->proven)) {
		list_unlink(t, i);
		e->proven |= proven;
		list_link(t, i);
	}
	e->renewals++;
	t->renewed++;
	*out = e;
	return PASS_ADD_RENEWED;
}

enum pass_add pass_table_add(struct pass_table *t, const struct mxg_ip *ip, unsigned reason,
			     bool proven, uint64_t now_ms, uint64_t ttl_ms, uint64_t max_ms,
			     const struct pass_entry **out, struct pass_entry *evicted,
			     bool *had_evicted)
{
	struct pass_entry *e = (struct pass_entry *)pass_table_find(t, ip);
	struct pick pnet = {0}, p64 = {0}, *over = NULL;
	struct pass_entry *v;
	uint64_t net, net64;
	bool indexed = true; /* e is in the index (under its old address) */

	*had_evicted = false;
	if (e && e->expires_ms > now_ms)
		return renew(t, e, proven, now_ms, ttl_ms, max_ms, out);
	mxg_net_keys(ip, &net, &net64);
	/* The narrower network first: the /64, then the /24 or /48. */
	if (net64 && t->per_64)
		net_pick(t, &t->by_64, t->slot_64, net64, true, now_ms, &p64);
	if (net64 && t->per_64 && p64.n >= t->per_64)
		over = &p64;
	else if (t->per_network) {
		net_pick(t, &t->by_net, t->slot_net, net, false, now_ms, &pnet);
		if (pnet.n >= t->per_network)
			over = &pnet;
	}
	if (over) {
		/* Its network has its share: the newcomer takes the place of
		 * one of that network's own, never another network's: the
		 * unproven pass that expires first, or for a proven newcomer
		 * any. An unproven newcomer is not dropped while its network
		 * holds an unproven pass: it was just told "you may deliver
		 * now" (a postmaster@ sender sharing a /64 with a flood of
		 * them would hear that on every retry and never get in). */
		if (!proven && !over->unproven) {
			if (over == &p64)
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
		v = full_victim(t, proven, now_ms);
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
	if (indexed) {
		index_del(t, (size_t)(e - t->e));
		list_unlink(t, (uint32_t)(e - t->e));
	}
	/* config_check.c refuses a pass_max shorter than pass_ttl. */
	*e = (struct pass_entry){.ip = *ip,
				 .since_ms = now_ms,
				 .expires_ms = now_ms + ttl_ms,
				 .net = net,
				 .net64 = net64,
				 .reason = reason,
				 .proven = proven};
	index_add(t, (size_t)(e - t->e));
	list_link(t, (uint32_t)(e - t->e));
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
	mxg_net_keys(&e->ip, &e->net, &e->net64);
	index_add(t, (size_t)(e - t->e));
	list_link(t, (uint32_t)(e - t->e));
	return true;
}
