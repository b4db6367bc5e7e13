// SPDX-License-Identifier: GPL-2.0-only
/* Growable bounded buffer; see sbuf.h. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SBUF_DEFAULT_MAX (16u << 20) /* bytes: bounds any status answer */

void sbuf_init(struct sbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void sbuf_free(struct sbuf *b)
{
	free(b->buf);
	sbuf_init(b);
}

static bool sbuf_reserve(struct sbuf *b, size_t n)
{
	size_t max = b->max ? b->max : SBUF_DEFAULT_MAX;
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	if (b->len + n + 1 > max) {
		b->failed = true;
		return false;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > max)
		cap = max;
	p = realloc(b->buf, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->buf = p;
	b->cap = cap;
	return true;
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (!sbuf_reserve(b, n))
		return;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static ssize_t stream_write(void *cookie, const char *buf, size_t n)
{
	struct sbuf *b = cookie;

	sbuf_add(b, buf, n);
	return b->failed ? -1 : (ssize_t)n;
}

FILE *sbuf_stream(struct sbuf *b)
{
	FILE *f = fopencookie(b, "w", (cookie_io_functions_t){.write = stream_write});

	if (!f)
		b->failed = true;
	return f;
}
