// SPDX-License-Identifier: GPL-2.0-only
/* The event loop: timers fire in order, can be cancelled and re-armed from
 * callbacks; fd watchers see readiness and may delete themselves; the
 * stall record names the callback a long iteration was spent in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "event.h"

struct order {
	int seen[8];
	int n;
	struct ev_timer *cancel_me;
};

struct tagged {
	struct ev_timer t;
	struct order *o;
	int tag;
};

static void record(struct ev_loop *loop, void *arg)
{
	struct tagged *x = arg;

	x->o->seen[x->o->n++] = x->tag;
	if (x->o->cancel_me)
		ev_timer_stop(loop, x->o->cancel_me);
	if (x->o->n == 3)
		ev_stop(loop);
}

static void test_timers_fire_in_order_and_cancel(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct order o = {0};
	struct tagged t[4];
	/* 100 ms apart: being descheduled between two starts (a loaded CI)
	 * must not reorder them. */
	const int delays[4] = {300, 100, 200, 250};

	assert_non_null(loop);
	for (int i = 0; i < 4; i++) {
		t[i].o = &o;
		t[i].tag = i;
		ev_timer_init(&t[i].t, record, &t[i]);
		assert_int_equal(ev_timer_start(loop, &t[i].t, delays[i]), 0);
	}
	/* The first timer to fire (tag 1, 100 ms) cancels tag 3 (250 ms). */
	o.cancel_me = &t[3].t;
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(o.n, 3);
	assert_int_equal(o.seen[0], 1);
	assert_int_equal(o.seen[1], 2);
	assert_int_equal(o.seen[2], 0);
	assert_false(ev_timer_armed(&t[3].t));
	ev_loop_free(loop);
}

/* Many timers, some stopped and some re-armed from the middle of the
 * heap: every one left fires, none twice, in the order of their due
 * times. */
struct many {
	struct ev_timer t;
	uint64_t *last;
	int *fired;
	bool fired_once;
};

static void many_cb(struct ev_loop *loop, void *arg)
{
	struct many *m = arg;

	assert_false(m->fired_once);
	assert_true(m->t.when_ms >= *m->last);
	*m->last = m->t.when_ms;
	m->fired_once = true;
	(*m->fired)++;
}

static void test_many_timers_fire_in_due_order(void **state)
{
	enum { N = 3000 };
	struct ev_loop *loop = ev_loop_new();
	struct many *m = calloc(N, sizeof(*m));
	uint64_t last = 0, x = 12345;
	int fired = 0, want = 0;

	assert_non_null(loop);
	assert_non_null(m);
	for (int i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		m[i].last = &last;
		m[i].fired = &fired;
		ev_timer_init(&m[i].t, many_cb, &m[i]);
		assert_int_equal(ev_timer_start(loop, &m[i].t, (x >> 33) % 60), 0);
	}
	for (int i = 0; i < N; i += 3)
		ev_timer_stop(loop, &m[i].t);
	for (int i = 1; i < N; i += 7)
		assert_int_equal(ev_timer_start(loop, &m[i].t, (uint64_t)(i % 40)), 0);
	for (int i = 0; i < N; i++)
		want += ev_timer_armed(&m[i].t);
	for (int spins = 0; fired < want && spins < 100000; spins++)
		assert_int_equal(ev_run_once(loop, 10), 0);
	assert_int_equal(fired, want);
	for (int i = 0; i < N; i++)
		assert_false(ev_timer_armed(&m[i].t));
	ev_loop_free(loop);
	free(m);
}

static void on_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	int *reads = arg;
	char c;

	assert_true(events & EV_READ);
	assert_int_equal(read(fd, &c, 1), 1);
	(*reads)++;
	ev_io_del(loop, fd); /* deleting itself inside its callback */
	ev_stop(loop);
}

