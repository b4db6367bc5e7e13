// SPDX-License-Identifier: GPL-2.0-only
/* The passed clients' table (pass/pass_table.c): a pass lasts its ttl,
 * renewals stop at max, a full table makes room, expired passes are swept
 * and saved ones restored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "pass_table.h"

#define TTL 1000
#define MAX 2500

static struct mxg_ip ip_of(const char *s)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(s, &ip), 0);
	return ip;
}

/* Every pass is found by address, is in its networks' indexes, and in
 * exactly one grant-order list, linked both ways. */
static void check_index(const struct pass_table *t)
{
	size_t in_lists = 0, v6 = 0;

	for (size_t i = 0; i < t->n; i++) {
		assert_ptr_equal(pass_table_find(t, &t->e[i].ip), &t->e[i]);
		v6 += t->e[i].net64 != 0;
	}
	assert_int_equal(t->idx.count, t->n);
	assert_int_equal(t->by_net.count, t->n);
	assert_int_equal(t->by_64.count, v6);
	for (int k = 0; k < 2; k++) {
		uint32_t prev = UINT32_MAX;

		for (uint32_t i = t->head[k]; i != UINT32_MAX; prev = i, i = t->e[i].next) {
			assert_true(i < t->n);
			assert_int_equal(t->e[i].proven, k);
			assert_int_equal(t->e[i].prev, prev);
			assert_true(++in_lists <= t->n);
		}
		assert_int_equal(t->tail[k], prev);
	}
	assert_int_equal(in_lists, t->n);
}

static enum pass_add add(struct pass_table *t, const char *a, uint64_t now,
			 const struct pass_entry **e, bool *evicted)
{
	struct mxg_ip ip = ip_of(a);
	struct pass_entry gone;

	enum pass_add r = pass_table_add(t, &ip, 1, true, now, TTL, MAX, e, &gone, evicted);

	check_index(t);
	return r;
}

/* A pass lasts ttl; a renewal extends it, never beyond max after the first. */
static void test_pass_renewed_up_to_max(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct mxg_ip ip = ip_of("192.0.2.1");
	bool ev;

	assert_int_equal(pass_table_init(&t, 4), 0);
	assert_int_equal(add(&t, "192.0.2.1", 100, &e, &ev), PASS_ADD_NEW);
	assert_int_equal(e->expires_ms, 100 + TTL);
	assert_true(pass_table_live(&t, &ip, 1099));
	assert_false(pass_table_live(&t, &ip, 1100));
	assert_int_equal(add(&t, "192.0.2.1", 1000, &e, &ev), PASS_ADD_RENEWED);
	assert_int_equal(e->expires_ms, 2000);
	assert_int_equal(add(&t, "192.0.2.1", 1900, &e, &ev), PASS_ADD_RENEWED);
	assert_int_equal(e->expires_ms, 100 + MAX);
	/* Expired: a new pass, from now. */
	assert_int_equal(add(&t, "192.0.2.1", 5000, &e, &ev), PASS_ADD_NEW);
	assert_int_equal(e->since_ms, 5000);
	assert_int_equal(t.n, 1);
	pass_table_free(&t);
}

/* Full: the pass that expires first makes room, and is handed back so
 * the caller removes it from the gate. */
