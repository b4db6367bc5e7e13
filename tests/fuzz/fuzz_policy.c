// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the Postfix policy-protocol parser (policy_proto.c)
 * on arbitrary client bytes, split at LF as the server splits them; every
 * complete request is answered and the answer must be one
 * "action=...\n\n" of bounded length.
 * fuzz-needs: userspace/policy/policy_proto.c userspace/pass/offender.c userspace/smtp/reply.c
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_policy_lookup(void *arg, const char *domain, struct policy_domain *d)
{
	(void)arg;
	if (!strcmp(domain, "gated.test")) {
		d->state = 2;
		d->reply = 0;
		d->primary = "mx1.gated.test";
		d->reply_text = NULL;
		return 0;
	}
	if (!strcmp(domain, "defer.test")) {
		d->state = 2;
		d->reply = 1;
		d->primary = "mx1.defer.test";
		d->reply_text =
		    "%d%p%%%x%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p%p";
		return 0;
	}
	if (!strcmp(domain, "open.test")) {
		d->state = 1;
		d->reply = 0;
		d->primary = "";
		d->reply_text = NULL;
		return 0;
	}
	return -ENOENT;
}

static void fuzz_policy_check(const char *out, size_t len, size_t cap)
{
	if (len >= cap || len < 9 || memcmp(out, "action=", 7) != 0)
		__builtin_trap();
	if (out[len - 1] != '\n' || out[len - 2] != '\n')
		__builtin_trap();
	if (memchr(out, '\n', len - 2) != NULL)
		__builtin_trap(); /* one line only: a peer must not inject another */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_request req;
	static struct offender_table offenders;
	static const struct policy_hooks hooks = {.lookup = fuzz_policy_lookup};
	static int ready;
	char out[1024];
	size_t start = 0;

	if (!ready) {
		if (offender_init(&offenders, 3, 60000, 64, 1) < 0)
			return 0;
		ready = 1;
	}
	policy_request_reset(&req);
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i == size && i == start)
			break;
		if (i - start > POLICY_LINE_MAX) {
			/* The server closes such a connection before parsing. */
			start = i + 1;
			continue;
		}
		if (policy_request_line(&req, (const char *)data + start, i - start)) {
			size_t n = policy_answer(&req, &hooks, i % 2 ? &offenders : NULL,
						 (uint64_t)i * 1000, out, sizeof(out));
			fuzz_policy_check(out, n, sizeof(out));
			policy_request_reset(&req);
		}
		start = i + 1;
	}
	return 0;
}
