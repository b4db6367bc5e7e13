// SPDX-License-Identifier: GPL-2.0-only
/* Passed clients; see pass_table.h. */
#include "pass_table.h"

#include <errno.h>
#include <stdlib.h>

int pass_table_init(struct pass_table *t, size_t cap)
{
	*t = (struct pass_table){0};
	if (!cap)
		return -EINVAL;
	t->e = calloc(cap, sizeof(*t->e));
	if (!t->e)
		return -ENOMEM;
	t->cap = cap;
	return 0;
}

void pass_table_free(struct pass_table *t)
{
	free(t->e);
	*t = (struct pass_table){0};
}

const struct pass_entry *pass_table_find(const struct pass_table *t, const struct mxg_ip *ip)
{
	for (size_t i = 0; i < t->n; i++)
		if (mxg_ip_equal(&t->e[i].ip, ip))
			return &t->e[i];
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

enum pass_add pass_table_add(struct pass_table *t, const struct mxg_ip *ip, unsigned reason,
			     uint64_t now_ms, uint64_t ttl_ms, uint64_t max_ms,
			     const struct pass_entry **out, struct pass_entry *evicted,
			     bool *had_evicted)
{
	struct pass_entry *e = (struct pass_entry *)pass_table_find(t, ip);
	uint64_t until;

	*had_evicted = false;
	if (e && e->expires_ms > now_ms) {
		until = now_ms + ttl_ms;
		if (until > e->since_ms + max_ms)
			until = e->since_ms + max_ms;
		if (until > e->expires_ms)
			e->expires_ms = until;
		e->renewals++;
		t->renewed++;
		*out = e;
		return PASS_ADD_RENEWED;
	}
	if (!e) {
		if (t->n == t->cap) {
			size_t first = 0;

			/* The pass that expires first makes room. */
			for (size_t i = 1; i < t->n; i++)
				if (t->e[i].expires_ms < t->e[first].expires_ms)
					first = i;
			if (evicted)
				*evicted = t->e[first];
			*had_evicted = true;
			t->e[first] = t->e[--t->n];
			t->evicted++;
		}
		e = &t->e[t->n++];
	}
	/* config_check.c refuses a pass_max shorter than pass_ttl. */
	*e = (struct pass_entry){
	    .ip = *ip, .since_ms = now_ms, .expires_ms = now_ms + ttl_ms, .reason = reason};
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
		t->e[i] = t->e[--t->n];
	}
}

bool pass_table_restore(struct pass_table *t, const struct pass_entry *in, uint64_t now_ms)
{
	if (in->expires_ms <= now_ms || t->n >= t->cap || pass_table_find(t, &in->ip))
		return false;
	t->e[t->n++] = *in;
	return true;
}
