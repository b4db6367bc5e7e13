// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the responder's SMTP session (smtp_session.c), bytes
 * in, replies out. The first byte picks the chunk size and whether the
 * domain table has arrived; the rest is what the client sends. Every reply
 * must be well formed (3 digits, ' ' or '-', CRLF, at most 512 octets),
 * 354 must never appear, and the session must always make progress.
 * fuzz-needs: userspace/smtp/smtp_session.c userspace/smtp/smtp_path.c userspace/smtp/reply.c
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct responder_domain fuzz_domains[] = {
	{ .name = "gated.test", .state = 2, .reply = 0, .primary = "mx1.gated.test" },
	{ .name = "defer.test", .state = 2, .reply = 1, .primary = "mx1.defer.test",
	  .reply_text = "%d %p %% %x %p%p%p%p" },
	{ .name = "open.test", .state = 1, .reply = 0, .primary = "" },
};

static bool fuzz_no_table;
static unsigned fuzz_tries;

static enum smtp_lookup fuzz_lookup(void *arg, const char *domain, const struct responder_domain **d)
{
	(void)arg;
	if (fuzz_no_table)
		return SMTP_DOMAIN_NO_TABLE;
	for (size_t i = 0; i < sizeof(fuzz_domains) / sizeof(fuzz_domains[0]); i++) {
		if (!strcmp(domain, fuzz_domains[i].name)) {
			*d = &fuzz_domains[i];
			return SMTP_DOMAIN_FOUND;
		}
	}
	return SMTP_DOMAIN_NOT_SERVED;
}

static bool fuzz_offender(void *arg)
{
	(void)arg;
	return ++fuzz_tries > 3;
}

static const struct smtp_session_ops fuzz_ops = { .lookup = fuzz_lookup, .offender_try = fuzz_offender };

/* Check and drop everything queued. */
static void fuzz_drain(struct smtp_session *s)
{
	size_t len, i = 0;
	const char *out = smtp_session_output(s, &len);

	if (len > SMTP_OUT_MAX)
		__builtin_trap();
	while (i < len) {
		const char *line = out + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n;

		if (!nl)
			__builtin_trap(); /* a reply without its CRLF */
		n = (size_t)(nl - line) + 1;
		if (n < 6 || n > 512 || line[n - 2] != '\r')
			__builtin_trap();
		if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (line[3] != ' ' && line[3] != '-'))
			__builtin_trap();
		if (!memcmp(line, "354", 3))
			__builtin_trap(); /* the responder accepts no mail */
		for (size_t k = 0; k < n - 2; k++)
			if ((unsigned char)line[k] < 0x20 || (unsigned char)line[k] > 0x7e)
				__builtin_trap();
		i += n;
	}
	smtp_session_consume(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_session s; /* 5 KiB: keep it off the stack */
	struct smtp_session_params p = { .helo_name = "backup.test", .max_commands = 0,
					 .starttls = true };
	size_t chunk, off = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] & 0x7f) * 8 + 1;
	fuzz_no_table = data[0] & 0x80;
	fuzz_tries = 0;
	data++;
	size--;
	smtp_session_init(&s, &p, &fuzz_ops, NULL);
	smtp_session_start(&s);
	fuzz_drain(&s);
	while (off < size && !smtp_session_done(&s)) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t used = smtp_session_feed(&s, data + off, n);
		size_t pending;

		if (used > n)
			__builtin_trap();
		smtp_session_output(&s, &pending);
		if (used == 0 && pending == 0 && !smtp_session_done(&s))
			__builtin_trap(); /* stuck: took nothing, said nothing */
		fuzz_drain(&s);
		off += used;
		/* The responder's handshake: input behind STARTTLS is dropped,
		 * then the dialogue starts over inside TLS. */
		if (smtp_session_tls_wanted(&s)) {
			if (used != n)
				__builtin_trap();
			smtp_session_tls_started(&s);
			if (s.helo || s.mail)
				__builtin_trap();
		}
	}
	if (!smtp_session_done(&s))
		smtp_session_close_421(&s, SMTP_WHY_IDLE);
	fuzz_drain(&s);
	return 0;
}