static void test_full_table_evicts_first_expiring(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry gone;
	struct mxg_ip ip = ip_of("192.0.2.9"), second = ip_of("192.0.2.2");
	bool ev;

	assert_int_equal(pass_table_init(&t, 2), 0);
	add(&t, "192.0.2.1", 100, &e, &ev);
	add(&t, "192.0.2.2", 50, &e, &ev);
	assert_int_equal(pass_table_add(&t, &ip, 2, true, 200, TTL, MAX, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(ev);
	assert_true(mxg_ip_equal(&gone.ip, &second));
	assert_int_equal(gone.since_ms, 50);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.evicted, 1);
	pass_table_free(&t);
}

static int swept;

static void count_swept(void *arg, const struct pass_entry *e)
{
	swept++;
}

static void test_sweep_and_restore(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry saved;
	bool ev;

	assert_int_equal(pass_table_init(&t, 4), 0);
	add(&t, "192.0.2.1", 0, &e, &ev);
	add(&t, "2001:db8::1", 5000, &e, &ev);
	saved = *e;
	/* Expired at 1000, kept 500 more for `mxgate dump`. */
	pass_table_sweep(&t, 1400, 500, count_swept, NULL);
	assert_int_equal(swept, 0);
	pass_table_sweep(&t, 1500, 500, count_swept, NULL);
	assert_int_equal(swept, 1);
	assert_int_equal(t.n, 1);
	assert_false(pass_table_restore(&t, &saved, 0)); /* already there */
	pass_table_sweep(&t, 100000, 0, NULL, NULL);
	assert_int_equal(t.n, 0);
	assert_false(pass_table_restore(&t, &saved, 6000)); /* expired */
	assert_true(pass_table_restore(&t, &saved, 5500));
	assert_int_equal(pass_table_count_live(&t, 5500), 1);
	pass_table_free(&t);
}

/* A pass_recipients flood: 16,700 RCPT TO:<postmaster@...> from as many
 * addresses of one IPv6 /64 within 2 s, into a table of the kernel map's
 * size, does not push out a client's pass; the /64 gets its share only,
 * its newcomers taking the places of its own older passes. */
static void test_postmaster_flood_from_one_64_keeps_a_pass(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry gone;
	struct mxg_ip legit = ip_of("192.0.2.7"), ip;
	uint64_t looked, most = 0;
	char a[64];
	bool ev;

	assert_int_equal(pass_table_init(&t, MXG_PASS_TABLE_SIZE_MAX), 0);
	t.per_network = MXG_DEFAULT_PASS_LIMIT_NETWORK;
	t.per_64 = MXG_DEFAULT_PASS_LIMIT_64;
	assert_int_equal(
	    pass_table_add(&t, &legit, 1, true, 0, 86400000, 7 * 86400000ull, &e, &gone, &ev),
	    PASS_ADD_NEW);
	for (unsigned i = 0; i < 16700; i++) {
		snprintf(a, sizeof(a), "2001:db8:1:2::%x:%x", i >> 16, i & 0xffff);
		ip = ip_of(a);
		looked = t.looked;
		assert_int_equal(pass_table_add(&t, &ip, 2, false, 1 + i * 2000 / 16700, 86400000,
						7 * 86400000ull, &e, &gone, &ev),
				 PASS_ADD_NEW);
		if (t.looked - looked > most)
			most = t.looked - looked;
		/* Only a pass of the same /64 ever makes room. */
		assert_true(!ev || !memcmp(gone.ip.v6.s6_addr, ip.v6.s6_addr, 8));
	}
	assert_true(pass_table_live(&t, &legit, 2001));
	assert_int_equal(t.n, 1 + MXG_DEFAULT_PASS_LIMIT_64);
	assert_int_equal(t.dropped_64, 0);
	assert_int_equal(t.evicted, 16700 - MXG_DEFAULT_PASS_LIMIT_64);
	/* Each newcomer looked at its /64's passes and, while the /64 was
	 * under its limit, its /48's (the same ones here), with a few
	 * neighbours in the indexes' chains: never at the whole table. */
	assert_true(most <= 2 * MXG_DEFAULT_PASS_LIMIT_64 + 16);
	check_index(&t);
	pass_table_free(&t);
}

/* A full table of the kernel map's size, one pass per /24, granted one
 * after the other, proven and unproven in turn: a newcomer takes the
 * place of the oldest unproven grant (a renewed pass counts as granted
 * anew), and finds it looking at a few passes, not at 16,384. */
static void test_full_table_evicts_oldest_grant_in_bounded_steps(void **state)
{
	const unsigned cap = MXG_PASS_TABLE_SIZE_MAX;
	const uint64_t day = 86400000, week = 7 * day;
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry gone;
	struct mxg_ip ip, want;
	uint64_t now = 1000 + cap, looked;
	char a[64];
	bool ev;

	assert_int_equal(pass_table_init(&t, cap), 0);
	t.per_network = MXG_DEFAULT_PASS_LIMIT_NETWORK;
	t.per_64 = MXG_DEFAULT_PASS_LIMIT_64;
	for (unsigned i = 0; i < cap; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.1", i >> 8, i & 255);
		ip = ip_of(a);
		assert_int_equal(
		    pass_table_add(&t, &ip, 1, i % 2 == 0, 1000 + i, day, week, &e, &gone, &ev),
		    PASS_ADD_NEW);
	}
	assert_int_equal(t.n, cap);
	check_index(&t);
	/* 10.0.1.1, the oldest unproven grant, is renewed: now the newest. */
	ip = ip_of("10.0.1.1");
	assert_int_equal(pass_table_add(&t, &ip, 1, false, now, day, week, &e, &gone, &ev),
			 PASS_ADD_RENEWED);

	ip = ip_of("192.0.2.1");
	want = ip_of("10.0.3.1");
	looked = t.looked;
	assert_int_equal(pass_table_add(&t, &ip, 2, false, now, day, week, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(ev);
	assert_true(mxg_ip_equal(&gone.ip, &want));
	assert_true(t.looked - looked <= 2 * PASS_EVICT_LOOK + 16);
	/* A proven newcomer: the next unproven, never a proven pass first. */
	ip = ip_of("192.0.2.2");
	want = ip_of("10.0.5.1");
	looked = t.looked;
	assert_int_equal(pass_table_add(&t, &ip, 1, true, now, day, week, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(mxg_ip_equal(&gone.ip, &want));
	assert_true(t.looked - looked <= 2 * PASS_EVICT_LOOK + 16);
	/* Once a pass has expired, it is the one that goes. */
	ip = ip_of("192.0.2.3");
	want = ip_of("10.0.0.1");
	assert_int_equal(pass_table_add(&t, &ip, 1, false, 1000 + day, day, week, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(mxg_ip_equal(&gone.ip, &want));
	assert_int_equal(t.n, cap);
	check_index(&t);
	pass_table_free(&t);
}

/* Without network limits too: unproven newcomers (pass_recipients) never
 * push out a proven pass (a retried greylist tuple); a proven newcomer
 * takes the place of an unproven one. */
static void test_unproven_never_evicts_proven(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry gone;
	struct mxg_ip ip;
	char a[64];
	bool ev;

	assert_int_equal(pass_table_init(&t, 100), 0);
	t.per_network = t.per_64 = 0;
	for (unsigned i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "198.51.100.%u", i + 1);
		ip = ip_of(a);
		pass_table_add(&t, &ip, 1, true, i, TTL, MAX, &e, &gone, &ev);
	}
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "2001:db8:%x::1", i);
		ip = ip_of(a);
		pass_table_add(&t, &ip, 2, false, 10 + i / 100, TTL, MAX, &e, &gone, &ev);
		assert_true(!ev || !gone.proven);
	}
	assert_int_equal(t.n, 100);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "198.51.100.%u", i + 1);
		ip = ip_of(a);
		assert_true(pass_table_live(&t, &ip, 100));
	}
	assert_int_equal(t.dropped_full, 0); /* they pushed out each other */
	ip = ip_of("203.0.113.5");
	assert_int_equal(pass_table_add(&t, &ip, 1, true, 100, TTL, MAX, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(ev);
	assert_false(gone.proven);
	pass_table_free(&t);
	/* A table full of proven passes: an unproven newcomer gets none. */
	assert_int_equal(pass_table_init(&t, 10), 0);
	t.per_network = t.per_64 = 0;
	for (unsigned i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "198.51.100.%u", i + 1);
		ip = ip_of(a);
		pass_table_add(&t, &ip, 1, true, i, TTL, MAX, &e, &gone, &ev);
	}
	ip = ip_of("203.0.113.6");
	assert_int_equal(pass_table_add(&t, &ip, 2, false, 20, TTL, MAX, &e, &gone, &ev),
			 PASS_ADD_DROPPED);
	assert_int_equal(t.dropped_full, 1);
	assert_int_equal(t.evicted, 0);
	pass_table_free(&t);
}

/* A network at its limit: a newcomer takes the place of one of that
 * network's own (unproven first), never another network's; an unproven
 * newcomer only that of an unproven pass. */
static void test_proven_pass_makes_room_in_its_own_network(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry gone;
	struct mxg_ip a1 = ip_of("2001:db8::1"), a2 = ip_of("2001:db8::2"),
		      a3 = ip_of("2001:db8::3"), other = ip_of("192.0.2.1");
	bool ev;

	assert_int_equal(pass_table_init(&t, 100), 0);
	t.per_64 = 2;
	pass_table_add(&t, &other, 1, false, 0, TTL, MAX, &e, &gone, &ev);
	pass_table_add(&t, &a1, 1, true, 1, TTL, MAX, &e, &gone, &ev);
	pass_table_add(&t, &a2, 2, false, 2, TTL, MAX, &e, &gone, &ev);
	/* An unproven newcomer in place of the unproven a2, not of a1. */
	assert_int_equal(pass_table_add(&t, &a3, 2, false, 3, TTL, MAX, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(ev);
	assert_true(mxg_ip_equal(&gone.ip, &a2));
	assert_int_equal(t.dropped_64, 0);
	/* A proven newcomer in place of the unproven a3. */
	assert_int_equal(pass_table_add(&t, &a2, 1, true, 4, TTL, MAX, &e, &gone, &ev),
			 PASS_ADD_NEW);
	assert_true(ev);
	assert_true(mxg_ip_equal(&gone.ip, &a3)); /* the unproven one of the /64 */
	assert_true(pass_table_live(&t, &other, 5));
	assert_true(pass_table_live(&t, &a1, 5));
	assert_int_equal(t.n, 3);
	/* Only proven passes left in the /64: an unproven newcomer gets none. */
	assert_int_equal(pass_table_add(&t, &a3, 2, false, 6, TTL, MAX, &e, &gone, &ev),
			 PASS_ADD_DROPPED);
	assert_int_equal(t.dropped_64, 1);
	assert_int_equal(t.n, 3);
	pass_table_free(&t);
}

/* The index by address agrees with the table through every change that
 * moves entries: adds past a full table, sweeps, reuse of an expired pass,
 * restores. Each pass is found, at its own address, and nothing else is. */
static void test_index_finds_every_pass_after_moves(void **state)
{
	struct pass_table t;
	const struct pass_entry *e;
	struct pass_entry saved;
	bool ev;
	char a[64];

	assert_int_equal(pass_table_init(&t, 200), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.1", i / 250, i % 250);
		add(&t, a, (uint64_t)i, &e, &ev); /* the last 100 evict */
		check_index(&t);
	}
	assert_int_equal(t.n, 200);
	snprintf(a, sizeof(a), "10.0.%d.1", 99); /* evicted early on */
	{
		struct mxg_ip ip = ip_of(a);

		assert_null(pass_table_find(&t, &ip));
	}
	/* Half expire and are swept: the rest move into their places. */
	pass_table_sweep(&t, 150 + TTL, 0, NULL, NULL);
	check_index(&t);
	assert_true(t.n < 200 && t.n > 0);
	/* An expired pass kept (keep_ms) is reused by its own address. */
	saved = t.e[0];
	pass_table_sweep(&t, 5000, 0, NULL, NULL);
	assert_int_equal(t.n, 0);
	check_index(&t);
	assert_true(pass_table_restore(
	    &t,
	    &(struct pass_entry){
		.ip = saved.ip, .since_ms = 5000, .expires_ms = 9000, .reason = 1, .proven = true},
	    5000));
	check_index(&t);
	assert_ptr_equal(pass_table_find(&t, &saved.ip), &t.e[0]);
	assert_false(pass_table_live(&t, &saved.ip, 9000));
	mxg_ip_str(&saved.ip, a, sizeof(a));
	assert_int_equal(add(&t, a, 9500, &e, &ev), PASS_ADD_NEW);
	assert_int_equal(t.n, 1);
	check_index(&t);
	pass_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pass_renewed_up_to_max),
	    cmocka_unit_test(test_full_table_evicts_first_expiring),
	    cmocka_unit_test(test_sweep_and_restore),
	    cmocka_unit_test(test_postmaster_flood_from_one_64_keeps_a_pass),
	    cmocka_unit_test(test_full_table_evicts_oldest_grant_in_bounded_steps),
	    cmocka_unit_test(test_unproven_never_evicts_proven),
	    cmocka_unit_test(test_proven_pass_makes_room_in_its_own_network),
	    cmocka_unit_test(test_index_finds_every_pass_after_moves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
