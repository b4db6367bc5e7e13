/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offender tracking of the responder: a client (IPv4 address, IPv6 /64)
 * that keeps asking the backup for gated domains is answered 550 5.7.1
 * instead of 551/451. Pure: the caller passes the time, so tests run
 * without clocks. The table has a fixed size: a flood of new clients
 * evicts the least active entries, memory never grows.
 *
 * What is counted is what a spammer does and an MTA does not: sessions,
 * not RCPTs. A session (a connection of the responder, a message of the
 * policy service) is counted once however many RCPTs it carries; its
 * later RCPTs get the verdict of its first. Counting is a leaky bucket:
 * every new session adds one, the level drains at threshold per window.
 * A client is an offender when a session takes the level over threshold,
 * i.e. it opened more than threshold sessions at a rate above threshold
 * per window. The level is capped at threshold + 1, so a client that
 * stops is forgiven within about one window.
 *
 * Who is counted at all is the caller's choice: only RCPTs for a domain
 * with reply = reject (docs/responder.md, "Offenders"). A sender that got
 * 451 is expected to come back; counting it would turn its retries into a
 * bounce.
 */
#ifndef MXG_OFFENDER_H
#define MXG_OFFENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define OFFENDER_WAYS 8		    /* entries per hash bucket */
#define OFFENDER_DEFAULT_SLOTS 8192 /* clients remembered, ~ 300 KiB */

/* The client as counted: IPv4 address (as IPv4-mapped IPv6) or IPv6 /64:
 * one host in IPv6 usually holds a whole /64. */
struct client_key {
	uint8_t b[16];
};

void client_key_from_ip(const struct mxg_ip *ip, struct client_key *k);
bool client_key_equal(const struct client_key *a, const struct client_key *b);
/* The client's network, for per-network limits: IPv4 /24, IPv6 /48. */
void client_key_network(const struct client_key *k, struct client_key *net);

struct offender_entry {
	struct client_key key;
	uint64_t last_ms;     /* when level was last brought up to date */
	uint64_t level_milli; /* sessions, in thousandths */
	uint64_t session;     /* the last session counted (0: none) */
	bool over;	      /* its verdict */
	bool used;
	uint64_t until_ms; /* another edge's offender (offender_mark): over until then */
};

struct offender_table {
	unsigned threshold; /* 0: never escalate */
	uint64_t window_ms;
	size_t n_buckets;
	uint32_t seed; /* hash seed, so bucket collisions are not predictable */
	struct offender_entry *e;
};

/* slots: entries to allocate (0 = default), rounded to whole buckets;
 * window_ms: not 0 (-EINVAL). */
int offender_init(struct offender_table *t, unsigned threshold, uint64_t window_ms, size_t slots,
		  uint32_t seed);
void offender_free(struct offender_table *t);
/* One counted RCPT of client k at now_ms in session (non-zero, unique per
 * session of that client; 0: count every call). The first RCPT of a
 * session counts it; later ones of the same session get its verdict.
 * True when k is past the threshold and must be answered 550. */
bool offender_try(struct offender_table *t, const struct client_key *k, uint64_t now_ms,
		  uint64_t session);
/*
 * Another edge of the fleet answered k 550 as an offender (docs/fleet.md):
 * its sessions here are offenders too until until_ms (the end of that
 * edge's offender_window, as the controller clamped it), whatever they
 * count here. Only offender_try's answer changes, so the caller's rule
 * holds: only a client that would get 551 is ever asked, never one told
 * to retry (451). Nothing with threshold 0 (this edge never escalates).
 * An entry so marked is evicted last.
 */
void offender_mark(struct offender_table *t, const struct client_key *k, uint64_t until_ms,
		   uint64_t now_ms);

#endif
