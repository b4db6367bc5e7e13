// SPDX-License-Identifier: GPL-2.0-only
/* The tc backend's writer of the domain map; see tc_domains.h. */
#include "tc_domains.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event.h"
#include "gate_kern.h"
#include "gate_maps.h"
#include "hash.h"
#include "log.h"
#include "strmap.h"

/* The last entry written for one domain (value of tc_domains.dom). */
struct tc_dom {
	uintptr_t gen;	     /* the round that last set it */
	uint64_t refresh_ns; /* write it again from then on, even unchanged */
	uint64_t since_ns;
	uint32_t state, reason;
	uint32_t primary_hash;
};

int tc_domains_init(struct tc_domains *d, const char *pin_dir)
{
	memset(d, 0, sizeof(*d));
	d->pin_dir = pin_dir;
	d->dom = strmap_new();
	d->bkeys = calloc(TC_DOMAINS_BATCH, sizeof(*d->bkeys));
	d->bvals = calloc(TC_DOMAINS_BATCH, sizeof(*d->bvals));
	if (!d->dom || !d->bkeys || !d->bvals) {
		tc_domains_free(d);
		return -ENOMEM;
	}
	return 0;
}

static bool free_record(void *arg, const char *name, uintptr_t *val)
{
	free((void *)*val);
	return true;
}

void tc_domains_free(struct tc_domains *d)
{
	if (d->dom)
		strmap_sweep(d->dom, free_record, NULL);
	strmap_free(d->dom);
	free(d->bkeys);
	free(d->bvals);
	free(d->stale);
	d->stale = NULL;
	d->dom = NULL;
	d->bkeys = NULL;
	d->bvals = NULL;
}

/* Write the batched domain entries. A full map (a reload added more
 * domains than it was sized for) is said once and is no gate error: the
 * program does not read this map. */
static int flush_domains(struct tc_domains *w, int map)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t count = (uint32_t)w->n_batch;
	int ret = 0;

	if (!w->n_batch)
		return 0;
	if (bpf_map_update_batch(map, w->bkeys, w->bvals, &count, &opts) < 0) {
		/* Where it stopped, one by one, to tell a full map apart. */
		for (size_t i = count; i < w->n_batch; i++) {
			if (!bpf_map_update_elem(map, &w->bkeys[i], &w->bvals[i], BPF_ANY))
				continue;
			if (errno == E2BIG) {
				if (!w->full_logged)
					log_warn("domain map in %s is full (%u entries); restart "
						 "mxgated to size it for the configured domains "
						 "(the gate itself is not affected)",
						 w->pin_dir, w->max);
				w->full_logged = true;
				break;
			}
			ret = -errno;
			break;
		}
	}
	w->n_batch = 0;
	return ret;
}

/* What we last wrote for a domain: an unchanged entry is written again
 * only when half its life is gone, so a round costs the domains that
 * changed plus about half the others, in batches. */
static struct tc_dom *domain_record(struct tc_domains *w, const char *key, bool *fresh)
{
	uintptr_t v;
	struct tc_dom *t;

	*fresh = false;
	if (strmap_get(w->dom, key, &v))
		return (struct tc_dom *)v;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (strmap_put(w->dom, key, (uintptr_t)t) < 0) {
		free(t);
		return NULL;
	}
	*fresh = true;
	return t;
}

