// SPDX-License-Identifier: GPL-2.0-only
/*
 * The quorum's exchange of verdicts (quorum > 1, state_backend = redis;
 * docs/fleet.md), on the fleet's connection: the controller's glue
 * between the rounds and the pure view (state/quorum.h).
 *
 * After each round this edge writes its verdict per primary address,
 * PREFIXq:EDGE:ADDR = "1 T U", SET PX of three probe intervals plus a
 * probe timeout; only those that changed, plus a refresh of each once its
 * last write is older than an interval and a half (every other round in
 * steady state), all again after a reconnection. And PREFIXqe:EDGE =
 * "1 T" every round: the edge is publishing. A verdict counts as fresh as
 * the later of its own time and its edge's qe: time, so an unchanged
 * verdict need not be rewritten every round, while an edge that stops
 * publishing stops counting within two intervals and a timeout.
 *
 * Then it reads the others: SCAN of PREFIXq* (verdicts and edges), an
 * MGET per SCAN step, and, once every reply is in, the view is replaced
 * (qv_commit at the time the read completed). A read that fails half-way
 * (Redis lost, an error) commits nothing: the view ages, and once older
 * than two intervals and a timeout the domains that would gate stay open
 * (quorum_unverified). Writes are sent in slices as the connection's
 * commands in flight allow, the rest from a timer: nothing waits.
 *
 * The edge id is helo_name (this edge's own MX name by default): unique
 * per edge, and what an operator reads in Redis.
 */
#include "controller.h"

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
#include "quorum.h"
#include "sbuf.h"

#define QUORUM_SCAN_COUNT "1000" /* keys asked per SCAN step */
#define QUORUM_SCAN_STEPS 100000 /* a read's SCAN steps at most */
#define QUORUM_READ_MAX 4194304	 /* verdicts kept from one read */
#define QUORUM_SLICE_MS 10	 /* the next slice of writes, when too many are in flight */
/* Writes in flight at most: the connection takes 4,096 commands, and the
 * read and the fleet's own records need room beside them. */
#define QUORUM_WRITES_INFLIGHT 2048

struct ctl_quorum;

/* One verdict that says up, as read, waiting for its edge's qe: time. */
struct qr_verdict {
	struct mxg_ip ip;
	int64_t t_ms;
	unsigned edge;
};

/* One read (SCAN + MGETs): outstanding counts the commands in flight. */
struct qread {
	struct ctl_quorum *q; /* NULL: abandoned (the quorum stopped) */
	unsigned outstanding;
	unsigned steps;
	bool scan_done, failed;
	char edges[QUORUM_EDGES_MAX + 1][QUORUM_EDGE_ID_MAX];
	int64_t edge_ms[QUORUM_EDGES_MAX + 1]; /* qe: time; 0 none read */
	unsigned n_edges;
	struct qr_verdict *v;
	size_t n, cap;
	uint64_t refused;
};

/* The keys of one MGET, for decoding its values. */
struct qmget {
	struct qread *rd;
	size_t n;
	char *keys[];
};

/* A write waiting for room on the connection. */
struct qw {
	struct mxg_ip ip;
	bool up;
};

struct ctl_quorum {
	struct controller *c;
	struct quorum_view view;
	char edge[QUORUM_EDGE_ID_MAX];
	char prefix[MXG_REDIS_PREFIX_MAX];
	struct qread *read; /* in progress; NULL none */
	uint64_t connects;  /* the fleet's, at the last round: changed = all again */
	struct qw *w;	    /* this round's writes, w_next the next to send */
	size_t n_w, w_next, cap_w;
	int64_t w_wall; /* their time */
	struct ev_timer w_timer;
	unsigned w_inflight; /* SETs sent, not yet answered */
	uint64_t written, reads, reads_failed;
};

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

static int set_px(struct ctl_quorum *q, const char *key, const char *val)
{
	char px[24];
	const char *argv[5] = {"SET", key, val, "PX", px};
	size_t lens[5];
	int err;

	snprintf(px, sizeof(px), "%" PRIu64, ttl_ms(q->c->cfg));
	for (int i = 0; i < 5; i++)
		lens[i] = strlen(argv[i]);
	err = fleet_command_argv(q->c->fleet, 5, argv, lens, on_write, q->c);
	if (!err)
		q->w_inflight++;
	return err;
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
	char key[QUORUM_KEY_MAX], val[QUORUM_VALUE_MAX];

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
	if (!quorum_edge_key(q->prefix, q->edge, key, sizeof(key))) {
		snprintf(val, sizeof(val), "1 %" PRId64, q->w_wall);
		(void)set_px(q, key, val);
	}
	write_some(q);
}

