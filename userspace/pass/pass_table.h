/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Passed clients, pure: the table the controller writes to the gate. A
 * pass lasts ttl; each renewal (the client delivering, or reported again)
 * extends it to now + ttl, never beyond max after it was first given.
 * Times are the caller's (ev_now_ms()), so tests need no clock.
 *
 * The table is bounded (its size is the kernel map's at most), and
 * flood-proof: a pass is proven (the client retried a greylisted tuple in
 * time, or delivered through the policy service) or not (it asked for a
 * pass_recipients address, which anyone can). Each client network (IPv4
 * /24, IPv6 /48, IPv6 /64) holds at most its limit of passes; an unproven
 * pass beyond it, or for a full table, is not given (the client stays
 * steered and keeps its 4xx); a proven one makes room in its own network
 * first. An unproven newcomer never pushes out a proven pass.
 *
 * What changed is returned to the caller, which writes the gate: the
 * entry added or renewed, and the one that made room for it.
 *
 * A new pass never walks the table (it may be 16,384 passes, and a flood
 * brings a new pass per RCPT): its networks' passes are found through
 * their own indexes (a walk over that network's passes only, which its
 * limit bounds), and a full table's candidates are the oldest grants:
 * passes are kept in two lists (proven, unproven) in the order they were
 * granted or renewed, which is the order they expire in while pass_ttl
 * stays the same; the first PASS_EVICT_LOOK of a list are compared by
 * expiry (a renewal capped by pass_max, a pass_ttl changed by a reload
 * or a restored pass may sit a little out of order).
 */
#ifndef MXG_PASS_TABLE_H
#define MXG_PASS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "htab.h"

#define PASS_EVICT_LOOK 16 /* passes of a list compared to make room in a full table */

struct pass_entry {
	struct mxg_ip ip;
	uint64_t since_ms;   /* first passed: renewals stop at since + max */
	uint64_t expires_ms; /* the gate entry's expiry */
	uint64_t renewals;
	uint64_t net, net64; /* mxg_net_keys() of ip */
	unsigned reason;     /* the caller's (enum mxg_pass_reason) */
	bool proven;
	uint32_t prev, next; /* in the grant-order list of its kind (index; ~0 none) */
};

struct pass_table {
	struct pass_entry *e;
	size_t n, cap;
	/* e by address: slot[i] is e[i]'s node, so a lookup (each policy
	 * RCPT, each pass report) does not walk every pass. */
	struct htab idx;
	struct htab_node *slot;
	/* e by network (IPv4 /24, IPv6 /48) and by IPv6 /64: a network's
	 * passes share one chain, walked for its limit. */
	struct htab by_net, by_64;
	struct htab_node *slot_net, *slot_64;
	uint32_t head[2], tail[2]; /* grant order, [proven]; ~0 empty */
	uint64_t seed;
	unsigned per_network, per_64; /* limits; 0 (init): none */
	uint64_t renewed, evicted;
	uint64_t dropped_network, dropped_64, dropped_full; /* not given */
	uint64_t looked; /* passes looked at by new passes, in all (tests: bounded) */
};

/* What pass_table_add did. */
enum pass_add {
	PASS_ADD_NEW,	  /* a new pass (*out) */
	PASS_ADD_RENEWED, /* a live pass renewed (*out) */
	PASS_ADD_DROPPED, /* not given: its network's limit, or a full table */
};

/* cap: the most passes at once (not 0). 0 or -ENOMEM / -EINVAL. */
int pass_table_init(struct pass_table *t, size_t cap);
void pass_table_free(struct pass_table *t);
/* Pass ip (or renew its live pass) at now_ms for ttl_ms, renewals capped
 * at max_ms after the first; proven: see above (a renewal may prove a
 * pass, never unprove it). *out: the entry to write to the gate; when
 * room had to be made, *evicted (if not NULL) gets the pass dropped, which
 * the caller removes from the gate, and *had_evicted is set. */
enum pass_add pass_table_add(struct pass_table *t, const struct mxg_ip *ip, unsigned reason,
			     bool proven, uint64_t now_ms, uint64_t ttl_ms, uint64_t max_ms,
			     const struct pass_entry **out, struct pass_entry *evicted,
			     bool *had_evicted);
/* The pass of ip, live or expired; NULL when none. */
const struct pass_entry *pass_table_find(const struct pass_table *t, const struct mxg_ip *ip);
bool pass_table_live(const struct pass_table *t, const struct mxg_ip *ip, uint64_t now_ms);
size_t pass_table_count_live(const struct pass_table *t, uint64_t now_ms);
/* Drop passes expired before now_ms - keep_ms; fn (may be NULL) is told
 * each one first, so the caller removes it from the gate. */
void pass_table_sweep(struct pass_table *t, uint64_t now_ms, uint64_t keep_ms,
		      void (*fn)(void *arg, const struct pass_entry *e), void *arg);
/* Put a saved pass back (state loading; e->ip, times, reason and proven
 * are taken); false when it expired at now_ms, is already there or the
 * table is full. */
bool pass_table_restore(struct pass_table *t, const struct pass_entry *e, uint64_t now_ms);

#endif
