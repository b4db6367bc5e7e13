// SPDX-License-Identifier: GPL-2.0-only
/* Chained hash table; see htab.h. */
#include "htab.h"

#include <errno.h>
#include <stdlib.h>

#define HTAB_BUCKETS_MIN 64

static size_t bucket(uint64_t hash, size_t n_buckets)
{
	return (hash ^ (hash >> 32)) & (n_buckets - 1);
}

int htab_init(struct htab *t)
{
	t->b = calloc(HTAB_BUCKETS_MIN, sizeof(*t->b));
	if (!t->b)
		return -ENOMEM;
	t->n_buckets = HTAB_BUCKETS_MIN;
	t->count = 0;
	return 0;
}

void htab_fini(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->n_buckets = 0;
	t->count = 0;
}

static void grow(struct htab *t)
{
	size_t n = t->n_buckets * 2;
	struct htab_node **b;

	if (n < t->n_buckets)
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct htab_node *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[bucket(e->hash, n)];
			b[bucket(e->hash, n)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->n_buckets = n;
}

void htab_add(struct htab *t, struct htab_node *n, uint64_t hash)
{
	struct htab_node **head = &t->b[bucket(hash, t->n_buckets)];

	n->hash = hash;
	n->next = *head;
	*head = n;
	if (++t->count > t->n_buckets)
		grow(t);
}

void htab_del(struct htab *t, struct htab_node *n)
{
	struct htab_node **pp = &t->b[bucket(n->hash, t->n_buckets)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			t->count--;
			return;
		}
	}
}
