/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny streaming JSON writer for the CLI's --json output (`mxgate probe`,
 * `mxgate status`): commas and nesting tracked for the caller, every
 * string escaped, invalid UTF-8 replaced by U+FFFD, so peer text can never
 * break the document.
 */
#ifndef MXG_JSON_H
#define MXG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	unsigned depth;
	bool need_comma[JSON_MAX_DEPTH + 1];
	bool after_key;
	bool error; /* nesting misuse; the output is then not valid JSON */
};

void json_init(struct json_writer *w, FILE *f);
void json_object_begin(struct json_writer *w);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w);
void json_array_end(struct json_writer *w);
/* Inside an object: the key of the next value. */
void json_key(struct json_writer *w, const char *key);
void json_string(struct json_writer *w, const char *s);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* Inside an object: a key and its value at once. */
void json_kv_str(struct json_writer *w, const char *key, const char *v);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);
/* key: [ "192.0.2.1", "2001:db8::1", ... ] */
struct mxg_ip;
void json_kv_ips(struct json_writer *w, const char *key, const struct mxg_ip *ips, size_t n);
/* Finish: a newline after the top-level value. 0, or -EINVAL on misuse. */
int json_end(struct json_writer *w);

#endif
