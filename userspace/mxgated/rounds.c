// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe rounds: every probe_interval, the set of primary addresses over
 * all domains, deduplicated, each probed once, all at once, each under
 * probe_timeout. When the last probe reports, every domain is fed the
 * round and the verdicts are published. The round table holds addresses,
 * not domains, so a reload during a round is harmless.
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
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void round_clear(struct ctl_round *rd)
{
	if (rd->slots)
		for (size_t i = 0; i < rd->n; i++) {
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

/* Give the free pages inside the heap back to the system once a round.
 * The start-up lookups (an MX answer, an ldns packet and a set per domain,
 * 100,000 of them) leave the heap in holes that glibc keeps because they
 * are not at its top: 150 of 230 MiB at 100,000 domains, until a
 * malloc_trim, which returns every whole free page wherever it is. Once a
 * round is cheap (a walk over the free chunks; milliseconds) and keeps
 * the resident size near what is in use after bursts (a reload, DNS
 * trouble) too. */
static void trim_heap(void)
{
	uint64_t t0 = ev_now_ms();
	int freed = malloc_trim(0);

	log_debug("heap trim: %s in %llums", freed ? "pages given back" : "nothing to give back",
		  (unsigned long long)(ev_now_ms() - t0));
}

static void round_finish(struct controller *c)
{
	struct ctl_round *rd = &c->round;
	uint64_t now = ev_now_ms();

	c->cnt.rounds++;
	for (size_t i = 0; i < c->n_domains; i++) {
		struct ctl_domain *cd = c->domains[i];
		struct ctl_snap snap;

		ctl_snap_take(cd, &snap);
		ds_round(&cd->ds, &c->params, rd->res, rd->n, now);
		ctl_domain_changed(cd, &snap);
	}
	rd->last_ms = now;
	rd->last_took_ms = now - rd->started_ms;
	log_debug("round %llu: %zu address(es) probed in %llums", (unsigned long long)c->cnt.rounds,
		  rd->n, (unsigned long long)rd->last_took_ms);
	round_clear(rd);
	ctl_publish(c);
	trim_heap();
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

/* The primary addresses of every domain, sorted, each once, in *out and
 * *count. -ENOMEM when they do not fit in memory. */
static uint32_t ip_hash(const struct mxg_ip *ip)
{
	uint64_t h = mxg_ip_hash(ip, 0);

	return (uint32_t)(h ^ (h >> 32));
}

/* The primary addresses of every domain, sorted, each once, in *out and
 * *count. Deduplicated through a hash table as they are collected: 100,000
 * domains naming 1,000 addresses sort 1,000, not 100,000. -ENOMEM when
 * they do not fit in memory. */
static int collect(struct controller *c, struct ds_probe_result **out, size_t *count)
{
	struct ds_probe_result *res;
	size_t cap = 0, u = 0, size = 16;
	uint32_t *slot;

	for (size_t i = 0; i < c->n_domains; i++)
		cap += c->domains[i]->ds.n_addrs;
	*out = NULL;
	*count = 0;
	if (!cap)
		return 0;
	while (size < 2 * cap)
		size *= 2;
	res = calloc(cap, sizeof(*res));
	slot = calloc(size, sizeof(*slot)); /* index + 1 into res; 0 = free */
	if (!res || !slot) {
		free(res);
		free(slot);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_domains; i++) {
		for (size_t j = 0; j < c->domains[i]->ds.n_addrs; j++) {
			const struct mxg_ip *ip = &c->domains[i]->ds.addrs[j].ip;
			size_t k = ip_hash(ip) & (size - 1);

			while (slot[k] && mxg_ip_cmp(&res[slot[k] - 1].ip, ip))
				k = (k + 1) & (size - 1);
			if (slot[k])
				continue;
			res[u].ip = *ip;
			slot[k] = (uint32_t)++u;
		}
	}
	free(slot);
	ds_sort_results(res, u);
	*out = res;
	*count = u;
	return 0;
}

static int result_cmp(const void *a, const void *b)
{
	return mxg_ip_cmp(&((const struct ds_probe_result *)a)->ip,
			  &((const struct ds_probe_result *)b)->ip);
}

/* Give every slot the domain whose postmaster it asks for this round: the
 * (round mod k)-th of the k domains that have the address as a primary. */
static int pick_domains(struct controller *c, struct ctl_round *rd)
{
	size_t *seen = calloc(rd->n, sizeof(*seen)), *want = calloc(rd->n, sizeof(*want));
	int ret = 0;

	if (!seen || !want) {
		ret = -ENOMEM;
		goto out;
	}
	for (int pass = 0; pass < 2; pass++) {
		memset(seen, 0, rd->n * sizeof(*seen));
		for (size_t i = 0; i < c->n_domains; i++) {
			const struct domain_state *ds = &c->domains[i]->ds;

			for (size_t j = 0; j < ds->n_addrs; j++) {
				struct ds_probe_result key = {.ip = ds->addrs[j].ip};
				const struct ds_probe_result *r =
				    bsearch(&key, rd->res, rd->n, sizeof(*rd->res), result_cmp);
				size_t k;

				if (!r)
					continue;
				k = (size_t)(r - rd->res);
				if (pass == 1 && seen[k] == want[k] && !rd->slots[k].rcpt_domain) {
					rd->slots[k].rcpt_domain = strdup(ds->name);
					rd->slots[k].mx_name =
					    strdup(ds->set->hosts[ds->addrs[j].host].name);
					if (!rd->slots[k].rcpt_domain || !rd->slots[k].mx_name) {
						ret = -ENOMEM;
						goto out;
					}
				}
				seen[k]++;
			}
		}
		if (pass == 0)
			for (size_t k = 0; k < rd->n; k++)
				want[k] = seen[k] ? (size_t)(c->cnt.rounds % seen[k]) : 0;
	}
out:
	free(seen);
	free(want);
	return ret;
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
	if (collect(c, &rd->res, &rd->n) < 0)
		goto oom;
	if (!rd->n) {
		round_finish(c);
		return;
	}
	rd->slots = calloc(rd->n, sizeof(*rd->slots));
	if (!rd->slots) {
		free(rd->res);
		rd->res = NULL;
		rd->n = 0;
		goto oom;
	}
	for (size_t i = 0; i < rd->n; i++)
		rd->slots[i] = (struct probe_slot){.c = c, .idx = i};
	if (pick_domains(c, rd) < 0) {
		round_clear(rd);
		goto oom;
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
	if (rd->running)
		probe_cancel_matching(c->prober, round_slot, rd);
	round_clear(rd);
}
