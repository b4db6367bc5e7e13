// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe rounds: every probe_interval, every primary address of the index
 * (ctl_paddr.c: each once, however many domains name it) is probed, all
 * at once, each under probe_timeout. When the last probe reports, the
 * round's results are fed to the domains that need them, CTL_FEED_BATCH
 * per loop iteration, and the verdicts are published: the dependants of
 * an address whose result differs from its last, and the domains that
 * are not settled (ds_settled: a grace, a DNS failure, a primary rising
 * or down need every round). A settled domain whose addresses answered
 * as before is not touched; it is caught up (ds_replay_ok) before its
 * next input. The round table holds addresses, not domains, so a reload
 * during a round is harmless.
 *
 * Each probe goes as far as RCPT TO:<postmaster@DOMAIN> (probe.h), one
 * RCPT per primary address per round whatever the number of domains that
 * share it: the domain rotates over those domains round by round, so
 * 10,000 domains on one primary cost that primary one RCPT per
 * probe_interval, not 10,000. The answer counts for the address (a 4xx
 * there is the host greylisting, rate-limiting or out of disk).
 */
#include "controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void round_clear(struct ctl_round *rd)
{
	if (rd->slots)
		for (size_t i = 0; i < rd->n; i++) {
			if (rd->slots[i].pa)
				rd->slots[i].pa->slot = 0;
			free(rd->slots[i].rcpt_domain);
			free(rd->slots[i].mx_name);
		}
	free(rd->res);
	free(rd->slots);
	rd->res = NULL;
	rd->slots = NULL;
	rd->n = 0;
	rd->running = false;
}

void ctl_domain_catch_up(struct ctl_domain *cd)
{
	struct controller *c = cd->c;
	/* A domain waiting to be fed this round is caught up to the round
	 * before; the others, settled, are past this one too. */
	uint64_t upto = cd->in_feed ? c->cnt.rounds - 1 : c->cnt.rounds;
	uint64_t last = cd->in_feed ? c->round.prev_ms : c->round.last_ms;

	if (upto <= cd->fed_round)
		return;
	if (!cd->unsettled)
		ds_replay_ok(&cd->ds, upto - cd->fed_round, last);
	cd->fed_round = upto;
}

void ctl_domain_settle(struct ctl_domain *cd)
{
	struct controller *c = cd->c;
	/* With a quorum the other edges' view may change any round. */
	bool settled = c->params.quorum <= 1 && ds_settled(&cd->ds) && cd->n_deps == cd->ds.n_addrs;

	if (settled && cd->unsettled) {
		TAILQ_REMOVE(&c->unsettled, cd, unsettled_link);
		cd->unsettled = false;
		c->n_unsettled--;
	} else if (!settled && !cd->unsettled) {
		TAILQ_INSERT_TAIL(&c->unsettled, cd, unsettled_link);
		cd->unsettled = true;
		c->n_unsettled++;
	}
}

static void feed_push(struct controller *c, struct ctl_domain *cd)
{
	if (cd->in_feed)
		return;
	cd->in_feed = true;
	TAILQ_INSERT_TAIL(&c->feed, cd, feed_link);
}

/* The round's results to up to CTL_FEED_BATCH domains, fewer when the
 * iteration's budget is spent (at least CTL_FEED_MIN); the rest in the
 * next iterations; then publish, and start the round that waited for the
 * feed (rd->due). */
