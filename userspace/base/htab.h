/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one hash table: chained and intrusive (a struct htab_node inside the
 * caller's entry, found back with htab_entry()), doubling its buckets when
 * it holds as many entries as it has buckets, so a lookup stays O(1) at
 * any size. A node knows the link that points to it (the kernel's hlist),
 * so a delete is O(1) however long its chain: entries that share a hash on
 * purpose (the pass table's per-network index) cost nothing more to
 * remove. The caller hashes (hash.h) and compares keys; the table never
 * allocates an entry and never frees one, and an entry in the table must
 * not move.
 */
#ifndef MXG_HTAB_H
#define MXG_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_node {
	struct htab_node *next;
	struct htab_node **pprev; /* the link that points here */
	uint64_t hash;
};

struct htab {
	struct htab_node **b;
	size_t n_buckets; /* a power of two */
	size_t count;
};

#define htab_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

/* 0 or -ENOMEM. */
int htab_init(struct htab *t);
/* Frees the buckets; the entries are the caller's. */
void htab_fini(struct htab *t);

/* The chain hash falls in: walk ->next, compare ->hash, then the key. */
static inline struct htab_node *htab_first(const struct htab *t, uint64_t hash)
{
	return t->b[(hash ^ (hash >> 32)) & (t->n_buckets - 1)];
}

/* Add n under hash (no check for a duplicate key). Never fails: when the
 * buckets cannot double, chains get longer. */
void htab_add(struct htab *t, struct htab_node *n, uint64_t hash);
/* Take n, which is in t, out of it: O(1). */
void htab_del(struct htab *t, struct htab_node *n);

/* Every entry, in no order; the current one may be deleted. */
#define htab_for_each_safe(t, i, n, tmp)                                                           \
	for ((i) = 0; (i) < (t)->n_buckets; (i)++)                                                 \
		for ((n) = (t)->b[i]; (n) && ((tmp) = (n)->next, 1); (n) = (tmp))

#endif
