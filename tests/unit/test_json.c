// SPDX-License-Identifier: GPL-2.0-only
/* The JSON writer: commas and nesting, escaping of quotes, backslashes and
 * control characters, invalid UTF-8 replaced, misuse reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "json.h"

static char *buf;
static size_t len;

static FILE *open_mem(void)
{
	FILE *f;

	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	return f;
}

static void test_nesting_and_commas(void **state)
{
	FILE *f = open_mem();
	struct json_writer w;

	json_init(&w, f);
	json_object_begin(&w);
	json_key(&w, "a");
	json_int(&w, -1);
	json_key(&w, "list");
	json_array_begin(&w);
	json_uint(&w, 1);
	json_bool(&w, true);
	json_null(&w);
	json_object_begin(&w);
	json_object_end(&w);
	json_array_end(&w);
	json_key(&w, "s");
	json_string(&w, "x");
	json_object_end(&w);
	assert_int_equal(json_end(&w), 0);
	fclose(f);
	assert_string_equal(buf, "{\"a\":-1,\"list\":[1,true,null,{}],\"s\":\"x\"}\n");
}

/* Key and value at once, and a list of addresses. */
static void test_key_values(void **state)
{
	FILE *f = open_mem();
	struct json_writer w;
	struct mxg_ip ips[2];

	assert_int_equal(mxg_ip_parse("192.0.2.1", &ips[0]), 0);
	assert_int_equal(mxg_ip_parse("2001:db8::1", &ips[1]), 0);
	json_init(&w, f);
	json_object_begin(&w);
	json_kv_str(&w, "s", "x");
	json_kv_int(&w, "i", -2);
	json_kv_uint(&w, "u", 3);
	json_kv_bool(&w, "b", false);
	json_kv_ips(&w, "ips", ips, 2);
	json_kv_ips(&w, "none", ips, 0);
	json_object_end(&w);
	assert_int_equal(json_end(&w), 0);
	fclose(f);
	assert_string_equal(buf, "{\"s\":\"x\",\"i\":-2,\"u\":3,\"b\":false,"
				 "\"ips\":[\"192.0.2.1\",\"2001:db8::1\"],\"none\":[]}\n");
}

static void test_escaping(void **state)
{
	FILE *f = open_mem();
	struct json_writer w;

	json_init(&w, f);
	json_array_begin(&w);
	json_string(&w, "q\"b\\n\n\t\001\x7f");
	json_string(&w, "caf\xc3\xa9");		     /* valid UTF-8 passes */
	json_string(&w, "bad\xc3(\xff\xed\xa0\x80"); /* invalid bytes, a surrogate */
	json_array_end(&w);
	assert_int_equal(json_end(&w), 0);
	fclose(f);
	assert_string_equal(buf, "[\"q\\\"b\\\\n\\n\\t\\u0001\\u007f\",\"caf\xc3\xa9\","
				 "\"bad\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\"]\n");
}

static void test_misuse_reported(void **state)
{
	FILE *f = open_mem();
	struct json_writer w;

	json_init(&w, f);
	json_object_begin(&w);
	json_key(&w, "dangling");
	json_object_end(&w);
	assert_int_not_equal(json_end(&w), 0);
	fclose(f);
	json_init(&w, f = open_mem());
	json_array_begin(&w);
	assert_int_not_equal(json_end(&w), 0);
	fclose(f);
	free(buf);
	buf = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nesting_and_commas),
	    cmocka_unit_test(test_key_values),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_misuse_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
