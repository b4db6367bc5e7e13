// SPDX-License-Identifier: GPL-2.0-only
/* FNV-1a 64; see hash.h. */
#include "hash.h"

#define FNV64_PRIME 1099511628211ull

uint64_t mxg_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV64_PRIME;
	return h;
}

uint64_t mxg_hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV64_PRIME;
	return h;
}
