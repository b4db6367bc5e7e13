/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A growable text buffer and a small JSON writer over it, for `mxgate
 * status --json` and anything else that prints JSON. Strings are escaped
 * per RFC 8259 (control characters as \u00XX); bytes >= 0x80 are passed
 * through when they form valid UTF-8 and replaced by U+FFFD otherwise, so
 * the output is always valid JSON whatever a peer put in a name.
 */
#ifndef MXG_JSON_H
#define MXG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf {
	char *buf; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	size_t max; /* hard bound: 0 = 16 MiB */
	bool failed; /* allocation failed or max reached: output truncated */
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define JSON_MAX_DEPTH 32

struct json_writer {
	struct sbuf *out;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* no comma needed before the next item */
	bool after_key;
};

void json_init(struct json_writer *w, struct sbuf *out);
void json_obj_begin(struct json_writer *w);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w);
void json_arr_end(struct json_writer *w);
void json_key(struct json_writer *w, const char *key);
void json_str(struct json_writer *w, const char *s);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* Shorthands for "key": value inside an object. */
void json_kv_str(struct json_writer *w, const char *key, const char *s);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);

#endif
