// SPDX-License-Identifier: GPL-2.0-only
/* The per-domain state machine; see domain_state.h for the rules. */
#include "domain_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mxset.h"

static const char ds_none[] = "";

static void set_error(struct domain_state *d, const char *text)
{
	char *copy;

	if (!strcmp(d->dns_error, text))
		return;
	/* Out of memory: an empty text; the status still says "error". */
	copy = text[0] ? strndup(text, 159) : NULL;
	if (d->dns_error != ds_none)
		free((char *)d->dns_error);
	d->dns_error = copy ? copy : ds_none;
}

int ds_init(struct domain_state *d, const char *name, uint64_t recovery_grace_ms, uint64_t now_ms)
{
	memset(d, 0, sizeof(*d));
	d->primary = ds_none;
	d->dns_error = ds_none;
	d->name = strndup(name, MXG_NAME_MAX - 1);
	if (!d->name)
		return -ENOMEM;
	d->recovery_grace_ms = recovery_grace_ms;
	d->state = MXG_DOMAIN_UNKNOWN;
	d->reason = MXG_REASON_DNS_PENDING;
	d->since_ms = now_ms;
	d->pref_self = -1;
	d->dns_last = MX_OK;
	return 0;
}

/* The answer-derived parts: MX set and addresses. */
static void drop_set(struct domain_state *d)
{
	mxs_put(d->set);
	free(d->addrs);
	d->set = NULL;
	d->primary = ds_none;
	d->addrs = NULL;
	d->n_addrs = 0;
}

void ds_free(struct domain_state *d)
{
	drop_set(d);
	set_error(d, "");
	free(d->name);
	d->name = NULL;
}

static int result_cmp(const void *a, const void *b)
{
	const struct ds_probe_result *x = a, *y = b;

	return mxg_ip_cmp(&x->ip, &y->ip);
}

void ds_sort_results(struct ds_probe_result *r, size_t n)
{
	if (n > 1)
		qsort(r, n, sizeof(*r), result_cmp);
}

/* Decide state and reason from what we know; may start or end the grace. */
static void decide(struct domain_state *d, const struct ds_params *p, uint64_t now_ms,
		   enum mxg_domain_state *state, enum mxg_reason *reason)
{
	bool any_up = false, any_rising = false, any_probed = false;
	enum mxg_reason dns_reason =
	    d->dns_last == MX_NXDOMAIN ? MXG_REASON_NXDOMAIN : MXG_REASON_DNS_FAILED;

	*state = MXG_DOMAIN_OPEN;
	if (!d->set) {
		*state = MXG_DOMAIN_UNKNOWN;
		*reason = d->dns_fail_since_ms ? dns_reason : MXG_REASON_DNS_PENDING;
		return;
	}
	if (d->dns_fail_since_ms && now_ms - d->dns_fail_since_ms > p->dns_grace_ms) {
		*state = MXG_DOMAIN_UNKNOWN;
		*reason = dns_reason;
		return;
	}
	if (d->set->status == MX_NULL) {
		*reason = MXG_REASON_NULL_MX;
		return;
	}
	if (d->set->status == MX_NO_RECORDS) {
		*reason = MXG_REASON_NO_MX;
		return;
	}
	if (!d->n_primaries) {
		*reason = d->set_reason;
		return;
	}
	if (!d->n_addrs) {
		/* A primary we cannot reach is, to us, a primary that is down. */
		d->down_seen = true;
		d->primary_failed = true;
		d->primary_failed_ms = now_ms;
		d->grace_running = false;
		*reason = MXG_REASON_NO_PRIMARY_ADDR;
		return;
	}
	/* A primary that resolves to this host is a DNS mistake: gating would
	 * send senders from us to us. Open, whatever the other primaries do. */
	for (size_t i = 0; i < d->n_addrs; i++) {
		if (d->addrs[i].probed && d->addrs[i].last == PROBE_SELF) {
			d->grace_running = false;
			*reason = MXG_REASON_PRIMARY_IS_SELF;
			return;
		}
	}
	for (size_t i = 0; i < d->n_addrs; i++) {
		any_up |= d->addrs[i].up;
		any_rising |= d->addrs[i].ok_run > 0;
		any_probed |= d->addrs[i].probed;
	}
	if (!any_up) {
		d->grace_running = false;
		if (any_rising) {
			*reason = MXG_REASON_RISING;
		} else if (any_probed) {
			d->down_seen = true;
			*reason = MXG_REASON_PRIMARY_DOWN;
		} else {
			*reason = MXG_REASON_PROBE_PENDING;
		}
		return;
	}
	if (p->quorum > 1) {
		uint64_t others = 0;
		enum quorum_result q;

		for (size_t i = 0; i < d->n_addrs && p->qv; i++)
			others |= qv_up_edges(p->qv, &d->addrs[i].ip);
		q = quorum_decide(p->qv, p->quorum, others, now_ms);
		if (q != QUORUM_MET) {
			/* Not a recovery: our own view of the primary holds,
			 * so no grace starts; but a sender somewhere may meet
			 * a primary that fails it, so a 551 must wait. */
			if (q == QUORUM_NOT_MET) {
				d->primary_failed = true;
				d->primary_failed_ms = now_ms;
			}
			*reason =
			    q == QUORUM_NOT_MET ? MXG_REASON_QUORUM : MXG_REASON_QUORUM_UNVERIFIED;
			return;
		}
	}
	if (d->down_seen && !d->grace_running && d->recovery_grace_ms) {
		d->grace_running = true;
		d->grace_until_ms = now_ms + d->recovery_grace_ms;
	}
	if (d->grace_running && now_ms < d->grace_until_ms) {
		*reason = MXG_REASON_RECOVERY_GRACE;
		return;
	}
	d->grace_running = false;
	d->down_seen = false;
	*state = MXG_DOMAIN_GATED;
	*reason = MXG_REASON_PRIMARY_UP;
	if (d->reject_grace_ms && d->primary_failed &&
	    now_ms - d->primary_failed_ms < d->reject_grace_ms)
		*reason = MXG_REASON_REJECT_GRACE;
}

