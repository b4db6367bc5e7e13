// SPDX-License-Identifier: GPL-2.0-only
/*
 * Passed clients: the controller's glue around the pass unit (pass/:
 * the tables and the decision are there). The unprivileged responder
 * reports a client to pass (ctl_resp_msg.c, RESPONDER_MSG_PASSES) or a
 * greylist tuple; the controller keeps them in its pass_db, logs, and
 * writes each pass to the gate backend with an expiry, so the kernel
 * lets the client's new connections through to the real MTA on its own
 * until then. A pass lasts pass_ttl; each renewal (the policy service
 * seeing the client deliver, the responder reporting it again) extends it
 * to now + pass_ttl, never beyond pass_max after it was first given.
 *
 * The table is bounded (MXG_MAX_PASSES, the size of the kernel map;
 * pass_table.c says what makes room). Passing only ever opens
 * the gate; an expired pass means steered again, and only while the
 * primary is up.
 */
#include "controller.h"
#include "ctl_responder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"

#define NS_PER_MS 1000000ULL
/* An expired pass stays in the kernel map (which ignores it) this long
 * before the controller deletes it: `mxgate dump` shows it expired, and
 * the kernel's own expiry, not the controller, is what ends a pass. */
#define CTL_PASS_KEEP_EXPIRED_MS 60000
/* Greylist buckets swept per round: the default table (8,192 buckets of 8)
 * in 8 rounds. */
#define CTL_GREYLIST_SWEEP_BUCKETS 1024

/* The controller's passes: the pure unit and what was written where. */
struct ctl_passes {
	struct pass_db db;
	const struct gate *written_gate; /* the gate that holds them all */
	unsigned written_epoch;		 /* and its epoch (gate_ops.epoch) then */
};

static const char *reason_str(unsigned r)
{
	return r == MXG_PASS_GREYLIST ? "greylist" : r == MXG_PASS_RECIPIENT ? "recipient" : "?";
}

int ctl_passes_start(struct controller *c)
{
	struct ctl_passes *p = calloc(1, sizeof(*p));
	uint64_t seed;

	if (!p)
		return -ENOMEM;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) < 0)
		seed = ev_now_ns() ^ ((uint64_t)getpid() << 32);
	_Static_assert(MXG_PASS_TABLE_SIZE_MAX <= MXG_MAX_PASSES, "passes beyond the kernel map");
	if (pass_db_init(&p->db, c->cfg->greylist_delay_ms, c->cfg->greylist_window_ms,
			 c->cfg->greylist_table_size, c->cfg->pass_table_size, seed) < 0) {
		free(p);
		return -ENOMEM;
	}
	c->passes = p;
	return 0;
}

void ctl_passes_stop(struct controller *c)
{
	if (c->passes)
		pass_db_free(&c->passes->db);
	free(c->passes);
	c->passes = NULL;
}

struct pass_db *ctl_pass_db(struct controller *c)
{
	return c->passes ? &c->passes->db : NULL;
}

/* A reload may have changed the limits. */
static void set_limits(struct ctl_passes *p, const struct mxg_config *cfg)
{
	p->db.gl.per_network = cfg->greylist_limit_network;
	p->db.gl.per_64 = cfg->greylist_limit_64;
	p->db.passes.per_network = cfg->pass_limit_network;
	p->db.passes.per_64 = cfg->pass_limit_64;
}

void ctl_greylist_seen(struct controller *c, const struct mxg_ip *ip, uint64_t hash)
{
	struct ctl_passes *p = c->passes;

	if (!p)
		return;
	set_limits(p, c->cfg);
	/* A reload may have changed the delay and the window too. */
	switch (pass_db_tuple(&p->db, ip, hash, ev_now_ms(), c->cfg->greylist_delay_ms,
			      c->cfg->greylist_window_ms)) {
	case GREYLIST_PASS:
		ctl_pass_add(c, ip, MXG_PASS_GREYLIST);
		break;
	case GREYLIST_NEW:
		ctl_fleet_tuple(c, ip, hash);
		break;
	case GREYLIST_EARLY:
		break;
	}
}

