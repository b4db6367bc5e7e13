// SPDX-License-Identifier: GPL-2.0-only
/* The passed clients' table (pass/pass_table.c): a pass lasts its ttl,
 * renewals stop at max, a full table makes room, expired passes are swept
 * and saved ones restored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "pass_table.h"

#define TTL 1000
#define MAX 2500

static struct mxg_ip ip_of(const char *s)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(s, &ip), 0);
	return ip;
}

static enum pass_add add(struct pass_table *t, const char *a, uint64_t now,
			 const struct pass_entry **e, bool *evicted)
{
	struct mxg_ip ip = ip_of(a);
	struct pass_entry gone;

	return pass_table_add(t, &ip, 1, now, TTL, MAX, e, &gone, evicted);
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
	assert_int_equal(pass_table_add(&t, &ip, 2, 200, TTL, MAX, &e, &gone, &ev), PASS_ADD_NEW);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pass_renewed_up_to_max),
	    cmocka_unit_test(test_full_table_evicts_first_expiring),
	    cmocka_unit_test(test_sweep_and_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
