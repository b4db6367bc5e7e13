/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Greylisting (reply = greylist), pure: the tuple and the table. The
 * responder turns each RCPT for a gated greylist domain into a tuple
 * hash; the controller keeps the table and passes the client when a tuple
 * comes back after greylist_delay and within greylist_window (OpenBSD
 * spamd, postgrey).
 *
 * The tuple (postgrey's): the client network (IPv4 /24, IPv6 /64: big
 * senders retry from another host of the same pool), the envelope sender
 * normalised (lower case, "+extension" stripped, a BATV "prvs=TAG="
 * prefix removed: both change with every message of a mailing list or a
 * bounce-protected sender), and the recipient (lower case). Only a keyed
 * 64-bit hash of it crosses to the controller and is stored.
 *
 * The table has a fixed size: N-way buckets; a flood of new tuples never
 * grows memory. It is also flood-proof: each client network (IPv4 /24,
 * IPv6 /48, and IPv6 /64) holds at most its limit of tuples, beyond which
 * its new tuples are not remembered (the client still gets its 451); and
 * in a full bucket an expired tuple makes room first, then the newest
 * unproven tuple of the network holding the most, so tuples waiting for
 * their retry are not pushed out by a flood of newer ones.
 */
#ifndef MXG_GREYLIST_H
#define MXG_GREYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "netcount.h"

#define GREYLIST_WAYS 8
#define GREYLIST_DEFAULT_SLOTS 65536 /* tuples remembered, 2.5 MiB */
#define GREYLIST_SENDER_MAX 320	     /* normalised sender, NUL included */

/* from as the session keeps it (lower case local@domain, "" for <>). */
void greylist_sender_normalize(const char *from, char *out, size_t outlen);
/* The tuple's hash (never 0). rcpt: local@domain. The responder hashes
 * with seed 0; the controller keys what it stores with greylist_rekey()
 * and a secret seed of its own, so bucket choice is not predictable. */
uint64_t greylist_tuple_hash(uint64_t seed, const struct mxg_ip *client, const char *from,
			     const char *rcpt);
uint64_t greylist_rekey(uint64_t seed, uint64_t hash);

struct greylist_entry {
	uint64_t hash;	   /* 0: free */
	uint64_t first_ms; /* first seen (this round of the tuple) */
	uint64_t last_ms;  /* last seen */
	uint64_t net;	   /* mxg_net_keys() of the client; 0: unknown */
	uint64_t net64;
	bool proven; /* came back in time: its client was passed */
};

struct greylist_table {
	uint64_t delay_ms, window_ms;
	unsigned per_network, per_64; /* limits per network; 0 (init): none */
	size_t n_buckets;
	struct greylist_entry *e;
	struct netcount nets, nets64; /* tuples per /24 or /48, per /64 */
	size_t sweep_next;	      /* the next bucket to sweep */
	uint64_t dropped_network;     /* not remembered: /24 or /48 at its limit */
	uint64_t dropped_64;	      /* not remembered: /64 at its limit */
	uint64_t evicted;	      /* live tuples pushed out of a full bucket */
};

enum greylist_verdict {
	GREYLIST_NEW,	/* first seen, or seen again after the window: 451 */
	GREYLIST_EARLY, /* back before greylist_delay: 451, not passed */
	GREYLIST_PASS,	/* back after the delay, within the window: pass */
};

/* slots 0 = default, rounded to whole buckets. 0 or -ENOMEM. */
int greylist_init(struct greylist_table *t, uint64_t delay_ms, uint64_t window_ms, size_t slots);
void greylist_free(struct greylist_table *t);
/* The tuple hash was seen at now_ms. */
enum greylist_verdict greylist_seen(struct greylist_table *t, uint64_t hash, uint64_t now_ms);
/* The same, from client (its networks are counted and limited; NULL:
 * neither). */
enum greylist_verdict greylist_seen_from(struct greylist_table *t, uint64_t hash,
					 const struct mxg_ip *client, uint64_t now_ms);
/* Forget the tuples expired at now_ms in the next n buckets (the table is
 * swept a little at each tuple too), so the per-network counts do not
 * hold stale tuples. */
void greylist_sweep(struct greylist_table *t, uint64_t now_ms, size_t n);
/* Put an entry as it was (state loading; its network unknown, so not
 * counted); false when its bucket is full of entries seen later. */
bool greylist_restore(struct greylist_table *t, const struct greylist_entry *e);
/* A tuple another edge saw from client, first at first_ms (this table's
 * clock): an older first sighting replaces ours; a new tuple is counted
 * and limited per network as one seen here (its client still not told
 * anything). False when it was not taken (its network at its limit). */
bool greylist_merge(struct greylist_table *t, uint64_t hash, const struct mxg_ip *client,
		    uint64_t first_ms, uint64_t now_ms);
/* Tuples still within the window at now_ms. */
size_t greylist_count(const struct greylist_table *t, uint64_t now_ms);

#endif
