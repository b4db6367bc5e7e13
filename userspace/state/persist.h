/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The state file under state_dir (greylist tuples, passes, offenders), as
 * text, so an administrator can read it:
 *
 *   mxgate-state 1
 *   seed 0123456789abcdef
 *   pass 192.0.2.7 greylist SINCE EXPIRES
 *   tuple 89abcdef01234567 FIRST LAST
 *   offender 2001:db8::1 FIRST LAST EXPIRES REPORTS
 *
 * Times are Unix milliseconds (CLOCK_REALTIME), so they survive a reboot;
 * the controller turns them into its monotonic clock when it loads. Pure:
 * the parser calls a sink per record and never trusts the file: a line
 * over PERSIST_LINE_MAX, an unknown record, a bad field, too many records
 * or a missing header makes the whole file "corrupt or foreign", reported
 * and ignored (the caller starts empty).
 */
#ifndef MXG_PERSIST_H
#define MXG_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define PERSIST_MAGIC "mxgate-state 1"
#define PERSIST_LINE_MAX 160
#define PERSIST_RECORDS_MAX 200000 /* passes + tuples + offenders */
#define PERSIST_FILE_MAX (PERSIST_RECORDS_MAX * 80)

struct persist_pass {
	struct mxg_ip ip;
	unsigned reason; /* enum mxg_pass_reason */
	uint64_t since_ms, expires_ms;
};

struct persist_tuple {
	uint64_t hash;
	uint64_t first_ms, last_ms;
};

struct persist_offender {
	struct mxg_ip ip;
	uint64_t first_ms, last_ms, expires_ms, reports;
};

struct persist_sink {
	void *arg;
	void (*seed)(void *arg, uint64_t seed);
	void (*pass)(void *arg, const struct persist_pass *p);
	void (*tuple)(void *arg, const struct persist_tuple *t);
	void (*offender)(void *arg, const struct persist_offender *o);
};

/* Parse the whole file text. 0, or -1 with one line in err (what is
 * wrong and where); nothing reaches the sink unless the whole file is
 * good (two passes: check, then deliver). */
int persist_parse(const char *buf, size_t len, const struct persist_sink *sink, char *err,
		  size_t errlen);

/* One record as a line (with LF) into out; the length, or 0 if it did
 * not fit. */
size_t persist_fmt_pass(char *out, size_t len, const struct persist_pass *p);
size_t persist_fmt_tuple(char *out, size_t len, const struct persist_tuple *t);
size_t persist_fmt_offender(char *out, size_t len, const struct persist_offender *o);

#endif
