// SPDX-License-Identifier: GPL-2.0-only
/* mx_find_primaries: cascading primaries, case and trailing dots, self
 * missing, ties, and every non-OK MX status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mxset.h"

static struct mx_set set;

static void add(const char *name, unsigned pref, const char *addr)
{
	struct mx_host *h = &set.hosts[set.n_hosts++];

	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->pref = (uint16_t)pref;
	if (addr) {
		assert_int_equal(mxg_ip_parse(addr, &h->addrs[0]), 0);
		h->n_addrs = 1;
	}
}

static int setup(void **state)
{
	memset(&set, 0, sizeof(set));
	snprintf(set.domain, sizeof(set.domain), "example.test");
	set.status = MX_OK;
	return 0;
}

static void test_cascading_primaries(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"edge.example.test"};
	struct mx_primaries p;

	add("p1.example.test", 10, "192.0.2.11");
	add("p2.example.test", 15, "192.0.2.12");
	add("edge.example.test", 20, "192.0.2.20");
	add("far.example.test", 30, "192.0.2.40");
	assert_int_equal(mx_find_primaries(&set, self, 1, &p), 2);
	assert_int_equal(p.pref_self, 20);
	assert_int_equal(p.reason, MXG_REASON_NONE);
	assert_string_equal(p.hosts[0]->name, "p1.example.test");
	assert_string_equal(p.hosts[1]->name, "p2.example.test");
}

static void test_self_matches_case_and_trailing_dot(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"other.example", "EDGE.Example.Test."};
	struct mx_primaries p;

	add("p1.example.test", 10, "192.0.2.11");
	add("edge.example.test", 20, "192.0.2.20");
	assert_int_equal(mx_find_primaries(&set, self, 2, &p), 1);
	assert_int_equal(p.pref_self, 20);
}

/* The one "is this MX host me" of the daemon, its status and mxgate probe:
 * `mxgate probe --self mx2.example.test.` once missed a dotless MX name. */
static void test_host_is_self_ignores_case_and_trailing_dot(void **state)
{
	static const char self[2][MXG_NAME_MAX] = {"mx2.example.test.", "backup.example.net"};

	assert_true(mx_host_is_self("MX2.Example.Test", self, 2));
	assert_true(mx_host_is_self("mx2.example.test.", self, 2));
	assert_true(mx_host_is_self("backup.example.net.", self, 2));
	assert_false(mx_host_is_self("mx2.example.tes", self, 2));
	assert_false(mx_host_is_self("", self, 2));
	assert_false(mx_host_is_self("mx2.example.test", self, 0));
}

static void test_self_missing(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"backup.example.test"};
	struct mx_primaries p;

	add("p1.example.test", 10, "192.0.2.11");
	add("edge.example.test", 20, "192.0.2.20");
	assert_int_equal(mx_find_primaries(&set, self, 1, &p), 0);
	assert_int_equal(p.pref_self, -1);
	assert_int_equal(p.reason, MXG_REASON_SELF_NOT_IN_MX);
}

static void test_tie_with_self_is_not_primary(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"edge.example.test"};
	struct mx_primaries p;

	add("edge.example.test", 10, "192.0.2.20");
	add("p1.example.test", 10, "192.0.2.11");
	assert_int_equal(mx_find_primaries(&set, self, 1, &p), 0);
	assert_int_equal(p.reason, MXG_REASON_NO_PRIMARY);
	assert_int_equal(p.pref_self, 10);
}

static void test_lowest_self_preference_counts(void **state)
{
	/* Self listed twice (two names of this host): the lower wins. */
	static const char self[][MXG_NAME_MAX] = {"edge.example.test", "edge2.example.test"};
	struct mx_primaries p;

	add("p1.example.test", 10, "192.0.2.11");
	add("edge2.example.test", 15, "192.0.2.21");
	add("p2.example.test", 18, "192.0.2.12");
	add("edge.example.test", 20, "192.0.2.20");
	assert_int_equal(mx_find_primaries(&set, self, 2, &p), 1);
	assert_int_equal(p.pref_self, 15);
	assert_string_equal(p.hosts[0]->name, "p1.example.test");
}

static void test_primaries_without_address(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"edge.example.test"};
	struct mx_primaries p;

	add("p1.example.test", 10, NULL);
	add("edge.example.test", 20, "192.0.2.20");
	assert_int_equal(mx_find_primaries(&set, self, 1, &p), 1);
	assert_int_equal(p.reason, MXG_REASON_NO_PRIMARY_ADDR);
}

static void test_primary_address_lookup_failed_is_dns_failure(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"edge.example.test"};
	struct mx_primaries p;

	add("p1.example.test", 10, NULL);
	set.hosts[0].addr_status = MX_ERROR;
	add("p2.example.test", 15, NULL);
	set.hosts[1].addr_status = MX_NXDOMAIN;
	add("edge.example.test", 20, "192.0.2.20");
	assert_int_equal(mx_find_primaries(&set, self, 1, &p), 2);
	assert_int_equal(p.reason, MXG_REASON_DNS_FAILED);
}

static void test_statuses_map_to_reasons(void **state)
{
	static const char self[][MXG_NAME_MAX] = {"edge.example.test"};
	static const struct {
		enum mx_status st;
		enum mxg_reason reason;
	} cases[] = {
	    {MX_NULL, MXG_REASON_NULL_MX},
	    {MX_NO_RECORDS, MXG_REASON_NO_MX},
	    {MX_NXDOMAIN, MXG_REASON_NXDOMAIN},
	    {MX_ERROR, MXG_REASON_DNS_FAILED},
	};
	struct mx_primaries p;

	add("p1.example.test", 10, "192.0.2.11");
	add("edge.example.test", 20, "192.0.2.20");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set.status = cases[i].st;
		assert_int_equal(mx_find_primaries(&set, self, 1, &p), 0);
		assert_int_equal(p.reason, cases[i].reason);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_cascading_primaries, setup),
	    cmocka_unit_test_setup(test_self_matches_case_and_trailing_dot, setup),
	    cmocka_unit_test(test_host_is_self_ignores_case_and_trailing_dot),
	    cmocka_unit_test_setup(test_self_missing, setup),
	    cmocka_unit_test_setup(test_tie_with_self_is_not_primary, setup),
	    cmocka_unit_test_setup(test_lowest_self_preference_counts, setup),
	    cmocka_unit_test_setup(test_primaries_without_address, setup),
	    cmocka_unit_test_setup(test_primary_address_lookup_failed_is_dns_failure, setup),
	    cmocka_unit_test_setup(test_statuses_map_to_reasons, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
