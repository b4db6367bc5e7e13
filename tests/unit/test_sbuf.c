// SPDX-License-Identifier: GPL-2.0-only
/* The bounded buffer the control socket answers from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
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

/* A stdio stream into the buffer: what is written is there after fclose;
 * past the bound, the buffer says it failed. */
static void test_sbuf_stream(void **state)
{
	struct sbuf b;
	FILE *f;

	sbuf_init(&b);
	sbuf_add(&b, "a", 1);
	f = sbuf_stream(&b);
	assert_non_null(f);
	for (int i = 0; i < 2000; i++)
		fprintf(f, "%04d,", i);
	fclose(f);
	assert_false(b.failed);
	assert_int_equal(b.len, 10001);
	assert_memory_equal(b.buf + 9996, "1999,", 5);
	sbuf_free(&b);

	sbuf_init(&b);
	b.max = 100;
	f = sbuf_stream(&b);
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputs("0123456789", f);
	fclose(f);
	assert_true(b.failed);
	assert_true(b.len < 100);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sbuf_grows),
	    cmocka_unit_test(test_sbuf_respects_its_bound),
	    cmocka_unit_test(test_sbuf_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
