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

#include "config.h"
#include "greylist.h"
#include "netcount.h"
#include "pass_db.h"

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
	/* The flood pushed out its own newest tuples, not 42, which waited
	 * for its retry (the least recently seen went first before). */
	assert_int_equal(t.evicted, 100000 - (64 - 1));
	assert_int_equal(greylist_seen(&t, 42, 2000), GREYLIST_PASS);
	/* Restoring an entry older than everything in a full bucket fails. */
	assert_false(greylist_restore(&t, &e));
	greylist_free(&t);
}

/* The tuple of one RCPT as the controller sees it: hashed by the
 * responder (seed 0), keyed by the controller's secret, from client. */
static enum greylist_verdict rcpt(struct pass_db *db, const char *client, const char *from,
				  const char *to, uint64_t now_ms)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(client, &ip), 0);
	return pass_db_tuple(db, &ip, greylist_tuple_hash(0, &ip, from, to), now_ms,
			     MXG_DEFAULT_GREYLIST_DELAY_MS, MXG_DEFAULT_GREYLIST_WINDOW_MS);
}

/* 150,000 RCPTs from 128 /64s of one /48 within a few seconds, with the
 * daemon's default sizes and limits: a legitimate sender from elsewhere,
 * first seen early in the flood, is passed on its first retry
 * after greylist_delay. The flood holds its /48's share, no more. */
static void test_flood_from_one_48_leaves_a_sender_passed(void **state)
{
	struct pass_db db;
	char client[64], to[64];
	uint64_t delay = MXG_DEFAULT_GREYLIST_DELAY_MS, t0 = 0;

	assert_int_equal(pass_db_init(&db, delay, MXG_DEFAULT_GREYLIST_WINDOW_MS,
				      MXG_DEFAULT_GREYLIST_TABLE_SIZE, 16, 0x5eed),
			 0);
	db.gl.per_network = MXG_DEFAULT_GREYLIST_LIMIT_NETWORK;
	db.gl.per_64 = MXG_DEFAULT_GREYLIST_LIMIT_64;
	for (unsigned i = 0; i < 150000; i++) {
		uint64_t now = i * 4000 / 150000; /* 4 s */

		if (i == 1000) {
			t0 = now;
			assert_int_equal(
			    rcpt(&db, "198.51.100.25", "alice@example.net", "bob@example.org", t0),
			    GREYLIST_NEW);
		}
		snprintf(client, sizeof(client), "2001:db8:77:%x::%x", i % 128, 1 + i / 128);
		snprintf(to, sizeof(to), "u%u@example.org", i);
		rcpt(&db, client, "spam@example.com", to, now);
	}
	assert_true(greylist_count(&db.gl, 4000) <= MXG_DEFAULT_GREYLIST_LIMIT_NETWORK + 1);
	assert_true(db.gl.dropped_network + db.gl.dropped_64 >=
		    150000 - MXG_DEFAULT_GREYLIST_LIMIT_NETWORK);
	/* Its retry from another host of its /24 after the delay passes. */
	assert_int_equal(
	    rcpt(&db, "198.51.100.26", "alice@example.net", "bob@example.org", t0 + delay),
	    GREYLIST_PASS);
	pass_db_free(&db);
}

/* The counts follow the table: expired tuples leave them when swept, so
 * a network that flooded yesterday may greylist again today. */
static void test_network_share_returns_after_the_window(void **state)
{
	struct greylist_table t;
	struct mxg_ip ip;
	uint64_t net, net64;

	assert_int_equal(mxg_ip_parse("2001:db8:1:2::5", &ip), 0);
	mxg_net_keys(&ip, &net, &net64);
	assert_int_equal(greylist_init(&t, 1000, 60000, 1024), 0);
	t.per_network = 100;
	t.per_64 = 10;
	for (uint64_t h = 1; h <= 50; h++)
		greylist_seen_from(&t, h, &ip, 0);
	assert_int_equal(netcount_get(&t.nets64, net64), 10);
	assert_int_equal(t.dropped_64, 40);
	assert_int_equal(greylist_seen_from(&t, 3, &ip, 1500), GREYLIST_PASS); /* remembered */
	greylist_sweep(&t, 60001 + 1, t.n_buckets);
	assert_int_equal(netcount_get(&t.nets64, net64), 0);
	assert_int_equal(netcount_get(&t.nets, net), 0);
	assert_int_equal(greylist_seen_from(&t, 77, &ip, 60002), GREYLIST_NEW);
	assert_int_equal(netcount_get(&t.nets64, net64), 1);
	greylist_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sender_normalised),
	    cmocka_unit_test(test_tuple_by_network),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_flood_is_bounded),
	    cmocka_unit_test(test_flood_from_one_48_leaves_a_sender_passed),
	    cmocka_unit_test(test_network_share_returns_after_the_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
