// SPDX-License-Identifier: GPL-2.0-only
/* Growable buffer and JSON writer; see json.h. */
#include "json.h"

#include <inttypes.h>
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

void json_init(struct json_writer *w, struct sbuf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->first[0] = true;
}

/* Comma between items, none after a key. */
static void json_item(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		sbuf_add(w->out, ",", 1);
	w->first[w->depth] = false;
}

static void json_open(struct json_writer *w, char c)
{
	json_item(w);
	sbuf_add(w->out, &c, 1);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	else
		w->out->failed = true;
	w->first[w->depth] = true;
}

static void json_close(struct json_writer *w, char c)
{
	sbuf_add(w->out, &c, 1);
	if (w->depth > 0)
		w->depth--;
}

void json_obj_begin(struct json_writer *w)
{
	json_open(w, '{');
}

void json_obj_end(struct json_writer *w)
{
	json_close(w, '}');
}

void json_arr_begin(struct json_writer *w)
{
	json_open(w, '[');
}

void json_arr_end(struct json_writer *w)
{
	json_close(w, ']');
}

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void json_quote(struct sbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	sbuf_add(b, "\"", 1);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			sbuf_add(b, "\\\"", 2);
			s++;
			continue;
		case '\\':
			sbuf_add(b, "\\\\", 2);
			s++;
			continue;
		case '\n':
			sbuf_add(b, "\\n", 2);
			s++;
			continue;
		case '\r':
			sbuf_add(b, "\\r", 2);
			s++;
			continue;
		case '\t':
			sbuf_add(b, "\\t", 2);
			s++;
			continue;
		default:
			break;
		}
		if (*s < 0x20 || *s == 0x7f) {
			sbuf_printf(b, "\\u%04x", *s);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			sbuf_add(b, "\\ufffd", 6);
			s++;
			continue;
		}
		sbuf_add(b, (const char *)s, n);
		s += n;
	}
	sbuf_add(b, "\"", 1);
}

void json_key(struct json_writer *w, const char *key)
{
	json_item(w);
	json_quote(w->out, key);
	sbuf_add(w->out, ":", 1);
	w->after_key = true;
}

void json_str(struct json_writer *w, const char *s)
{
	json_item(w);
	json_quote(w->out, s);
}

void json_int(struct json_writer *w, int64_t v)
{
	json_item(w);
	sbuf_printf(w->out, "%" PRId64, v);
}

void json_uint(struct json_writer *w, uint64_t v)
{
	json_item(w);
	sbuf_printf(w->out, "%" PRIu64, v);
}

void json_bool(struct json_writer *w, bool v)
{
	json_item(w);
	sbuf_printf(w->out, "%s", v ? "true" : "false");
}

void json_null(struct json_writer *w)
{
	json_item(w);
	sbuf_add(w->out, "null", 4);
}

void json_kv_str(struct json_writer *w, const char *key, const char *s)
{
	json_key(w, key);
	json_str(w, s);
}

void json_kv_int(struct json_writer *w, const char *key, int64_t v)
{
	json_key(w, key);
	json_int(w, v);
}

void json_kv_uint(struct json_writer *w, const char *key, uint64_t v)
{
	json_key(w, key);
	json_uint(w, v);
}

void json_kv_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	json_bool(w, v);
}