static void feed(struct controller *c)
{
	struct ctl_round *rd = &c->round;
	uint64_t now = rd->last_ms;

	for (unsigned n = 0; n < CTL_FEED_BATCH && !TAILQ_EMPTY(&c->feed); n++) {
		struct ctl_domain *cd = TAILQ_FIRST(&c->feed);
		struct ctl_snap snap;

		if (n >= CTL_FEED_MIN && n % CTL_FEED_MIN == 0 && ev_over_budget(c->loop))
			break;

		ctl_snap_take(cd, &snap); /* catches up to the round before */
		TAILQ_REMOVE(&c->feed, cd, feed_link);
		cd->in_feed = false;
		ds_round(&cd->ds, &c->params, rd->res, rd->n, now);
		cd->fed_round = c->cnt.rounds;
		ctl_domain_changed(cd, &snap);
	}
	if (!TAILQ_EMPTY(&c->feed)) {
		ctl_timer_start(c, &rd->feed_timer, 0, "round feed");
		return;
	}
	ev_timer_stop(c->loop, &rd->feed_timer);
	rd->feeding = false;
	log_debug("round %llu: fed in %llums", (unsigned long long)c->cnt.rounds,
		  (unsigned long long)(ev_now_ms() - rd->last_ms));
	round_clear(rd);
	ctl_publish(c);
	if (rd->due) {
		rd->due = false;
		ctl_timer_start(c, &rd->timer, 0, "round"); /* in the next iteration */
	}
}

void ctl_round_feed_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;

	if (c->round.feeding)
		feed(c);
}

/* Every probe has reported: what changed, and who must be fed. */
static void round_finish(struct controller *c)
{
	struct ctl_round *rd = &c->round;
	uint64_t now = ev_now_ms();
	size_t changed = 0;

	c->cnt.rounds++;
	rd->prev_ms = rd->last_ms;
	rd->last_ms = now;
	rd->last_took_ms = now - rd->started_ms;
	rd->running = false;
	for (size_t i = 0; i < rd->n; i++) {
		struct ctl_paddr *pa = rd->slots[i].pa;
		const struct ds_probe_result *r = &rd->res[i];
		struct ctl_dep *d;

		if (!pa)
			continue; /* no domain names it any more */
		pa->slot = 0;
		if (pa->probed && pa->last == r->result && pa->last_code == r->code)
			continue;
		pa->probed = true;
		pa->last = r->result;
		pa->last_code = r->code;
		changed++;
		TAILQ_FOREACH(d, &pa->deps, link)
			feed_push(c, d->cd);
	}
	for (struct ctl_domain *cd = TAILQ_FIRST(&c->unsettled); cd;
	     cd = TAILQ_NEXT(cd, unsettled_link))
		feed_push(c, cd);
	log_debug("round %llu: %zu address(es) probed in %llums, %zu answered otherwise than "
		  "before, %zu domain(s) not settled",
		  (unsigned long long)c->cnt.rounds, rd->n, (unsigned long long)rd->last_took_ms,
		  changed, c->n_unsettled);
	/* This round's verdicts to the fleet, and the others' for the next. */
	ctl_quorum_round(c);
	rd->feeding = true;
	feed(c);
}

static void probe_done(void *arg, const struct probe_report *rep)
{
	struct probe_slot *s = arg;
	struct controller *c = s->c;
	struct ds_probe_result *r = &c->round.res[s->idx];

	s->reported = true;
	r->result = rep->result;
	r->code = rep->code;
	if ((unsigned)rep->result < CTL_PROBE_RESULTS)
		c->cnt.probes[rep->result]++;
	if (log_debug_enabled()) {
		char a[MXG_ADDRSTRLEN];

		log_debug("probe %s: %s (code %d, %llums) %s", mxg_ip_str(&r->ip, a, sizeof(a)),
			  probe_result_str(rep->result), rep->code,
			  (unsigned long long)rep->elapsed_ms, rep->text);
	}
	if (--c->round.pending == 0 && !c->round.starting)
		round_finish(c);
}

static void collect_one(void *arg, struct ctl_paddr *pa)
{
	struct ctl_round *rd = arg;

	rd->slots[rd->n++].pa = pa;
}

static int slot_cmp(const void *a, const void *b)
{
	return mxg_ip_cmp(&((const struct probe_slot *)a)->pa->ip,
			  &((const struct probe_slot *)b)->pa->ip);
}

/* The round table: every indexed address, sorted (ds_round bsearches
 * it), and for each the domain whose postmaster it asks this round, the
 * next of its dependants in turn. -ENOMEM when it does not fit. */
