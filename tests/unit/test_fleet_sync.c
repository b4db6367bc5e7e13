// SPDX-License-Identifier: GPL-2.0-only
/* The fleet's records in Redis (fleet/fleet_sync.c): what one edge writes
 * another reads back the same; anything else is refused; what is taken
 * never grants more than this edge's own limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fleet_sync.h"

#define P "mxgate:"
#define NOW 1800000000000ull /* wall ms */
#define HOUR 3600000ull

static const struct fleet_limits lim = {.pass_ttl_ms = 24 * HOUR,
					.pass_max_ms = 7 * 24 * HOUR,
					.greylist_window_ms = 4 * HOUR,
					.offender_window_ms = 60000};

static int dec(const char *k, const char *v, struct fleet_record *r)
{
	return fleet_decode(P, k, strlen(k), v, strlen(v), r);
}

static void test_records_round_trip(void **state)
{
	struct fleet_record in[3] = {
	    {.kind = FLEET_TUPLE,
	     .edge = 0xabc,
	     .hash = 0x0123456789abcdefull,
	     .first_ms = NOW - 1000,
	     .expires_ms = NOW + HOUR},
	    {.kind = FLEET_PASS,
	     .edge = 7,
	     .first_ms = NOW - 5,
	     .expires_ms = NOW + HOUR,
	     .n = 1,
	     .proven = true},
	    {.kind = FLEET_OFFENDER,
	     .edge = 9,
	     .first_ms = NOW - 9,
	     .last_ms = NOW - 2,
	     .expires_ms = NOW + 5000,
	     .n = 6},
	};
	char k[FLEET_KEY_MAX], v[FLEET_VALUE_MAX], msg[FLEET_MSG_MAX];
	struct fleet_record out;

	assert_int_equal(mxg_ip_parse("192.0.2.7", &in[0].ip), 0);
	assert_int_equal(mxg_ip_parse("2001:db8::7", &in[1].ip), 0);
	assert_int_equal(mxg_ip_parse("198.51.100.1", &in[2].ip), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fleet_encode(P, &in[i], k, sizeof(k), v, sizeof(v)), 0);
		assert_int_equal(dec(k, v, &out), 0);
		assert_int_equal(out.kind, in[i].kind);
		assert_int_equal(out.edge, in[i].edge);
		assert_int_equal(out.hash, in[i].hash);
		assert_true(mxg_ip_equal(&out.ip, &in[i].ip));
		assert_int_equal(out.first_ms, in[i].first_ms);
		assert_int_equal(out.last_ms, in[i].last_ms);
		assert_int_equal(out.expires_ms, in[i].expires_ms);
		assert_int_equal(out.n, in[i].n);
		assert_int_equal(out.proven, in[i].proven);
		snprintf(msg, sizeof(msg), "%s %s", k, v);
		assert_int_equal(fleet_decode_msg(P, msg, strlen(msg), &out), 0);
		assert_int_equal(out.expires_ms, in[i].expires_ms);
	}
	assert_string_equal(k, P "o:198.51.100.1");
}

static void test_malformed_records_refused(void **state)
{
	static const char *const bad[][2] = {
	    {"other:p:192.0.2.1", "1 1 1 2 1 1"},		 /* another prefix */
	    {P "p:192.0.2.1", "2 1 1 2 1 1"},			 /* another version */
	    {P "p:192.0.2.1", "1 1 1 2 1"},			 /* a field short */
	    {P "p:192.0.2.1", "1 1 1 2 1 1 9"},			 /* a field more */
	    {P "p:192.0.2.1", "1 1 1 2 1 2"},			 /* proven neither 0 nor 1 */
	    {P "p:192.0.2.1", "1 1 -1 2 1 1"},			 /* a negative time */
	    {P "p:192.0.2.1", "1 1 1  2 1 1"},			 /* two spaces */
	    {P "p:192.0.2.1", "1 1 99999999999999999999 2 1 1"}, /* 20 digits */
	    {P "p:192.0.2.999", "1 1 1 2 1 1"},			 /* not an address */
	    {P "p:example.org", "1 1 1 2 1 1"},			 /* a name */
	    {P "t:0123", "1 1 1 2 192.0.2.1"},			 /* a short hash */
	    {P "t:0000000000000000", "1 1 1 2 192.0.2.1"},	 /* hash 0 */
	    {P "t:0123456789ABCDEF", "1 1 1 2 192.0.2.1"},	 /* upper case */
	    {P "t:0123456789abcdef", "1 1 1 2 nowhere"},	 /* its client */
	    {P "x:192.0.2.1", "1 1 1 2 1 1"},			 /* unknown kind */
	    {P "p:192.0.2.1", "1 xyz 1 2 1 1"},			 /* edge not hex */
	    {P "p:192.0.2.1", ""},
	};
	char big[FLEET_VALUE_MAX + 10];
	struct fleet_record r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(dec(bad[i][0], bad[i][1], &r), 0);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_not_equal(dec(P "p:192.0.2.1", big, &r), 0);
	assert_int_not_equal(fleet_decode(P, P "p:192.0.2.1", 15, "1 1 1\0 2 1 1", 12, &r), 0);
	assert_int_not_equal(fleet_decode_msg(P, "nospace", 7, &r), 0);
}

