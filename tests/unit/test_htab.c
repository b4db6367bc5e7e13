// SPDX-License-Identifier: GPL-2.0-only
/* The base hash table and hash: every entry found after the buckets
 * doubled, deletion from any place in a chain, equal keys equal hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "addr.h"
#include "hash.h"
#include "htab.h"

struct item {
	struct htab_node node;
	uint32_t key;
};

static uint64_t key_hash(uint32_t k)
{
	return mxg_hash(MXG_HASH_INIT, &k, sizeof(k));
}

static struct item *find(struct htab *t, uint32_t k)
{
	uint64_t h = key_hash(k);

	for (struct htab_node *n = htab_first(t, h); n; n = n->next) {
		struct item *it = htab_entry(n, struct item, node);

		if (n->hash == h && it->key == k)
			return it;
	}
	return NULL;
}

static void test_entries_survive_growth_and_deletion(void **state)
{
	enum { N = 10000 };
	struct item *items = calloc(N, sizeof(*items));
	struct htab_node *n, *tmp;
	struct htab t;
	size_t i, seen = 0;

	assert_non_null(items);
	assert_int_equal(htab_init(&t), 0);
	for (uint32_t k = 0; k < N; k++) {
		items[k].key = k * 7919u;
		htab_add(&t, &items[k].node, key_hash(items[k].key));
	}
	assert_int_equal(t.count, N);
	assert_true(t.n_buckets >= N); /* doubled from 64 */
	for (uint32_t k = 0; k < N; k++)
		assert_ptr_equal(find(&t, k * 7919u), &items[k]);
	assert_null(find(&t, 1));
	/* Delete every other entry while walking. */
	htab_for_each_safe(&t, i, n, tmp)
	{
		struct item *it = htab_entry(n, struct item, node);

		seen++;
		if (it->key % 2)
			htab_del(&t, n);
	}
	assert_int_equal(seen, N);
	assert_int_equal(t.count, N / 2);
	for (uint32_t k = 0; k < N; k++) {
		if ((k * 7919u) % 2)
			assert_null(find(&t, k * 7919u));
		else
			assert_ptr_equal(find(&t, k * 7919u), &items[k]);
	}
	htab_fini(&t);
	free(items);
}

/* Entries that share one hash (one chain, as a network's passes do)
 * leave it from anywhere: head, middle, tail; the rest stay linked both
 * ways, and the table grows around them. */
static void test_one_chain_deletes_anywhere(void **state)
{
	enum { N = 1000 };
	struct item *items = calloc(N, sizeof(*items));
	struct htab t;
	size_t chain;

	assert_non_null(items);
	assert_int_equal(htab_init(&t), 0);
	for (uint32_t k = 0; k < N; k++) {
		items[k].key = k;
		htab_add(&t, &items[k].node, 42);
	}
	/* Added at the head: items[N - 1] first, items[0] last. */
	htab_del(&t, &items[N - 1].node);
	htab_del(&t, &items[0].node);
	for (uint32_t k = 1; k < N - 1; k += 2)
		htab_del(&t, &items[k].node);
	assert_int_equal(t.count, N / 2 - 1);
	chain = 0;
	for (struct htab_node *n = htab_first(&t, 42); n; n = n->next) {
		struct item *it = htab_entry(n, struct item, node);

		assert_true(it->key % 2 == 0 && it->key != 0);
		assert_ptr_equal(*n->pprev, n);
		chain++;
	}
	assert_int_equal(chain, N / 2 - 1);
	htab_fini(&t);
	free(items);
}

static void test_equal_addresses_hash_equal(void **state)
{
	struct mxg_ip a, b, c;

	assert_int_equal(mxg_ip_parse("192.0.2.1", &a), 0);
	assert_int_equal(mxg_ip_parse("192.0.2.1", &b), 0);
	assert_int_equal(mxg_ip_parse("192.0.2.2", &c), 0);
	assert_true(mxg_ip_hash(&a, 5) == mxg_ip_hash(&b, 5));
	assert_true(mxg_ip_hash(&a, 5) != mxg_ip_hash(&c, 5));
	assert_true(mxg_ip_hash(&a, 5) != mxg_ip_hash(&a, 6));
	/* FNV-1a 64 of "a", the published test vector. */
	assert_true(mxg_hash_str(MXG_HASH_INIT, "a") == 0xaf63dc4c8601ec8cull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entries_survive_growth_and_deletion),
	    cmocka_unit_test(test_one_chain_deletes_anywhere),
	    cmocka_unit_test(test_equal_addresses_hash_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