static int collect(struct controller *c, struct ctl_round *rd)
{
	size_t n = c->n_paddrs;

	rd->n = 0;
	if (!n)
		return 0;
	rd->res = calloc(n, sizeof(*rd->res));
	rd->slots = calloc(n, sizeof(*rd->slots));
	if (!rd->res || !rd->slots)
		return -ENOMEM;
	ctl_paddr_each(c, collect_one, rd);
	qsort(rd->slots, rd->n, sizeof(*rd->slots), slot_cmp);
	for (size_t i = 0; i < rd->n; i++) {
		struct probe_slot *s = &rd->slots[i];
		struct ctl_paddr *pa = s->pa;
		struct ctl_dep *d = pa->pick ? pa->pick : TAILQ_FIRST(&pa->deps);
		const struct domain_state *ds = &d->cd->ds;

		s->c = c;
		s->idx = i;
		pa->slot = i + 1;
		pa->pick = TAILQ_NEXT(d, link);
		rd->res[i].ip = pa->ip;
		s->rcpt_domain = strdup(ds->name);
		s->mx_name = strdup(ds->set->hosts[ds->addrs[d->addr].host].name);
		if (!s->rcpt_domain || !s->mx_name)
			return -ENOMEM;
	}
	return 0;
}

static int renew_prober(struct controller *c)
{
	struct prober *p =
	    prober_new(c->loop, c->cfg->helo_name, (unsigned)c->cfg->probe_timeout_ms);

	char err[256];

	if (!p) {
		log_err("cannot set up the prober: out of memory; keeping the previous one");
		return -ENOMEM;
	}
	if (prober_set_tls(p, (enum probe_tls_mode)c->cfg->probe_tls, c->cfg->probe_tls_ca, err,
			   sizeof(err)) < 0) {
		log_err("probe_tls: %s; keeping the previous prober", err);
		prober_free(p);
		return -EINVAL;
	}
	prober_free(c->prober);
	c->prober = p;
	c->prober_stale = false;
	return 0;
}

/* A probe of this round (its arg is one of rd->slots), unreported. */
static bool unreported_slot(void *arg, void *ctx)
{
	const struct ctl_round *rd = ctx;
	uintptr_t a = (uintptr_t)arg, lo = (uintptr_t)rd->slots;

	return a >= lo && a < lo + rd->n * sizeof(*rd->slots) &&
	       !((const struct probe_slot *)arg)->reported;
}

/* Any probe of this round. */
static bool round_slot(void *arg, void *ctx)
{
	const struct ctl_round *rd = ctx;
	uintptr_t a = (uintptr_t)arg, lo = (uintptr_t)rd->slots;

	return a >= lo && a < lo + rd->n * sizeof(*rd->slots);
}

/* Start the next CTL_PROBE_BATCH probes of the round; more in the next
 * loop iteration. 1,000 connects in one go keep the loop (and the SYNs
 * through the stack) busy for a third of a second: in batches, DNS
 * answers and control requests are served in between, and the primaries
 * see the round's connections spread over a few milliseconds. */
static void start_batch(struct controller *c)
{
	struct ctl_round *rd = &c->round;
	size_t end =
	    rd->next_start + CTL_PROBE_BATCH < rd->n ? rd->next_start + CTL_PROBE_BATCH : rd->n;

	for (size_t i = rd->next_start; i < end; i++) {
		char a[MXG_ADDRSTRLEN];
		int r;

		/* Unanswered counts as failed: fail open. */
		rd->res[i].result = PROBE_TIMEOUT;
		r = probe_start(c->prober,
				&(struct probe_target){.addr = rd->res[i].ip,
						       .port = MXG_SMTP_PORT,
						       .rcpt_domain = rd->slots[i].rcpt_domain,
						       .mx_name = rd->slots[i].mx_name},
				probe_done, &rd->slots[i]);
		if (r < 0) {
			log_err(
			    "probe %s: cannot start: %s; counted as failed (if it says too many "
			    "open files, raise mxgated's LimitNOFILE)",
			    mxg_ip_str(&rd->res[i].ip, a, sizeof(a)), strerror(-r));
			rd->res[i].result = PROBE_REFUSED;
			rd->slots[i].reported = true;
			c->cnt.probes[PROBE_REFUSED]++;
			rd->pending--;
		}
	}
	rd->next_start = end;
	if (end < rd->n) {
		if (ev_timer_start(c->loop, &rd->start_timer, 0) == 0)
			return;
		/* No timer: start the rest now rather than lose them. */
		start_batch(c);
		return;
	}
	rd->starting = false;
	if (!rd->pending)
		round_finish(c);
}

