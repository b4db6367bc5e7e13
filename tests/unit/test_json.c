// SPDX-License-Identifier: GPL-2.0-only
/* The JSON writer: structure, commas, and escaping of hostile strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "json.h"

static void test_nested_structure_and_commas(void **state)
{
	struct sbuf b;
	struct json_writer w;

	sbuf_init(&b);
	json_init(&w, &b);
	json_obj_begin(&w);
	json_kv_str(&w, "name", "example.test");
	json_kv_bool(&w, "gated", true);
	json_key(&w, "list");
	json_arr_begin(&w);
	json_int(&w, -1);
	json_uint(&w, 2);
	json_obj_begin(&w);
	json_obj_end(&w);
	json_null(&w);
	json_arr_end(&w);
	json_kv_int(&w, "n", 3);
	json_obj_end(&w);
	assert_false(b.failed);
	assert_string_equal(b.buf, "{\"name\":\"example.test\",\"gated\":true,"
				   "\"list\":[-1,2,{},null],\"n\":3}");
	sbuf_free(&b);
}

static void test_strings_are_escaped(void **state)
{
	struct sbuf b;
	struct json_writer w;

	sbuf_init(&b);
	json_init(&w, &b);
	json_str(&w, "a\"b\\c\n\r\t\x01\x7f"
		     "\xc3\xa9"  /* é: valid UTF-8, kept */
		     "\xff"      /* invalid byte */
		     "\xc0\xaf"  /* overlong '/' */
		     "\xed\xa0\x80"); /* surrogate */
	assert_string_equal(b.buf, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\xc3\xa9\\ufffd"
				   "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
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
	assert_string_equal(b.buf, "1234");
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_structure_and_commas),
		cmocka_unit_test(test_strings_are_escaped),
		cmocka_unit_test(test_sbuf_respects_its_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