/* A hostile pass never lasts beyond pass_ttl from now nor pass_max from
 * its start; one that starts in the future starts now. */
static void test_hostile_pass_clamped(void **state)
{
	struct fleet_record r;

	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1800000000000 99999999999999 1 1", &r), 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(r.expires_ms, NOW + lim.pass_ttl_ms);

	assert_int_equal(dec(P "p:192.0.2.1", "1 1 9999999999999999 9999999999999999 2 0", &r), 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(r.first_ms, NOW);
	assert_int_equal(r.expires_ms, NOW + lim.pass_ttl_ms);

	/* Given 7 days ago less an hour: an hour left of pass_max. */
	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1799399600000 1900000000000 1 1", &r), 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(r.expires_ms, 1799399600000ull + lim.pass_max_ms);

	/* Expired, or a reason this edge does not give: not taken. */
	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1 1799999999999 1 1", &r), 0);
	assert_false(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1799999999999 1800000001000 7 1", &r), 0);
	assert_false(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1799999999999 1800000001000 0 1", &r), 0);
	assert_false(fleet_clamp(&r, &lim, NOW));
}

/* A greylist pass (reason 1) keeps the proven its edge gave it; a
 * recipient pass (reason 2), which anyone can ask for, is never proven
 * here whatever the record claims. */
static void test_only_a_greylist_pass_is_taken_as_proven(void **state)
{
	struct fleet_record r;

	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1799999999999 1800000001000 1 1", &r), 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_true(r.proven);
	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1799999999999 1800000001000 1 0", &r), 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_false(r.proven);
	assert_int_equal(dec(P "p:192.0.2.1", "1 1 1799999999999 1800000001000 2 1", &r), 0);
	assert_true(r.proven); /* as written */
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_false(r.proven); /* as taken */
	assert_int_equal(r.n, 2);
}

static void test_tuple_and_offender_clamped(void **state)
{
	struct fleet_record r;

	/* A tuple lives its window from its first sighting, whatever it says. */
	assert_int_equal(
	    dec(P "t:0123456789abcdef", "1 1 1799999000000 99999999999999 192.0.2.1", &r), 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(r.expires_ms, 1799999000000ull + lim.greylist_window_ms);
	/* Seen before the window: a new round, not taken. */
	assert_int_equal(dec(P "t:0123456789abcdef", "1 1 1 2 192.0.2.1", &r), 0);
	assert_false(fleet_clamp(&r, &lim, NOW));

	assert_int_equal(dec(P "o:192.0.2.1",
			     "1 1 9999999999999999 9999999999999999 "
			     "99999999999999 3",
			     &r),
			 0);
	assert_true(fleet_clamp(&r, &lim, NOW));
	assert_int_equal(r.last_ms, NOW);
	assert_int_equal(r.first_ms, NOW);
	assert_int_equal(r.expires_ms, NOW + lim.offender_window_ms);
	assert_int_equal(dec(P "o:192.0.2.1", "1 1 1 2 1900000000000 0", &r), 0);
	assert_false(fleet_clamp(&r, &lim, NOW)); /* no reports */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records_round_trip),
	    cmocka_unit_test(test_malformed_records_refused),
	    cmocka_unit_test(test_hostile_pass_clamped),
	    cmocka_unit_test(test_only_a_greylist_pass_is_taken_as_proven),
	    cmocka_unit_test(test_tuple_and_offender_clamped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
