// SPDX-License-Identifier: GPL-2.0-only
/* The SMTP reply reader: single and multi-line replies, any split of the
 * bytes, CRLF and bare LF, overlong lines and garbage rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "probe.h"

static int feed_all(struct smtp_reply_reader *rr, const char *s, size_t *consumed)
{
	return smtp_reply_reader_feed(rr, s, strlen(s), consumed);
}

static void test_single_line_greeting(void **state)
{
	struct smtp_reply_reader rr;
	size_t used = 0;

	smtp_reply_reader_init(&rr);
	assert_int_equal(feed_all(&rr, "220 p1.example.test ESMTP Postfix\r\n", &used), 1);
	assert_int_equal(rr.code, 220);
	assert_string_equal(rr.text, "p1.example.test ESMTP Postfix");
	assert_int_equal(used, strlen("220 p1.example.test ESMTP Postfix\r\n"));
}

static void test_multi_line_ehlo_reply(void **state)
{
	static const char r[] = "250-p1.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
				"250 8BITMIME\r\nextra";
	struct smtp_reply_reader rr;
	size_t used = 0;

	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, r, sizeof(r) - 1, &used), 1);
	assert_int_equal(rr.code, 250);
	assert_string_equal(rr.text, "p1.example.test");
	/* The reply ends before "extra": the caller sees what is left. */
	assert_int_equal(used, sizeof(r) - 1 - strlen("extra"));
}

/* STARTTLS is seen on any line, in any case, only as the whole keyword. */
static void test_starttls_offered(void **state)
{
	static const char yes[] = "250-p1.example.test\r\n250-PIPELINING\r\n250-starttls\r\n"
				  "250 8BITMIME\r\n";
	static const char no[] = "250-p1.example.test\r\n250-STARTTLSX\r\n250-X STARTTLS\r\n"
				 "250 STARTTL\r\n";
	static const char last[] = "250-p1.example.test\n250 STARTTLS\n";
	struct smtp_reply_reader rr;
	size_t used = 0;

	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, yes, sizeof(yes) - 1, &used), 1);
	assert_true(rr.starttls);
	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, no, sizeof(no) - 1, &used), 1);
	assert_false(rr.starttls);
	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, last, sizeof(last) - 1, &used), 1);
	assert_true(rr.starttls);
}

static void test_every_split_gives_the_same_reply(void **state)
{
	static const char r[] = "250-first line\r\n250-second\n250 last\r\n";
	size_t n = sizeof(r) - 1;

	for (size_t cut = 0; cut <= n; cut++) {
		struct smtp_reply_reader rr;
		size_t used = 0;
		int ret;

		smtp_reply_reader_init(&rr);
		ret = smtp_reply_reader_feed(&rr, r, cut, &used);
		if (cut < n) {
			assert_int_equal(ret, 0);
			assert_int_equal(used, cut);
			ret = smtp_reply_reader_feed(&rr, r + cut, n - cut, &used);
			assert_int_equal(used, n - cut);
		}
		assert_int_equal(ret, 1);
		assert_int_equal(rr.code, 250);
		assert_string_equal(rr.text, "first line");
	}
}

static void test_byte_by_byte(void **state)
{
	static const char r[] = "421 4.3.2 Service not available\r\n";
	struct smtp_reply_reader rr;
	int ret = 0;

	smtp_reply_reader_init(&rr);
	for (size_t i = 0; i < sizeof(r) - 1; i++) {
		size_t used = 0;

		ret = smtp_reply_reader_feed(&rr, r + i, 1, &used);
		assert_int_equal(used, 1);
		if (i + 2 < sizeof(r) - 1)
			assert_int_equal(ret, 0);
	}
	assert_int_equal(ret, 1);
	assert_int_equal(rr.code, 421);
	assert_string_equal(rr.text, "4.3.2 Service not available");
}

static void test_code_without_text_and_bare_lf(void **state)
{
	struct smtp_reply_reader rr;
	size_t used;

	smtp_reply_reader_init(&rr);
	assert_int_equal(feed_all(&rr, "250\r\n", &used), 1);
	assert_int_equal(rr.code, 250);
	assert_string_equal(rr.text, "");
	assert_int_equal(feed_all(&rr, "220 bare lf\n", &used), 1);
	assert_int_equal(rr.code, 220);
	assert_string_equal(rr.text, "bare lf");
}

static void test_overlong_line_rejected(void **state)
{
	static char big[SMTP_REPLY_LINE_MAX + 10];
	struct smtp_reply_reader rr;
	size_t used;

	memset(big, 'x', sizeof(big));
	memcpy(big, "220 ", 4);
	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, big, sizeof(big), &used), -EPROTO);
	assert_true(used < sizeof(big));

	/* Exactly at the bound (with CRLF) is fine. */
	memset(big, 'y', sizeof(big));
	memcpy(big, "220 ", 4);
	memcpy(big + SMTP_REPLY_LINE_MAX - 2, "\r\n", 2);
	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, big, SMTP_REPLY_LINE_MAX, &used), 1);
	assert_int_equal(strlen(rr.text), sizeof(rr.text) - 1);
}

static void test_garbage_rejected(void **state)
{
	static const char *const bad[] = {
	    "HTTP/1.1 400 Bad Request\r\n",
	    "22\r\n",
	    "2x0 hi\r\n",
	    "220_hi\r\n",
	    "\r\n",
	    "620 no such class\r\n",
	    "250-one\r\n251 other code\r\n",
	    "220\rX\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct smtp_reply_reader rr;
		size_t used;

		smtp_reply_reader_init(&rr);
		assert_int_equal(feed_all(&rr, bad[i], &used), -EPROTO);
	}
}

static void test_too_many_lines_rejected(void **state)
{
	struct smtp_reply_reader rr;
	size_t used;
	int ret = 0;

	smtp_reply_reader_init(&rr);
	for (int i = 0; i <= SMTP_REPLY_LINES_MAX && ret == 0; i++)
		ret = feed_all(&rr, "250-more\r\n", &used);
	assert_int_equal(ret, -EPROTO);
}

static void test_unprintable_text_masked(void **state)
{
	static const char r[] = "220 a\001b\x80z\r\n";
	struct smtp_reply_reader rr;
	size_t used;

	smtp_reply_reader_init(&rr);
	assert_int_equal(smtp_reply_reader_feed(&rr, r, sizeof(r) - 1, &used), 1);
	assert_string_equal(rr.text, "a?b?z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starttls_offered),
	    cmocka_unit_test(test_single_line_greeting),
	    cmocka_unit_test(test_multi_line_ehlo_reply),
	    cmocka_unit_test(test_every_split_gives_the_same_reply),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_code_without_text_and_bare_lf),
	    cmocka_unit_test(test_overlong_line_rejected),
	    cmocka_unit_test(test_garbage_rejected),
	    cmocka_unit_test(test_too_many_lines_rejected),
	    cmocka_unit_test(test_unprintable_text_masked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
