// SPDX-License-Identifier: GPL-2.0-only
/*
 * The quorum's read of the other edges' verdicts (ctl_quorum.c writes
 * them; docs/fleet.md). Once per round: the edges publishing now, from
 * the index PREFIXqedges (one ZRANGEBYSCORE, at most QUORUM_EDGES_MAX + 1
 * members), then the verdicts of this edge's own primary addresses only,
 * named key by key (PREFIXq:EDGE:ADDR for each other edge), in MGETs of
 * about QUORUM_MGET_KEYS keys with at most QUORUM_READS_INFLIGHT of them
 * in flight. Nothing scans the keyspace: the read costs what this edge
 * needs (its addresses times the other edges), whatever else the fleet
 * keeps in Redis (passes, tuples, other edges' addresses).
 *
 * Once every reply is in, the view is replaced (qv_commit at the time the
 * read completed). A read that fails half-way (Redis lost, an error, a
 * reply of the wrong shape) commits nothing: the view ages, and once older
 * than two intervals and a timeout the domains that would gate stay open
 * (quorum_unverified). The addresses are those probed when the read
 * began (a copy: the index may change under a read).
 */
#include "ctl_quorum_int.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "log.h"

#define QUORUM_MGET_KEYS 1000	 /* keys asked per MGET, about */
#define QUORUM_READS_INFLIGHT 16 /* MGETs of one read in flight at most */
#define QUORUM_READ_MAX 4194304	 /* verdicts kept from one read */
#define QUORUM_READ_RETRY_MS 10	 /* the next MGETs, when the connection is full */

/* One verdict that says up, as read, waiting for its edge's time. */
struct qr_verdict {
	struct mxg_ip ip;
	int64_t t_ms;
	unsigned edge;
};

struct qread {
	struct ctl_quorum *q; /* NULL: abandoned (the quorum stopped) */
	unsigned outstanding; /* commands in flight */
	bool failed, have_edges;
	char edges[QUORUM_EDGES_MAX][QUORUM_EDGE_ID_MAX]; /* the others, from the index */
	int64_t edge_ms[QUORUM_EDGES_MAX];		  /* their last round (wall) */
	unsigned n_edges;
	struct mxg_ip *ips; /* this edge's primary addresses, probed */
	size_t n_ips, next; /* next: the first not yet asked */
	size_t per_cmd;	    /* addresses per MGET */
	struct qr_verdict *v;
	size_t n, cap;
	uint64_t refused, keys;
	uint64_t t0_ms;
	char why[128]; /* the first failure */
};

/* One MGET: addresses first..first+n, each with every edge's key. */
struct qmget {
	struct qread *rd;
	size_t first, n;
};

static uint64_t max_age_ms(const struct mxg_config *cfg)
{
	return 2 * cfg->probe_interval_ms + cfg->probe_timeout_ms;
}

static void fail(struct qread *rd, const char *why, const redisReply *r)
{
	if (!rd->failed)
		snprintf(rd->why, sizeof(rd->why), "%s%s%.80s", why,
			 r && r->type == REDIS_REPLY_ERROR ? ": " : "",
			 r && r->type == REDIS_REPLY_ERROR ? r->str : "");
	rd->failed = true;
}

static void rd_free(struct qread *rd)
{
	free(rd->ips);
	free(rd->v);
	free(rd);
}

static void commit(struct ctl_quorum *q, struct qread *rd)
{
	int64_t now_wall = (int64_t)fleet_wall_ms();

	qv_begin(&q->view);
	for (size_t i = 0; i < rd->n; i++) {
		const struct qr_verdict *v = &rd->v[i];
		int64_t t = v->t_ms;

		/* Its edge still publishing vouches for it (the key itself
		 * has not expired). */
		if (rd->edge_ms[v->edge] > t && v->t_ms <= now_wall)
			t = rd->edge_ms[v->edge];
		if (qv_add(&q->view, &v->ip, rd->edges[v->edge], true, t, now_wall) < 0)
			break;
	}
	q->view.refused += rd->refused;
	qv_commit(&q->view, ev_now_ms());
	q->reads++;
	q->keys_read += rd->keys;
	q->edges_seen = rd->n_edges;
	q->read_took_ms = ev_now_ms() - rd->t0_ms;
}

/* The read is over when nothing is in flight and nothing is left (or it
 * failed): commit it, or count it failed, and free it. */
