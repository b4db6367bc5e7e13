/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The paths of MAIL FROM and RCPT TO, for the responder's dialogue
 * (smtp_session.c). Internal to smtp/; pure.
 */
#ifndef MXG_SMTP_PATH_H
#define MXG_SMTP_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* "FROM:" or "TO:" (kw) at the start of arg, any case: what follows it,
 * else NULL. */
const char *smtp_path_keyword(const char *arg, const char *kw);

/* A path with optional ESMTP parameters into dom (its domain, "" when it
 * has none) and local (its local part, lower case, unquoted, cut to
 * locallen - 1); "<>" only when null_ok. 0 or -1 (bad syntax). */
/* The length of the well-formed UTF-8 sequence at p (1 for ASCII; no
 * overlong form, surrogate or code point past U+10FFFF), 0 if there is
 * none within avail octets. */
size_t smtp_utf8_len(const char *p, size_t avail);

int smtp_path_parse(const char *a, bool null_ok, char *dom, size_t domlen, char *local,
		    size_t locallen);

#endif
