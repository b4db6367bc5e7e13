/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable, bounded text buffer: the control socket's answers. */
#ifndef MXG_SBUF_H
#define MXG_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *buf; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	size_t max;  /* hard bound: 0 = 16 MiB */
	bool failed; /* allocation failed or max reached: output truncated */
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
