// SPDX-License-Identifier: GPL-2.0-only
/* The responder's per-client and per-network counts: what accept and
 * STARTTLS compare with their limits instead of walking every session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>

#include "addr.h"
#include "offender.h"
#include "responder_count.h"

static void keys(const char *ip, struct client_key *k, struct client_key *net)
{
	struct mxg_ip a;

	assert_int_equal(mxg_ip_parse(ip, &a), 0);
	client_key_from_ip(&a, k);
	client_key_network(k, net);
}

static void test_sessions_counted_per_client_and_network(void **state)
{
	struct client_key a, b, net_a, net_b, other, net_other;
	struct rsp_counts c;

	assert_int_equal(rsp_counts_init(&c, 42), 0);
	keys("192.0.2.1", &a, &net_a);
	keys("192.0.2.2", &b, &net_b);
	keys("198.51.100.1", &other, &net_other);
	assert_true(client_key_equal(&net_a, &net_b));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rsp_count_inc(&c, RSP_COUNT_CLIENT, &a), 0);
		assert_int_equal(rsp_count_inc(&c, RSP_COUNT_NET, &net_a), 0);
	}
	assert_int_equal(rsp_count_inc(&c, RSP_COUNT_CLIENT, &b), 0);
	assert_int_equal(rsp_count_inc(&c, RSP_COUNT_NET, &net_b), 0);
	assert_int_equal(rsp_count(&c, RSP_COUNT_CLIENT, &a), 3);
	assert_int_equal(rsp_count(&c, RSP_COUNT_CLIENT, &b), 1);
	assert_int_equal(rsp_count(&c, RSP_COUNT_NET, &net_a), 4);
	assert_int_equal(rsp_count(&c, RSP_COUNT_NET, &net_other), 0);
	assert_int_equal(rsp_count(&c, RSP_COUNT_CLIENT, &other), 0);
	/* Handshakes are their own count, not sessions. */
	assert_int_equal(rsp_count(&c, RSP_COUNT_TLS, &net_a), 0);
	assert_int_equal(rsp_count_inc(&c, RSP_COUNT_TLS, &net_a), 0);
	assert_int_equal(rsp_count(&c, RSP_COUNT_TLS, &net_a), 1);
	assert_int_equal(rsp_count(&c, RSP_COUNT_NET, &net_a), 4);
	rsp_count_dec(&c, RSP_COUNT_TLS, &net_a);
	assert_int_equal(rsp_count(&c, RSP_COUNT_TLS, &net_a), 0);
	/* Going away: back to nothing, and the entries with it. */
	for (int i = 0; i < 3; i++) {
		rsp_count_dec(&c, RSP_COUNT_CLIENT, &a);
		rsp_count_dec(&c, RSP_COUNT_NET, &net_a);
	}
	assert_int_equal(rsp_count(&c, RSP_COUNT_CLIENT, &a), 0);
	assert_int_equal(rsp_count(&c, RSP_COUNT_NET, &net_a), 1);
	rsp_count_dec(&c, RSP_COUNT_CLIENT, &b);
	rsp_count_dec(&c, RSP_COUNT_NET, &net_b);
	assert_int_equal(c.t.count, 0);
	rsp_count_dec(&c, RSP_COUNT_NET, &net_b); /* one too many: nothing happens */
	assert_int_equal(rsp_count(&c, RSP_COUNT_NET, &net_b), 0);
	rsp_counts_free(&c);
}

/* 10,000 sessions from 10,000 addresses of 40 networks: each client and
 * network counted exactly, as the walk over every session did. */
static void test_ten_thousand_sessions(void **state)
{
	struct rsp_counts c;
	char ip[64];

	assert_int_equal(rsp_counts_init(&c, 7), 0);
	for (int i = 0; i < 10000; i++) {
		struct client_key k, net;

		snprintf(ip, sizeof(ip), "2001:db8:%x::%x", i % 40, i);
		keys(ip, &k, &net);
		assert_int_equal(rsp_count_inc(&c, RSP_COUNT_CLIENT, &k), 0);
		assert_int_equal(rsp_count_inc(&c, RSP_COUNT_NET, &net), 0);
	}
	for (int n = 0; n < 40; n++) {
		struct client_key k, net;

		snprintf(ip, sizeof(ip), "2001:db8:%x::1", n);
		keys(ip, &k, &net);
		assert_int_equal(rsp_count(&c, RSP_COUNT_NET, &net), 250);
	}
	rsp_counts_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sessions_counted_per_client_and_network),
	    cmocka_unit_test(test_ten_thousand_sessions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