void ctl_greylist_merge(struct controller *c, const struct mxg_ip *client, uint64_t hash,
			uint64_t first_ms)
{
	struct ctl_passes *p = c->passes;

	if (!p)
		return;
	set_limits(p, c->cfg);
	greylist_merge(&p->db.gl, greylist_rekey(p->db.gl_seed, hash), client, first_ms,
		       ev_now_ms());
}

static void write_kernel(struct controller *c, const struct pass_entry *e, bool remove)
{
	int r;

	if (!c->gate || !c->gops->set_pass)
		return;
	r = c->gops->set_pass(c->gate, &e->ip, remove ? 0 : e->expires_ms * NS_PER_MS,
			      e->since_ms * NS_PER_MS, e->reason);
	if (r < 0) {
		char a[MXG_ADDRSTRLEN];

		c->cnt.gate_errors++;
		log_err("pass %s: cannot write the gate: %s; the client stays steered",
			mxg_ip_str(&e->ip, a, sizeof(a)), strerror(-r));
	}
}

static void remove_kernel(void *arg, const struct pass_entry *e)
{
	write_kernel(arg, e, true);
}

/* Drop passes expired a while ago (and their kernel entries, which the
 * tc program already ignores) so the table and the map never fill. */
void ctl_passes_sweep(struct controller *c)
{
	struct ctl_passes *p = c->passes;
	struct pass_table *t;
	uint64_t now = ev_now_ms();
	unsigned epoch;

	if (!p)
		return;
	t = &p->db.passes;
	pass_table_sweep(t, now, CTL_PASS_KEEP_EXPIRED_MS, remove_kernel, c);
	/* Expired tuples leave their networks' counts within a few rounds
	 * even when no tuple comes (each tuple sweeps a little too). */
	greylist_sweep(&p->db.gl, now, CTL_GREYLIST_SWEEP_BUCKETS);
	/* A gate opened anew (start, reload, re-created maps) or one that
	 * made its kernel objects anew (nft after `nft flush ruleset`): give
	 * it every live pass. */
	epoch = c->gate && c->gops->epoch ? c->gops->epoch(c->gate) : 0;
	if (p->written_gate != c->gate || p->written_epoch != epoch) {
		p->written_gate = c->gate;
		p->written_epoch = epoch;
		for (size_t i = 0; i < t->n; i++)
			if (t->e[i].expires_ms > now)
				write_kernel(c, &t->e[i], false);
	}
}

void ctl_pass_add(struct controller *c, const struct mxg_ip *ip, unsigned reason)
{
	struct ctl_passes *p = c->passes;
	const struct mxg_config *cfg = c->cfg;
	uint64_t now = ev_now_ms();
	const struct pass_entry *e;
	struct pass_entry gone;
	char a[MXG_ADDRSTRLEN];
	bool evicted;

	if (!p)
		return;
	set_limits(p, cfg);
	mxg_ip_str(ip, a, sizeof(a));
	switch (pass_table_add(&p->db.passes, ip, reason, reason == MXG_PASS_GREYLIST, now,
			       cfg->pass_ttl_ms, cfg->pass_max_ms, &e, &gone, &evicted)) {
	case PASS_ADD_RENEWED:
		log_info("pass: client %s renewed (%s) for %" PRIu64 "s", a, reason_str(reason),
			 (e->expires_ms - now) / 1000);
		write_kernel(c, e, false);
		ctl_fleet_pass(c, e);
		return;
	case PASS_ADD_DROPPED:
		/* Counted (mxgate_passes_dropped_total); a flood would
		 * flood the log. The client stays steered: its 4xx. */
		log_debug("pass: client %s not passed (%s): its network has its share of the "
			  "pass table, or the table is full",
			  a, reason_str(reason));
		return;
	case PASS_ADD_NEW:
		break;
	}
	if (evicted)
		write_kernel(c, &gone, true);
	p->db.added[reason == MXG_PASS_GREYLIST ? 0 : 1]++;
	log_notice("pass: client %s passed for %" PRIu64 "s: %s; its new connections go to the "
		   "MTA",
		   a, (e->expires_ms - now) / 1000,
		   reason == MXG_PASS_GREYLIST
		       ? "it retried a greylisted message after greylist_delay"
		       : "it asked for a pass_recipients address (postmaster, abuse, ...)");
	write_kernel(c, e, false);
	ctl_fleet_pass(c, e);
}

