// SPDX-License-Identifier: GPL-2.0-only
/*
 * What changed, so that a publish writes only that: domains whose gate
 * entry changed wait on c->dirty for publish.c, and the responder's table
 * has a generation that moves only when a domain's entry in it may have.
 *
 * And the counts that decide the gate addresses without a walk over the
 * domains (docs/controller.md, "Which domains are served on which gate
 * address"): each domain adds itself to the self addresses of its MX set
 * (or to "everywhere" when it has no usable set, is unknown, or its set
 * gives the self hosts no address), as served and, unless gated, as open;
 * a change takes back exactly what was added (the set counted is held by
 * reference) and adds the new contribution.
 */
#include "controller.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static struct ctl_self_addr *self_addr(struct controller *c, const struct mxg_ip *ip, bool add)
{
	for (size_t i = 0; i < c->n_self_addrs; i++)
		if (mxg_ip_equal(&c->self_addrs[i].ip, ip))
			return &c->self_addrs[i];
	if (!add)
		return NULL;
	if (c->n_self_addrs == c->cap_self_addrs) {
		size_t cap = c->cap_self_addrs ? 2 * c->cap_self_addrs : 16;
		struct ctl_self_addr *a = realloc(c->self_addrs, cap * sizeof(*a));

		if (!a)
			return NULL;
		c->self_addrs = a;
		c->cap_self_addrs = cap;
	}
	c->self_addrs[c->n_self_addrs] = (struct ctl_self_addr){.ip = *ip};
	return &c->self_addrs[c->n_self_addrs++];
}

/* The self addresses of set, each once, at most max (a domain with more
 * than a gate can hold is counted for the first of them). */
static size_t self_ips(const struct controller *c, const struct mxs *set, struct mxg_ip *out,
		       size_t max)
{
	size_t n = 0;

	for (size_t h = 0; set && h < set->n_hosts; h++) {
		if (!ds_is_self(&c->params, set->hosts[h].name))
			continue;
		for (size_t j = 0; j < set->hosts[h].n_addrs && n < max; j++) {
			bool seen = false;

			for (size_t k = 0; k < n && !seen; k++)
				seen = mxg_ip_equal(&out[k], &set->hosts[h].addrs[j]);
			if (!seen)
				out[n++] = set->hosts[h].addrs[j];
		}
	}
	return n;
}

/* Add (sign 1) or take back (sign -1) one domain's contribution. Out of
 * memory for a new self address: that address is not counted, so it is
 * not a gate address (open) until the domain is counted again. */
static void acct_apply(struct controller *c, const struct mxs *set, enum mxg_domain_state state,
		       int sign)
{
	struct mxg_ip ips[MXG_MAX_ADDRESSES];
	size_t n = self_ips(c, set, ips, MXG_MAX_ADDRESSES);
	bool open = state != MXG_DOMAIN_GATED;

	c->n_open += (size_t)(sign * open);
	if (!set || state == MXG_DOMAIN_UNKNOWN || !n) {
		c->n_everywhere += (size_t)sign;
		c->n_everywhere_open += (size_t)(sign * open);
	}
	for (size_t i = 0; i < n; i++) {
		struct ctl_self_addr *a = self_addr(c, &ips[i], sign > 0);

		if (!a)
			continue;
		a->n_sets += (size_t)sign;
		if (set && state != MXG_DOMAIN_UNKNOWN) {
			a->n_served += (size_t)sign;
			a->n_open += (size_t)(sign * open);
		}
		if (!a->n_sets)
			*a = c->self_addrs[--c->n_self_addrs];
	}
}

static void acct_drop(struct ctl_domain *cd)
{
	if (!cd->acct.counted)
		return;
	acct_apply(cd->c, cd->acct.set, cd->acct.state, -1);
	mxs_put(cd->acct.set);
	cd->acct.set = NULL;
	cd->acct.counted = false;
}

static void acct_add(struct ctl_domain *cd)
{
	cd->acct.set = cd->ds.set ? mxs_ref(cd->ds.set) : NULL;
	cd->acct.state = cd->ds.state;
	cd->acct.counted = true;
	acct_apply(cd->c, cd->acct.set, cd->acct.state, 1);
}

static void mark_dirty(struct ctl_domain *cd)
{
	struct controller *c = cd->c;

	c->table_gen++;
	if (cd->dirty)
		return;
	cd->dirty = true;
	TAILQ_INSERT_TAIL(&c->dirty, cd, dirty_link);
	c->n_dirty++;
}

void ctl_snap_take(struct ctl_domain *cd, struct ctl_snap *s)
{
	ctl_domain_catch_up(cd);
	s->state = cd->ds.state;
	s->reason = cd->ds.reason;
	s->primary = cd->ds.primary;
	s->since_ms = cd->ds.since_ms;
	s->set = cd->ds.set;
}

bool ctl_domain_changed(struct ctl_domain *cd, const struct ctl_snap *s)
{
	const struct domain_state *d = &cd->ds;
	bool changed = d->state != s->state || d->reason != s->reason;

	if (changed)
		ctl_log_change(cd, s->state, s->reason);
	if (ctl_paddr_update(cd) < 0 && !cd->c->index_failed) {
		log_err("domain %s: out of memory indexing its primaries; probe rounds are "
			"skipped until it is (gate entries expire: fail open)",
			d->name);
		cd->c->index_failed = true;
	}
	if (cd->acct.set != d->set || cd->acct.state != d->state) {
		acct_drop(cd);
		acct_add(cd);
	}
	if (changed || d->since_ms != s->since_ms ||
	    (d->primary != s->primary && strcmp(d->primary, s->primary)))
		mark_dirty(cd);
	ctl_domain_settle(cd);
	return changed;
}

void ctl_domain_track(struct ctl_domain *cd)
{
	cd->fed_round = cd->c->cnt.rounds;
	acct_add(cd);
	mark_dirty(cd);
	ctl_domain_settle(cd); /* not settled: on c->unsettled */
}

void ctl_domain_untrack(struct ctl_domain *cd)
{
	struct controller *c = cd->c;

	acct_drop(cd);
	ctl_paddr_drop(cd);
	c->table_gen++;
	if (cd->in_feed) {
		TAILQ_REMOVE(&c->feed, cd, feed_link);
		cd->in_feed = false;
	}
	if (cd->unsettled) {
		TAILQ_REMOVE(&c->unsettled, cd, unsettled_link);
		cd->unsettled = false;
		c->n_unsettled--;
	}
	if (cd->dirty) {
		TAILQ_REMOVE(&c->dirty, cd, dirty_link);
		c->n_dirty--;
		cd->dirty = false;
	}
}

void ctl_recount(struct controller *c)
{
	/* What was added under the old `self` cannot be taken back under the
	 * new one: start from zero. */
	c->n_self_addrs = 0;
	c->n_everywhere = c->n_everywhere_open = c->n_open = 0;
	for (size_t i = 0; i < c->n_domains; i++) {
		struct ctl_domain *cd = c->domains[i];

		mxs_put(cd->acct.set);
		cd->acct.set = NULL;
		acct_add(cd);
	}
}

void ctl_changes_free(struct controller *c)
{
	free(c->self_addrs);
	c->self_addrs = NULL;
	c->n_self_addrs = c->cap_self_addrs = 0;
}
