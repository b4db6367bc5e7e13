/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Value parsers for config_keys.c: each checks one value and, when it is
 * bad, writes "what is wrong; what to do" into why (config_keys.c prefixes
 * the file, line and key). Internal to the config module.
 */
#ifndef MXG_CONFIG_VALUES_H
#define MXG_CONFIG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

int cv_duration(const char *s, uint64_t min, uint64_t max, uint64_t *ms, char *why, size_t len);
/* ms as "500ms", "90s", "5m", "1h", "2d": the largest unit that divides it. */
const char *cv_fmt_duration(uint64_t ms, char *buf, size_t len);
int cv_uint(const char *s, unsigned min, unsigned max, unsigned *out, char *why, size_t len);
/* A host or domain name: lower-cased, trailing dot stripped, LDH labels. */
int cv_hostname(const char *s, char out[MXG_NAME_MAX], char *why, size_t len);
/* %d, %p and %%; must contain %p; printable ASCII; < MXG_REPLY_TEXT_MAX. */
int cv_reply_text(const char *s, char *why, size_t len);
/* ADDR, ADDR:PORT (IPv4), [ADDR] or [ADDR]:PORT (IPv6), bare IPv6. */
int cv_resolver(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why,
		size_t len);
/* inet:HOST:PORT (HOST an IPv4 address or [IPv6]) or unix:/ABSOLUTE/PATH. */
int cv_policy_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why,
		     size_t len);
/* handoff: unix:/ABSOLUTE/PATH or inet:ADDRESS:PORT on loopback only
 * (the MTA must trust the header it gets there and nowhere else). */
int cv_handoff(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why, size_t len);
/* A Redis server or Sentinel: unix:/ABSOLUTE/PATH (unix_ok) or
 * ADDRESS[:PORT], [IPv6][:PORT]; an address, not a name (resolving a name
 * would block the controller's loop). */
int cv_redis_addr(const char *s, bool unix_ok, uint16_t default_port, struct sockaddr_storage *ss,
		  socklen_t *sslen, char *why, size_t len);
/* redis_prefix: 1 to MXG_REDIS_PREFIX_MAX - 1 printable characters, no
 * space, '*', '?', '[' or ']' (the catch-up SCAN's MATCH pattern). */
int cv_redis_prefix(const char *s, char *why, size_t len);
/* redis_master_name, redis_user: letters, digits, '.', '_', '-', ':'. */
int cv_redis_name(const char *s, char *why, size_t len);
int cv_ifname(const char *s, char *why, size_t len);
int cv_user(const char *s, char *why, size_t len);
/* An nft table or set name; for a table, an optional family first. */
int cv_nft_name(const char *s, char *why, size_t len);
/* One of names (NULL-terminated, at most 3 shown in the message). */
int cv_enum(const char *v, const char *const *names, int *out, char *why, size_t len);
/* "[FAMILY] NAME": family (inet, ip, ip6) is left alone when not given. */
int cv_nft_table(const char *v, char family[8], char name[64], char *why, size_t len);
int cv_abs_path(const char *s, size_t max, char *why, size_t len);
/* Copy s into dst (size dstlen) or fail with "too long". */
int cv_copy(char *dst, size_t dstlen, const char *s, char *why, size_t len);

#endif
