/* SPDX-License-Identifier: GPL-2.0-only */
/* A growable, bounded text buffer: the control socket's answers. */
#ifndef MXG_SBUF_H
#define MXG_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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
/* A stdio stream whose writes append to b (for writers that take a FILE,
 * such as the JSON and Prometheus ones); fclose() it before b is used.
 * NULL (b->failed set) when it cannot be made. */
FILE *sbuf_stream(struct sbuf *b);

#endif
