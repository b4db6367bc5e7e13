// SPDX-License-Identifier: GPL-2.0-only
/* Entries per client network; see netcount.h. Linear probing, deletion by
 * backward shift, so no tombstones pile up under churn. */
#include "netcount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int netcount_init(struct netcount *nc, size_t max, uint64_t seed)
{
	size_t n = 16;

	memset(nc, 0, sizeof(*nc));
	while (n < 2 * max) /* at most half full */
		n <<= 1;
	nc->s = calloc(n, sizeof(*nc->s));
	if (!nc->s)
		return -ENOMEM;
	nc->mask = n - 1;
	nc->seed = seed;
	return 0;
}

void netcount_free(struct netcount *nc)
{
	free(nc->s);
	nc->s = NULL;
}

static size_t home(const struct netcount *nc, uint64_t key)
{
	uint64_t z = key + nc->seed + 0x9e3779b97f4a7c15ull; /* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (size_t)(z ^ (z >> 31)) & nc->mask;
}

static struct netcount_slot *find(const struct netcount *nc, uint64_t key)
{
	for (size_t i = home(nc, key);; i = (i + 1) & nc->mask) {
		if (nc->s[i].key == key || !nc->s[i].key)
			return &nc->s[i];
	}
}

uint32_t netcount_get(const struct netcount *nc, uint64_t key)
{
	return key && nc->s ? find(nc, key)->n : 0;
}

void netcount_inc(struct netcount *nc, uint64_t key)
{
	struct netcount_slot *s;

	if (!key || !nc->s)
		return;
	s = find(nc, key);
	s->key = key; /* the caller counts at most max entries: room is left */
	s->n++;
}

void netcount_dec(struct netcount *nc, uint64_t key)
{
	size_t i, j, h;

	if (!key || !nc->s)
		return;
	i = (size_t)(find(nc, key) - nc->s);
	if (nc->s[i].key != key)
		return;
	if (--nc->s[i].n)
		return;
	/* Free slot i, and move back every later entry of the run that
	 * would no longer be found past the gap. */
	for (j = (i + 1) & nc->mask; nc->s[j].key; j = (j + 1) & nc->mask) {
		h = home(nc, nc->s[j].key);
		if (((j - h) & nc->mask) >= ((j - i) & nc->mask)) {
			nc->s[i] = nc->s[j];
			i = j;
		}
	}
	nc->s[i] = (struct netcount_slot){0};
}

void mxg_net_keys(const struct mxg_ip *ip, uint64_t *net, uint64_t *net64)
{
	const uint8_t *b;
	uint64_t k = 0;

	if (ip->family == AF_INET || IN6_IS_ADDR_V4MAPPED(&ip->v6)) {
		b = ip->family == AF_INET ? (const uint8_t *)&ip->v4 : &ip->v6.s6_addr[12];
		*net = 4ull << 56 | (uint64_t)b[0] << 16 | (uint64_t)b[1] << 8 | b[2];
		*net64 = 0;
		return;
	}
	b = ip->v6.s6_addr;
	for (int i = 0; i < 8; i++)
		k = k << 8 | b[i];
	*net = 6ull << 56 | k >> 16; /* the /48 */
	*net64 = k ? k : 1;
}
