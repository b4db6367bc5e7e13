// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the probe's SMTP reply reader (smtp_reply.c) on
 * arbitrary server output, fed in pieces whose sizes the first byte picks,
 * as the network would deliver them.
 * fuzz-needs: userspace/probe/smtp_reply.c
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply_reader rr;
	size_t chunk, off = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 16) + 1;
	data++;
	size--;
	smtp_reply_reader_init(&rr);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t used = 0;
		int ret = smtp_reply_reader_feed(&rr, (const char *)data + off, n, &used);

		if (used > n)
			__builtin_trap(); /* consumed more than it was given */
		if (ret < 0)
			break;
		if (ret == 1) {
			if (rr.code < 200 || rr.code > 599 || strlen(rr.text) >= sizeof(rr.text))
				__builtin_trap();
		} else if (used != n) {
			__builtin_trap(); /* "need more" must have eaten it all */
		}
		off += used;
		if (ret == 0 && used == 0)
			break;
	}
	return 0;
}
