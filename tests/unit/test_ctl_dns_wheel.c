// SPDX-License-Identifier: GPL-2.0-only
/* The schedule of the domains' MX lookups (ctl_dns_wheel.c): a lookup is
 * never early and at most a second late, one due now starts in the next
 * iteration, a rescheduled or removed entry comes due once or never, and
 * start-up's many lookups due at once are spread over iterations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ctl_dns_wheel.h"

#define N_ENTRIES 5000

struct item {
	struct ctl_dns_entry e;
	uint64_t due_ms; /* asked for */
	uint64_t at_ms;	 /* came due */
	unsigned calls;
};

struct scene {
	struct ev_loop *loop;
	struct ctl_dns_wheel w;
	unsigned calls;
	unsigned calls_in_iteration;
	unsigned most_in_iteration;
};

static struct scene sc;

static void on_due(void *arg, struct ctl_dns_entry *e)
{
	struct item *it = (struct item *)((char *)e - offsetof(struct item, e));
	struct scene *s = arg;

	it->at_ms = ev_now_ms();
	it->calls++;
	s->calls++;
	if (++s->calls_in_iteration > s->most_in_iteration)
		s->most_in_iteration = s->calls_in_iteration;
}

static int setup(void **state)
{
	memset(&sc, 0, sizeof(sc));
	sc.loop = ev_loop_new();
	assert_non_null(sc.loop);
	ctl_dns_wheel_init(&sc.w, sc.loop, on_due, &sc);
	return 0;
}

static int teardown(void **state)
{
	ctl_dns_wheel_free(&sc.w);
	ev_loop_free(sc.loop);
	return 0;
}

/* Run the loop until `calls` came due or 5 s passed. */
static void run_until(unsigned calls)
{
	uint64_t end = ev_now_ms() + 5000;

	while (sc.calls < calls && ev_now_ms() < end) {
		sc.calls_in_iteration = 0;
		assert_int_equal(ev_run_once(sc.loop, 100), 0);
	}
}

static void test_never_early_at_most_a_second_late(void **state)
{
	static const uint64_t delays[] = {0, 150, 700, 1300, 2100};
	struct item it[5];
	uint64_t now = ev_now_ms();

	memset(it, 0, sizeof(it));
	for (int i = 4; i >= 0; i--) {
		it[i].due_ms = now + delays[i];
		ctl_dns_wheel_put(&sc.w, &it[i].e, it[i].due_ms);
	}
	run_until(5);
	assert_int_equal(sc.calls, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(it[i].calls, 1);
		assert_true(it[i].at_ms >= it[i].due_ms);
		assert_true(it[i].at_ms < it[i].due_ms + 1000 + 200); /* 200: a loaded host */
	}
	/* Due now: the next iteration, not the next second. */
	assert_true(it[0].at_ms < now + 200);
	assert_int_equal(sc.w.n, 0);
	assert_false(ev_timer_armed(&sc.w.timer)); /* nothing left: no tick */
}

static void test_rescheduled_once_removed_never(void **state)
{
	struct item a = {0}, b = {0}, c = {0};
	uint64_t now = ev_now_ms();

	ctl_dns_wheel_put(&sc.w, &a.e, now + 2500);
	ctl_dns_wheel_put(&sc.w, &a.e, now + 100); /* moved earlier */
	a.due_ms = now + 100;
	ctl_dns_wheel_put(&sc.w, &b.e, now);
	ctl_dns_wheel_del(&sc.w, &b.e);
	ctl_dns_wheel_del(&sc.w, &b.e); /* twice: harmless */
	ctl_dns_wheel_put(&sc.w, &c.e, now + 200);
	assert_int_equal(sc.w.n, 2);
	run_until(2);
	uint64_t end = ev_now_ms() + 1200;

	while (ev_now_ms() < end) /* a's old second passes too */
		assert_int_equal(ev_run_once(sc.loop, 100), 0);
	assert_int_equal(a.calls, 1);
	assert_true(a.at_ms >= a.due_ms);
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(sc.calls, 2);
}

/* Entries removed from the middle of a second's array leave holes that
 * are skipped: the others still come due, each once. */
static void test_removed_from_a_full_second_skipped(void **state)
{
	struct item it[10];
	uint64_t due = ev_now_ms() + 300;

	memset(it, 0, sizeof(it));
	for (int i = 0; i < 10; i++)
		ctl_dns_wheel_put(&sc.w, &it[i].e, due);
	for (int i = 0; i < 10; i += 2)
		ctl_dns_wheel_del(&sc.w, &it[i].e);
	assert_int_equal(sc.w.n, 5);
	run_until(5);
	uint64_t end = ev_now_ms() + 300;

	while (ev_now_ms() < end)
		assert_int_equal(ev_run_once(sc.loop, 50), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(it[i].calls, i % 2);
	assert_int_equal(sc.calls, 5);
	assert_int_equal(sc.w.n, 0);
}

/* A delay beyond a turn of the wheel comes due a turn later at most,
 * never a turn early (in the slot it would wrap onto). */
static void test_beyond_a_turn_is_cut_not_wrapped(void **state)
{
	struct item a = {0};
	uint64_t now = ev_now_ms();

	ctl_dns_wheel_put(&sc.w, &a.e, now + (CTL_DNS_WHEEL_SLOTS + 10) * 1000ull);
	assert_true(a.e.slot > now / 1000 + CTL_DNS_WHEEL_SLOTS - 3);
	assert_true(a.e.slot <= sc.w.cur + CTL_DNS_WHEEL_SLOTS - 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ev_run_once(sc.loop, 50), 0);
	assert_int_equal(a.calls, 0);
	ctl_dns_wheel_del(&sc.w, &a.e);
}

static void test_many_due_at_once_spread_over_iterations(void **state)
{
	struct item *it = calloc(N_ENTRIES, sizeof(*it));
	uint64_t now = ev_now_ms();

	assert_non_null(it);
	for (int i = 0; i < N_ENTRIES; i++)
		ctl_dns_wheel_put(&sc.w, &it[i].e, now);
	run_until(N_ENTRIES);
	assert_int_equal(sc.calls, N_ENTRIES);
	/* A batch at most, fewer when the iteration's 20 ms of wall time
	 * ran out first (a loaded host), but never fewer than 256. */
	assert_true(sc.most_in_iteration <= CTL_DNS_WHEEL_BATCH);
	assert_true(sc.most_in_iteration >= 256);
	for (int i = 0; i < N_ENTRIES; i++)
		assert_int_equal(it[i].calls, 1);
	free(it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_never_early_at_most_a_second_late, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rescheduled_once_removed_never, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed_from_a_full_second_skipped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_beyond_a_turn_is_cut_not_wrapped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_due_at_once_spread_over_iterations, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
