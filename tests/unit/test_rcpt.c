// SPDX-License-Identifier: GPL-2.0-only
/* The RCPT decision shared by the responder and the policy service
 * (smtp/rcpt.c): which answer, and which questions are asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reason.h"
#include "rcpt.h"

struct answers {
	bool passed, offender;
	int asked_passed, asked_offender;
};

static bool q_passed(void *arg)
{
	struct answers *a = arg;

	a->asked_passed++;
	return a->passed;
}

static bool q_offender(void *arg)
{
	struct answers *a = arg;

	a->asked_offender++;
	return a->offender;
}

static enum reply_kind decide(enum rcpt_found f, unsigned state, int reply, const char *primary,
			      struct answers *a)
{
	const struct rcpt_domain d = {state, reply, primary};
	const struct rcpt_checks chk = {q_passed, q_offender, a};

	return rcpt_decide(f, &d, &chk);
}

/* Whatever is not a gated served domain with a primary named is never
 * refused, and nobody is asked anything (no pass renewed, no offender
 * counted). */
static void test_open_asks_nothing(void **state)
{
	struct answers a = {true, true, 0, 0};

	assert_int_equal(decide(RCPT_NOT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_NOT_SERVED);
	assert_int_equal(decide(RCPT_NO_TABLE, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_NOT_GATED);
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_OPEN, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_NOT_GATED);
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_UNKNOWN, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_NOT_GATED);
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "", &a),
			 REPLY_NOT_GATED);
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, NULL, &a),
			 REPLY_NOT_GATED);
	assert_int_equal(a.asked_passed + a.asked_offender, 0);
	assert_false(rcpt_refuses(REPLY_NOT_SERVED));
	assert_false(rcpt_refuses(REPLY_NOT_GATED));
	assert_false(rcpt_refuses(REPLY_PASSED));
}

/* A pass wins over an offender, and the offender is then not counted. */
static void test_pass_first(void **state)
{
	struct answers a = {true, true, 0, 0};

	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_PASSED);
	assert_int_equal(a.asked_passed, 1);
	assert_int_equal(a.asked_offender, 0);
}

/* Only reject domains count offenders: a client told 451 was asked to
 * retry and never earns a 550. */
static void test_offender_only_for_reject(void **state)
{
	struct answers a = {false, true, 0, 0};

	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_DEFER, "mx1", &a),
			 REPLY_GATED);
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_GREYLIST, "mx1", &a),
			 REPLY_GATED);
	assert_int_equal(a.asked_offender, 0);
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_OFFENDER);
	assert_int_equal(a.asked_offender, 1);
	assert_true(rcpt_refuses(REPLY_OFFENDER));
	a.offender = false;
	assert_int_equal(decide(RCPT_SERVED, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1", &a),
			 REPLY_GATED);
	assert_true(rcpt_refuses(REPLY_GATED));
}

/* No questions at all (NULL checks or NULL callbacks): the domain's reply. */
static void test_no_checks(void **state)
{
	const struct rcpt_domain d = {MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1"};
	const struct rcpt_checks none = {NULL, NULL, NULL};

	assert_int_equal(rcpt_decide(RCPT_SERVED, &d, NULL), REPLY_GATED);
	assert_int_equal(rcpt_decide(RCPT_SERVED, &d, &none), REPLY_GATED);
	assert_int_equal(rcpt_decide(RCPT_SERVED, NULL, &none), REPLY_NOT_SERVED);
}

/* A bare <postmaster> (RFC 5321 4.5.1): only "is it passed?" is asked;
 * passed or not, never refused and never "not served"; no offender. */
static void test_bare_postmaster(void **state)
{
	struct answers a = {true, true, 0, 0};
	const struct rcpt_checks chk = {q_passed, q_offender, &a};

	(void)state;
	assert_int_equal(rcpt_decide(RCPT_POSTMASTER, NULL, &chk), REPLY_PASSED);
	a.passed = false;
	assert_int_equal(rcpt_decide(RCPT_POSTMASTER, NULL, &chk), REPLY_NOT_GATED);
	assert_int_equal(a.asked_passed, 2);
	assert_int_equal(a.asked_offender, 0);
	assert_int_equal(rcpt_decide(RCPT_POSTMASTER, NULL, NULL), REPLY_NOT_GATED);
	assert_false(rcpt_refuses(REPLY_NOT_GATED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_asks_nothing),	     cmocka_unit_test(test_pass_first),
	    cmocka_unit_test(test_offender_only_for_reject), cmocka_unit_test(test_no_checks),
	    cmocka_unit_test(test_bare_postmaster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
