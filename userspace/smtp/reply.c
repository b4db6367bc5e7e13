// SPDX-License-Identifier: GPL-2.0-only
/* RCPT reply texts of the responder and the policy server; see reply.h. */
#include "reply.h"

#include <stdbool.h>
#include <string.h>

#include "mxg_limits.h"

/* Appends to a bounded buffer; remembers the length, never overflows. */
struct rbuf {
	char *p;
	size_t len; /* capacity including the NUL */
	size_t n;
};

static void rb_putc(struct rbuf *b, char c)
{
	unsigned char u = (unsigned char)c;

	if (b->n + 1 >= b->len)
		return;
	/* Names and templates reach a peer: nothing may end the line early. */
	b->p[b->n++] = (u >= 0x20 && u < 0x7f) ? c : '?';
	b->p[b->n] = '\0';
}

static void rb_puts(struct rbuf *b, const char *s)
{
	while (s && *s)
		rb_putc(b, *s++);
}

/* "<domain>: ", or nothing without a domain. */
static void rb_angle(struct rbuf *b, const char *domain)
{
	if (!domain || !*domain)
		return;
	rb_putc(b, '<');
	rb_puts(b, domain);
	rb_puts(b, ">: ");
}

size_t reply_expand(char *buf, size_t len, const char *tmpl, const char *domain,
		    const char *primary)
{
	struct rbuf b = {buf, len, 0};
	bool named = false;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (!tmpl || !*tmpl)
		tmpl = REPLY_DEFAULT_TEXT;
	for (const char *t = tmpl; *t; t++) {
		if (*t != '%') {
			rb_putc(&b, *t);
			continue;
		}
		switch (t[1]) {
		case 'd':
			rb_puts(&b, domain);
			t++;
			break;
		case 'p':
			rb_puts(&b, primary);
			named = true;
			t++;
			break;
		case '%':
			rb_putc(&b, '%');
			t++;
			break;
		default: /* a lone or unknown % stays as it is */
			rb_putc(&b, '%');
			break;
		}
	}
	if (!named && primary && *primary) {
		rb_puts(&b, "; please try ");
		rb_puts(&b, primary);
	}
	return b.n;
}

int reply_code(enum reply_kind kind, int mode)
{
	switch (kind) {
	case REPLY_GATED:
		return mode == MXG_REPLY_DEFER || mode == MXG_REPLY_GREYLIST ? 451 : 551;
	case REPLY_OFFENDER:
		return 550;
	case REPLY_NOT_GATED:
	case REPLY_PASSED:
		return 451;
	case REPLY_NOT_SERVED:
	default:
		/* The responder cannot know what the MTA behind it accepts (a
		 * domain added to Postfix and not to mxgate): try later, when
		 * the address is no longer gated, never a bounce. */
		return 451;
	}
}

size_t reply_format(char *buf, size_t len, enum reply_kind kind, int mode, const char *domain,
		    const char *primary, const char *tmpl)
{
	char text[REPLY_LINE_MAX + 1];
	struct rbuf b = {buf, len, 0};

	if (!len)
		return 0;
	if (b.len > REPLY_LINE_MAX + 1)
		b.len = REPLY_LINE_MAX + 1;
	buf[0] = '\0';
	switch (kind) {
	case REPLY_GATED:
		rb_puts(&b, mode == MXG_REPLY_DEFER || mode == MXG_REPLY_GREYLIST ? "451 4.7.1 "
										  : "551 5.7.1 ");
		reply_expand(text, sizeof(text), tmpl, domain, primary);
		rb_puts(&b, text);
		break;
	case REPLY_OFFENDER:
		rb_puts(&b, REPLY_OFFENDER_LINE);
		break;
	case REPLY_NOT_GATED:
		rb_puts(&b, "451 4.7.1 ");
		rb_angle(&b, domain);
		rb_puts(&b, "service for this domain is changing; please try again later");
		break;
	case REPLY_PASSED:
		rb_puts(&b, "451 4.7.1 ");
		rb_angle(&b, domain);
		rb_puts(&b, REPLY_PASSED_TEXT);
		break;
	case REPLY_NOT_SERVED:
	default:
		rb_puts(&b, "451 4.7.1 ");
		rb_angle(&b, domain);
		rb_puts(&b, "not served by this backup MX now; please try again later");
		break;
	}
	return b.n;
}
