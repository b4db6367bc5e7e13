// SPDX-License-Identifier: GPL-2.0-only
/*
 * state_backend = redis: the controller's glue to fleet/ (fleet.h). What
 * this edge learns (a greylist tuple first seen, a pass given or renewed,
 * an offender) is handed to fleet_put; what the other edges learnt comes
 * back, validated and clamped, and is merged into the same local tables
 * the pass decision reads (pass_db) and written to the gate like a pass of
 * our own. The decision itself never waits for Redis: the local tables
 * are the cache, Redis the truth when reachable.
 */
#include "controller.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_responder.h"
#include "fleet.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "prom.h"
#include "sbuf.h"

static uint64_t now_mono(void)
{
	return ev_now_ms();
}

/* Times cross hosts on the wall clock, and live here on the monotonic
 * one. A wall time in the future is now (fleet_clamp). */
static uint64_t to_mono(uint64_t wall_ms, uint64_t now_wall, uint64_t now_m)
{
	uint64_t ago = now_wall > wall_ms ? now_wall - wall_ms : 0;

	return now_m > ago ? now_m - ago : 0;
}

static uint64_t to_wall(uint64_t mono_ms, uint64_t now_wall, uint64_t now_m)
{
	if (mono_ms >= now_m)
		return now_wall + (mono_ms - now_m);
	return now_wall > now_m - mono_ms ? now_wall - (now_m - mono_ms) : 0;
}

static void limits(const struct mxg_config *cfg, struct fleet_limits *lim)
{
	*lim = (struct fleet_limits){.pass_ttl_ms = cfg->pass_ttl_ms,
				     .pass_max_ms = cfg->pass_max_ms,
				     .greylist_window_ms = cfg->greylist_window_ms,
				     .offender_window_ms = cfg->offender_window_ms};
}

static void on_record(void *arg, const struct fleet_record *r)
{
	struct controller *c = arg;
	uint64_t w = fleet_wall_ms(), m = now_mono(), until;

	switch (r->kind) {
	case FLEET_TUPLE:
		ctl_greylist_merge(c, &r->ip, r->hash, to_mono(r->first_ms, w, m));
		break;
	case FLEET_PASS:
		ctl_pass_merge(c, &r->ip, (unsigned)r->n, r->proven, to_mono(r->first_ms, w, m),
			       m + (r->expires_ms > w ? r->expires_ms - w : 0));
		break;
	case FLEET_OFFENDER:
		/* Into the list and the nft set, and into the 550 decision of
		 * this edge's responder and policy service. */
		until = ctl_offender_restore(c, &r->ip, to_mono(r->first_ms, w, m),
					     to_mono(r->last_ms, w, m),
					     m + (r->expires_ms > w ? r->expires_ms - w : 0), r->n);
		if (until) {
			ctl_offender_shared(c, &r->ip);
			ctl_responder_fleet_offender(c, &r->ip, until);
			if (c->policy)
				policy_offender_mark(c->policy, &r->ip, until);
		}
		break;
	}
}

static void put_offender(void *arg, const struct mxg_ip *ip, uint64_t first_ms, uint64_t last_ms,
			 uint64_t expires_ms, uint64_t reports)
{
	struct controller *c = arg;
	uint64_t w = fleet_wall_ms(), m = now_mono();
	struct fleet_record r = {.kind = FLEET_OFFENDER,
				 .ip = *ip,
				 .first_ms = to_wall(first_ms, w, m),
				 .last_ms = to_wall(last_ms, w, m),
				 .expires_ms = to_wall(expires_ms, w, m),
				 .n = reports};

	if (expires_ms > m && reports)
		fleet_put(c->fleet, &r);
}

/* (Re)connected: write back every live pass and offender; tuples made
 * while away were queued by fleet_put. */
static void on_ready(void *arg)
{
	struct controller *c = arg;
	struct pass_db *db = ctl_pass_db(c);
	uint64_t m = now_mono();

	for (size_t i = 0; db && i < db->passes.n; i++)
		if (db->passes.e[i].expires_ms > m)
			ctl_fleet_pass(c, &db->passes.e[i]);
	ctl_offenders_each(c, put_offender, c);
}

