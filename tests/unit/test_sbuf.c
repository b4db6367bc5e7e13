// SPDX-License-Identifier: GPL-2.0-only
/* The bounded buffer the control socket answers from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "sbuf.h"

static void test_sbuf_grows(void **state)
{
	struct sbuf b;

	sbuf_init(&b);
	for (int i = 0; i < 1000; i++)
		sbuf_printf(&b, "%04d,", i);
	assert_false(b.failed);
	assert_int_equal(b.len, 5000);
	assert_memory_equal(b.buf + 4995, "0999,", 5);
	sbuf_free(&b);
}

static void test_sbuf_respects_its_bound(void **state)
{
	struct sbuf b;

	sbuf_init(&b);
	b.max = 8;
	sbuf_printf(&b, "%s", "1234");
	assert_false(b.failed);
	sbuf_printf(&b, "%s", "56789");
	assert_true(b.failed);
	sbuf_add(&b, "x", 1);
	assert_string_equal(b.buf, "1234");
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sbuf_grows),
	    cmocka_unit_test(test_sbuf_respects_its_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
