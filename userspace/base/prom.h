/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus text exposition (format 0.0.4) for `mxgate metrics`: one
 * HELP and TYPE per family, then its samples, label values escaped. Used
 * by the CLI (pinned maps) and by mxgated (the control socket's "metrics"
 * request); the two never write the same family.
 */
#ifndef MXG_PROM_H
#define MXG_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* type: "counter" or "gauge"; counters' names end in _total. */
void prom_family(FILE *f, const char *name, const char *type, const char *help);
/* labels: NULL, or `key="value",...` from prom_labels(). */
void prom_u64(FILE *f, const char *name, const char *labels, uint64_t v);
void prom_double(FILE *f, const char *name, const char *labels, double v);
/* Format n key/value pairs (const char *) into buf as k1="v1",k2="v2",
 * escaping \, " and newlines. Returns buf; truncated labels are dropped. */
const char *prom_labels(char *buf, size_t len, int n, ...);

#endif
