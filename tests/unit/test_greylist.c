// SPDX-License-Identifier: GPL-2.0-only
/* Greylisting, pure: the tuple (postgrey's normalisation, /24 and /64),
 * the verdicts (new, early, pass, forgotten after the window) and a table
 * that a flood of new tuples never grows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "greylist.h"

static const char *norm(const char *from)
{
	static char out[GREYLIST_SENDER_MAX];

	greylist_sender_normalize(from, out, sizeof(out));
	return out;
}

static void test_sender_normalised(void **state)
{
	assert_string_equal(norm("user@example.org"), "user@example.org");
	assert_string_equal(norm("list+bounces-123@lists.example.org"), "list@lists.example.org");
	assert_string_equal(norm("prvs=4168c3f0a1=user@example.org"), "user@example.org");
	assert_string_equal(norm("prvs=user/4168c3f0a1@example.org"), "user@example.org");
	assert_string_equal(norm("msprvs1=17cab1=bounces+x@example.org"), "bounces@example.org");
	assert_string_equal(norm(""), "");
	assert_string_equal(norm("+@example.org"), "+@example.org"); /* nothing left: kept */
}

static uint64_t tuple(const char *client, const char *from, const char *rcpt)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(client, &ip), 0);
	return greylist_tuple_hash(0, &ip, from, rcpt);
}

static void test_tuple_by_network(void **state)
{
	uint64_t a = tuple("192.0.2.30", "prvs=1111aaaaaa=u@s.example", "x@d.example");

	assert_int_equal(a, tuple("192.0.2.99", "prvs=2222bbbbbb=u@s.example", "x@d.example"));
	assert_int_equal(a, tuple("::ffff:192.0.2.7", "u+tag@s.example", "x@d.example"));
	assert_int_not_equal(a, tuple("192.0.3.30", "u@s.example", "x@d.example"));
	assert_int_not_equal(a, tuple("192.0.2.30", "v@s.example", "x@d.example"));
	assert_int_not_equal(a, tuple("192.0.2.30", "u@s.example", "y@d.example"));
	assert_int_equal(tuple("2001:db8:1:2::1", "", "x@d.example"),
			 tuple("2001:db8:1:2:ffff::9", "", "x@d.example"));
	assert_int_not_equal(tuple("2001:db8:1:2::1", "", "x@d.example"),
			     tuple("2001:db8:1:3::1", "", "x@d.example"));
	assert_int_not_equal(greylist_rekey(1, a), greylist_rekey(2, a));
}

static void test_verdicts(void **state)
{
	struct greylist_table t;
	const uint64_t delay = 25 * 60000, window = 4 * 3600000;

	assert_int_equal(greylist_init(&t, delay, window, 64), 0);
	assert_int_equal(greylist_seen(&t, 7, 0), GREYLIST_NEW);
	assert_int_equal(greylist_seen(&t, 7, 60000), GREYLIST_EARLY); /* a minute later */
	assert_int_equal(greylist_seen(&t, 7, delay), GREYLIST_PASS);
	assert_int_equal(greylist_seen(&t, 7, window), GREYLIST_PASS);
	assert_int_equal(greylist_seen(&t, 7, window + 1), GREYLIST_NEW); /* forgotten */
	assert_int_equal(greylist_seen(&t, 7, window + 2), GREYLIST_EARLY);
	/* Postfix's schedule: 5 min, then backing off; the retry after 25
	 * minutes passes. */
	assert_int_equal(greylist_seen(&t, 8, 0), GREYLIST_NEW);
	for (uint64_t m = 5; m < 25; m += 5)
		assert_int_equal(greylist_seen(&t, 8, m * 60000), GREYLIST_EARLY);
	assert_int_equal(greylist_seen(&t, 8, 30 * 60000), GREYLIST_PASS);
	assert_int_equal(greylist_count(&t, 30 * 60000), 2);
	greylist_free(&t);
}

static void test_flood_is_bounded(void **state)
{
	struct greylist_table t;
	struct greylist_entry e = {.hash = 12345, .first_ms = 0, .last_ms = 0};

	assert_int_equal(greylist_init(&t, 1000, 60000, 64), 0);
	assert_int_equal(t.n_buckets, 8);
	assert_int_equal(greylist_seen(&t, 42, 0), GREYLIST_NEW);
	/* A flood of new tuples: the table stays the same size. */
	for (uint64_t h = 1000; h < 101000; h++)
		greylist_seen(&t, h, 10);
	assert_int_equal(t.n_buckets, 8);
	assert_true(greylist_count(&t, 10) <= 64);
	/* The least recently seen went first: 42 is forgotten. */
	assert_int_equal(greylist_seen(&t, 42, 2000), GREYLIST_NEW);
	/* Restoring an entry older than everything in a full bucket fails. */
	assert_false(greylist_restore(&t, &e));
	greylist_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sender_normalised),
	    cmocka_unit_test(test_tuple_by_network),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_flood_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
