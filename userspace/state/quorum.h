/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The quorum of vantage points (docs/fleet.md), pure: no I/O, times passed
 * in. Every edge of a fleet publishes its last probe verdict per primary
 * address (up or down, with its wall-clock time); the controller reads the
 * other edges' verdicts once per round into a quorum_view, and the state
 * machine asks it, per domain, whether at least `quorum` edges (this one
 * included) saw one of the domain's primaries up lately.
 *
 * An edge in the primary's own network sees it up while the rest of the
 * internet cannot reach it; with quorum = 2 it no longer gates alone. And
 * an edge that cannot read the others (Redis down, nothing read for longer
 * than max_age) cannot verify a quorum, so it does not gate on one: open,
 * reason quorum_unverified. quorum = 1 never consults the view: a single
 * edge decides alone, as before.
 */
#ifndef MXG_QUORUM_H
#define MXG_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "mxg_limits.h"

#define QUORUM_EDGES_MAX 64	 /* other edges one view tracks (a bit each) */
#define QUORUM_EDGE_ID_MAX 65	 /* an edge id (a host name), NUL included */
#define QUORUM_ADDRS_MAX 1048576 /* addresses in one view (100,000 domains use far fewer) */

/* What the other edges said about one primary address, as read. */
struct qv_addr {
	struct mxg_ip ip;
	uint64_t up; /* bit i: edge i of the view saw it up, fresh */
};

struct quorum_view {
	char self[QUORUM_EDGE_ID_MAX];
	uint64_t max_age_ms; /* a verdict or a read older than this is stale */

	/* The other edges in the read in progress, in order of first
	 * appearance: a bit each. */
	char edges[QUORUM_EDGES_MAX][QUORUM_EDGE_ID_MAX];
	size_t n_edges;
	size_t n_edges_read; /* other edges with a fresh verdict in the last read */

	struct qv_addr *addrs; /* the committed read, sorted by ip */
	size_t n_addrs;
	bool read_ok;	  /* read_ms is valid */
	uint64_t read_ms; /* monotonic: when the last read completed */

	struct qv_addr *next; /* the read in progress (qv_begin..qv_commit) */
	size_t n_next, cap_next;

	/* Verdicts refused since qv_init: stale or from the future, a bad
	 * edge id, more edges than QUORUM_EDGES_MAX, more addresses than
	 * QUORUM_ADDRS_MAX. For status; never an error. */
	uint64_t refused;
};

enum quorum_result {
	QUORUM_MET = 0,	   /* at least `quorum` edges saw a primary up */
	QUORUM_NOT_MET,	   /* fewer did: open */
	QUORUM_UNVERIFIED, /* the others' verdicts cannot be read: open */
};

/* self: this edge's id (its own verdicts read back are ignored). 0, or
 * -EINVAL for an id that is empty, too long or not printable. */
int qv_init(struct quorum_view *v, const char *self, uint64_t max_age_ms);
void qv_free(struct quorum_view *v);

/* A valid edge id: 1..QUORUM_EDGE_ID_MAX-1 of [A-Za-z0-9.-_]. */
bool qv_edge_id_ok(const char *id);

/* Starts reading a new set of verdicts (the previous read stays in force
 * until qv_commit). */
void qv_begin(struct quorum_view *v);

/*
 * One verdict read from the store: edge saw ip up (or not) at t_ms on its
 * wall clock; now_ms is ours. Counted only when it says up, is another
 * edge's, and is fresh: within max_age_ms of now, either way (a clock
 * ahead of ours by more than that is as doubtful as a stale one).
 * Returns 1 when counted, 0 when ignored (down, ours, stale: see
 * `refused`), -ENOMEM.
 */
int qv_add(struct quorum_view *v, const struct mxg_ip *ip, const char *edge, bool up, int64_t t_ms,
	   int64_t now_ms);

/* The read completed at now_ms (monotonic): it replaces the previous one. */
void qv_commit(struct quorum_view *v, uint64_t now_ms);

/* The last read is recent enough to vouch for the others' verdicts. */
bool qv_verified(const struct quorum_view *v, uint64_t now_ms);

/* The other edges that saw ip up in the committed read (a bit each). */
uint64_t qv_up_edges(const struct quorum_view *v, const struct mxg_ip *ip);

/*
 * The decision for one domain that this edge would gate on its own (its
 * own hysteresis says a primary address is up): others_up is the OR of
 * qv_up_edges over every address of the domain's primaries, so another
 * edge counts once if it saw any of them up. quorum <= 1: always
 * QUORUM_MET, the view is not consulted (v may be NULL).
 */
enum quorum_result quorum_decide(const struct quorum_view *v, unsigned quorum, uint64_t others_up,
				 uint64_t now_ms);

/*
 * The verdicts as Redis keys and values (the controller's glue does the
 * I/O on the fleet's connection):
 *
 *   PREFIX q:EDGE:ADDR   "1 T U"   version 1, T the writer's wall-clock
 *                                  ms, U 1 (up) or 0 (down); SET with PX
 *                                  of about three probe intervals
 *   PREFIX qedges        sorted set: member EDGE, score T, the edge's
 *                                  last round (it is publishing); the
 *                                  readers' index of the edges, so that
 *                                  a read asks for the keys it needs by
 *                                  name and never scans the keyspace
 *
 * EDGE has no ':' (qv_edge_id_ok), so the address is what follows it.
 * Decoding trusts nothing: any field that does not parse exactly refuses
 * the whole verdict.
 */
#define QUORUM_KEY_MAX 192 /* prefix (< 64) + "q:" + edge + ':' + address */
#define QUORUM_VALUE_MAX 32

/* -ENAMETOOLONG when it does not fit. */
int quorum_key(const char *prefix, const char *edge, const struct mxg_ip *ip, char *buf,
	       size_t len);
int quorum_edges_key(const char *prefix, char *buf, size_t len);
int quorum_value(bool up, int64_t t_ms, char *buf, size_t len);

/* A key and value as read (not NUL-terminated): 0, or -EINVAL. edge gets
 * the writer's id (QUORUM_EDGE_ID_MAX). */
int quorum_decode(const char *prefix, const char *key, size_t keylen, const char *val,
		  size_t vallen, char *edge, struct mxg_ip *ip, bool *up, int64_t *t_ms);
/* The value alone, of a key the reader named itself: 0, or -EINVAL. */
int quorum_value_decode(const char *val, size_t vallen, bool *up, int64_t *t_ms);
/* One member and score of PREFIXqedges as read: 0, or -EINVAL. */
int quorum_edge_decode(const char *member, size_t mlen, const char *score, size_t slen, char *edge,
		       int64_t *t_ms);

#endif