/* ---- Reading ---------------------------------------------------------- */

static void read_end(struct qread *rd)
{
	struct ctl_quorum *q = rd->q;
	int64_t now_wall = (int64_t)fleet_wall_ms();

	if (rd->outstanding || (!rd->scan_done && !rd->failed))
		return;
	if (q && !rd->failed) {
		qv_begin(&q->view);
		for (size_t i = 0; i < rd->n; i++) {
			const struct qr_verdict *v = &rd->v[i];
			int64_t t = v->t_ms;

			/* Its edge still publishing vouches for it (the key
			 * itself has not expired). */
			if (rd->edge_ms[v->edge] > t && v->t_ms <= now_wall)
				t = rd->edge_ms[v->edge];
			if (qv_add(&q->view, &v->ip, rd->edges[v->edge], true, t, now_wall) < 0)
				break;
		}
		q->view.refused += rd->refused;
		qv_commit(&q->view, ev_now_ms());
		q->reads++;
	} else if (q) {
		q->reads_failed++;
	}
	if (q)
		q->read = NULL;
	free(rd->v);
	free(rd);
}

static int edge_of(struct qread *rd, const char *edge)
{
	for (unsigned i = 0; i < rd->n_edges; i++)
		if (!strcmp(rd->edges[i], edge))
			return (int)i;
	if (rd->n_edges == QUORUM_EDGES_MAX + 1)
		return -1;
	snprintf(rd->edges[rd->n_edges], QUORUM_EDGE_ID_MAX, "%s", edge);
	return (int)rd->n_edges++;
}

/* PREFIXqe:EDGE = "1 T". */
static void take_edge(struct qread *rd, const char *prefix, const char *key, size_t keylen,
		      const char *val, size_t vallen)
{
	size_t pl = strlen(prefix);
	char edge[QUORUM_EDGE_ID_MAX], num[24], *end;
	long long t;
	int i;

	if (keylen - pl - 3 >= sizeof(edge) || vallen < 3 || vallen >= sizeof(num) ||
	    memcmp(val, "1 ", 2)) {
		rd->refused++;
		return;
	}
	memcpy(edge, key + pl + 3, keylen - pl - 3);
	edge[keylen - pl - 3] = '\0';
	memcpy(num, val + 2, vallen - 2);
	num[vallen - 2] = '\0';
	t = strtoll(num, &end, 10);
	if (!qv_edge_id_ok(edge) || *end || num[0] < '1' || num[0] > '9' || t <= 0 ||
	    (i = edge_of(rd, edge)) < 0) {
		rd->refused++;
		return;
	}
	rd->edge_ms[i] = t;
}

static void take_verdict(struct qread *rd, const char *prefix, const char *key, size_t keylen,
			 const char *val, size_t vallen)
{
	char edge[QUORUM_EDGE_ID_MAX];
	struct mxg_ip ip;
	bool up;
	int64_t t;
	int i;

	if (quorum_decode(prefix, key, keylen, val, vallen, edge, &ip, &up, &t)) {
		rd->refused++;
		return;
	}
	if (!up)
		return; /* only the edges that saw it up count */
	if (rd->n == QUORUM_READ_MAX || (i = edge_of(rd, edge)) < 0) {
		rd->refused++;
		return;
	}
	if (rd->n == rd->cap) {
		size_t cap = rd->cap ? rd->cap * 2 : 1024;
		struct qr_verdict *n = reallocarray(rd->v, cap, sizeof(*n));

		if (!n) {
			rd->failed = true;
			return;
		}
		rd->v = n;
		rd->cap = cap;
	}
	rd->v[rd->n++] = (struct qr_verdict){.ip = ip, .t_ms = t, .edge = (unsigned)i};
}

static void on_mget(void *arg, const struct redisReply *r)
{
	struct qmget *m = arg;
	struct qread *rd = m->rd;

	rd->outstanding--;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != m->n)
		rd->failed = true;
	else if (rd->q)
		for (size_t i = 0; i < m->n; i++) {
			const redisReply *v = r->element[i];
			const char *k = m->keys[i];
			size_t pl = strlen(rd->q->prefix), kl = strlen(k);

			if (v->type != REDIS_REPLY_STRING)
				continue; /* expired since the SCAN */
			if (kl > pl + 3 && !memcmp(k + pl, "qe:", 3))
				take_edge(rd, rd->q->prefix, k, kl, v->str, v->len);
			else
				take_verdict(rd, rd->q->prefix, k, kl, v->str, v->len);
		}
	for (size_t i = 0; i < m->n; i++)
		free(m->keys[i]);
	free(m);
	read_end(rd);
}

