// SPDX-License-Identifier: GPL-2.0-only
/* Greylisting tuples and their table; see greylist.h. */
#include "greylist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

void greylist_sender_normalize(const char *from, char *out, size_t outlen)
{
	const char *at = strrchr(from, '@');
	const char *local = from, *lend = at ? at : from + strlen(from);
	size_t n;

	if (!outlen)
		return;
	/* BATV: prvs=TAG=user@domain (RFC draft; the tag changes per
	 * message). Some write the tag after the user: prvs=user/TAG. */
	{
		size_t skip = !strncmp(local, "prvs=", 5)      ? 5
			      : !strncmp(local, "msprvs1=", 8) ? 8
							       : 0;
		const char *eq =
		    skip ? memchr(local + skip, '=', (size_t)(lend - local - skip)) : NULL;

		if (eq && eq + 1 < lend) {
			local = eq + 1;
		} else if (skip) {
			const char *slash = memchr(local, '/', (size_t)(lend - local));

			local += skip;
			if (slash)
				lend = slash;
		}
	}
	/* user+extension: the extension (VERP, sub-addressing) varies. */
	{
		const char *plus = memchr(local, '+', (size_t)(lend - local));

		if (plus && plus > local)
			lend = plus;
	}
	n = (size_t)(lend - local);
	snprintf(out, outlen, "%.*s%s", (int)n, local, at ? at : "");
}

