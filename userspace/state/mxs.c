// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interned MX sets (see mxs.h), in the base hash table, so lookups stay
 * O(1) at any number of domains; an mxs is compared field by field on a
 * hash match.
 */
#include "mxs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct mxs_store {
	struct htab t;
	size_t bytes;
};

struct mxs_store *mxs_store_new(void)
{
	struct mxs_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (htab_init(&s->t)) {
		free(s);
		return NULL;
	}
	return s;
}

void mxs_store_free(struct mxs_store *s)
{
	if (!s)
		return;
	/* Sets still referenced leak rather than dangle. */
	htab_fini(&s->t);
	free(s);
}

size_t mxs_store_count(const struct mxs_store *s)
{
	return s ? s->t.count : 0;
}

size_t mxs_store_bytes(const struct mxs_store *s)
{
	return s ? s->bytes : 0;
}

static uint32_t ip_bytes(const struct mxg_ip *ip, const void **p)
{
	if (ip->family == AF_INET) {
		*p = &ip->v4;
		return sizeof(ip->v4);
	}
	*p = &ip->v6;
	return sizeof(ip->v6);
}

static size_t n_hosts_of(const struct mx_set *set)
{
	return set->status == MX_OK && set->n_hosts <= MXG_MX_MAX_HOSTS ? set->n_hosts : 0;
}

static size_t n_addrs_of(const struct mx_host *h)
{
	return h->n_addrs <= MXG_MX_MAX_ADDRS ? h->n_addrs : MXG_MX_MAX_ADDRS;
}

/* Over the fields that make two sets the same. */
static uint64_t set_hash(const struct mx_set *set)
{
	uint64_t h = MXG_HASH_INIT;
	uint8_t st = (uint8_t)set->status;

	h = mxg_hash(h, &st, 1);
	for (size_t i = 0; i < n_hosts_of(set); i++) {
		const struct mx_host *x = &set->hosts[i];
		uint8_t as = (uint8_t)x->addr_status;

		h = mxg_hash(h, x->name, strnlen(x->name, sizeof(x->name)) + 1);
		h = mxg_hash(h, &x->pref, sizeof(x->pref));
		h = mxg_hash(h, &as, 1);
		for (size_t j = 0; j < n_addrs_of(x); j++) {
			const void *p;
			uint32_t n = ip_bytes(&x->addrs[j], &p);

			h = mxg_hash(h, &x->addrs[j].family, sizeof(int));
			h = mxg_hash(h, p, n);
		}
	}
	return h;
}

static bool same(const struct mxs *x, const struct mx_set *set)
{
	if (x->status != (uint8_t)set->status || x->n_hosts != n_hosts_of(set))
		return false;
	for (size_t i = 0; i < x->n_hosts; i++) {
		const struct mxs_host *a = &x->hosts[i];
		const struct mx_host *b = &set->hosts[i];

		if (a->pref != b->pref || a->addr_status != (uint8_t)b->addr_status ||
		    a->n_addrs != n_addrs_of(b) || strncmp(a->name, b->name, sizeof(b->name)))
			return false;
		for (size_t j = 0; j < a->n_addrs; j++)
			if (!mxg_ip_equal(&a->addrs[j], &b->addrs[j]))
				return false;
	}
	return true;
}

static struct mxs *make(const struct mx_set *set, size_t *bytes)
{
	size_t nh = n_hosts_of(set), na = 0, nn = 0, size;
	struct mxg_ip *ip;
	struct mxs *x;
	char *name;

	for (size_t i = 0; i < nh; i++) {
		na += n_addrs_of(&set->hosts[i]);
		nn += strnlen(set->hosts[i].name, sizeof(set->hosts[i].name) - 1) + 1;
	}
	size = sizeof(*x) + nh * sizeof(x->hosts[0]) + na * sizeof(*ip) + nn;
	x = calloc(1, size);
	if (!x)
		return NULL;
	ip = (struct mxg_ip *)((char *)x + sizeof(*x) + nh * sizeof(x->hosts[0]));
	name = (char *)(ip + na);
	x->refs = 1;
	x->status = (uint8_t)set->status;
	x->n_hosts = (uint8_t)nh;
	for (size_t i = 0; i < nh; i++) {
		const struct mx_host *h = &set->hosts[i];
		struct mxs_host *o = &x->hosts[i];
		size_t len = strnlen(h->name, sizeof(h->name) - 1);

		o->pref = h->pref;
		o->addr_status = (uint8_t)h->addr_status;
		o->n_addrs = (uint8_t)n_addrs_of(h);
		o->addrs = ip;
		memcpy(ip, h->addrs, o->n_addrs * sizeof(*ip));
		ip += o->n_addrs;
		memcpy(name, h->name, len);
		name[len] = '\0';
		o->name = name;
		name += len + 1;
	}
	*bytes = size;
	return x;
}

struct mxs *mxs_ref(struct mxs *x)
{
	if (x)
		x->refs++;
	return x;
}

struct mxs *mxs_get(struct mxs_store *s, const struct mx_set *set)
{
	uint64_t h = set_hash(set);
	struct mxs *x;
	size_t bytes = 0;

	for (struct htab_node *n = htab_first(&s->t, h); n; n = n->next) {
		x = htab_entry(n, struct mxs, node);
		if (n->hash == h && same(x, set))
			return mxs_ref(x);
	}
	x = make(set, &bytes);
	if (!x)
		return NULL;
	x->store = s;
	htab_add(&s->t, &x->node, h);
	s->bytes += bytes;
	return x;
}

void mxs_put(struct mxs *x)
{
	struct mxs_store *s;

	if (!x || --x->refs)
		return;
	s = x->store;
	htab_del(&s->t, &x->node);
	/* bytes: recomputed from the layout to stay exact. */
	{
		size_t na = 0, nn = 0;

		for (size_t i = 0; i < x->n_hosts; i++) {
			na += x->hosts[i].n_addrs;
			nn += strlen(x->hosts[i].name) + 1;
		}
		s->bytes -=
		    sizeof(*x) + x->n_hosts * sizeof(x->hosts[0]) + na * sizeof(struct mxg_ip) + nn;
	}
	free(x);
}
