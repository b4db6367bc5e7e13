// SPDX-License-Identifier: GPL-2.0-only
/* The controller's offender list (ctl_offenders.c): one entry per client
 * however often it is reported, and a full list forgets the entry that
 * expires first, whatever order the entries came in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "controller.h"
#include "event.h"

#define FULL 4096	   /* OFFENDERS_MAX */
#define DAY_MS 86400000ull /* the window: room for FULL expiries 20 s apart */
#define STEP_MS 20000ull

struct seen {
	struct mxg_ip ip[FULL + 1];
	uint64_t reports[FULL + 1];
	size_t n;
};

static void collect(void *arg, const struct mxg_ip *ip, uint64_t first_ms, uint64_t last_ms,
		    uint64_t expires_ms, uint64_t reports)
{
	struct seen *s = arg;

	assert_true(s->n < FULL + 1);
	s->ip[s->n] = *ip;
	s->reports[s->n++] = reports;
}

/* How often ip was reported, 0: not listed. */
static uint64_t listed(const struct controller *c, const struct mxg_ip *ip)
{
	static struct seen s;
	uint64_t r = 0;

	s.n = 0;
	ctl_offenders_each(c, collect, &s);
	for (size_t i = 0; i < s.n; i++)
		if (mxg_ip_equal(&s.ip[i], ip)) {
			assert_int_equal(r, 0); /* listed once */
			r = s.reports[i];
		}
	return r;
}

static size_t count(const struct controller *c)
{
	static struct seen s;

	s.n = 0;
	ctl_offenders_each(c, collect, &s);
	return s.n;
}

static struct mxg_ip v4(uint32_t host)
{
	struct mxg_ip ip = {.family = AF_INET};

	ip.v4.s_addr = htonl(0xc6120000u | host); /* 198.18.0.0/15 */
	return ip;
}

/* Each new offender is logged: thousands of lines hidden from the run,
 * while cmocka's own messages still reach stderr between them. */
static int saved_stderr = -1;

static void quiet(bool on)
{
	if (on) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		assert_true(null >= 0);
		saved_stderr = dup(2);
		assert_true(saved_stderr >= 0);
		assert_true(dup2(null, 2) == 2);
		close(null);
	} else {
		assert_true(dup2(saved_stderr, 2) == 2);
		close(saved_stderr);
	}
}

static int setup(void **state)
{
	struct controller *c = calloc(1, sizeof(*c));
	struct mxg_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(c);
	assert_non_null(cfg);
	cfg->offender_window_ms = DAY_MS;
	c->cfg = cfg;
	assert_int_equal(ctl_offenders_start(c), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct controller *c = *state;

	ctl_offenders_stop(c, false);
	free(c->cfg);
	free(c);
	return 0;
}

static void test_reports_of_one_client_add_up_in_one_entry(void **state)
{
	struct controller *c = *state;
	struct mxg_ip a = v4(1), b = v4(2), six = {.family = AF_INET6};

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &six.v6), 1);
	quiet(true);
	for (int i = 0; i < 3; i++)
		ctl_offender_add(c, &a, ev_now_ms());
	ctl_offender_add(c, &b, ev_now_ms());
	ctl_offender_add(c, &six, ev_now_ms());
	ctl_offender_add(c, &six, ev_now_ms());
	quiet(false);
	assert_int_equal(count(c), 3);
	assert_int_equal(listed(c, &a), 3);
	assert_int_equal(listed(c, &b), 1);
	assert_int_equal(listed(c, &six), 2);
	/* Restored from a file or from Redis: the same entry, not a second. */
	assert_true(ctl_offender_restore(c, &a, ev_now_ms(), ev_now_ms(), ev_now_ms() + 60000, 9));
	assert_int_equal(count(c), 3);
	assert_int_equal(listed(c, &a), 9);
}

/* Entry k of the FULL expires (k + 1) steps from now; they arrive in a
 * scrambled order (k = i * 1531 mod FULL, 1531 odd and FULL a power of
 * two), so the first to expire is neither the first nor the last in. */
static void fill(struct controller *c)
{
	for (uint32_t i = 0; i < FULL; i++) {
		uint32_t k = (i * 1531u) % FULL;
		struct mxg_ip ip = v4(k + 1);
		uint64_t now = ev_now_ms();

		assert_true(ctl_offender_restore(c, &ip, now, now, now + (k + 1) * STEP_MS, 1));
	}
	assert_int_equal(count(c), FULL);
}

static void test_a_full_list_forgets_the_entry_that_expires_first(void **state)
{
	struct controller *c = *state;
	struct mxg_ip n1 = v4(100001), n2 = v4(100002), n3 = v4(100003);
	struct mxg_ip k0 = v4(1), k1 = v4(2), k2 = v4(3), k3 = v4(4), k4 = v4(5);

	quiet(true);
	fill(c);
	ctl_offender_add(c, &n1, ev_now_ms());
	assert_int_equal(count(c), FULL);
	assert_int_equal(listed(c, &n1), 1);
	assert_int_equal(listed(c, &k0), 0);
	assert_int_equal(listed(c, &k1), 1);

	ctl_offender_add(c, &n2, ev_now_ms());
	assert_int_equal(listed(c, &k1), 0);
	assert_int_equal(listed(c, &k2), 1);

	/* A new report of k2 renews it: the next new client forgets k3. */
	ctl_offender_add(c, &k2, ev_now_ms());
	assert_int_equal(listed(c, &k2), 2);
	ctl_offender_add(c, &n3, ev_now_ms());
	assert_int_equal(listed(c, &k2), 2);
	assert_int_equal(listed(c, &k3), 0);

	/* A forgotten client reported again starts over, and makes room. */
	ctl_offender_add(c, &k0, ev_now_ms());
	assert_int_equal(listed(c, &k0), 1);
	assert_int_equal(listed(c, &k4), 0);
	assert_int_equal(count(c), FULL);

	/* Reported ones expire a day after their report, later than any
	 * restored one: FULL - 5 more new clients forget every restored
	 * entry left (k5 .. k4095) and none of the five reported. */
	for (uint32_t i = 0; i < FULL - 5; i++) {
		struct mxg_ip ip = v4(200000 + i);

		ctl_offender_add(c, &ip, ev_now_ms());
	}
	quiet(false);
	assert_int_equal(count(c), FULL);
	for (uint32_t k = 4; k < FULL; k++) {
		struct mxg_ip ip = v4(k + 1);

		assert_int_equal(listed(c, &ip), 0);
	}
	assert_int_equal(listed(c, &n1), 1);
	assert_int_equal(listed(c, &n2), 1);
	assert_int_equal(listed(c, &n3), 1);
	assert_int_equal(listed(c, &k2), 2);
	assert_int_equal(listed(c, &k0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reports_of_one_client_add_up_in_one_entry, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_full_list_forgets_the_entry_that_expires_first,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