static void test_io_readiness_and_self_delete(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	int p[2], reads = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(ev_io_add(loop, p[0], EV_READ, on_readable, &reads), 0);
	assert_int_equal(ev_io_add(loop, p[0], EV_READ, on_readable, &reads), -EEXIST);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(reads, 1);
	/* Deleted: a second byte is not delivered. */
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(ev_run_once(loop, 10), 0);
	assert_int_equal(reads, 1);
	close(p[0]);
	close(p[1]);
	ev_loop_free(loop);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Busy for ms of CPU (so at least as long in wall time, however loaded
 * the machine): a callback that holds the loop. */
static void spin_ms(unsigned ms)
{
	uint64_t until = cpu_ns() + ms * 1000000ull;

	while (cpu_ns() < until)
		;
}

static void quick_timer(struct ev_loop *loop, void *arg)
{
}

static void slow_timer(struct ev_loop *loop, void *arg)
{
	spin_ms(30);
}

/* Frees its own timer: the loop must have read the name before. */
static void freeing_timer(struct ev_loop *loop, void *arg)
{
	free(arg);
	spin_ms(1);
}

static void slow_reader(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	char b[8];

	if (read(fd, b, sizeof(b)) < 0)
		fail();
	spin_ms(60);
}

static void test_stall_names_its_callback(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer a, b, z;
	struct ev_timer *f = malloc(sizeof(*f));
	struct ev_stall st;
	int p[2];

	assert_non_null(f);
	ev_loop_stall(loop, &st);
	assert_null(st.max_cb);
	/* One iteration: two quick timers around a slow one and a timer
	 * freed by its own callback; the slow one is named. */
	ev_timer_init(&a, quick_timer, NULL);
	ev_timer_init(&b, slow_timer, NULL);
	ev_timer_init(&z, quick_timer, NULL);
	ev_timer_init(f, freeing_timer, f);
	assert_int_equal(ev_timer_start(loop, &a, 0), 0);
	assert_int_equal(ev_timer_start(loop, &b, 0), 0);
	assert_int_equal(ev_timer_start(loop, &z, 0), 0);
	assert_int_equal(ev_timer_start(loop, f, 0), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	ev_loop_stall(loop, &st);
	assert_string_equal(st.max_cb, "test_event.c:slow_timer");
	assert_string_equal(st.max_cpu_cb, "test_event.c:slow_timer");
	assert_true(st.max_cb_ns >= 30000000ull);
	assert_true(st.max_ns >= st.max_cb_ns);
	assert_true(st.max_cpu_ns >= 30000000ull);
	assert_int_equal(st.iterations, 1);
	ev_loop_free(loop);

	/* A watcher's callback is named as well. */
	loop = ev_loop_new();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ev_io_add(loop, p[0], EV_READ, slow_reader, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_run_once(loop, 1000), 0);
	ev_loop_stall(loop, &st);
	assert_string_equal(st.max_cb, "test_event.c:slow_reader");
	assert_string_equal(st.max_cpu_cb, "test_event.c:slow_reader");
	assert_true(st.max_cb_ns >= 60000000ull);
	assert_int_equal(st.iterations, 1);
	ev_io_del(loop, p[0]);
	close(p[0]);
	close(p[1]);
	ev_loop_free(loop);
}

static int many_ran;

static void small_timer(struct ev_loop *loop, void *arg)
{
	many_ran++;
	spin_ms(1);
}

/* 100 due timers of 1 ms of CPU each: an iteration runs the first 64
 * (the least it runs, past its 20 ms budget), the next one the rest; and
 * the run of one callback in a row is what the stall record names. */
static void test_due_timers_spread_over_iterations(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t[100], lone;
	struct ev_stall st;

	many_ran = 0;
	ev_timer_init(&lone, slow_timer, NULL); /* 30 ms in one call */
	assert_int_equal(ev_timer_start(loop, &lone, 0), 0);
	for (int i = 0; i < 100; i++) {
		ev_timer_init(&t[i], small_timer, NULL);
		assert_int_equal(ev_timer_start(loop, &t[i], 0), 0);
	}
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(many_ran, 63); /* 64 timers, the slow one among them */
	ev_loop_stall(loop, &st);
	assert_string_equal(st.max_cb, "test_event.c:small_timer");
	assert_true(st.max_cb_ns >= 63000000ull);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(many_ran, 100);
	ev_loop_free(loop);
}

static int reads_served;

static void slow_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	char b[8];

	if (read(fd, b, sizeof(b)) < 0)
		fail();
	reads_served++;
	spin_ms(1);
}

/* 40 ready pipes whose callbacks take 1 ms each: an iteration serves 32
 * (the least, past its 20 ms budget) and leaves the rest ready, reported
 * again by the next wait (epoll is level triggered): none is lost. */
static void test_ready_descriptors_spread_over_iterations(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	int p[40][2];

	reads_served = 0;
	for (int i = 0; i < 40; i++) {
		assert_int_equal(pipe(p[i]), 0);
		assert_int_equal(ev_io_add(loop, p[i][0], EV_READ, slow_read, NULL), 0);
		assert_int_equal(write(p[i][1], "x", 1), 1);
	}
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(reads_served, 32);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_int_equal(reads_served, 40);
	for (int i = 0; i < 40; i++) {
		ev_io_del(loop, p[i][0]);
		close(p[i][0]);
		close(p[i][1]);
	}
	ev_loop_free(loop);
}

static bool over_budget_seen;

static void budget_timer(struct ev_loop *loop, void *arg)
{
	spin_ms(25);
	over_budget_seen = ev_over_budget(loop);
}

static void test_over_budget_after_20ms(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct ev_timer t;

	over_budget_seen = false;
	ev_timer_init(&t, budget_timer, NULL);
	assert_int_equal(ev_timer_start(loop, &t, 0), 0);
	assert_int_equal(ev_run_once(loop, 0), 0);
	assert_true(over_budget_seen);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_fire_in_order_and_cancel),
	    cmocka_unit_test(test_many_timers_fire_in_due_order),
	    cmocka_unit_test(test_io_readiness_and_self_delete),
	    cmocka_unit_test(test_stall_names_its_callback),
	    cmocka_unit_test(test_due_timers_spread_over_iterations),
	    cmocka_unit_test(test_over_budget_after_20ms),
	    cmocka_unit_test(test_ready_descriptors_spread_over_iterations),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