static void read_end(struct qread *rd)
{
	struct ctl_quorum *q = rd->q;

	if (rd->outstanding)
		return;
	if (q && !rd->failed && (!rd->have_edges || rd->next < rd->n_ips))
		return; /* more to ask (the retry timer, or the index's reply) */
	if (q) {
		log_debug(
		    "quorum: read %s: %u other edge(s), %zu of %zu address(es) asked, %" PRIu64
		    " key(s), %zu up",
		    rd->failed ? "failed" : "complete", rd->n_edges, rd->next, rd->n_ips, rd->keys,
		    rd->n);
		/* Once per failing run: a lost connection says so itself. */
		if (rd->failed && !q->read_failing && rd->why[0])
			log_warn("quorum: reading the other edges' verdicts failed (%s); domains "
				 "that need a quorum open once the last good read is too old",
				 rd->why);
		else if (!rd->failed && q->read_failing)
			log_notice("quorum: the other edges' verdicts are read again");
		q->read_failing = rd->failed && rd->why[0];
		if (rd->failed)
			q->reads_failed++;
		else
			commit(q, rd);
		ev_timer_stop(q->c->loop, &q->r_timer);
		q->read = NULL;
	}
	rd_free(rd);
}

static void take(struct qread *rd, const struct mxg_ip *ip, unsigned edge, const redisReply *v)
{
	bool up;
	int64_t t;

	if (v->type == REDIS_REPLY_NIL)
		return; /* never written, or expired */
	if (v->type != REDIS_REPLY_STRING || quorum_value_decode(v->str, v->len, &up, &t)) {
		rd->refused++;
		return;
	}
	if (!up)
		return; /* only the edges that saw it up count */
	if (rd->n == QUORUM_READ_MAX) {
		rd->refused++;
		return;
	}
	if (rd->n == rd->cap) {
		size_t cap = rd->cap ? rd->cap * 2 : 1024;
		struct qr_verdict *n = reallocarray(rd->v, cap, sizeof(*n));

		if (!n) {
			fail(rd, "out of memory", NULL);
			return;
		}
		rd->v = n;
		rd->cap = cap;
	}
	rd->v[rd->n++] = (struct qr_verdict){.ip = *ip, .t_ms = t, .edge = edge};
}

static void pump(struct qread *rd);

static void on_mget(void *arg, const struct redisReply *r)
{
	struct qmget *m = arg;
	struct qread *rd = m->rd;
	size_t want = m->n * rd->n_edges;

	rd->outstanding--;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != want) {
		if (r)
			fail(rd, "an MGET of verdicts", r);
		rd->failed = true;
	} else if (rd->q)
		for (size_t j = 0; j < want && !rd->failed; j++)
			take(rd, &rd->ips[m->first + j / rd->n_edges], (unsigned)(j % rd->n_edges),
			     r->element[j]);
	free(m);
	if (rd->q && !rd->failed)
		pump(rd);
	read_end(rd);
}

/* One MGET of the next addresses: 0, -EBUSY (the connection is full:
 * later), or another error (the read fails). */
static int mget_next(struct qread *rd)
{
	size_t n = rd->n_ips - rd->next < rd->per_cmd ? rd->n_ips - rd->next : rd->per_cmd;
	size_t nk = n * rd->n_edges, k = 0;
	const char **argv = calloc(nk + 1, sizeof(*argv));
	size_t *lens = calloc(nk + 1, sizeof(*lens));
	char *keys = malloc(nk * QUORUM_KEY_MAX);
	struct qmget *m = malloc(sizeof(*m));
	int err = -ENOMEM;

	if (!argv || !lens || !keys || !m)
		goto out;
	argv[0] = "MGET";
	lens[0] = 4;
	for (size_t i = 0; i < n; i++)
		for (unsigned e = 0; e < rd->n_edges; e++, k++) {
			char *key = keys + k * QUORUM_KEY_MAX;

			err = quorum_key(rd->q->prefix, rd->edges[e], &rd->ips[rd->next + i], key,
					 QUORUM_KEY_MAX);
			if (err)
				goto out;
			argv[k + 1] = key;
			lens[k + 1] = strlen(key);
		}
	*m = (struct qmget){.rd = rd, .first = rd->next, .n = n};
	err = fleet_command_argv(rd->q->c->fleet, (int)nk + 1, argv, lens, on_mget, m);
	if (!err) {
		m = NULL;
		rd->outstanding++;
		rd->next += n;
		rd->keys += nk;
	}
out:
	free(m);
	free(keys);
	free(lens);
	free(argv);
	return err;
}

