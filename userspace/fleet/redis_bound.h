/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Bounds on what a Redis server may make us hold. Debian 12's hiredis
 * (0.14) has none of its own (1.0 added maxelements): a corrupt or hostile
 * server, or anyone who holds the password and writes a huge value under
 * the prefix, could make it allocate an array of 2^31 elements or buffer a
 * 512 MB string before a line of ours runs. Wrapping the reader's object
 * functions counts the elements and the string octets of each reply as it
 * is built and refuses the reply past a bound (the reader then fails, and
 * the connection is closed like any lost one); the octets buffered for a
 * reply not yet complete are checked by the loop (redis_loop.c) before
 * each read. The decoders still check every element count and length of
 * what they use (fleet_sync.c, the callers).
 */
#ifndef MXG_REDIS_BOUND_H
#define MXG_REDIS_BOUND_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

struct redis_bounds {
	size_t max_elements; /* array elements in one reply, nested ones included */
	size_t max_bytes;    /* string octets in one reply; octets buffered */
	const char *why;     /* set when a reply was refused; cleared by the owner */
};

/* One reader's count (embedded in whatever owns the reader). */
struct redis_bound_reader {
	struct redis_bounds *b;
	redisReplyObjectFunctions *def; /* hiredis's own functions */
	redisReplyObjectFunctions fn;
	size_t elements, bytes; /* of the reply being built */
};

/* Bound r by b: rb lives as long as r. Takes r's privdata. */
void redis_bound_reader(redisReader *r, struct redis_bound_reader *rb, struct redis_bounds *b);
/* True (b->why set) when r holds more unparsed octets than b allows. */
bool redis_bound_buffer_over(const redisReader *r, struct redis_bounds *b);

#endif
