// SPDX-License-Identifier: GPL-2.0-only
/* String hash map; see strmap.h. */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_BUCKETS_MIN 64

struct strmap_ent {
	struct strmap_ent *next;
	uint32_t hash;
	uintptr_t val;
	char key[];
};

struct strmap {
	struct strmap_ent **b;
	size_t n_buckets; /* a power of two */
	size_t count;
};

uint32_t strmap_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->b = calloc(STRMAP_BUCKETS_MIN, sizeof(*m->b));
	if (!m->b) {
		free(m);
		return NULL;
	}
	m->n_buckets = STRMAP_BUCKETS_MIN;
	return m;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct strmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	free(m);
}

size_t strmap_count(const struct strmap *m)
{
	return m ? m->count : 0;
}

static struct strmap_ent **find(const struct strmap *m, const char *key, uint32_t h)
{
	struct strmap_ent **pp = &m->b[h & (m->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && !strcmp((*pp)->key, key))
			return pp;
	return pp;
}

bool strmap_get(const struct strmap *m, const char *key, uintptr_t *val)
{
	struct strmap_ent **pp = find(m, key, strmap_hash(key));

	if (!*pp)
		return false;
	if (val)
		*val = (*pp)->val;
	return true;
}

static void grow(struct strmap *m)
{
	size_t n = m->n_buckets * 2;
	struct strmap_ent **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct strmap_ent *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->n_buckets = n;
}

int strmap_put(struct strmap *m, const char *key, uintptr_t val)
{
	uint32_t h = strmap_hash(key);
	struct strmap_ent **pp = find(m, key, h), *e;
	size_t len;

	if (*pp) {
		(*pp)->val = val;
		return 0;
	}
	len = strlen(key);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	e->hash = h;
	e->val = val;
	memcpy(e->key, key, len + 1);
	e->next = NULL;
	*pp = e;
	if (++m->count > m->n_buckets)
		grow(m);
	return 0;
}

bool strmap_del(struct strmap *m, const char *key)
{
	struct strmap_ent **pp = find(m, key, strmap_hash(key)), *e = *pp;

	if (!e)
		return false;
	*pp = e->next;
	free(e);
	m->count--;
	return true;
}

void strmap_sweep(struct strmap *m, bool (*fn)(void *arg, const char *key, uintptr_t *val),
		  void *arg)
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct strmap_ent **pp = &m->b[i];

		while (*pp) {
			struct strmap_ent *e = *pp;

			if (fn(arg, e->key, &e->val)) {
				*pp = e->next;
				free(e);
				m->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}
