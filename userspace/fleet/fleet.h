/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fleet's shared state on Redis (state_backend = redis): one
 * connection for commands and one subscribed to the channel, both on the
 * controller's loop, non-blocking, every command under a deadline,
 * reconnected with backoff; the master found through the Sentinels when
 * they are configured. The controller keeps deciding with its own tables
 * (the cache); this only carries what an edge learns to the others:
 * fleet_put() writes a record (SET ... PX, Redis expires it) and announces
 * it on the channel; records of other edges come to hooks->record, already
 * validated and clamped (fleet_sync.h), from the channel and from a
 * catch-up SCAN of the prefix at every (re)connection.
 *
 * Pub/sub on our own channel rather than keyspace notifications: those
 * need notify-keyspace-events set on the server (an administrator's
 * setting we cannot check from an ACL user without CONFIG), carry only the
 * key name (a GET more per event) and are lost on reconnection just the
 * same; the SCAN at connection covers what either would lose.
 */
#ifndef MXG_FLEET_H
#define MXG_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "fleet_sync.h"

struct fleet;

struct fleet_hooks {
	/* A record of another edge, validated and clamped. */
	void (*record)(void *arg, const struct fleet_record *r);
	/* Connected (again): write back what the caller holds (fleet_put). */
	void (*ready)(void *arg);
	void *arg;
};

struct fleet_stats {
	bool connected;		/* commands and channel up */
	char server[64];	/* the address in use (or last tried) */
	uint64_t connects;	/* connections that became ready */
	uint64_t disconnects;	/* lost (error, timeout, READONLY) */
	uint64_t ops;		/* commands answered */
	uint64_t errors;	/* error replies, timeouts, failed connects */
	uint64_t written;	/* records written */
	uint64_t received;	/* records of other edges taken */
	uint64_t refused;	/* read, and refused (malformed or expired) */
	uint64_t queued;	/* waiting for a connection */
	uint64_t dropped;	/* queue full, or its network's share: not written */
	uint64_t down_since_ms; /* wall; 0 while connected */
};

/* password: NULL or the AUTH password (copied). NULL on -ENOMEM. */
struct fleet *fleet_new(struct ev_loop *loop, const struct mxg_config *cfg, const char *password,
			const struct fleet_limits *lim, const struct fleet_hooks *hooks);
void fleet_free(struct fleet *f);
/* A reload's new limits. */
void fleet_set_limits(struct fleet *f, const struct fleet_limits *lim);
/* A reload's password (NULL: none): 0 when it is the one in use; 1 when
 * it changed (copied; both connections are made again with it at once);
 * -ENOMEM (the old one stays). */
int fleet_set_password(struct fleet *f, const char *password);
/* Write r (its edge is set here); queued while disconnected (bounded in
 * all and per client network, fleet_queue.h; what is dropped is counted). */
void fleet_put(struct fleet *f, struct fleet_record *r);
bool fleet_connected(const struct fleet *f);
void fleet_get_stats(const struct fleet *f, struct fleet_stats *st);
/*
 * A raw command on the commands connection, for the callers that keep
 * their own keys (the quorum's verdicts, ctl_quorum.c): the same 2 s
 * deadline and the same failover handling as the records. 0: sent, and
 * cb is called exactly once, with the reply, or with NULL when the
 * connection is lost first (the reply is hiredis's, valid during the
 * call only). -ENOTCONN while disconnected, -EBUSY with too many
 * commands in flight, -ENOMEM: cb is not called.
 */
struct redisReply;
typedef void fleet_reply_fn(void *arg, const struct redisReply *r);
int fleet_command_argv(struct fleet *f, int argc, const char **argv, const size_t *lens,
		       fleet_reply_fn *cb, void *arg);

/* Wall-clock milliseconds (CLOCK_REALTIME): what records carry. */
uint64_t fleet_wall_ms(void);

#endif