int ctl_fleet_start(struct controller *c)
{
	const struct mxg_config *cfg = c->cfg;
	struct fleet_hooks hooks = {.record = on_record, .ready = on_ready, .arg = c};
	struct fleet_limits lim;
	char pw[1100] = "", why[800];

	if (cfg->state_backend != MXG_STATE_REDIS)
		return 0;
	if (cfg->redis_password_file[0] &&
	    config_redis_password(cfg->redis_password_file, pw, sizeof(pw), why, sizeof(why))) {
		/* Checked at load; changed since: decide alone, say why. */
		log_err("redis_password_file: %s; state is not shared until it is fixed and "
			"mxgated reloaded",
			why);
		return 0;
	}
	limits(cfg, &lim);
	c->fleet = fleet_new(c->loop, cfg, pw[0] ? pw : NULL, &lim, &hooks);
	explicit_bzero(pw, sizeof(pw));
	if (!c->fleet)
		return -ENOMEM;
	return ctl_quorum_start(c);
}

void ctl_fleet_stop(struct controller *c)
{
	fleet_free(c->fleet); /* first: the quorum's reads get their NULL replies */
	c->fleet = NULL;
	ctl_quorum_stop(c);
}

/* What, in a config, makes a new connection. */
bool ctl_fleet_changed(const struct mxg_config *a, const struct mxg_config *b)
{
	return !(a->state_backend == b->state_backend && !strcmp(a->redis, b->redis) &&
		 a->n_redis_sentinels == b->n_redis_sentinels &&
		 !memcmp(a->redis_sentinels, b->redis_sentinels, sizeof(a->redis_sentinels)) &&
		 !strcmp(a->redis_master_name, b->redis_master_name) &&
		 !strcmp(a->redis_user, b->redis_user) &&
		 !strcmp(a->redis_password_file, b->redis_password_file) &&
		 !strcmp(a->redis_prefix, b->redis_prefix));
}

/* The password file is read again at every reload, changed name or not
 * (a rotated password is written over the same file): the reload's
 * helper has just checked it (mode, owner, first line). */
static void reload_password(struct controller *c)
{
	const char *path = c->cfg->redis_password_file;
	char pw[1100] = "", why[800];
	int r;

	if (path[0] && config_redis_password(path, pw, sizeof(pw), why, sizeof(why))) {
		log_err("redis_password_file: %s; keeping the password read before", why);
		return;
	}
	r = fleet_set_password(c->fleet, pw[0] ? pw : NULL);
	explicit_bzero(pw, sizeof(pw));
	if (r < 0)
		log_err("redis_password_file %s: out of memory; keeping the password read before",
			path);
}

void ctl_fleet_reload(struct controller *c, bool changed)
{
	struct fleet_limits lim;

	if (!c->fleet || changed) {
		ctl_fleet_stop(c);
		if (ctl_fleet_start(c) < 0)
			log_err("redis: out of memory; state is not shared");
		return;
	}
	limits(c->cfg, &lim);
	fleet_set_limits(c->fleet, &lim);
	reload_password(c);
	ctl_quorum_reload(c);
}

void ctl_fleet_tuple(struct controller *c, const struct mxg_ip *ip, uint64_t hash)
{
	uint64_t w;
	struct fleet_record r;

	if (!c->fleet)
		return;
	w = fleet_wall_ms();
	r = (struct fleet_record){.kind = FLEET_TUPLE,
				  .hash = hash,
				  .ip = *ip,
				  .first_ms = w,
				  .expires_ms = w + c->cfg->greylist_window_ms};
	fleet_put(c->fleet, &r);
}

void ctl_fleet_pass(struct controller *c, const struct pass_entry *e)
{
	uint64_t w, m;
	struct fleet_record r;

	if (!c->fleet)
		return;
	w = fleet_wall_ms();
	m = now_mono();
	r = (struct fleet_record){.kind = FLEET_PASS,
				  .ip = e->ip,
				  .first_ms = to_wall(e->since_ms, w, m),
				  .expires_ms = to_wall(e->expires_ms, w, m),
				  .n = e->reason,
				  .proven = e->proven};
	fleet_put(c->fleet, &r);
}