/* Ask for the next addresses while there is room. */
static void pump(struct qread *rd)
{
	struct ctl_quorum *q = rd->q;

	while (!rd->failed && rd->next < rd->n_ips && rd->outstanding < QUORUM_READS_INFLIGHT) {
		int err = mget_next(rd);

		if (err == -EBUSY) {
			if (!rd->outstanding)
				ctl_timer_start(q->c, &q->r_timer, QUORUM_READ_RETRY_MS,
						"quorum read");
			return; /* a reply or the timer goes on */
		}
		if (err)
			fail(rd,
			     err == -ENOMEM ? "out of memory" : "the connection refused an MGET",
			     NULL);
	}
}

static void on_r_timer(struct ev_loop *loop, void *arg)
{
	struct ctl_quorum *q = arg;

	(void)loop;
	if (!q->read)
		return;
	pump(q->read);
	read_end(q->read);
}

/* The index: member, score, member, score... */
static void on_edges(void *arg, const struct redisReply *r)
{
	struct qread *rd = arg;

	rd->outstanding--;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		if (r)
			fail(rd, "ZRANGEBYSCORE of the index of edges", r);
		rd->failed = true;
		read_end(rd);
		return;
	}
	for (size_t i = 0; rd->q && i < r->elements; i += 2) {
		const redisReply *mb = r->element[i], *sc = r->element[i + 1];
		char edge[QUORUM_EDGE_ID_MAX];
		int64_t t;

		if (mb->type != REDIS_REPLY_STRING || sc->type != REDIS_REPLY_STRING ||
		    quorum_edge_decode(mb->str, mb->len, sc->str, sc->len, edge, &t)) {
			rd->refused++;
			continue;
		}
		if (!strcmp(edge, rd->q->edge))
			continue;
		if (rd->n_edges == QUORUM_EDGES_MAX) {
			rd->refused++;
			continue;
		}
		memcpy(rd->edges[rd->n_edges], edge, sizeof(edge));
		rd->edge_ms[rd->n_edges++] = t;
	}
	rd->have_edges = true;
	if (rd->n_edges) {
		rd->per_cmd = QUORUM_MGET_KEYS / rd->n_edges;
		if (!rd->per_cmd)
			rd->per_cmd = 1;
	} else {
		rd->next = rd->n_ips; /* nobody else publishes: nothing to ask */
	}
	if (rd->q)
		pump(rd);
	read_end(rd);
}

struct ips_walk {
	struct qread *rd;
	size_t cap;
};

static void add_ip(void *arg, struct ctl_paddr *pa)
{
	struct ips_walk *w = arg;
	struct qread *rd = w->rd;

	if (!pa->probed || rd->failed)
		return;
	if (rd->n_ips == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct mxg_ip *n = reallocarray(rd->ips, cap, sizeof(*n));

		if (!n) {
			rd->failed = true;
			return;
		}
		rd->ips = n;
		w->cap = cap;
	}
	rd->ips[rd->n_ips++] = pa->ip;
}

void ctl_quorum_read_start(struct ctl_quorum *q)
{
	char key[QUORUM_KEY_MAX], min[24];
	const char *argv[8] = {"ZRANGEBYSCORE", key, min, "+inf", "WITHSCORES", "LIMIT", "0", NULL};
	char limit[8];
	size_t lens[8];
	struct ips_walk w = {0};
	struct qread *rd;

	if (q->read)
		return; /* the last one is still coming: it will commit */
	rd = calloc(1, sizeof(*rd));
	if (!rd) {
		q->reads_failed++;
		return;
	}
	rd->q = q;
	rd->t0_ms = ev_now_ms();
	w.rd = rd;
	ctl_paddr_each(q->c, add_ip, &w);
	if (quorum_edges_key(q->prefix, key, sizeof(key)))
		rd->failed = true;
	snprintf(min, sizeof(min), "%" PRId64,
		 (int64_t)fleet_wall_ms() - (int64_t)max_age_ms(q->c->cfg));
	snprintf(limit, sizeof(limit), "%d", QUORUM_EDGES_MAX + 1); /* + this edge */
	argv[7] = limit;
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	if (rd->failed || fleet_command_argv(q->c->fleet, 8, argv, lens, on_edges, rd)) {
		q->reads_failed++;
		rd_free(rd);
		return;
	}
	rd->outstanding++;
	q->read = rd;
}

void ctl_quorum_read_init(struct ctl_quorum *q)
{
	ev_timer_init(&q->r_timer, on_r_timer, q);
}

void ctl_quorum_read_abandon(struct ctl_quorum *q)
{
	struct qread *rd = q->read;

	ev_timer_stop(q->c->loop, &q->r_timer);
	if (!rd)
		return;
	q->read = NULL;
	rd->q = NULL;
	if (!rd->outstanding)
		rd_free(rd); /* else it frees itself when its replies are in */
}
