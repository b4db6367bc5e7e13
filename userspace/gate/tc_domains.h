/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tc backend's writer of the domain map (informational: the program
 * never reads it), given the map's descriptor; see gate_tc.c ("Scale").
 * It remembers what it wrote, in a hash map of names, so that an unchanged
 * entry is written again only when forced (the controller's expiry
 * refresh) or half its life is gone, entries go in batches
 * (BPF_MAP_UPDATE_BATCH), and a sync deletes what was not written since
 * the previous one without walking the kernel map (it walks it once, for
 * the entries of an earlier run, TC_DOMAINS_SWEEP_STEP keys per call).
 */
#ifndef MXG_TC_DOMAINS_H
#define MXG_TC_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gate.h"
#include "gate_kern.h"

#define TC_DOMAINS_BATCH 1024	   /* domain entries per BPF_MAP_UPDATE_BATCH */
#define TC_DOMAINS_SWEEP_STEP 4096 /* kernel map keys read per sync call */

struct strmap;

struct tc_domains {
	const char *pin_dir; /* for messages; the gate's */
	uint32_t max;	     /* max_entries of the map */
	struct strmap *dom;  /* domain name -> struct tc_dom */
	uintptr_t gen;	     /* this sync period */
	bool swept;	     /* entries of an earlier run removed */
	/* The walk for them, across calls: keys seen so far not ours. */
	bool sweeping;
	struct mxg_domain_key sweep_cur;
	struct mxg_domain_key *stale;
	size_t n_stale, cap_stale;
	bool full_logged; /* E2BIG said once per run */
	size_t n_batch;
	struct mxg_domain_key *bkeys;	/* TC_DOMAINS_BATCH of them */
	struct mxg_domain_entry *bvals; /* TC_DOMAINS_BATCH of them */
};

/* 0 or -ENOMEM. */
int tc_domains_init(struct tc_domains *d, const char *pin_dir);
void tc_domains_free(struct tc_domains *d);
/* One domain's entry, expiring ttl_ms from now; written at once outside
 * a batch, in batches inside one. */
int tc_domains_set(struct tc_domains *d, int map, const struct gate_domain_view *v, uint64_t ttl_ms,
		   bool in_round);
/* The batch ends: write what is batched. */
int tc_domains_commit(struct tc_domains *d, int map);
/* Every served domain was set since the last sync: delete the entries of
 * the others; the first time also, over several calls, those of an
 * earlier run (calls while that walk goes on only take it further). 1:
 * call again, 0, or a negative errno. */
int tc_domains_sync(struct tc_domains *d, int map);

#endif