uint64_t ds_reject_grace_left(const struct domain_state *d, uint64_t now_ms)
{
	uint64_t end = d->primary_failed_ms + d->reject_grace_ms;

	return ds_in_reject_grace(d) && end > now_ms ? end - now_ms : 0;
}

/* The primary to name: the most preferred one with an up address when
 * gated, otherwise the most preferred primary. */
static void pick_primary(struct domain_state *d)
{
	d->primary = ds_none;
	if (!d->set || !d->n_primaries || !d->set->n_hosts)
		return;
	for (size_t i = 0; i < d->n_addrs; i++) {
		if (d->state == MXG_DOMAIN_GATED && !d->addrs[i].up)
			continue;
		d->primary = d->set->hosts[d->addrs[i].host].name;
		return;
	}
	/* Hosts are sorted by preference: the first one is the best primary. */
	d->primary = d->set->hosts[0].name;
}

bool ds_evaluate(struct domain_state *d, const struct ds_params *p, uint64_t now_ms)
{
	enum mxg_domain_state state;
	enum mxg_reason reason;
	bool changed;

	decide(d, p, now_ms, &state, &reason);
	changed = state != d->state || reason != d->reason;
	if (state != d->state)
		d->since_ms = now_ms;
	d->state = state;
	d->reason = reason;
	pick_primary(d);
	return changed;
}

static const struct ds_addr *find_addr(const struct ds_addr *a, size_t n, const struct mxg_ip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (!mxg_ip_cmp(&a[i].ip, ip))
			return &a[i];
	return NULL;
}

int ds_dns_answer(struct domain_state *d, const struct ds_params *p, const struct mx_set *set,
		  uint64_t now_ms)
{
	struct mx_primaries prim;
	struct ds_addr *addrs = NULL;
	struct mxs *copy;
	size_t n = 0, cap = 0;

	d->dns_last = set->status;
	if (set->status == MX_ERROR || set->status == MX_NXDOMAIN) {
		set_error(d, set->error);
		if (!d->dns_fail_since_ms)
			d->dns_fail_since_ms = now_ms ? now_ms : 1;
		return ds_evaluate(d, p, now_ms);
	}

	memset(&prim, 0, sizeof(prim));
	prim.pref_self = -1;
	prim.reason = MXG_REASON_NO_PRIMARY;
	if (set->status == MX_OK)
		mx_find_primaries(set, p->self, p->n_self, &prim);

	if (prim.n && prim.reason == MXG_REASON_DNS_FAILED) {
		/* Primaries whose address lookups failed: we cannot tell
		 * whether they are up; a DNS failure like any other. */
		d->dns_last = MX_ERROR;
		set_error(d, "address lookups of the primary MX hosts failed");
		if (!d->dns_fail_since_ms)
			d->dns_fail_since_ms = now_ms ? now_ms : 1;
		return ds_evaluate(d, p, now_ms);
	}
	/* The set is stored in the same host order, so host indexes into
	 * set->hosts hold for the copy too. */
	copy = mxs_get(p->store, set);
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < prim.n; i++)
		cap += prim.hosts[i]->n_addrs;
	if (cap) {
		addrs = calloc(cap, sizeof(*addrs));
		if (!addrs) {
			mxs_put(copy);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < prim.n; i++) {
		const struct mx_host *h = prim.hosts[i];

		for (size_t j = 0; j < h->n_addrs; j++) {
			const struct ds_addr *old;

			if (find_addr(addrs, n, &h->addrs[j]))
				continue; /* two primary names, one address */
			old = find_addr(d->addrs, d->n_addrs, &h->addrs[j]);
			if (old) {
				addrs[n] = *old;
				addrs[n].confirmed = true; /* a second answer agrees */
			} else {
				addrs[n].first_seen_ms = now_ms;
			}
			addrs[n].ip = h->addrs[j];
			addrs[n].host = (uint8_t)(h - set->hosts);
			n++;
		}
	}

	drop_set(d);
	d->set = copy;
	d->set_ms = now_ms;
	d->addrs = addrs;
	d->n_addrs = n;
	d->n_primaries = prim.n;
	d->pref_self = prim.pref_self;
	d->set_reason = prim.reason != MXG_REASON_NONE ? prim.reason : MXG_REASON_NO_PRIMARY;
	if (copy->status == MX_OK && prim.pref_self < 0)
		d->set_reason = MXG_REASON_SELF_NOT_IN_MX;
	d->dns_fail_since_ms = 0;
	set_error(d, "");
	return ds_evaluate(d, p, now_ms);
}

