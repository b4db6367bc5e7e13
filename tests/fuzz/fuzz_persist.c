// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the state file loader (persist.c) on arbitrary
 * bytes. It must never crash; a file it accepts is delivered whole, one
 * it refuses delivers nothing, with one line of error.
 * fuzz-needs: userspace/state/persist.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t delivered;

static void f_seed(void *arg, uint64_t s)
{
	(void)arg;
	(void)s;
	delivered++;
}
static void f_pass(void *arg, const struct persist_pass *p)
{
	(void)arg;
	if (p->expires_ms < p->since_ms)
		abort();
	delivered++;
}
static void f_tuple(void *arg, const struct persist_tuple *t)
{
	(void)arg;
	if (!t->hash || t->last_ms < t->first_ms)
		abort();
	delivered++;
}
static void f_offender(void *arg, const struct persist_offender *o)
{
	(void)arg;
	(void)o;
	delivered++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct persist_sink s = {NULL, f_seed, f_pass, f_tuple, f_offender};
	char err[256];

	delivered = 0;
	if (persist_parse((const char *)data, size, &s, err, sizeof(err)) < 0) {
		if (delivered || !err[0] || strchr(err, '\n'))
			abort();
	}
	return 0;
}
