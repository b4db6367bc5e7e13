// SPDX-License-Identifier: GPL-2.0-only
/* The state file's loader: a good file round-trips; a corrupt or foreign
 * one is refused whole (nothing reaches the sink), never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "persist.h"

struct got {
	uint64_t seed;
	size_t passes, tuples, offenders;
	struct persist_pass pass;
	struct persist_tuple tuple;
	struct persist_offender offender;
};

static void g_seed(void *arg, uint64_t s)
{
	((struct got *)arg)->seed = s;
}
static void g_pass(void *arg, const struct persist_pass *p)
{
	struct got *g = arg;

	g->passes++;
	g->pass = *p;
}
static void g_tuple(void *arg, const struct persist_tuple *t)
{
	struct got *g = arg;

	g->tuples++;
	g->tuple = *t;
}
static void g_offender(void *arg, const struct persist_offender *o)
{
	struct got *g = arg;

	g->offenders++;
	g->offender = *o;
}

static int parse(const char *text, size_t len, struct got *g, char *err)
{
	struct persist_sink s = {g, g_seed, g_pass, g_tuple, g_offender};

	memset(g, 0, sizeof(*g));
	return persist_parse(text, len, &s, err, 256);
}

static void test_round_trip(void **state)
{
	struct persist_pass p = {
	    .reason = MXG_PASS_GREYLIST, .since_ms = 1700000000000, .expires_ms = 1700086400000};
	struct persist_tuple t = {.hash = 0x89abcdef01234567ull, .first_ms = 5, .last_ms = 9};
	struct persist_offender o = {.first_ms = 1, .last_ms = 2, .expires_ms = 3, .reports = 4};
	char buf[1024], err[256];
	size_t n;
	struct got g;

	mxg_ip_parse("2001:db8::45", &p.ip);
	mxg_ip_parse("192.0.2.9", &o.ip);
	n = (size_t)snprintf(buf, sizeof(buf), PERSIST_MAGIC "\nseed 00000000000000ff\n");
	n += persist_fmt_pass(buf + n, sizeof(buf) - n, &p);
	n += persist_fmt_tuple(buf + n, sizeof(buf) - n, &t);
	n += persist_fmt_offender(buf + n, sizeof(buf) - n, &o);
	assert_int_equal(parse(buf, n, &g, err), 0);
	assert_int_equal(g.seed, 0xff);
	assert_int_equal(g.passes, 1);
	assert_true(mxg_ip_equal(&g.pass.ip, &p.ip));
	assert_int_equal(g.pass.reason, MXG_PASS_GREYLIST);
	assert_int_equal(g.pass.expires_ms, p.expires_ms);
	assert_int_equal(g.tuples, 1);
	assert_int_equal(g.tuple.hash, t.hash);
	assert_int_equal(g.offenders, 1);
	assert_int_equal(g.offender.reports, 4);
	/* Only the header: fine, empty. */
	assert_int_equal(parse(PERSIST_MAGIC "\n", strlen(PERSIST_MAGIC) + 1, &g, err), 0);
}

static void refused(const char *text, size_t len, const char *why)
{
	char err[256];
	struct got g;

	assert_int_equal(parse(text, len, &g, err), -1);
	if (!strstr(err, why)) {
		print_error("want \"%s\" in \"%s\"\n", why, err);
		fail();
	}
	assert_int_equal(g.passes + g.tuples + g.offenders + (g.seed != 0), 0);
}

#define GOOD PERSIST_MAGIC "\npass 192.0.2.7 recipient 1 2\n"
#define R(s, why) refused(s, sizeof(s) - 1, why)

static void test_corrupt_or_foreign_refused_whole(void **state)
{
	char big[PERSIST_LINE_MAX + 40];

	R("", "empty");
	R("# some other program's file\n", "not a state file of this mxgate");
	R("mxgate-state 2\n", "not a state file");
	R(GOOD "pass 192.0.2.8 recipient 1 2", "no newline at the end");
	R(GOOD "pass 192.0.2.8 friend 1 2\n", "line 3: not a valid record");
	R(GOOD "pass 192.0.2.999 recipient 1 2\n", "line 3");
	R(GOOD "pass 192.0.2.8 recipient 5 2\n", "line 3"); /* expires before since */
	R(GOOD "pass 192.0.2.8 recipient -1 2\n", "line 3");
	R(GOOD "pass 192.0.2.8  recipient 1 2\n", "line 3");
	R(GOOD "tuple 0000000000000000 1 2\n", "line 3"); /* hash 0 */
	R(GOOD "tuple 12345 1 2\n", "line 3");
	R(GOOD "tuple 89abcdef0123456g 1 2\n", "line 3");
	R(GOOD "seed 1\n", "line 3");
	R(GOOD "offender 192.0.2.1 1 2 3\n", "line 3");
	R(GOOD "pass 192.0.2.8 recipient 1 99999999999999999999999\n", "line 3");
	R(GOOD "pass 192.0.2.8 recipient 1 2 3 4 5 6 7 8 9\n", "line 3");
	R(GOOD "\x01\x02\xff\n", "line 3: not a valid record: ???");
	R(GOOD "pass 192.0.2.8\0 recipient 1 2\n", "binary");
	memset(big, 'x', sizeof(big));
	memcpy(big, PERSIST_MAGIC "\n", strlen(PERSIST_MAGIC) + 1);
	big[sizeof(big) - 1] = '\n';
	refused(big, sizeof(big), "over");
}

/* Random bytes and random damage to a good file: never a crash, and
 * either accepted whole or refused whole. */
static void test_random_damage(void **state)
{
	char buf[512], err[256];
	unsigned seed = 7;
	struct got g;

	for (int round = 0; round < 20000; round++) {
		size_t n = strlen(GOOD "tuple 89abcdef01234567 5 9\n");

		memcpy(buf, GOOD "tuple 89abcdef01234567 5 9\n", n);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % n] = (char)(seed >> 16);
		}
		if (parse(buf, n, &g, err) == 0)
			assert_true(g.passes + g.tuples <= 2);
		else
			assert_int_equal(g.passes + g.tuples + g.offenders, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_corrupt_or_foreign_refused_whole),
	    cmocka_unit_test(test_random_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
