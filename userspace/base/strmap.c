// SPDX-License-Identifier: GPL-2.0-only
/* String hash map on the base hash table; see strmap.h. */
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "htab.h"

struct strmap_ent {
	struct htab_node node;
	uintptr_t val;
	char key[];
};

struct strmap {
	struct htab t;
};

static uint64_t key_hash(const char *key)
{
	return mxg_hash_str(MXG_HASH_INIT, key);
}

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (htab_init(&m->t)) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(struct strmap *m)
{
	struct htab_node *n, *tmp;
	size_t i;

	if (!m)
		return;
	htab_for_each_safe(&m->t, i, n, tmp) free(htab_entry(n, struct strmap_ent, node));
	htab_fini(&m->t);
	free(m);
}

size_t strmap_count(const struct strmap *m)
{
	return m ? m->t.count : 0;
}

static struct strmap_ent *find(const struct strmap *m, const char *key, uint64_t h)
{
	for (struct htab_node *n = htab_first(&m->t, h); n; n = n->next) {
		struct strmap_ent *e = htab_entry(n, struct strmap_ent, node);

		if (n->hash == h && !strcmp(e->key, key))
			return e;
	}
	return NULL;
}

bool strmap_get(const struct strmap *m, const char *key, uintptr_t *val)
{
	struct strmap_ent *e = find(m, key, key_hash(key));

	if (!e)
		return false;
	if (val)
		*val = e->val;
	return true;
}

int strmap_put(struct strmap *m, const char *key, uintptr_t val)
{
	uint64_t h = key_hash(key);
	struct strmap_ent *e = find(m, key, h);
	size_t len;

	if (e) {
		e->val = val;
		return 0;
	}
	len = strlen(key);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	e->val = val;
	memcpy(e->key, key, len + 1);
	htab_add(&m->t, &e->node, h);
	return 0;
}

bool strmap_del(struct strmap *m, const char *key)
{
	struct strmap_ent *e = find(m, key, key_hash(key));

	if (!e)
		return false;
	htab_del(&m->t, &e->node);
	free(e);
	return true;
}

void strmap_sweep(struct strmap *m, bool (*fn)(void *arg, const char *key, uintptr_t *val),
		  void *arg)
{
	struct htab_node *n, *tmp;
	size_t i;

	htab_for_each_safe(&m->t, i, n, tmp)
	{
		struct strmap_ent *e = htab_entry(n, struct strmap_ent, node);

		if (fn(arg, e->key, &e->val)) {
			htab_del(&m->t, n);
			free(e);
		}
	}
}
