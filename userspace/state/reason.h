/* SPDX-License-Identifier: GPL-2.0-only */
/* Why a domain is in its state: logged, shown by `mxgate status`, and
 * stored in the domain map's `reason` field. Append only: the numbers are
 * read back from pinned maps. */
#ifndef MXG_REASON_H
#define MXG_REASON_H

#include "mxgate_kern_user.h"

/* The one spelling of a domain state: logs, status, dump, metrics. */
static inline const char *mxg_domain_state_str(unsigned s)
{
	static const char *const names[MXG_DOMAIN_STATES] = {
	    [MXG_DOMAIN_UNKNOWN] = "unknown",
	    [MXG_DOMAIN_OPEN] = "open",
	    [MXG_DOMAIN_GATED] = "gated",
	};
	return s < MXG_DOMAIN_STATES ? names[s] : "?";
}

enum mxg_reason {
	MXG_REASON_NONE = 0,
	MXG_REASON_PRIMARY_UP = 1,	 /* gated: a primary passed `rise` rounds */
	MXG_REASON_NO_PRIMARY = 2,	 /* open: we have the lowest preference */
	MXG_REASON_SELF_NOT_IN_MX = 3,	 /* open: misconfiguration, logged */
	MXG_REASON_NULL_MX = 4,		 /* open: RFC 7505 */
	MXG_REASON_NO_MX = 5,		 /* open: implicit MX */
	MXG_REASON_PRIMARY_DOWN = 6,	 /* open: every primary failed `fall` */
	MXG_REASON_RECOVERY_GRACE = 7,	 /* open: primary back, grace running */
	MXG_REASON_RISING = 8,		 /* open: primary up, fewer than `rise` */
	MXG_REASON_DNS_PENDING = 9,	 /* unknown: no answer yet */
	MXG_REASON_DNS_FAILED = 10,	 /* unknown: DNS failing past dns_grace */
	MXG_REASON_NXDOMAIN = 11,	 /* unknown: the domain does not exist */
	MXG_REASON_NO_PRIMARY_ADDR = 12, /* open: primaries have no address */
	MXG_REASON_PROBE_PENDING = 13,	 /* open: primaries not probed yet */
	MXG_REASON_PRIMARY_IS_SELF = 14, /* open: a primary's address is ours */
	MXG_REASON__COUNT
};

static inline const char *mxg_reason_str(unsigned r)
{
	static const char *const names[MXG_REASON__COUNT] = {
	    [MXG_REASON_NONE] = "none",
	    [MXG_REASON_PRIMARY_UP] = "primary up",
	    [MXG_REASON_NO_PRIMARY] = "no primary: we are the lowest preference",
	    [MXG_REASON_SELF_NOT_IN_MX] = "self not in the MX set (misconfiguration)",
	    [MXG_REASON_NULL_MX] = "null MX (RFC 7505)",
	    [MXG_REASON_NO_MX] = "no MX records (implicit MX)",
	    [MXG_REASON_PRIMARY_DOWN] = "primary down",
	    [MXG_REASON_RECOVERY_GRACE] = "primary back, recovery grace running",
	    [MXG_REASON_RISING] = "primary up, waiting for rise rounds",
	    [MXG_REASON_DNS_PENDING] = "no DNS answer yet",
	    [MXG_REASON_DNS_FAILED] = "DNS failing past dns_grace",
	    [MXG_REASON_NXDOMAIN] = "domain does not exist (NXDOMAIN)",
	    [MXG_REASON_NO_PRIMARY_ADDR] = "primaries have no address",
	    [MXG_REASON_PROBE_PENDING] = "primaries not probed yet",
	    [MXG_REASON_PRIMARY_IS_SELF] =
		"a primary's address is this host's own (misconfiguration)",
	};
	return r < MXG_REASON__COUNT && names[r] ? names[r] : "?";
}

#endif