void ctl_pass_merge(struct controller *c, const struct mxg_ip *ip, unsigned reason, bool proven,
		    uint64_t since_ms, uint64_t expires_ms)
{
	struct ctl_passes *p = c->passes;
	const struct mxg_config *cfg = c->cfg;
	uint64_t now = ev_now_ms();
	const struct pass_entry *e;
	struct pass_entry gone, *ne;
	char a[MXG_ADDRSTRLEN];
	bool evicted;

	if (!p || expires_ms <= now ||
	    (reason != MXG_PASS_GREYLIST && reason != MXG_PASS_RECIPIENT))
		return;
	set_limits(p, cfg);
	/* The table's own rules: per-network limits, proven before unproven;
	 * a renewal never beyond pass_max from this edge's first pass. */
	switch (pass_table_add(&p->db.passes, ip, reason, proven, now, expires_ms - now,
			       cfg->pass_max_ms, &e, &gone, &evicted)) {
	case PASS_ADD_DROPPED:
		return;
	case PASS_ADD_RENEWED:
		write_kernel(c, e, false);
		return;
	case PASS_ADD_NEW:
		break;
	}
	/* Its start is the other edge's (clamped to now), so pass_max
	 * counts from when the fleet first passed it. */
	ne = (struct pass_entry *)e;
	if (since_ms < ne->since_ms)
		ne->since_ms = since_ms;
	if (evicted)
		write_kernel(c, &gone, true);
	log_notice("pass: client %s passed for %" PRIu64 "s by another edge of the fleet (%s); "
		   "its new connections go to the MTA",
		   mxg_ip_str(ip, a, sizeof(a)), (e->expires_ms - now) / 1000, reason_str(reason));
	write_kernel(c, e, false);
}

bool ctl_pass_live(const struct controller *c, const struct mxg_ip *ip)
{
	return c->passes && pass_table_live(&c->passes->db.passes, ip, ev_now_ms());
}

static size_t ctl_passes_live(const struct controller *c)
{
	return c->passes ? pass_table_count_live(&c->passes->db.passes, ev_now_ms()) : 0;
}

void ctl_passes_stats(const struct controller *c, struct ctl_pass_stats *st)
{
	const struct ctl_passes *p = c->passes;
	struct responder_counts rc;

	memset(st, 0, sizeof(*st));
	ctl_responder_counts(c, &rc);
	st->greylisted = rc.greylisted;
	st->hits_recipients = rc.passed_recipient;
	if (!p)
		return;
	st->hits_clients = p->db.hits[PASS_CLIENT];
	st->hits_recipients += p->db.hits[PASS_RECIPIENT];
	st->hits_passed = p->db.hits[PASS_HELD];
	st->tuples = greylist_count(&p->db.gl, ev_now_ms());
	st->tuples_seen = p->db.gl_seen;
	st->early = p->db.gl_early;
	st->passes = ctl_passes_live(c);
	st->passed[0] = p->db.added[0];
	st->passed[1] = p->db.added[1];
	st->renewed = p->db.passes.renewed;
	st->evicted = p->db.passes.evicted;
	st->tuples_dropped_network = p->db.gl.dropped_network;
	st->tuples_dropped_64 = p->db.gl.dropped_64;
	st->tuples_evicted = p->db.gl.evicted;
	st->passes_dropped_network = p->db.passes.dropped_network;
	st->passes_dropped_64 = p->db.passes.dropped_64;
	st->passes_dropped_full = p->db.passes.dropped_full;
}
