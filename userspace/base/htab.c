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

static void link_head(struct htab_node **head, struct htab_node *n)
{
	n->next = *head;
	if (n->next)
		n->next->pprev = &n->next;
	n->pprev = head;
	*head = n;
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
			link_head(&b[bucket(e->hash, n)], e);
		}
	}
	free(t->b);
	t->b = b;
	t->n_buckets = n;
}

void htab_add(struct htab *t, struct htab_node *n, uint64_t hash)
{
	n->hash = hash;
	link_head(&t->b[bucket(hash, t->n_buckets)], n);
	if (++t->count > t->n_buckets)
		grow(t);
}

void htab_del(struct htab *t, struct htab_node *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
	t->count--;
}