void ctl_round_start_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;

	if (c->round.running && c->round.starting)
		start_batch(c);
}

void ctl_round_timer(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_round *rd = &c->round;

	ctl_timer_start(c, &rd->timer, c->cfg->probe_interval_ms, "round");
	if (rd->feeding && !rd->running) {
		/* The last round's results are still being fed, a slice an
		 * iteration: at start-up on a busy host (100,000 domains, none
		 * settled, the loop busy with DNS) that can outlast the
		 * interval. Feeding the rest at once held the loop for seconds
		 * (522 ms of CPU, 6.3 s of wall time at load 7); the new round
		 * starts when the feed ends instead: late, never early. */
		rd->due = true;
		return;
	}
	rd->due = false;
	if (rd->running) {
		/* probe_timeout <= probe_interval makes this rare: a probe that
		 * never reported. Refreshing the old verdicts here would keep a
		 * gate closed on knowledge that is no longer checked; count the
		 * silent ones as failed instead (fail open) and finish. */
		/* With probe_timeout = probe_interval a tarpit's timeout and
		 * the next round meet: that is no news. */
		if (ev_now_ms() - rd->started_ms > c->cfg->probe_timeout_ms + 1000)
			log_warn("probe round still running after probe_interval; counting %zu "
				 "unanswered probe(s) as failed",
				 rd->pending);
		else
			log_debug("round: %zu probe(s) at probe_timeout, counted as failed",
				  rd->pending);
		ev_timer_stop(loop, &rd->start_timer);
		rd->starting = false;
		probe_cancel_matching(c->prober, unreported_slot, rd);
		for (size_t i = 0; i < rd->n; i++) {
			if (rd->slots[i].reported)
				continue;
			rd->res[i].result = PROBE_TIMEOUT;
			c->cnt.probes[PROBE_TIMEOUT]++;
		}
		round_finish(c);
		return;
	}
	if (c->prober_stale)
		renew_prober(c);
	rd->started_ms = ev_now_ms();
	if (c->index_failed) {
		/* A domain left out of the index would not be probed: its
		 * verdict must not be refreshed. Index it, or skip the round. */
		bool ok = true;

		for (struct ctl_domain *cd = TAILQ_FIRST(&c->unsettled); cd;
		     cd = TAILQ_NEXT(cd, unsettled_link))
			if (cd->n_deps != cd->ds.n_addrs && ctl_paddr_update(cd) < 0)
				ok = false;
		c->index_failed = !ok;
		if (!ok)
			goto oom;
	}
	if (collect(c, rd) < 0) {
		round_clear(rd);
		goto oom;
	}
	if (!rd->n) {
		round_clear(rd);
		round_finish(c);
		return;
	}
	rd->running = true;
	rd->starting = true;
	rd->pending = rd->n;
	rd->next_start = 0;
	start_batch(c);
	return;
oom:
	/* Publishing the old verdicts would keep a gate closed unchecked:
	 * skip, and let the entries expire (fail open). */
	log_err("probe round: out of memory; skipped: gate entries expire within state_ttl "
		"(fail open); free memory or restart mxgated");
}

void ctl_round_abort(struct controller *c)
{
	struct ctl_round *rd = &c->round;

	ev_timer_stop(c->loop, &rd->timer);
	ev_timer_stop(c->loop, &rd->start_timer);
	ev_timer_stop(c->loop, &rd->feed_timer);
	rd->feeding = false;
	rd->due = false;
	while (!TAILQ_EMPTY(&c->feed)) {
		struct ctl_domain *cd = TAILQ_FIRST(&c->feed);

		TAILQ_REMOVE(&c->feed, cd, feed_link);
		cd->in_feed = false;
	}
	if (rd->running)
		probe_cancel_matching(c->prober, round_slot, rd);
	round_clear(rd);
}
