// SPDX-License-Identifier: GPL-2.0-only
/* Sessions and handshakes per client and network; see responder_count.h. */
#include "responder_count.h"

#include <errno.h>
#include <stdlib.h>

#include "hash.h"

struct rsp_count {
	struct htab_node node;
	struct client_key key;
	uint8_t kind; /* enum rsp_count_kind: a /24 and an address may share bytes */
	unsigned n;
};

static uint64_t key_hash(const struct rsp_counts *c, enum rsp_count_kind kind,
			 const struct client_key *k)
{
	uint8_t kb = (uint8_t)kind;

	return mxg_hash(mxg_hash(MXG_HASH_INIT ^ c->seed, &kb, 1), k->b, sizeof(k->b));
}

static struct rsp_count *find(const struct rsp_counts *c, enum rsp_count_kind kind,
			      const struct client_key *k, uint64_t h)
{
	for (struct htab_node *n = htab_first(&c->t, h); n; n = n->next) {
		struct rsp_count *e = htab_entry(n, struct rsp_count, node);

		if (n->hash == h && e->kind == kind && client_key_equal(&e->key, k))
			return e;
	}
	return NULL;
}

int rsp_counts_init(struct rsp_counts *c, uint64_t seed)
{
	c->seed = seed;
	return htab_init(&c->t);
}

void rsp_counts_free(struct rsp_counts *c)
{
	struct htab_node *n, *tmp;
	size_t i;

	if (!c->t.b)
		return;
	htab_for_each_safe(&c->t, i, n, tmp) free(htab_entry(n, struct rsp_count, node));
	htab_fini(&c->t);
}

unsigned rsp_count(const struct rsp_counts *c, enum rsp_count_kind kind, const struct client_key *k)
{
	const struct rsp_count *e = find(c, kind, k, key_hash(c, kind, k));

	return e ? e->n : 0;
}

int rsp_count_inc(struct rsp_counts *c, enum rsp_count_kind kind, const struct client_key *k)
{
	uint64_t h = key_hash(c, kind, k);
	struct rsp_count *e = find(c, kind, k, h);

	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->key = *k;
		e->kind = (uint8_t)kind;
		htab_add(&c->t, &e->node, h);
	}
	e->n++;
	return 0;
}

void rsp_count_dec(struct rsp_counts *c, enum rsp_count_kind kind, const struct client_key *k)
{
	struct rsp_count *e = find(c, kind, k, key_hash(c, kind, k));

	if (!e)
		return;
	if (--e->n)
		return;
	htab_del(&c->t, &e->node);
	free(e);
}
