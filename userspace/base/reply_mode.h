/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a gated served domain answers at RCPT (the `reply` key) and the
 * default reply text: values of the configuration that the SMTP dialogue
 * (smtp/reply.c) formats, kept at the bottom so that config/ and smtp/
 * share them without either including the other.
 */
#ifndef MXG_REPLY_MODE_H
#define MXG_REPLY_MODE_H

/* Used when a domain has no reply_text of its own. %d is the domain, %p
 * the primary MX host, %% a percent sign. */
#define REPLY_DEFAULT_TEXT "%d: this is a backup MX and the primary MX %p is online; please try %p"

/* The `reply` key: what a gated served domain answers at RCPT. */
enum mxg_reply_mode {
	MXG_REPLY_INHERIT = -1, /* [domain] sections only */
	MXG_REPLY_REJECT = 0,	/* 551 5.7.1 */
	MXG_REPLY_DEFER = 1,	/* 451 4.7.1 */
	MXG_REPLY_GREYLIST = 2, /* 451 4.7.1, then pass the client after a proven retry */
};

/* The `reply` key's spelling of a mode: status, logs. */
static inline const char *reply_mode_name(int mode)
{
	return mode == MXG_REPLY_REJECT	    ? "reject"
	       : mode == MXG_REPLY_DEFER    ? "defer"
	       : mode == MXG_REPLY_GREYLIST ? "greylist"
					    : "?";
}

#endif
