/* SPDX-License-Identifier: GPL-2.0-only */
/* The kernel's part of `mxgate metrics`, read from the tc backend's pins. */
#ifndef MXG_TC_METRICS_H
#define MXG_TC_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* In the Prometheus text format, from what is pinned in pin_dir: the tc
 * program's counters, with nft's steered count beside tc's in one family
 * (have_nft), each gate entry's expiry and, with domains (mxgated did not
 * answer), each domain's state. Nothing when nothing is pinned. */
void tc_metrics_write(FILE *f, const char *pin_dir, bool domains, bool have_nft,
		      uint64_t nft_steered);

#endif
