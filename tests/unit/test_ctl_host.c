// SPDX-License-Identifier: GPL-2.0-only
/* This host's own addresses in the controller (ctl_host.c): loopback and
 * the list of the last refresh count as this host; a failed listing keeps
 * the list; an address gone from the host stops counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"

struct fake_if {
	struct ifaddrs ifa;
	struct sockaddr_storage ss;
};

/* An ifaddrs chain of n addresses (textual), as getifaddrs returns. */
static struct fake_if *chain(const char *const *addrs, size_t n)
{
	struct fake_if *f = calloc(n ? n : 1, sizeof(*f));

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		struct mxg_ip ip;

		assert_int_equal(mxg_ip_parse(addrs[i], &ip), 0);
		if (ip.family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&f[i].ss;

			s->sin_family = AF_INET;
			s->sin_addr = ip.v4;
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&f[i].ss;

			s->sin6_family = AF_INET6;
			s->sin6_addr = ip.v6;
		}
		f[i].ifa.ifa_addr = (struct sockaddr *)&f[i].ss;
		f[i].ifa.ifa_next = i + 1 < n ? &f[i + 1].ifa : NULL;
	}
	return f;
}

static bool is_host(const struct controller *c, const char *s)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(s, &ip), 0);
	return ctl_ip_is_host(c, &ip);
}

static void test_loopback_and_listed_addresses_are_this_host(void **state)
{
	static const char *const mine[] = {"192.0.2.1", "2001:db8::1"};
	struct controller *c = calloc(1, sizeof(*c));
	struct fake_if *f = chain(mine, 2);

	assert_non_null(c);
	/* Before the first refresh: loopback only. */
	assert_true(is_host(c, "127.0.0.1"));
	assert_true(is_host(c, "::1"));
	assert_false(is_host(c, "192.0.2.1"));
	ctl_host_refresh(c, &f->ifa, 0);
	assert_true(is_host(c, "192.0.2.1"));
	assert_true(is_host(c, "2001:db8::1"));
	assert_false(is_host(c, "192.0.2.2"));
	assert_false(is_host(c, "2001:db8::2"));
	free(f);
	free(c);
}

static void test_failed_listing_keeps_the_list_and_a_gone_address_stops_counting(void **state)
{
	static const char *const before[] = {"192.0.2.1", "198.51.100.7"};
	static const char *const after[] = {"198.51.100.7"};
	struct controller *c = calloc(1, sizeof(*c));
	struct fake_if *f = chain(before, 2), *g = chain(after, 1);

	assert_non_null(c);
	ctl_host_refresh(c, &f->ifa, 0);
	ctl_host_refresh(c, NULL, ENOMEM);
	assert_true(c->host_addrs_failing);
	assert_true(is_host(c, "192.0.2.1"));
	ctl_host_refresh(c, &g->ifa, 0);
	assert_false(c->host_addrs_failing);
	assert_false(is_host(c, "192.0.2.1"));
	assert_true(is_host(c, "198.51.100.7"));
	free(f);
	free(g);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loopback_and_listed_addresses_are_this_host),
	    cmocka_unit_test(test_failed_listing_keeps_the_list_and_a_gone_address_stops_counting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
