/* SPDX-License-Identifier: GPL-2.0-only */
/* A domain's state and why it is in it, and why a client is passed: the
 * enums every subsystem uses, and their one spelling (token and sentence)
 * for every output that names them. Includes nothing, so the pure modules
 * (smtp/) may use it. The reason is stored in the domain map's `reason`
 * field and read back from pinned maps: append only. The kernel has its
 * own values for the state and the pass reason; the gate converts. */
#ifndef MXG_REASON_H
#define MXG_REASON_H

enum mxg_domain_state {
	MXG_DOMAIN_UNKNOWN = 0,
	MXG_DOMAIN_OPEN = 1,
	MXG_DOMAIN_GATED = 2,
	MXG_DOMAIN_STATES = 3, /* how many there are */
};

/* Why a client is passed. */
enum mxg_pass_reason {
	MXG_PASS_GREYLIST = 1,	/* it retried a greylisted tuple in time */
	MXG_PASS_RECIPIENT = 2, /* it asked for a pass_recipients address */
};

/* The one spelling of a domain state: logs, status, dump, metrics, probe. */
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
	MXG_REASON_PRIMARY_UP = 1,	   /* gated: a primary passed `rise` rounds */
	MXG_REASON_NO_PRIMARY = 2,	   /* open: we have the lowest preference */
	MXG_REASON_SELF_NOT_IN_MX = 3,	   /* open: misconfiguration, logged */
	MXG_REASON_NULL_MX = 4,		   /* open: RFC 7505 */
	MXG_REASON_NO_MX = 5,		   /* open: implicit MX */
	MXG_REASON_PRIMARY_DOWN = 6,	   /* open: every primary failed `fall` */
	MXG_REASON_RECOVERY_GRACE = 7,	   /* open: primary back, grace running */
	MXG_REASON_RISING = 8,		   /* open: primary up, fewer than `rise` */
	MXG_REASON_DNS_PENDING = 9,	   /* unknown: no answer yet */
	MXG_REASON_DNS_FAILED = 10,	   /* unknown: DNS failing past dns_grace */
	MXG_REASON_NXDOMAIN = 11,	   /* unknown: the domain does not exist */
	MXG_REASON_NO_PRIMARY_ADDR = 12,   /* open: primaries have no address */
	MXG_REASON_PROBE_PENDING = 13,	   /* open: primaries not probed yet */
	MXG_REASON_PRIMARY_IS_SELF = 14,   /* open: a primary's address is ours */
	MXG_REASON_REJECT_GRACE = 15,	   /* gated: a primary failed lately, 451 */
	MXG_REASON_QUORUM = 16,		   /* open: fewer than `quorum` edges see it up */
	MXG_REASON_QUORUM_UNVERIFIED = 17, /* open: the other edges cannot be read */
	MXG_REASON__COUNT
};

/* A reason's machine-readable token (JSON `reason`: status and probe)
 * and its sentence for people (text output, logs, JSON `reason_text`). */
struct mxg_reason_name {
	const char *token;
	const char *text;
};

static inline const struct mxg_reason_name *mxg_reason_name(unsigned r)
{
	static const struct mxg_reason_name names[MXG_REASON__COUNT] = {
	    [MXG_REASON_NONE] = {"none", "none"},
	    [MXG_REASON_PRIMARY_UP] = {"primary_up", "primary up"},
	    [MXG_REASON_NO_PRIMARY] = {"no_primary", "no primary: we are the lowest preference"},
	    [MXG_REASON_SELF_NOT_IN_MX] = {"self_not_in_mx",
					   "self not in the MX set (misconfiguration)"},
	    [MXG_REASON_NULL_MX] = {"null_mx", "null MX (RFC 7505)"},
	    [MXG_REASON_NO_MX] = {"no_mx", "no MX records (implicit MX)"},
	    [MXG_REASON_PRIMARY_DOWN] = {"primary_down", "primary down"},
	    [MXG_REASON_RECOVERY_GRACE] = {"recovery_grace",
					   "primary back, recovery grace running"},
	    [MXG_REASON_RISING] = {"rising", "primary up, waiting for rise rounds"},
	    [MXG_REASON_DNS_PENDING] = {"dns_pending", "no DNS answer yet"},
	    [MXG_REASON_DNS_FAILED] = {"dns_failed", "DNS failing past dns_grace"},
	    [MXG_REASON_NXDOMAIN] = {"nxdomain", "domain does not exist (NXDOMAIN)"},
	    [MXG_REASON_NO_PRIMARY_ADDR] = {"no_primary_addr", "primaries have no address"},
	    [MXG_REASON_PROBE_PENDING] = {"probe_pending", "primaries not probed yet"},
	    [MXG_REASON_PRIMARY_IS_SELF] = {"primary_is_self",
					    "a primary's address is this host's own "
					    "(misconfiguration)"},
	    [MXG_REASON_REJECT_GRACE] = {"reject_grace",
					 "primary up, but it failed a round lately: 451, not 551, "
					 "until reject_grace ends"},
	    [MXG_REASON_QUORUM] = {"quorum", "primary up here, but fewer than quorum edges "
					     "of the fleet see it up"},
	    [MXG_REASON_QUORUM_UNVERIFIED] = {"quorum_unverified",
					      "primary up here, but the other edges' verdicts "
					      "cannot be read (Redis): no quorum to gate on"},
	};
	static const struct mxg_reason_name unknown = {"?", "?"};

	return r < MXG_REASON__COUNT && names[r].token ? &names[r] : &unknown;
}

/* The sentence: logs and text output. */
static inline const char *mxg_reason_str(unsigned r)
{
	return mxg_reason_name(r)->text;
}

/* The token: JSON. */
static inline const char *mxg_reason_token(unsigned r)
{
	return mxg_reason_name(r)->token;
}

#endif
