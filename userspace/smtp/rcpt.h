/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The RCPT decision: what one recipient of a served domain is answered.
 * The responder's session (smtp_session.c) and the Postfix policy service
 * (policy_proto.c) both call rcpt_decide(), so they cannot drift; each
 * only says how it asks its own questions (is the client passed? past the
 * offender threshold?) and renders the answer (an SMTP reply; or
 * "action=...", DUNNO where the decision does not refuse).
 *
 * The order is the mail-safety order of docs/responder.md: not served,
 * no table, not gated or no primary named: never refused; allowlisted or
 * proven retries: let through, even for an offender; the offender check
 * only for reply = reject (a client told 451 was asked to retry); then the
 * domain's reply.
 */
#ifndef MXG_RCPT_H
#define MXG_RCPT_H

#include <stdbool.h>

#include "reply.h"

/* What the caller found for the recipient's domain. */
enum rcpt_found {
	RCPT_NOT_SERVED, /* no domain, or not one of ours */
	RCPT_SERVED,	 /* the rcpt_domain is filled */
	RCPT_NO_TABLE,	 /* nothing known yet (the responder before its first table) */
	RCPT_POSTMASTER, /* a bare <postmaster>: no domain, but every server must
			  * take it (RFC 5321 4.5.1): let through, never refused */
};

struct rcpt_domain {
	unsigned state;	     /* enum mxg_domain_state */
	int reply;	     /* enum mxg_reply_mode */
	const char *primary; /* NULL or "" when none is up */
};

/* The questions asked, in this order, only while the answer still
 * depends on them; each may have side effects (a pass renewed, an
 * offender counted), so it is asked at most once. NULL: never true. */
struct rcpt_checks {
	bool (*passed)(void *arg);   /* let this client through now */
	bool (*offender)(void *arg); /* count it; true = past the threshold */
	void *arg;
};

/* REPLY_NOT_SERVED or REPLY_NOT_GATED (the gate is open for it: never
 * refused), REPLY_PASSED, REPLY_OFFENDER or REPLY_GATED. d is read only
 * when found is RCPT_SERVED. RCPT_POSTMASTER asks only whether the client
 * is passed: REPLY_PASSED, else REPLY_NOT_GATED (a 451 to retry, as where
 * the gate cannot pass anyone), never REPLY_NOT_SERVED. */
enum reply_kind rcpt_decide(enum rcpt_found found, const struct rcpt_domain *d,
			    const struct rcpt_checks *chk);

/* True when the decision refuses the recipient (551/451 of the domain's
 * reply, or 550 for an offender); otherwise a service that can let mail
 * through (the policy service: DUNNO) does so. */
static inline bool rcpt_refuses(enum reply_kind kind)
{
	return kind == REPLY_GATED || kind == REPLY_OFFENDER;
}

#endif
