// SPDX-License-Identifier: GPL-2.0-only
/*
 * The quorum's exchange of verdicts (quorum > 1, state_backend = redis;
 * docs/fleet.md), on the fleet's connection: the controller's glue
 * between the rounds and the pure view (state/quorum.h). This file writes;
 * ctl_quorum_read.c reads.
 *
 * After each round this edge writes its verdict per primary address,
 * PREFIXq:EDGE:ADDR = "1 T U", SET PX of three probe intervals plus a
 * probe timeout; only those that changed, plus a refresh of each once its
 * last write is older than an interval and a half (every other round in
 * steady state), all again after a reconnection. And its entry in the
 * index of edges, PREFIXqedges (a sorted set, score T) every round: the
 * edge is publishing, and the readers learn from it which keys to ask
 * for. A verdict counts as fresh as the later of its own time and its
 * edge's time in the index, so an unchanged verdict need not be rewritten
 * every round, while an edge that stops publishing stops counting within
 * two intervals and a timeout. Writes are sent in slices as the
 * connection's commands in flight allow, the rest from a timer: nothing
 * waits.
 *
 * The edge id is helo_name (this edge's own MX name by default): unique
 * per edge, and what an operator reads in Redis.
 */
#include "ctl_quorum_int.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "json.h"
#include "log.h"
#include "probe.h"
#include "prom.h"
#include "sbuf.h"

#define QUORUM_SLICE_MS 10 /* the next slice of writes, when too many are in flight */
/* Writes in flight at most: the connection takes 4,096 commands, and the
 * read and the fleet's own records need room beside them. */
#define QUORUM_WRITES_INFLIGHT 2048
/* An edge gone from the index after this many expiries of its verdicts
 * (a member nobody rewrites is removed by the edges still publishing). */
#define QUORUM_EDGE_FORGET_TTLS 10

static uint64_t ttl_ms(const struct mxg_config *cfg)
{
	return 3 * cfg->probe_interval_ms + cfg->probe_timeout_ms;
}

static uint64_t max_age_ms(const struct mxg_config *cfg)
{
	return 2 * cfg->probe_interval_ms + cfg->probe_timeout_ms;
}

/* arg: the controller (a quorum restarted by a reload is a new one; its
 * count only ever errs towards fewer writes in flight). */
static void on_write(void *arg, const struct redisReply *r)
{
	struct controller *c = arg;

	(void)r; /* counted by fleet/; a lost write expires, which opens */
	if (c->quorum && c->quorum->w_inflight)
		c->quorum->w_inflight--;
}

static int send_cmd(struct ctl_quorum *q, int argc, const char **argv)
{
	size_t lens[6];
	int err;

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	err = fleet_command_argv(q->c->fleet, argc, argv, lens, on_write, q->c);
	if (!err)
		q->w_inflight++;
	return err;
}

static int set_px(struct ctl_quorum *q, const char *key, const char *val)
{
	char px[24];
	const char *argv[5] = {"SET", key, val, "PX", px};

	snprintf(px, sizeof(px), "%" PRIu64, ttl_ms(q->c->cfg));
	return send_cmd(q, 5, argv);
}

/* This edge in the index: its time now; the index expires with the
 * verdicts when every edge stops; members not rewritten for a long time
 * go (an edge renamed or retired). */
static void index_self(struct ctl_quorum *q)
{
	char key[QUORUM_KEY_MAX], t[24], px[24], old[24];
	const char *zadd[4] = {"ZADD", key, t, q->edge};
	const char *pexpire[3] = {"PEXPIRE", key, px};
	const char *zrem[4] = {"ZREMRANGEBYSCORE", key, "-inf", old};
	uint64_t ttl = ttl_ms(q->c->cfg);

	if (quorum_edges_key(q->prefix, key, sizeof(key)))
		return;
	snprintf(t, sizeof(t), "%" PRId64, q->w_wall);
	snprintf(px, sizeof(px), "%" PRIu64, ttl);
	snprintf(old, sizeof(old), "(%" PRId64,
		 q->w_wall - (int64_t)(QUORUM_EDGE_FORGET_TTLS * ttl));
	/* Each lost one is redone next round; a lost ZADD counts this edge
	 * out for a round at worst (open). */
	(void)send_cmd(q, 4, zadd);
	(void)send_cmd(q, 3, pexpire);
	(void)send_cmd(q, 4, zrem);
}

/* Sends the writes waiting, up to QUORUM_WRITES_INFLIGHT in flight; the
 * rest from the timer. */
