// SPDX-License-Identifier: GPL-2.0-only
/* The bounds on what a Redis server may make us hold (fleet/redis_bound.c),
 * on hiredis's own reader fed the octets a server would send: a reply
 * within them is read as before; one with more elements or string octets
 * than allowed, in one piece or nested, fails the reader before hiredis
 * allocates it; a reply still arriving past the bound is seen in the
 * buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "redis_bound.h"

struct rd {
	redisReader *r;
	struct redis_bound_reader rb;
	struct redis_bounds b;
};

static struct rd *rd_new(size_t max_elements, size_t max_bytes)
{
	struct rd *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->r = redisReaderCreate();
	assert_non_null(d->r);
	d->b = (struct redis_bounds){.max_elements = max_elements, .max_bytes = max_bytes};
	redis_bound_reader(d->r, &d->rb, &d->b);
	return d;
}

static void rd_free(struct rd *d)
{
	redisReaderFree(d->r);
	free(d);
}

/* Feed s; REDIS_OK or REDIS_ERR from the reader, the reply in *out. */
static int feed(struct rd *d, const char *s, size_t len, redisReply **out)
{
	void *reply = NULL;
	int rc;

	assert_int_equal(redisReaderFeed(d->r, s, len), REDIS_OK);
	rc = redisReaderGetReply(d->r, &reply);
	*out = reply;
	return rc;
}

static int feeds(struct rd *d, const char *s, redisReply **out)
{
	return feed(d, s, strlen(s), out);
}

static void test_reply_within_bounds_read_as_before(void **state)
{
	struct rd *d = rd_new(4, 12);
	redisReply *r;

	assert_int_equal(feeds(d, "*3\r\n$4\r\nabcd\r\n$-1\r\n:7\r\n", &r), REDIS_OK);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 3);
	assert_string_equal(r->element[0]->str, "abcd");
	assert_int_equal(r->element[1]->type, REDIS_REPLY_NIL);
	assert_int_equal(r->element[2]->integer, 7);
	freeReplyObject(r);
	/* The count starts again with each reply: twice 8 octets of 12. */
	assert_int_equal(feeds(d, "$8\r\n12345678\r\n", &r), REDIS_OK);
	freeReplyObject(r);
	assert_int_equal(feeds(d, "$8\r\n12345678\r\n", &r), REDIS_OK);
	assert_int_equal(r->len, 8);
	freeReplyObject(r);
	assert_null(d->b.why);
	rd_free(d);
}

static void test_too_many_elements_refused(void **state)
{
	struct rd *d = rd_new(65536, 1 << 20);
	redisReply *r;

	/* Declared, not sent: refused before hiredis allocates 2^31 - 1. */
	assert_int_equal(feeds(d, "*2147483647\r\n", &r), REDIS_ERR);
	assert_null(r);
	assert_non_null(d->b.why);
	assert_non_null(strstr(d->b.why, "elements"));
	rd_free(d);

	d = rd_new(65536, 1 << 20);
	assert_int_equal(feeds(d, "*65537\r\n", &r), REDIS_ERR);
	rd_free(d);

	/* A negative count other than nil's -1. */
	d = rd_new(65536, 1 << 20);
	assert_int_equal(feeds(d, "*-5\r\n", &r), REDIS_ERR);
	rd_free(d);
}

static void test_nested_elements_counted_together(void **state)
{
	struct rd *d = rd_new(10, 1 << 20);
	redisReply *r;

	/* 2 + 6 elements: within 10. */
	assert_int_equal(feeds(d, "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*3\r\n:4\r\n:5\r\n:6\r\n", &r),
			 REDIS_OK);
	assert_non_null(r);
	freeReplyObject(r);
	/* 2 + 5 + 5 = 12: the second nested array is refused. */
	assert_int_equal(
	    feeds(d,
		  "*2\r\n*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n",
		  &r),
	    REDIS_ERR);
	assert_null(r);
	assert_non_null(d->b.why);
	rd_free(d);
}

static void test_too_many_octets_refused(void **state)
{
	struct rd *d = rd_new(65536, 10);
	redisReply *r;

	assert_int_equal(feeds(d, "$11\r\n12345678901\r\n", &r), REDIS_ERR);
	assert_null(r);
	assert_non_null(strstr(d->b.why, "octets"));
	rd_free(d);

	/* 4 + 4 + 4 in one reply: over 10. */
	d = rd_new(65536, 10);
	assert_int_equal(feeds(d, "*3\r\n$4\r\nabcd\r\n$4\r\nefgh\r\n$4\r\nijkl\r\n", &r),
			 REDIS_ERR);
	assert_null(r);
	rd_free(d);

	/* A status or an error line counts too. */
	d = rd_new(65536, 10);
	assert_int_equal(feeds(d, "-ERR 0123456789\r\n", &r), REDIS_ERR);
	rd_free(d);
}

static void test_reply_still_arriving_seen_in_the_buffer(void **state)
{
	struct rd *d = rd_new(65536, 100);
	char chunk[64];
	redisReply *r;

	assert_int_equal(feeds(d, "$1000000\r\n", &r), REDIS_OK);
	assert_null(r); /* incomplete */
	assert_false(redis_bound_buffer_over(d->r, &d->b));
	memset(chunk, 'x', sizeof(chunk));
	assert_int_equal(feed(d, chunk, sizeof(chunk), &r), REDIS_OK);
	assert_false(redis_bound_buffer_over(d->r, &d->b));
	assert_int_equal(feed(d, chunk, sizeof(chunk), &r), REDIS_OK);
	assert_null(r);
	assert_true(redis_bound_buffer_over(d->r, &d->b));
	assert_non_null(d->b.why);
	rd_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_within_bounds_read_as_before),
	    cmocka_unit_test(test_too_many_elements_refused),
	    cmocka_unit_test(test_nested_elements_counted_together),
	    cmocka_unit_test(test_too_many_octets_refused),
	    cmocka_unit_test(test_reply_still_arriving_seen_in_the_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
