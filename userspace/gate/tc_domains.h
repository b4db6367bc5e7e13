/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tc backend's writer of the domain map (informational: the program
 * never reads it), given the map's descriptor; see gate_tc.c ("Scale").
 * It remembers what each round wrote, in a hash map of names, so that
 * an unchanged entry is written again only when half its life is gone,
 * entries go in batches (BPF_MAP_UPDATE_BATCH), and commit deletes what
 * a round did not write without walking the kernel map (it walks it once,
 * for the entries of an earlier run).
 */
#ifndef MXG_TC_DOMAINS_H
#define MXG_TC_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gate.h"
#include "gate_kern.h"

#define TC_DOMAINS_BATCH 1024 /* domain entries per BPF_MAP_UPDATE_BATCH */

struct strmap;

struct tc_domains {
	const char *pin_dir; /* for messages; the gate's */
	uint32_t max;	     /* max_entries of the map */
	struct strmap *dom;  /* domain name -> struct tc_dom */
	uintptr_t gen;	     /* this round */
	bool swept;	     /* entries of an earlier run removed */
	bool full_logged;    /* E2BIG said once per run */
	size_t n_batch;
	struct mxg_domain_key *bkeys;	/* TC_DOMAINS_BATCH of them */
	struct mxg_domain_entry *bvals; /* TC_DOMAINS_BATCH of them */
};

/* 0 or -ENOMEM. */
int tc_domains_init(struct tc_domains *d, const char *pin_dir);
void tc_domains_free(struct tc_domains *d);
/* A round starts. */
void tc_domains_begin(struct tc_domains *d);
/* One domain's entry, expiring ttl_ms from now; written at once outside
 * a round, in batches inside one. */
int tc_domains_set(struct tc_domains *d, int map, const struct gate_domain_view *v, uint64_t ttl_ms,
		   bool in_round);
/* The round ends: write what is batched, delete what it did not write. */
int tc_domains_commit(struct tc_domains *d, int map);

#endif