static void write_some(struct ctl_quorum *q)
{
	char key[QUORUM_KEY_MAX], val[QUORUM_VALUE_MAX];

	while (q->w_next < q->n_w) {
		const struct qw *w = &q->w[q->w_next];
		int err;

		if (quorum_key(q->prefix, q->edge, &w->ip, key, sizeof(key)) ||
		    quorum_value(w->up, q->w_wall, val, sizeof(val))) {
			q->w_next++;
			continue;
		}
		err = q->w_inflight >= QUORUM_WRITES_INFLIGHT ? -EBUSY : set_px(q, key, val);
		if (err == -EBUSY) {
			ctl_timer_start(q->c, &q->w_timer, QUORUM_SLICE_MS, "quorum writes");
			return;
		}
		if (err) {
			/* Lost: the keys expire and count for nothing (open);
			 * everything is written again after a reconnection. */
			q->n_w = q->w_next = 0;
			return;
		}
		q->written++;
		q->w_next++;
	}
	q->n_w = q->w_next = 0;
}

static void on_w_timer(struct ev_loop *loop, void *arg)
{
	(void)loop;
	write_some(arg);
}

struct pub_walk {
	struct ctl_quorum *q;
	uint64_t now, refresh;
	bool all;
	int err;
};

static void pub_one(void *arg, struct ctl_paddr *pa)
{
	struct pub_walk *pw = arg;
	struct ctl_quorum *q = pw->q;
	bool up = pa->probed && pa->last == PROBE_OK;

	if (!pa->probed || pw->err)
		return;
	if (!pw->all && pa->q_pub_ms && pa->q_up == up && pw->now - pa->q_pub_ms < pw->refresh)
		return;
	if (q->n_w == q->cap_w) {
		size_t cap = q->cap_w ? q->cap_w * 2 : 256;
		struct qw *n = reallocarray(q->w, cap, sizeof(*n));

		if (!n) {
			pw->err = -ENOMEM;
			return;
		}
		q->w = n;
		q->cap_w = cap;
	}
	q->w[q->n_w++] = (struct qw){.ip = pa->ip, .up = up};
	pa->q_pub_ms = pw->now;
	pa->q_up = up;
}

static void publish(struct ctl_quorum *q)
{
	struct controller *c = q->c;
	struct fleet_stats st;
	struct pub_walk pw = {
	    .q = q, .now = ev_now_ms(), .refresh = c->cfg->probe_interval_ms * 3 / 2};
	fleet_get_stats(c->fleet, &st);
	pw.all = st.connects != q->connects;
	q->connects = st.connects;
	/* A slice of the last round still waiting: its times are older, but
	 * these are newer verdicts of the same addresses. */
	q->n_w = q->w_next = 0;
	q->w_wall = (int64_t)fleet_wall_ms();
	ctl_paddr_each(c, pub_one, &pw);
	if (pw.err)
		log_warn("quorum: out of memory; this round's verdicts are not written (the "
			 "others count this edge out until the next)");
	index_self(q);
	write_some(q);
}

/* ---- The controller's side ------------------------------------------ */

void ctl_quorum_round(struct controller *c)
{
	struct ctl_quorum *q = c->quorum;

	if (!q || c->cfg->quorum <= 1 || !fleet_connected(c->fleet))
		return;
	publish(q);
	ctl_quorum_read_start(q);
}

int ctl_quorum_start(struct controller *c)
{
	struct ctl_quorum *q;

	if (!c->fleet)
		return 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = c;
	snprintf(q->prefix, sizeof(q->prefix), "%s", c->cfg->redis_prefix);
	if (strlen(c->cfg->helo_name) >= sizeof(q->edge) ||
	    qv_init(&q->view, c->cfg->helo_name, max_age_ms(c->cfg))) {
		log_err("quorum: helo_name %s is not a usable edge id (letters, digits, '.', "
			"'-', '_', at most %d): this edge neither publishes nor reads verdicts, "
			"and domains that need a quorum stay open (quorum_unverified)",
			c->cfg->helo_name, QUORUM_EDGE_ID_MAX - 1);
		free(q);
		return 0;
	}
	memcpy(q->edge, q->view.self, sizeof(q->edge));
	ev_timer_init(&q->w_timer, on_w_timer, q);
	ctl_quorum_read_init(q);
	c->quorum = q;
	c->params.qv = &q->view;
	return 0;
}

/* After fleet_free: the reads in flight have had their NULL replies. */
void ctl_quorum_stop(struct controller *c)
{
	struct ctl_quorum *q = c->quorum;

	if (!q)
		return;
	c->params.qv = NULL;
	ctl_quorum_read_abandon(q);
	ev_timer_stop(c->loop, &q->w_timer);
	qv_free(&q->view);
	free(q->w);
	free(q);
	c->quorum = NULL;
}

/* A reload that keeps the connection: the timings may have changed. */
void ctl_quorum_reload(struct controller *c)
{
	if (c->quorum && strcmp(c->quorum->edge, c->cfg->helo_name)) {
		ctl_quorum_stop(c);
		if (ctl_quorum_start(c) < 0)
			log_err("quorum: out of memory; domains that need a quorum stay open");
		return;
	}
	if (c->quorum)
		c->quorum->view.max_age_ms = max_age_ms(c->cfg);
}