void ctl_fleet_offender(struct controller *c, const struct mxg_ip *ip, uint64_t first_ms,
			uint64_t last_ms, uint64_t expires_ms, uint64_t reports)
{
	if (c->fleet)
		put_offender(c, ip, first_ms, last_ms, expires_ms, reports);
}

void ctl_fleet_text(const struct controller *c, struct sbuf *o)
{
	struct fleet_stats st;

	if (c->cfg->state_backend != MXG_STATE_REDIS)
		return;
	if (!c->fleet) {
		sbuf_printf(o, "redis: not started (see the log); deciding with local state\n");
		return;
	}
	fleet_get_stats(c->fleet, &st);
	sbuf_printf(o,
		    "redis: %s %s; ops %" PRIu64 ", errors %" PRIu64 ", written %" PRIu64
		    ", received %" PRIu64 ", refused %" PRIu64 ", queued %" PRIu64
		    ", dropped %" PRIu64 "%s\n",
		    st.connected ? "connected to" : "disconnected from", st.server, st.ops,
		    st.errors, st.written, st.received, st.refused, st.queued, st.dropped,
		    st.connected ? "" : "; deciding with local state, reconnecting");
	ctl_quorum_text(c, o);
}

void ctl_fleet_json(const struct controller *c, struct json_writer *w)
{
	struct fleet_stats st = {0};

	json_key(w, "redis");
	json_object_begin(w);
	json_kv_str(w, "backend", c->cfg->state_backend == MXG_STATE_REDIS ? "redis" : "local");
	if (c->fleet)
		fleet_get_stats(c->fleet, &st);
	json_kv_bool(w, "connected", st.connected);
	json_kv_str(w, "server", st.server);
	json_kv_uint(w, "connects", st.connects);
	json_kv_uint(w, "disconnects", st.disconnects);
	json_kv_uint(w, "ops", st.ops);
	json_kv_uint(w, "errors", st.errors);
	json_kv_uint(w, "written", st.written);
	json_kv_uint(w, "received", st.received);
	json_kv_uint(w, "refused", st.refused);
	json_kv_uint(w, "queued", st.queued);
	json_kv_uint(w, "dropped", st.dropped);
	json_object_end(w);
}

void ctl_fleet_metrics(const struct controller *c, FILE *f)
{
	struct fleet_stats st = {0};
	char l[64];

	if (c->cfg->state_backend != MXG_STATE_REDIS)
		return;
	if (c->fleet)
		fleet_get_stats(c->fleet, &st);
	prom_family(f, "mxgate_redis_connected", "gauge",
		    "1 while the fleet's Redis is connected (state_backend = redis).");
	prom_u64(f, "mxgate_redis_connected", NULL, st.connected);
	prom_family(f, "mxgate_redis_ops_total", "counter", "Redis commands answered.");
	prom_u64(f, "mxgate_redis_ops_total", NULL, st.ops);
	prom_family(f, "mxgate_redis_errors_total", "counter",
		    "Redis errors: error replies, timeouts, failed connections.");
	prom_u64(f, "mxgate_redis_errors_total", NULL, st.errors);
	prom_family(f, "mxgate_redis_disconnects_total", "counter", "Redis connections lost.");
	prom_u64(f, "mxgate_redis_disconnects_total", NULL, st.disconnects);
	prom_family(f, "mxgate_redis_records_total", "counter",
		    "Fleet records: written, received from other edges, refused as invalid or "
		    "expired, dropped while away (the queue full, or the client's network at its "
		    "share of it).");
	prom_u64(f, "mxgate_redis_records_total", prom_labels(l, sizeof(l), 1, "dir", "written"),
		 st.written);
	prom_u64(f, "mxgate_redis_records_total", prom_labels(l, sizeof(l), 1, "dir", "received"),
		 st.received);
	prom_u64(f, "mxgate_redis_records_total", prom_labels(l, sizeof(l), 1, "dir", "refused"),
		 st.refused);
	prom_u64(f, "mxgate_redis_records_total", prom_labels(l, sizeof(l), 1, "dir", "dropped"),
		 st.dropped);
	prom_family(f, "mxgate_redis_queued", "gauge", "Records waiting for Redis to be back.");
	prom_u64(f, "mxgate_redis_queued", NULL, st.queued);
	ctl_quorum_metrics(c, f);
}