static int scan_step(struct qread *rd, const char *cursor);

static void mget(struct qread *rd, const redisReply *keys)
{
	struct qmget *m = calloc(1, sizeof(*m) + keys->elements * sizeof(char *));
	const char **argv = calloc(keys->elements + 1, sizeof(*argv));
	size_t *lens = calloc(keys->elements + 1, sizeof(*lens));

	if (!m || !argv || !lens) {
		rd->failed = true;
		goto out;
	}
	m->rd = rd;
	argv[0] = "MGET";
	lens[0] = 4;
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		if (k->type != REDIS_REPLY_STRING || k->len >= QUORUM_KEY_MAX)
			continue;
		if (!(m->keys[m->n] = strndup(k->str, k->len))) {
			rd->failed = true;
			goto out;
		}
		argv[m->n + 1] = m->keys[m->n];
		lens[m->n + 1] = k->len;
		m->n++;
	}
	if (!m->n)
		goto out;
	if (fleet_command_argv(rd->q->c->fleet, (int)m->n + 1, argv, lens, on_mget, m)) {
		rd->failed = true;
		goto out;
	}
	rd->outstanding++;
	m = NULL;
out:
	if (m) {
		for (size_t i = 0; i < m->n; i++)
			free(m->keys[i]);
		free(m);
	}
	free(argv);
	free(lens);
}

static void on_scan(void *arg, const struct redisReply *r)
{
	struct qread *rd = arg;
	char cursor[24];

	rd->outstanding--;
	if (!r || !rd->q || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(cursor) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		rd->failed = true;
		read_end(rd);
		return;
	}
	snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
	if (r->element[1]->elements)
		mget(rd, r->element[1]);
	if (!rd->failed) {
		if (!strcmp(cursor, "0"))
			rd->scan_done = true;
		else if (++rd->steps >= QUORUM_SCAN_STEPS || scan_step(rd, cursor))
			rd->failed = true;
	}
	read_end(rd);
}

static int scan_step(struct qread *rd, const char *cursor)
{
	char match[MXG_REDIS_PREFIX_MAX + 4];
	const char *argv[6] = {"SCAN", cursor, "MATCH", match, "COUNT", QUORUM_SCAN_COUNT};
	size_t lens[6];
	int err;

	snprintf(match, sizeof(match), "%sq*", rd->q->prefix);
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	err = fleet_command_argv(rd->q->c->fleet, 6, argv, lens, on_scan, rd);
	if (!err)
		rd->outstanding++;
	return err;
}

static void read_start(struct ctl_quorum *q)
{
	struct qread *rd;

	if (q->read)
		return; /* the last one is still coming: it will commit */
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return;
	rd->q = q;
	q->read = rd;
	if (scan_step(rd, "0")) {
		q->read = NULL;
		q->reads_failed++;
		free(rd);
	}
}

/* ---- The controller's side ------------------------------------------ */

void ctl_quorum_round(struct controller *c)
{
	struct ctl_quorum *q = c->quorum;

	if (!q || c->cfg->quorum <= 1 || !fleet_connected(c->fleet))
		return;
	publish(q);
	read_start(q);
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
	if (q->read)
		q->read->q = NULL; /* frees itself when its replies are in */
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
		    "quorum: %u edges; this edge %s; %s; %zu other edge(s) in the last read, "
		    "%zu address(es) seen up; verdicts written %" PRIu64 ", reads %" PRIu64
		    ", failed %" PRIu64 ", refused %" PRIu64 "\n",
		    c->cfg->quorum, q->edge,
		    qv_verified(&q->view, now) ? "verified" : "unverified (no recent read)",
		    q->view.n_edges_read, q->view.n_addrs, q->written, q->reads, q->reads_failed,
		    q->view.refused);
}

void ctl_quorum_json(const struct controller *c, struct json_writer *w)
{
	const struct ctl_quorum *q = c->quorum;

	json_key(w, "quorum");
	json_object_begin(w);
	json_kv_uint(w, "quorum", c->cfg->quorum);
	json_kv_str(w, "edge", q ? q->edge : "");
	json_kv_bool(w, "verified", q && qv_verified(&q->view, ev_now_ms()));
	json_kv_uint(w, "edges_read", q ? q->view.n_edges_read : 0);
	json_kv_uint(w, "addresses_up", q ? q->view.n_addrs : 0);
	json_kv_uint(w, "written", q ? q->written : 0);
	json_kv_uint(w, "reads", q ? q->reads : 0);
	json_kv_uint(w, "reads_failed", q ? q->reads_failed : 0);
	json_kv_uint(w, "refused", q ? q->view.refused : 0);
	json_object_end(w);
}
