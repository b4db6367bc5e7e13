// SPDX-License-Identifier: GPL-2.0-only
/* Offender table of the responder; see offender.h. */
#include "offender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

void client_key_from_ip(const struct mxg_ip *ip, struct client_key *k)
{
	memset(k, 0, sizeof(*k));
	if (ip->family == AF_INET) {
		k->b[10] = 0xff;
		k->b[11] = 0xff;
		memcpy(&k->b[12], &ip->v4, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&ip->v6)) {
		memcpy(k->b, &ip->v6, 16); /* IPv4 seen on a dual-stack socket */
	} else {
		memcpy(k->b, &ip->v6, 8); /* the /64 */
	}
}

void client_key_network(const struct client_key *k, struct client_key *net)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	*net = *k;
	if (!memcmp(k->b, v4mapped, sizeof(v4mapped)))
		net->b[15] = 0; /* the /24 */
	else
		memset(&net->b[6], 0, 10); /* the /48 */
}

bool client_key_equal(const struct client_key *a, const struct client_key *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int offender_init(struct offender_table *t, unsigned threshold, uint64_t window_ms, size_t slots,
		  uint32_t seed)
{
	memset(t, 0, sizeof(*t));
	if (!window_ms)
		return -EINVAL; /* config refuses an offender_window under 1 s */
	if (!slots)
		slots = OFFENDER_DEFAULT_SLOTS;
	t->n_buckets = (slots + OFFENDER_WAYS - 1) / OFFENDER_WAYS;
	t->e = calloc(t->n_buckets * OFFENDER_WAYS, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	t->threshold = threshold;
	t->window_ms = window_ms;
	t->seed = seed;
	return 0;
}

void offender_free(struct offender_table *t)
{
	free(t->e);
	t->e = NULL;
}

static uint32_t key_hash(const struct offender_table *t, const struct client_key *k)
{
	uint64_t h = mxg_hash(MXG_HASH_INIT ^ t->seed, k->b, sizeof(k->b));

	return (uint32_t)(h ^ (h >> 32));
}

/* Drain the bucket of e up to now. */
static void entry_drain(const struct offender_table *t, struct offender_entry *e, uint64_t now_ms)
{
	uint64_t elapsed = now_ms > e->last_ms ? now_ms - e->last_ms : 0;
	double drain;

	if (elapsed >= t->window_ms) {
		e->level_milli = 0;
	} else {
		drain = (double)elapsed * t->threshold * 1000.0 / (double)t->window_ms;
		e->level_milli =
		    drain >= (double)e->level_milli ? 0 : e->level_milli - (uint64_t)drain;
	}
	e->last_ms = now_ms;
}

/* a is a better victim than b. */
static bool less_kept(const struct offender_entry *a, const struct offender_entry *b,
		      uint64_t now_ms)
{
	bool ma = a->until_ms > now_ms, mb = b->until_ms > now_ms;

	if (ma != mb)
		return mb;
	return a->level_milli < b->level_milli;
}

static struct offender_entry *entry_get(struct offender_table *t, const struct client_key *k,
					uint64_t now_ms)
{
	struct offender_entry *b = &t->e[(key_hash(t, k) % t->n_buckets) * OFFENDER_WAYS];
	struct offender_entry *victim = NULL;

	for (size_t i = 0; i < OFFENDER_WAYS; i++) {
		if (b[i].used && client_key_equal(&b[i].key, k)) {
			entry_drain(t, &b[i], now_ms);
			return &b[i];
		}
	}
	/* New client: an empty slot, else the least active one, another
	 * edge's offenders last. */
	for (size_t i = 0; i < OFFENDER_WAYS; i++) {
		if (!b[i].used) {
			victim = &b[i];
			break;
		}
		entry_drain(t, &b[i], now_ms);
		if (!victim || less_kept(&b[i], victim, now_ms))
			victim = &b[i];
	}
	*victim = (struct offender_entry){.key = *k, .last_ms = now_ms, .used = true};
	return victim;
}

bool offender_try(struct offender_table *t, const struct client_key *k, uint64_t now_ms,
		  uint64_t session)
{
	struct offender_entry *e;
	uint64_t limit;

	if (!t->threshold || !t->e)
		return false;
	e = entry_get(t, k, now_ms);
	if (session && e->session == session)
		return e->over;
	limit = (uint64_t)t->threshold * 1000;
	e->level_milli += 1000;
	e->over = e->level_milli > limit || e->until_ms > now_ms;
	e->session = session;
	if (e->level_milli > limit + 1000)
		e->level_milli = limit + 1000;
	return e->over;
}

void offender_mark(struct offender_table *t, const struct client_key *k, uint64_t until_ms,
		   uint64_t now_ms)
{
	struct offender_entry *e;

	if (!t->threshold || !t->e || until_ms <= now_ms)
		return;
	e = entry_get(t, k, now_ms);
	if (until_ms > e->until_ms)
		e->until_ms = until_ms;
}
