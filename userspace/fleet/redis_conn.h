/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The inside of the fleet's Redis connection, shared by its three files:
 * redis_conn.c (connections, AUTH, SUBSCRIBE, deadlines, backoff, writes),
 * redis_sentinel.c (asking the Sentinels where the master is) and
 * redis_catchup.c (the SCAN of the prefix at every connection). Not for
 * use outside fleet/: fleet.h is the interface.
 */
#ifndef MXG_REDIS_CONN_H
#define MXG_REDIS_CONN_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include "fleet.h"
#include "fleet_queue.h"
#include "redis_bound.h"

#define FLEET_TICK_MS 250	      /* the watchdog's period */
#define FLEET_CMD_TIMEOUT_MS 2000     /* a command unanswered this long: reconnect */
#define FLEET_CONNECT_TIMEOUT_MS 3000 /* connect, AUTH and SUBSCRIBE, in all */
#define FLEET_BACKOFF_MIN_MS 250      /* first retry; doubled up to ... */
#define FLEET_BACKOFF_MAX_MS 30000    /* ... 30 s */
#define FLEET_STABLE_MS 5000	      /* connected this long: the backoff starts again */
#define FLEET_PENDING_MAX 4096	      /* commands in flight; beyond: queued */
#define FLEET_SCAN_COUNT 256	      /* keys asked per SCAN step */
#define FLEET_MGET_MAX 1024	      /* keys per MGET: a SCAN step's at most */
#define FLEET_SCAN_STEPS_MAX 100000   /* a catch-up's SCAN steps at most */
/* One reply at most (redis_bound.h): a catch-up step's MGET is 1,024
 * values of at most 160 octets, the quorum's 1,000 of 32; far above both,
 * far below what would hurt the controller. */
#define FLEET_REPLY_ELEMENTS_MAX 65536
#define FLEET_REPLY_BYTES_MAX (8u << 20) /* 8 MiB */

enum fleet_state {
	FLEET_IDLE,	  /* waiting for the backoff */
	FLEET_SENTINEL,	  /* asking a Sentinel for the master */
	FLEET_CONNECTING, /* connecting, AUTH, SUBSCRIBE */
	FLEET_READY,
};

struct fleet {
	struct ev_loop *loop;
	struct fleet_hooks hooks;
	struct fleet_limits lim;
	uint64_t edge; /* this edge's id in what it writes */
	char prefix[MXG_REDIS_PREFIX_MAX];
	char channel[MXG_REDIS_PREFIX_MAX + sizeof(FLEET_CHANNEL)];
	char user[MXG_REDIS_NAME_MAX];
	char *password; /* NULL: no AUTH */
	char master_name[MXG_REDIS_NAME_MAX];
	struct sockaddr_storage direct; /* redis: the one server */
	socklen_t direct_len;
	struct sockaddr_storage sentinels[MXG_MAX_REDIS_SENTINELS];
	size_t n_sentinels, next_sentinel, tried_sentinels;
	struct sockaddr_storage master; /* in use */

	enum fleet_state state;
	redisAsyncContext *cmd, *sub, *sent;
	bool cmd_ok, sub_ok;
	struct ev_timer timer;
	uint64_t state_ms; /* when the state began (connect deadline, stable) */
	uint64_t backoff_ms;
	unsigned pending;     /* commands in flight on cmd */
	uint64_t progress_ms; /* the last reply on cmd */
	unsigned scan_steps;
	bool warned; /* this outage is logged */

	struct redis_bounds bounds; /* of every reply, on each connection */

	struct fleet_queue queue; /* written while away (fleet_queue.h) */
	struct fleet_stats st;
};

/* redis_conn.c */
void fleet_set_server(struct fleet *f, const struct sockaddr_storage *ss);
/* Frees *pac (if any) after setting it NULL: its callbacks then see that
 * it is no longer ours. */
void fleet_ctx_free(redisAsyncContext **pac);
redisAsyncContext *fleet_ctx_open(struct fleet *f, const struct sockaddr_storage *ss);
/* Lost, or never reached: drop everything, retry after the backoff. */
void fleet_fail(struct fleet *f, const char *why);
/* True for an error reply (counted; a failover's errors reconnect). */
bool fleet_reply_failed(struct fleet *f, redisAsyncContext *ac, const redisReply *r,
			const char *what);
/* Connect the commands and channel connections to f->master. */
void fleet_connect_master(struct fleet *f);

/* redis_sentinel.c: the master from the next Sentinel, then
 * fleet_connect_master; straight to the one server without Sentinels. */
void fleet_reconnect(struct fleet *f);

/* redis_catchup.c */
/* One SCAN step of the catch-up from cursor ("0": the start). */
void fleet_scan_step(struct fleet *f, const char *cursor);
/* A record read from Redis: not our own, clamped, to hooks.record. */
void fleet_take(struct fleet *f, struct fleet_record *r);

#endif