int tc_domains_set(struct tc_domains *w, int map, const struct gate_domain_view *d, uint64_t ttl_ms,
		   bool in_round)
{
	struct mxg_domain_key *k = &w->bkeys[w->n_batch];
	struct mxg_domain_entry *e = &w->bvals[w->n_batch];
	uint32_t ph = (uint32_t)mxg_hash_str(MXG_HASH_INIT, d->primary ? d->primary : "");
	uint64_t now = ev_now_ns();
	struct tc_dom *t;
	bool fresh;
	int ret;

	ret = gate_map_domain_entry(d, ttl_ms, k, e);
	if (ret)
		return ret;
	t = domain_record(w, k->name, &fresh);
	if (!t)
		return -ENOMEM;
	t->gen = w->gen;
	if (!fresh && !d->force && t->state == d->state && t->reason == d->reason &&
	    t->primary_hash == ph && t->since_ns == d->since_ns && now < t->refresh_ns)
		return 0;
	t->state = d->state;
	t->reason = d->reason;
	t->primary_hash = ph;
	t->since_ns = d->since_ns;
	t->refresh_ns = now + ttl_ms * 1000000ull / 2;
	w->n_batch++;
	if (w->n_batch == TC_DOMAINS_BATCH || !in_round) {
		int r = flush_domains(w, map);

		if (!ret)
			ret = r;
	}
	return ret;
}

struct stale_sweep {
	struct tc_domains *w;
	int map;
	int ret;
};

static bool stale_domain(void *arg, const char *name, uintptr_t *val)
{
	struct stale_sweep *s = arg;
	struct tc_dom *t = (struct tc_dom *)*val;
	struct mxg_domain_key key;

	if (t->gen == s->w->gen)
		return false;
	free(t);
	if (!gate_map_domain_key(name, &key) && bpf_map_delete_elem(s->map, &key) < 0 &&
	    errno != ENOENT && !s->ret)
		s->ret = -errno;
	return true;
}

/* Once after open: delete domain entries that an earlier run left and
 * this one did not write, TC_DOMAINS_SWEEP_STEP keys per call (100,000
 * lookups in one go hold the loop for a tenth of a second). Keys are
 * collected first and deleted at the end: deleting while walking a hash
 * map restarts the walk. 1 while keys are left. */
static int sweep_earlier_run(struct tc_domains *w, int map)
{
	struct mxg_domain_key next;
	int ret = 0, r;
	unsigned n = 0;

	for (r = bpf_map_get_next_key(map, w->sweeping ? &w->sweep_cur : NULL, &next); !r;
	     r = bpf_map_get_next_key(map, &w->sweep_cur, &next)) {
		w->sweep_cur = next;
		w->sweeping = true;
		next.name[sizeof(next.name) - 1] = '\0';
		if (strmap_get(w->dom, next.name, NULL))
			goto step;
		if (w->n_stale == w->cap_stale) {
			size_t cap = w->cap_stale ? 2 * w->cap_stale : 1024;
			struct mxg_domain_key *s2 = realloc(w->stale, cap * sizeof(*w->stale));

			if (!s2)
				return -ENOMEM; /* tried again at the next sync */
			w->stale = s2;
			w->cap_stale = cap;
		}
		w->stale[w->n_stale++] = w->sweep_cur;
	step:
		if (++n == TC_DOMAINS_SWEEP_STEP)
			return 1;
	}
	for (size_t i = 0; i < w->n_stale; i++)
		if (bpf_map_delete_elem(map, &w->stale[i]) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	free(w->stale);
	w->stale = NULL;
	w->n_stale = w->cap_stale = 0;
	w->sweeping = false;
	w->swept = true;
	return ret;
}

int tc_domains_commit(struct tc_domains *w, int map)
{
	return flush_domains(w, map);
}

int tc_domains_sync(struct tc_domains *w, int map)
{
	struct stale_sweep s = {.w = w, .map = map};
	int ret = flush_domains(w, map);

	/* A call while the walk of an earlier run's entries goes on only
	 * takes it further: skipping a sweep of our own is always safe (what
	 * it would delete waits for the next), making one is only right
	 * when the controller says everything was set since the last. */
	if (w->sweeping)
		return sweep_earlier_run(w, map) ?: ret;
	strmap_sweep(w->dom, stale_domain, &s);
	w->gen++;
	if (!ret)
		ret = s.ret;
	if (!w->swept) {
		int r = sweep_earlier_run(w, map);

		if (r)
			return r;
	}
	return ret;
}
