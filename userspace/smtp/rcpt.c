// SPDX-License-Identifier: GPL-2.0-only
/* The RCPT decision shared by the responder and the policy service (see
 * rcpt.h). Pure: no I/O, the questions are the caller's. */
#include "rcpt.h"

#include "reason.h" /* enum mxg_domain_state */

enum reply_kind rcpt_decide(enum rcpt_found found, const struct rcpt_domain *d,
			    const struct rcpt_checks *chk)
{
	if (found == RCPT_NO_TABLE)
		return REPLY_NOT_GATED;
	if (found == RCPT_POSTMASTER)
		return chk && chk->passed && chk->passed(chk->arg) ? REPLY_PASSED : REPLY_NOT_GATED;
	if (found != RCPT_SERVED || !d)
		return REPLY_NOT_SERVED;
	/* Gated means a primary is up: without its name, do not refuse. */
	if (d->state != MXG_DOMAIN_GATED || !d->primary || !d->primary[0])
		return REPLY_NOT_GATED;
	/* Allowlisted recipients and proven retries first: they are let
	 * through even for an offender. */
	if (chk && chk->passed && chk->passed(chk->arg))
		return REPLY_PASSED;
	/* Only a client told 551 that comes back is counted: one told 451
	 * (defer, greylist) was asked to retry (offender.h). */
	if (d->reply == MXG_REPLY_REJECT && chk && chk->offender && chk->offender(chk->arg))
		return REPLY_OFFENDER;
	return REPLY_GATED;
}
