// SPDX-License-Identifier: GPL-2.0-only
/* Address helpers: the one loopback test the responder and the policy
 * service share to decide that a client is this host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "addr.h"

static bool loopback(const char *s)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(s, &ip), 0);
	return mxg_ip_is_loopback(&ip);
}

static void test_loopback_is_127_8_and_ipv6_one(void **state)
{
	static const char *const yes[] = {"127.0.0.1", "127.0.0.5",	   "127.255.255.254",
					  "::1",       "::ffff:127.0.0.1", "::ffff:127.1.2.3"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(loopback(yes[i]));
}

static void test_neighbours_of_loopback_are_not(void **state)
{
	/* ::127.0.0.1 is IPv4-compatible, not mapped: not loopback. */
	static const char *const no[] = {
	    "126.255.255.255", "128.0.0.1",   "10.0.0.1",    "0.0.0.0", "::", "::2",
	    "::ffff:10.0.0.1", "::127.0.0.1", "2001:db8::1", "fe80::1"};

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(loopback(no[i]));
}

static void test_unset_address_is_not_loopback(void **state)
{
	struct mxg_ip ip;

	memset(&ip, 0, sizeof(ip));
	assert_false(mxg_ip_is_loopback(&ip));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loopback_is_127_8_and_ipv6_one),
	    cmocka_unit_test(test_neighbours_of_loopback_are_not),
	    cmocka_unit_test(test_unset_address_is_not_loopback),
	};
	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
