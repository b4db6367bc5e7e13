/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one hash function: FNV-1a, 64 bits. Not keyed against an attacker
 * by itself: a table a client can fill mixes in a per-process seed as the
 * starting value (mxg_hash_seed()).
 */
#ifndef MXG_HASH_H
#define MXG_HASH_H

#include <stddef.h>
#include <stdint.h>

#define MXG_HASH_INIT 14695981039346656037ull /* FNV-1a 64 offset basis */

/* Continue hash h over n bytes at p; start with MXG_HASH_INIT (^ a seed). */
uint64_t mxg_hash(uint64_t h, const void *p, size_t n);
/* ... over a NUL-terminated string, without its NUL. */
uint64_t mxg_hash_str(uint64_t h, const char *s);

#endif
