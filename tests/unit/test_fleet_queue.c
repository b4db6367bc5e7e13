// SPDX-License-Identifier: GPL-2.0-only
/* The fleet's queue of writes while Redis is away (fleet_queue.c): one
 * client network's flood keeps at most its share, so the other senders'
 * records are still there at reconnection; a full queue forgets its
 * oldest; what comes out comes in the order it went in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fleet_queue.h"

static struct fleet_record tuple(const char *ip, uint64_t hash)
{
	struct fleet_record r = {.kind = FLEET_TUPLE, .hash = hash};

	assert_int_equal(mxg_ip_parse(ip, &r.ip), 0);
	return r;
}

/* Host host of the /24 10.(net >> 8).(net & 255).0. */
static struct fleet_record in_net(unsigned net, unsigned host, uint64_t hash)
{
	char a[64];

	snprintf(a, sizeof(a), "10.%u.%u.%u", net >> 8, net & 0xff, host);
	return tuple(a, hash);
}

static void test_one_network_keeps_only_its_share(void **state)
{
	struct fleet_queue q;
	struct fleet_record r;
	size_t from_flood = 0, others = 0;

	assert_int_equal(fleet_queue_init(&q), 0);
	/* Another sender's tuple first, then a flood from one /24 (every
	 * host of it, many times over), then other senders again: one IPv4,
	 * one IPv6. */
	r = tuple("198.51.100.7", 1);
	fleet_queue_put(&q, &r);
	for (unsigned i = 0; i < 10 * FLEET_QUEUE_MAX; i++) {
		r = in_net(1, i % 256, 1000 + i);
		fleet_queue_put(&q, &r);
	}
	r = tuple("2001:db8::25", 2);
	fleet_queue_put(&q, &r);
	r = tuple("203.0.113.9", 3);
	fleet_queue_put(&q, &r);
	assert_int_equal(q.n, FLEET_QUEUE_PER_NET + 3);
	assert_int_equal(q.dropped, 10 * FLEET_QUEUE_MAX - FLEET_QUEUE_PER_NET);

	/* In order: the first sender, the flood's first share, the others. */
	assert_true(fleet_queue_pop(&q, &r));
	assert_int_equal(r.hash, 1);
	while (fleet_queue_pop(&q, &r)) {
		if (r.hash >= 1000) {
			assert_int_equal(r.hash, 1000 + from_flood);
			assert_int_equal(others, 0);
			from_flood++;
		} else {
			assert_int_equal(r.hash, 2 + others);
			others++;
		}
	}
	assert_int_equal(from_flood, FLEET_QUEUE_PER_NET);
	assert_int_equal(others, 2);

	/* Emptied, the network has its whole share again. */
	for (unsigned i = 0; i < FLEET_QUEUE_PER_NET; i++) {
		r = in_net(1, i % 256, i);
		fleet_queue_put(&q, &r);
	}
	assert_int_equal(q.n, FLEET_QUEUE_PER_NET);
	fleet_queue_free(&q);
}

/* An IPv6 network is its /48: the flood's /64s share one share. */
static void test_an_ipv6_48_is_one_network(void **state)
{
	struct fleet_queue q;
	struct fleet_record r;
	char a[64];

	assert_int_equal(fleet_queue_init(&q), 0);
	for (unsigned i = 0; i < 4 * FLEET_QUEUE_PER_NET; i++) {
		snprintf(a, sizeof(a), "2001:db8:1:%x::1", i);
		r = tuple(a, i);
		fleet_queue_put(&q, &r);
	}
	assert_int_equal(q.n, FLEET_QUEUE_PER_NET);
	r = tuple("2001:db8:2::1", 9);
	fleet_queue_put(&q, &r);
	assert_int_equal(q.n, FLEET_QUEUE_PER_NET + 1);
	fleet_queue_free(&q);
}

/* Many networks at once fill the queue: the oldest are forgotten, the
 * newest FLEET_QUEUE_MAX kept, and each network's count follows (a
 * network whose records were forgotten may queue again). */
static void test_a_full_queue_forgets_its_oldest(void **state)
{
	struct fleet_queue q;
	struct fleet_record r;
	const unsigned per = 4, nets = 2 * FLEET_QUEUE_MAX / 4;

	assert_int_equal(fleet_queue_init(&q), 0);
	for (unsigned n = 0; n < nets; n++)
		for (unsigned h = 0; h < per; h++) {
			r = in_net(n, h, n * per + h);
			fleet_queue_put(&q, &r);
		}
	assert_int_equal(q.n, FLEET_QUEUE_MAX);
	assert_int_equal(q.dropped, nets * per - FLEET_QUEUE_MAX);
	/* The first network was forgotten: its share is whole again. */
	for (unsigned h = 0; h < FLEET_QUEUE_PER_NET; h++) {
		r = in_net(0, h, 1000000 + h);
		fleet_queue_put(&q, &r);
	}
	assert_true(fleet_queue_pop(&q, &r));
	assert_int_equal(r.hash, nets * per - FLEET_QUEUE_MAX + FLEET_QUEUE_PER_NET);
	fleet_queue_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_network_keeps_only_its_share),
	    cmocka_unit_test(test_an_ipv6_48_is_one_network),
	    cmocka_unit_test(test_a_full_queue_forgets_its_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