static bool probe_ok(enum probe_result r)
{
	return r == PROBE_OK;
}

bool ds_round(struct domain_state *d, const struct ds_params *p, const struct ds_probe_result *r,
	      size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < d->n_addrs; i++) {
		struct ds_addr *a = &d->addrs[i];
		struct ds_probe_result key = {.ip = a->ip};
		const struct ds_probe_result *res =
		    n ? bsearch(&key, r, n, sizeof(*r), result_cmp) : NULL;

		if (!res)
			continue;
		a->probed = true;
		a->last = res->result;
		a->last_code = res->code;
		a->last_ms = now_ms;
		if (probe_ok(res->result)) {
			a->fail_run = 0;
			if (a->ok_run < UINT32_MAX)
				a->ok_run++;
			if (!a->up && a->ok_run >= p->rise &&
			    (a->confirmed || now_ms - a->first_seen_ms >= p->probe_interval_ms))
				a->up = true;
		} else {
			/* Whether or not it counts against `fall` yet: a sender
			 * may have met this failure and will remember it. */
			d->primary_failed = true;
			d->primary_failed_ms = now_ms;
			a->ok_run = 0;
			if (a->fail_run < UINT32_MAX)
				a->fail_run++;
			if (a->up && a->fail_run >= p->fall)
				a->up = false;
		}
	}
	return ds_evaluate(d, p, now_ms);
}

bool ds_settled(const struct domain_state *d)
{
	if (d->state != MXG_DOMAIN_GATED || d->reason != MXG_REASON_PRIMARY_UP ||
	    d->grace_running || d->dns_fail_since_ms || !d->n_addrs)
		return false;
	for (size_t i = 0; i < d->n_addrs; i++) {
		const struct ds_addr *a = &d->addrs[i];

		if (!a->probed || !a->up || a->last != PROBE_OK || a->fail_run)
			return false;
	}
	return true;
}

void ds_replay_ok(struct domain_state *d, uint64_t rounds, uint64_t last_ms)
{
	if (!rounds)
		return;
	for (size_t i = 0; i < d->n_addrs; i++) {
		struct ds_addr *a = &d->addrs[i];

		if (!a->probed)
			continue;
		a->ok_run =
		    rounds >= UINT32_MAX - a->ok_run ? UINT32_MAX : a->ok_run + (unsigned)rounds;
		a->last_ms = last_ms;
	}
}

bool ds_is_self(const struct ds_params *p, const char *host)
{
	return mx_host_is_self(host, p->self, p->n_self);
}

int ds_self_has_addr(const struct domain_state *d, const struct ds_params *p,
		     const struct mxg_ip *ip)
{
	bool any_self_addr = false;

	if (!d->set || d->state == MXG_DOMAIN_UNKNOWN)
		return -1;
	for (size_t i = 0; i < d->set->n_hosts; i++) {
		const struct mxs_host *h = &d->set->hosts[i];

		if (!ds_is_self(p, h->name))
			continue;
		for (size_t j = 0; j < h->n_addrs; j++) {
			any_self_addr = true;
			if (!mxg_ip_cmp(&h->addrs[j], ip))
				return 1;
		}
	}
	return any_self_addr ? 0 : -1;
}
