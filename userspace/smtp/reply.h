/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The texts of the RCPT replies (docs/responder.md, "Dialogue"), shared by the responder and
 * the Postfix policy server so that both say exactly the same thing.
 */
#ifndef MXG_REPLY_H
#define MXG_REPLY_H

#include <stddef.h>

#include "reply_mode.h"

/* A reply line without CRLF; RFC 5321 4.5.3.1.5 allows 512 with CRLF. */
#define REPLY_LINE_MAX 510

#define REPLY_OFFENDER_LINE                                                                        \
	"550 5.7.1 You tried me, a backup MX, too often while the primary MX is online"

enum reply_kind {
	REPLY_GATED,	  /* 551 5.7.1 (reject) or 451 4.7.1 (defer) + template */
	REPLY_OFFENDER,	  /* 550 5.7.1, the client tried too often */
	REPLY_NOT_GATED,  /* 451 4.7.1: served, but no longer gated (a race) */
	REPLY_NOT_SERVED, /* 451 4.7.1: not served here now; never a 5xx, as the
			   * MTA behind may accept the domain (design-deviations) */
	REPLY_PASSED,	  /* 451 4.7.1: the client is passed now, retry reaches the MTA */
};

#define REPLY_PASSED_TEXT                                                                          \
	"you may deliver through this backup MX now; please try again, your next connection "      \
	"goes to its mail server"

/*
 * Expand tmpl (NULL or "" = REPLY_DEFAULT_TEXT) into buf: %d domain,
 * %p primary, %% percent; an unknown %x is copied as is. If the template
 * does not name the primary, "; please try <primary>" is appended: the
 * reply always names it. Bytes that could break an SMTP reply (controls,
 * non-ASCII) become '?'. buf is always NUL-terminated, truncated to
 * len - 1. Returns the length written.
 */
size_t reply_expand(char *buf, size_t len, const char *tmpl, const char *domain,
		    const char *primary);

/*
 * One complete reply line (no CRLF) into buf, at most REPLY_LINE_MAX
 * octets (and len - 1): e.g. "551 5.7.1 <example.test>: this is a backup MX
 * and the primary MX mx1.example.test is online; please try
 * mx1.example.test". mode is enum mxg_reply_mode (reject/defer), used for
 * REPLY_GATED only. Returns the length written.
 */
size_t reply_format(char *buf, size_t len, enum reply_kind kind, int mode, const char *domain,
		    const char *primary, const char *tmpl);

/* The three-digit code reply_format() would use, e.g. 551. */
int reply_code(enum reply_kind kind, int mode);

#endif
