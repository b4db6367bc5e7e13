/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the edges of a fleet share through Redis, as keys and values, pure:
 * encoding, and the decoding that trusts nothing. Every edge writing to
 * the same Redis and prefix may be another version, a bug, or whoever
 * holds the password: a record is refused unless every field parses and
 * is bounded, and what it grants is clamped to this edge's own limits
 * (fleet_clamp), as the state file is (mxgated/ctl_state.c).
 *
 *   PREFIX t:HASH   greylist tuple: the responder's tuple hash (seed 0,
 *                   the same on every edge), 16 hex digits
 *   PREFIX p:ADDR   pass of a client address
 *   PREFIX o:ADDR   offender
 *
 * The value: "1 EDGE A B C D" (version 1, the writer's edge id in hex,
 * then decimal fields: times are wall-clock milliseconds, since edges do
 * not share a monotonic clock):
 *   tuple     FIRST EXPIRES CLIENT     (the client for per-network limits)
 *   pass      SINCE EXPIRES REASON PROVEN
 *   offender  FIRST LAST EXPIRES REPORTS
 * The same "KEY VALUE" is the message on the channel PREFIX "events".
 */
#ifndef MXG_FLEET_SYNC_H
#define MXG_FLEET_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define FLEET_KEY_MAX 128   /* a key, NUL included */
#define FLEET_VALUE_MAX 160 /* a value, NUL included */
#define FLEET_MSG_MAX (FLEET_KEY_MAX + FLEET_VALUE_MAX)
#define FLEET_CHANNEL "events"

enum fleet_kind {
	FLEET_TUPLE = 't',
	FLEET_PASS = 'p',
	FLEET_OFFENDER = 'o',
};

struct fleet_record {
	enum fleet_kind kind;
	uint64_t edge;	     /* the writer */
	uint64_t hash;	     /* tuple */
	struct mxg_ip ip;    /* pass, offender: the client; tuple: its client */
	uint64_t first_ms;   /* wall: tuple first seen, pass given, first offence */
	uint64_t last_ms;    /* offender: last report */
	uint64_t expires_ms; /* wall */
	uint64_t n;	     /* pass: reason; offender: reports */
	bool proven;	     /* pass */
};

/* This edge's bounds for what it takes from others. */
struct fleet_limits {
	uint64_t pass_ttl_ms, pass_max_ms;
	uint64_t greylist_window_ms;
	uint64_t offender_window_ms;
};

/* key and value of r under prefix; -ENAMETOOLONG when they do not fit. */
int fleet_encode(const char *prefix, const struct fleet_record *r, char *key, size_t keylen,
		 char *val, size_t vallen);
/* A key and value as read (not NUL-terminated) into r; -EINVAL for
 * anything that is not exactly a record under prefix. */
int fleet_decode(const char *prefix, const char *key, size_t keylen, const char *val, size_t vallen,
		 struct fleet_record *r);
/* A channel message "KEY VALUE". */
int fleet_decode_msg(const char *prefix, const char *msg, size_t len, struct fleet_record *r);
/* Clamp r to lim at now_ms (wall): nothing in the future, a pass no
 * longer than pass_ttl from now nor pass_max from its start, a tuple or
 * offender no longer than its window. False: nothing left to take (it
 * expired, or its reason is not one this edge gives). */
bool fleet_clamp(struct fleet_record *r, const struct fleet_limits *lim, uint64_t now_ms);
/* The Redis expiry to set (PX, ms, at least 1), from r at now_ms. */
uint64_t fleet_ttl_ms(const struct fleet_record *r, uint64_t now_ms);

#endif
