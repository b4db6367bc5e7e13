// SPDX-License-Identifier: GPL-2.0-only
/* Bounds on a Redis reply as hiredis builds it; see redis_bound.h. */
#include "redis_bound.h"

/* A task's reader count: the reader's privdata, which hiredis copies into
 * every task it makes. The first object of a reply (no parent) starts the
 * count again. */
static struct redis_bound_reader *count(const redisReadTask *t)
{
	struct redis_bound_reader *rb = t->privdata;

	if (!t->parent)
		rb->elements = rb->bytes = 0;
	return rb;
}

static void *create_string(const redisReadTask *t, char *s, size_t len)
{
	struct redis_bound_reader *rb = count(t);

	if (len > rb->b->max_bytes - rb->bytes) {
		rb->b->why = "a reply with more string octets than accepted";
		return NULL; /* the reader fails: out of memory, to hiredis */
	}
	rb->bytes += len;
	return rb->def->createString(t, s, len);
}

static void *create_array(const redisReadTask *t, int n)
{
	struct redis_bound_reader *rb = count(t);

	if (n < 0 || (size_t)n > rb->b->max_elements - rb->elements) {
		rb->b->why = "a reply with more elements than accepted";
		return NULL;
	}
	rb->elements += (size_t)n;
	return rb->def->createArray(t, n);
}

static void *create_integer(const redisReadTask *t, long long v)
{
	return count(t)->def->createInteger(t, v);
}

static void *create_nil(const redisReadTask *t)
{
	return count(t)->def->createNil(t);
}

void redis_bound_reader(redisReader *r, struct redis_bound_reader *rb, struct redis_bounds *b)
{
	rb->b = b;
	rb->def = r->fn;
	rb->elements = rb->bytes = 0;
	rb->fn = *r->fn;
	rb->fn.createString = create_string;
	rb->fn.createArray = create_array;
	rb->fn.createInteger = create_integer;
	rb->fn.createNil = create_nil;
	r->fn = &rb->fn;
	r->privdata = rb;
}

bool redis_bound_buffer_over(const redisReader *r, struct redis_bounds *b)
{
	if (r->len - r->pos <= b->max_bytes)
		return false;
	b->why = "a reply larger than accepted, still arriving";
	return true;
}