uint64_t greylist_tuple_hash(uint64_t seed, const struct mxg_ip *client, const char *from,
			     const char *rcpt)
{
	char sender[GREYLIST_SENDER_MAX];
	uint8_t net[17] = {0};
	uint64_t h = MXG_HASH_INIT ^ seed;

	if (client->family == AF_INET) {
		net[0] = 4;
		memcpy(net + 1, &client->v4, 3); /* the /24 */
	} else if (IN6_IS_ADDR_V4MAPPED(&client->v6)) {
		net[0] = 4;
		memcpy(net + 1, &client->v6.s6_addr[12], 3);
	} else {
		net[0] = 6;
		memcpy(net + 1, &client->v6, 8); /* the /64 */
	}
	greylist_sender_normalize(from, sender, sizeof(sender));
	h = mxg_hash(h, net, sizeof(net));
	h = mxg_hash(h, sender, strlen(sender) + 1);
	h = mxg_hash(h, rcpt, strlen(rcpt) + 1);
	/* A final mix, so nearby tuples land in unrelated buckets. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

uint64_t greylist_rekey(uint64_t seed, uint64_t hash)
{
	uint64_t z = hash + seed + 0x9e3779b97f4a7c15ull; /* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

int greylist_init(struct greylist_table *t, uint64_t delay_ms, uint64_t window_ms, size_t slots)
{
	memset(t, 0, sizeof(*t));
	if (!slots)
		slots = GREYLIST_DEFAULT_SLOTS;
	t->n_buckets = (slots + GREYLIST_WAYS - 1) / GREYLIST_WAYS;
	t->e = calloc(t->n_buckets * GREYLIST_WAYS, sizeof(*t->e));
	if (!t->e || netcount_init(&t->nets, t->n_buckets * GREYLIST_WAYS, slots) < 0 ||
	    netcount_init(&t->nets64, t->n_buckets * GREYLIST_WAYS, ~(uint64_t)slots) < 0) {
		greylist_free(t);
		return -ENOMEM;
	}
	t->delay_ms = delay_ms;
	t->window_ms = window_ms;
	return 0;
}

void greylist_free(struct greylist_table *t)
{
	free(t->e);
	t->e = NULL;
	netcount_free(&t->nets);
	netcount_free(&t->nets64);
}

static struct greylist_entry *bucket(const struct greylist_table *t, uint64_t hash)
{
	return &t->e[(hash % t->n_buckets) * GREYLIST_WAYS];
}

static bool expired(const struct greylist_table *t, const struct greylist_entry *e, uint64_t now_ms)
{
	return now_ms > e->first_ms && now_ms - e->first_ms > t->window_ms;
}

/* Empty a slot, and take it off its networks' counts. */
static void forget(struct greylist_table *t, struct greylist_entry *e)
{
	netcount_dec(&t->nets, e->net);
	netcount_dec(&t->nets64, e->net64);
	*e = (struct greylist_entry){0};
}

/* A free slot, else the least recently seen one (state loading). */
static struct greylist_entry *victim_lru(struct greylist_entry *b)
{
	struct greylist_entry *v = &b[0];

	for (size_t i = 0; i < GREYLIST_WAYS; i++) {
		if (!b[i].hash)
			return &b[i];
		if (b[i].last_ms < v->last_ms)
			v = &b[i];
	}
	return v;
}

/* Room for a new tuple: a free slot; an expired tuple; the newest
 * unproven tuple of the network holding the most tuples (a flood pushes
 * out its own, not the tuples waiting for their retry); when every tuple
 * of the bucket is proven, the least recently seen. */
static struct greylist_entry *victim(struct greylist_table *t, struct greylist_entry *b,
				     uint64_t now_ms)
{
	struct greylist_entry *v = NULL;
	uint32_t v_n = 0, n;

	for (size_t i = 0; i < GREYLIST_WAYS; i++)
		if (!b[i].hash || expired(t, &b[i], now_ms))
			return &b[i];
	for (size_t i = 0; i < GREYLIST_WAYS; i++) {
		if (b[i].proven)
			continue;
		n = netcount_get(&t->nets, b[i].net);
		if (!v || n > v_n || (n == v_n && b[i].first_ms > v->first_ms)) {
			v = &b[i];
			v_n = n;
		}
	}
	return v ? v : victim_lru(b);
}

void greylist_sweep(struct greylist_table *t, uint64_t now_ms, size_t n)
{
	for (; t->e && n; n--) {
		struct greylist_entry *b = &t->e[t->sweep_next * GREYLIST_WAYS];

		for (size_t i = 0; i < GREYLIST_WAYS; i++)
			if (b[i].hash && expired(t, &b[i], now_ms))
				forget(t, &b[i]);
		t->sweep_next = (t->sweep_next + 1) % t->n_buckets;
	}
}

enum greylist_verdict greylist_seen_from(struct greylist_table *t, uint64_t hash,
					 const struct mxg_ip *client, uint64_t now_ms)
{
	struct greylist_entry *b, *e;
	uint64_t age, net = 0, net64 = 0;

	if (!t->e || !hash)
		return GREYLIST_NEW;
	greylist_sweep(t, now_ms, 2);
	b = bucket(t, hash);
	for (size_t i = 0; i < GREYLIST_WAYS; i++) {
		e = &b[i];
		if (e->hash != hash)
			continue;
		age = now_ms > e->first_ms ? now_ms - e->first_ms : 0;
		e->last_ms = now_ms;
		if (age > t->window_ms) {
			e->first_ms = now_ms; /* forgotten: a new round */
			e->proven = false;
			return GREYLIST_NEW;
		}
		if (age < t->delay_ms)
			return GREYLIST_EARLY;
		e->proven = true;
		return GREYLIST_PASS;
	}
	/* A new tuple: only within its networks' share. The client still
	 * gets its 451; it is only not remembered. */
	if (client) {
		mxg_net_keys(client, &net, &net64);
		if (t->per_network && netcount_get(&t->nets, net) >= t->per_network) {
			t->dropped_network++;
			return GREYLIST_NEW;
		}
		if (t->per_64 && net64 && netcount_get(&t->nets64, net64) >= t->per_64) {
			t->dropped_64++;
			return GREYLIST_NEW;
		}
	}
	e = victim(t, b, now_ms);
	if (e->hash) {
		t->evicted += !expired(t, e, now_ms);
		forget(t, e);
	}
	*e = (struct greylist_entry){
	    .hash = hash, .first_ms = now_ms, .last_ms = now_ms, .net = net, .net64 = net64};
	netcount_inc(&t->nets, net);
	netcount_inc(&t->nets64, net64);
	return GREYLIST_NEW;
}

enum greylist_verdict greylist_seen(struct greylist_table *t, uint64_t hash, uint64_t now_ms)
{
	return greylist_seen_from(t, hash, NULL, now_ms);
}

bool greylist_restore(struct greylist_table *t, const struct greylist_entry *in)
{
	struct greylist_entry *b, *v;

	if (!t->e || !in->hash)
		return false;
	b = bucket(t, in->hash);
	for (size_t i = 0; i < GREYLIST_WAYS; i++)
		if (b[i].hash == in->hash)
			return false;
	v = victim_lru(b);
	if (v->hash && v->last_ms >= in->last_ms)
		return false;
	if (v->hash)
		forget(t, v);
	*v = (struct greylist_entry){
	    .hash = in->hash, .first_ms = in->first_ms, .last_ms = in->last_ms};
	return true;
}

bool greylist_merge(struct greylist_table *t, uint64_t hash, const struct mxg_ip *client,
		    uint64_t first_ms, uint64_t now_ms)
{
	struct greylist_entry *b, *e;
	uint64_t net = 0, net64 = 0;

	if (!t->e || !hash)
		return false;
	b = bucket(t, hash);
	for (size_t i = 0; i < GREYLIST_WAYS; i++)
		if (b[i].hash == hash) {
			if (first_ms < b[i].first_ms && !expired(t, &b[i], now_ms))
				b[i].first_ms = first_ms;
			return true;
		}
	mxg_net_keys(client, &net, &net64);
	if ((t->per_network && netcount_get(&t->nets, net) >= t->per_network) ||
	    (t->per_64 && net64 && netcount_get(&t->nets64, net64) >= t->per_64))
		return false;
	e = victim(t, b, now_ms);
	if (e->hash) {
		t->evicted += !expired(t, e, now_ms);
		forget(t, e);
	}
	*e = (struct greylist_entry){
	    .hash = hash, .first_ms = first_ms, .last_ms = now_ms, .net = net, .net64 = net64};
	netcount_inc(&t->nets, net);
	netcount_inc(&t->nets64, net64);
	return true;
}

size_t greylist_count(const struct greylist_table *t, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; t->e && i < t->n_buckets * GREYLIST_WAYS; i++)
		n += t->e[i].hash && t->e[i].first_ms + t->window_ms >= now_ms;
	return n;
}
