/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The responder's sessions counted per client and per network (IPv4 /24,
 * IPv6 /48; struct client_key), and the STARTTLS handshakes in progress per
 * network: kept as sessions come and go, so that accept and STARTTLS check
 * their limits in O(1) instead of walking every session a client may have
 * opened. Pure; an entry lives while it counts something.
 */
#ifndef MXG_RESPONDER_COUNT_H
#define MXG_RESPONDER_COUNT_H

#include <stdint.h>

#include "htab.h"
#include "offender.h"

struct rsp_counts {
	struct htab t;
	uint64_t seed; /* so a client cannot aim at one chain */
};

enum rsp_count_kind {
	RSP_COUNT_CLIENT, /* sessions of one client (key) */
	RSP_COUNT_NET,	  /* sessions of one network (net) */
	RSP_COUNT_TLS,	  /* handshakes in progress of one network (net) */
};

/* 0 or -ENOMEM. */
int rsp_counts_init(struct rsp_counts *c, uint64_t seed);
void rsp_counts_free(struct rsp_counts *c);
unsigned rsp_count(const struct rsp_counts *c, enum rsp_count_kind kind,
		   const struct client_key *k);
/* One more of kind for k: 0 or -ENOMEM (nothing counted). */
int rsp_count_inc(struct rsp_counts *c, enum rsp_count_kind kind, const struct client_key *k);
/* One less; the entry goes at 0. */
void rsp_count_dec(struct rsp_counts *c, enum rsp_count_kind kind, const struct client_key *k);

#endif
