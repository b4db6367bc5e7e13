/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A hash map from strings (copied in) to a pointer-sized value: lookups in
 * O(1) where a scan over 100,000 domains would be O(n), on the base hash
 * table (htab.h).
 */
#ifndef MXG_STRMAP_H
#define MXG_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap;

struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);
size_t strmap_count(const struct strmap *m);
/* The value of key, or false when absent. */
bool strmap_get(const struct strmap *m, const char *key, uintptr_t *val);
/* Insert or replace. 0 or -ENOMEM. */
int strmap_put(struct strmap *m, const char *key, uintptr_t val);
/* true when key was there. */
bool strmap_del(struct strmap *m, const char *key);
/* Call fn for every entry; fn returns true to delete the entry. */
void strmap_sweep(struct strmap *m, bool (*fn)(void *arg, const char *key, uintptr_t *val),
		  void *arg);

#endif