void ctl_quorum_text(const struct controller *c, struct sbuf *o)
{
	const struct ctl_quorum *q = c->quorum;
	uint64_t now = ev_now_ms();

	if (c->cfg->quorum <= 1)
		return;
	if (!q) {
		sbuf_printf(o,
			    "quorum: %u edges; no verdicts exchanged (Redis not started); "
			    "domains that need it stay open\n",
			    c->cfg->quorum);
		return;
	}
	sbuf_printf(o,
		    "quorum: %u edges; this edge %s; %s; %u other edge(s) publishing, %zu with "
		    "a verdict up in the last read, %zu address(es) seen up; verdicts written "
		    "%" PRIu64 ", reads %" PRIu64 ", failed %" PRIu64 ", keys read %" PRIu64
		    ", last read %" PRIu64 " ms, refused %" PRIu64 "\n",
		    c->cfg->quorum, q->edge,
		    qv_verified(&q->view, now) ? "verified" : "unverified (no recent read)",
		    q->edges_seen, q->view.n_edges_read, q->view.n_addrs, q->written, q->reads,
		    q->reads_failed, q->keys_read, q->read_took_ms, q->view.refused);
}

void ctl_quorum_json(const struct controller *c, struct json_writer *w)
{
	const struct ctl_quorum *q = c->quorum;

	json_key(w, "quorum");
	json_object_begin(w);
	json_kv_uint(w, "quorum", c->cfg->quorum);
	json_kv_str(w, "edge", q ? q->edge : "");
	json_kv_bool(w, "verified", q && qv_verified(&q->view, ev_now_ms()));
	json_kv_uint(w, "edges_seen", q ? q->edges_seen : 0);
	json_kv_uint(w, "edges_read", q ? q->view.n_edges_read : 0);
	json_kv_uint(w, "addresses_up", q ? q->view.n_addrs : 0);
	json_kv_uint(w, "written", q ? q->written : 0);
	json_kv_uint(w, "reads", q ? q->reads : 0);
	json_kv_uint(w, "reads_failed", q ? q->reads_failed : 0);
	json_kv_uint(w, "keys_read", q ? q->keys_read : 0);
	json_kv_uint(w, "read_ms", q ? q->read_took_ms : 0);
	json_kv_uint(w, "refused", q ? q->view.refused : 0);
	json_object_end(w);
}

void ctl_quorum_metrics(const struct controller *c, FILE *f)
{
	const struct ctl_quorum *q = c->quorum;

	if (c->cfg->quorum <= 1)
		return;
	prom_family(f, "mxgate_quorum_verified", "gauge",
		    "1 while the last read of the other edges' verdicts is recent enough to "
		    "verify a quorum; 0: domains that need it stay open (quorum_unverified).");
	prom_u64(f, "mxgate_quorum_verified", NULL, q && qv_verified(&q->view, ev_now_ms()));
	prom_family(f, "mxgate_quorum_edges_seen", "gauge",
		    "Other edges publishing verdicts (in the index of edges) at the last read.");
	prom_u64(f, "mxgate_quorum_edges_seen", NULL, q ? q->edges_seen : 0);
	prom_family(f, "mxgate_quorum_addresses_up", "gauge",
		    "Primary addresses of this edge that another edge saw up, in the last read.");
	prom_u64(f, "mxgate_quorum_addresses_up", NULL, q ? q->view.n_addrs : 0);
	prom_family(f, "mxgate_quorum_reads_total", "counter",
		    "Reads of the other edges' verdicts completed.");
	prom_u64(f, "mxgate_quorum_reads_total", NULL, q ? q->reads : 0);
	prom_family(f, "mxgate_quorum_read_failures_total", "counter",
		    "Reads of the other edges' verdicts that failed (Redis lost, an error reply): "
		    "nothing was committed.");
	prom_u64(f, "mxgate_quorum_read_failures_total", NULL, q ? q->reads_failed : 0);
	prom_family(f, "mxgate_quorum_keys_read_total", "counter",
		    "Verdict keys asked for by the reads (this edge's primary addresses times "
		    "the other edges).");
	prom_u64(f, "mxgate_quorum_keys_read_total", NULL, q ? q->keys_read : 0);
	prom_family(f, "mxgate_quorum_read_seconds", "gauge",
		    "How long the last complete read took, from its first command.");
	prom_double(f, "mxgate_quorum_read_seconds", NULL,
		    q ? (double)q->read_took_ms / 1000.0 : 0.0);
	prom_family(f, "mxgate_quorum_verdicts_written_total", "counter",
		    "Verdicts of this edge written to Redis.");
	prom_u64(f, "mxgate_quorum_verdicts_written_total", NULL, q ? q->written : 0);
	prom_family(f, "mxgate_quorum_verdicts_refused_total", "counter",
		    "Verdicts or index entries read and refused: malformed, stale, from the "
		    "future, beyond the bounds.");
	prom_u64(f, "mxgate_quorum_verdicts_refused_total", NULL, q ? q->view.refused : 0);
}
