// SPDX-License-Identifier: GPL-2.0-only
/* Stored MX sets (mxs) and the string map: sized to the answer, shared
 * where identical, freed with the last reference; 100,000 lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxs.h"
#include "strmap.h"

static void two_hosts(struct mx_set *s, const char *primary_ip)
{
	memset(s, 0, sizeof(*s));
	s->status = MX_OK;
	s->ttl_s = 300;
	s->n_hosts = 2;
	snprintf(s->hosts[0].name, sizeof(s->hosts[0].name), "mx1.example.test");
	s->hosts[0].pref = 10;
	assert_int_equal(mxg_ip_parse(primary_ip, &s->hosts[0].addrs[0]), 0);
	s->hosts[0].n_addrs = 1;
	snprintf(s->hosts[1].name, sizeof(s->hosts[1].name), "mx2.example.test");
	s->hosts[1].pref = 20;
	assert_int_equal(mxg_ip_parse("2001:db8::25", &s->hosts[1].addrs[0]), 0);
	assert_int_equal(mxg_ip_parse("192.0.2.25", &s->hosts[1].addrs[1]), 0);
	s->hosts[1].n_addrs = 2;
}

static void test_identical_sets_are_shared(void **state)
{
	struct mxs_store *st = mxs_store_new();
	struct mx_set a, b;
	struct mxs *x, *y, *z;

	assert_non_null(st);
	two_hosts(&a, "192.0.2.10");
	two_hosts(&b, "192.0.2.10");
	b.ttl_s = 60; /* the TTL is not part of the set */
	x = mxs_get(st, &a);
	y = mxs_get(st, &b);
	assert_non_null(x);
	assert_ptr_equal(x, y);
	assert_int_equal(mxs_store_count(st), 1);
	/* Sized to the answer: far below the 20 KB of a struct mx_set. */
	assert_true(mxs_store_bytes(st) < 300);
	assert_true(sizeof(struct mx_set) > 15000);

	two_hosts(&b, "192.0.2.11");
	z = mxs_get(st, &b);
	assert_ptr_not_equal(x, z);
	assert_int_equal(mxs_store_count(st), 2);
	assert_string_equal(z->hosts[0].name, "mx1.example.test");
	assert_int_equal(z->hosts[1].pref, 20);
	assert_int_equal(z->hosts[1].n_addrs, 2);
	assert_true(mxg_ip_equal(&z->hosts[1].addrs[1], &b.hosts[1].addrs[1]));

	mxs_put(x);
	assert_int_equal(mxs_store_count(st), 2);
	mxs_put(y);
	assert_int_equal(mxs_store_count(st), 1);
	mxs_put(z);
	assert_int_equal(mxs_store_count(st), 0);
	assert_int_equal(mxs_store_bytes(st), 0);
	mxs_store_free(st);
}

static void test_many_distinct_sets(void **state)
{
	struct mxs_store *st = mxs_store_new();
	struct mxs **keep = calloc(5000, sizeof(*keep));
	struct mx_set s;
	char ip[32];

	assert_non_null(keep);
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		two_hosts(&s, ip);
		keep[i] = mxs_get(st, &s);
		assert_non_null(keep[i]);
	}
	assert_int_equal(mxs_store_count(st), 5000);
	two_hosts(&s, "10.0.7.1");
	assert_ptr_equal(mxs_get(st, &s), keep[7]);
	mxs_put(keep[7]);
	for (int i = 0; i < 5000; i++)
		mxs_put(keep[i]);
	assert_int_equal(mxs_store_count(st), 0);
	free(keep);
	mxs_store_free(st);
}

static bool drop_odd(void *arg, const char *key, uintptr_t *val)
{
	return *val % 2;
}

static void test_strmap(void **state)
{
	struct strmap *m = strmap_new();
	char k[32];
	uintptr_t v;

	assert_non_null(m);
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(k, sizeof(k), "d%u.test", i);
		assert_int_equal(strmap_put(m, k, i), 0);
	}
	assert_int_equal(strmap_count(m), 100000);
	assert_true(strmap_get(m, "d77777.test", &v));
	assert_int_equal(v, 77777);
	assert_false(strmap_get(m, "d100000.test", &v));
	assert_int_equal(strmap_put(m, "d5.test", 6), 0); /* replace */
	assert_int_equal(strmap_count(m), 100000);
	assert_true(strmap_del(m, "d1.test"));
	assert_false(strmap_del(m, "d1.test"));
	strmap_sweep(m, drop_odd, NULL);
	assert_int_equal(strmap_count(m), 50001);  /* d1 deleted, d5 made even */
	assert_true(strmap_get(m, "d5.test", &v)); /* now 6: kept */
	assert_false(strmap_get(m, "d7.test", &v));
	strmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identical_sets_are_shared),
	    cmocka_unit_test(test_many_distinct_sets),
	    cmocka_unit_test(test_strmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
