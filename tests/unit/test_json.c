// SPDX-License-Identifier: GPL-2.0-only
/* The JSON writer (structure, commas, escaping of hostile strings) and the
 * bounded buffer the control socket answers from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sbuf.h"

struct mem {
	char *text;
	size_t len;
	FILE *f;
};

static void mem_open(struct mem *m, struct json_writer *w)
{
	m->text = NULL;
	m->f = open_memstream(&m->text, &m->len);
	assert_non_null(m->f);
	json_init(w, m->f);
}

static void test_nested_structure_and_commas(void **state)
{
	struct json_writer w;
	struct mem m;

	mem_open(&m, &w);
	json_object_begin(&w);
	json_key(&w, "name");
	json_string(&w, "example.test");
	json_key(&w, "gated");
	json_bool(&w, true);
	json_key(&w, "list");
	json_array_begin(&w);
	json_int(&w, -1);
	json_uint(&w, 2);
	json_object_begin(&w);
	json_object_end(&w);
	json_null(&w);
	json_array_end(&w);
	json_object_end(&w);
	assert_int_equal(json_end(&w), 0);
	fclose(m.f);
	assert_string_equal(m.text, "{\"name\":\"example.test\",\"gated\":true,"
				    "\"list\":[-1,2,{},null]}\n");
	free(m.text);
}

static void test_strings_are_escaped(void **state)
{
	struct json_writer w;
	struct mem m;

	mem_open(&m, &w);
	json_string(&w, "a\"b\\c\n\r\t\x01\x7f"
			"\xc3\xa9"       /* é: valid UTF-8, kept */
			"\xff"           /* invalid byte */
			"\xed\xa0\x80"); /* a surrogate */
	fclose(m.f);
	assert_string_equal(m.text, "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\xc3\xa9\\ufffd"
				    "\\ufffd\\ufffd\\ufffd\"");
	free(m.text);
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
