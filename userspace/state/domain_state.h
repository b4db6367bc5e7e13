/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-domain state machine of docs/controller.md "Domain state": pure, no I/O,
 * time passed in as milliseconds on the monotonic clock. The controller
 * feeds it DNS answers (or failures) and, every probe round, the result of
 * each probed address; it answers gated / open / unknown with a reason.
 *
 * Hysteresis is per primary address and per domain: an address is up after
 * `rise` consecutive OK rounds and down after `fall` consecutive failed
 * rounds. A domain that appears (or a primary address that appears in its
 * MX set) starts down, so gating always waits for `rise` rounds; and an
 * address first seen less than one probe_interval ago does not become up
 * unless a second DNS answer named it too (a forged answer would have to
 * win twice, or survive a whole round).
 *
 * Recovery grace: once the domain has been open because its primaries were
 * down (or had no address), the next time a primary becomes up the domain
 * stays open for recovery_grace; senders that queued mail for the backup
 * while the primary was away get a window to deliver it.
 *
 * Reject grace: a gated domain whose primary failed a round (down,
 * refused, deferring, timed out, or without an address) less than
 * reject_grace_ms ago is gated with the reason reject_grace: its reply is
 * 451, not 551 (the controller gives reject_grace_ms = 0 to domains whose
 * reply is not reject). Senders remember a failed primary (Exim skips it,
 * OpenSMTPD disables the route) and keep coming to the backup for a while
 * after it is back; a 551 would bounce their mail.
 *
 * Quorum: with quorum > 1, a domain this edge would gate is open unless
 * the fleet's view (quorum.h) shows enough other edges that saw one of its
 * primary addresses up; a domain opened so counts as a failed round for
 * reject grace (some sender's path to the primary may be failing).
 *
 * DNS: unknown before the first usable answer; on failure the last good MX
 * set is kept for dns_grace, then the domain is unknown. NXDOMAIN counts as
 * a failure (a zone being re-published must not flap the gate).
 */
#ifndef MXG_DOMAIN_STATE_H
#define MXG_DOMAIN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "mxg_limits.h"
#include "dns.h"
#include "reason.h"
#include "mxs.h"
#include "probe.h"
#include "quorum.h"
#include "reason.h"

struct ds_params {
	unsigned rise; /* >= 1 */
	unsigned fall; /* >= 1 */
	/* An address first seen less than this long ago is not believed up
	 * (however its probes went) unless a second DNS answer named it too:
	 * one forged answer must not gate a domain. 0: no wait. */
	uint64_t probe_interval_ms;
	uint64_t dns_grace_ms;
	const char (*self)[MXG_NAME_MAX];
	size_t n_self;
	struct mxs_store *store; /* where MX sets are kept, shared */
	/* Gate only while this many edges (this one included) saw a primary
	 * up: quorum.h. 0 or 1: this edge alone, qv not consulted. */
	unsigned quorum;
	const struct quorum_view *qv;
};

/* One address of one primary host, with its hysteresis. */
struct ds_addr {
	struct mxg_ip ip;
	uint8_t host;	   /* index into set->hosts */
	unsigned ok_run;   /* consecutive OK rounds */
	unsigned fail_run; /* consecutive failed rounds */
	bool up;
	bool confirmed;		/* named by two DNS answers in a row */
	uint64_t first_seen_ms; /* the answer that first named it */
	bool probed;		/* last_* are valid */
	enum probe_result last;
	int last_code;
	uint64_t last_ms;
};

/* About 150 octets, plus its name, its primary addresses (ds_addr) and a
 * share of its MX set: 100,000 domains fit in a few tens of MB. */
struct domain_state {
	char *name; /* own copy, lower case */
	uint64_t recovery_grace_ms;

	enum mxg_domain_state state;
	enum mxg_reason reason;
	const char *primary; /* the up primary when gated, else the first, or
			      * ""; points into set (never NULL) */
	uint64_t since_ms;   /* last state change */

	struct mxs *set; /* last usable answer, NULL before the first */
	uint64_t set_ms;
	int pref_self;		    /* -1: self not in the MX set */
	enum mxg_reason set_reason; /* when the set has no primary */
	size_t n_primaries;

	uint64_t dns_fail_since_ms; /* 0: DNS is answering */
	enum mx_status dns_last;    /* status of the last answer or failure */
	const char *dns_error;	    /* "" or own copy; never NULL */

	struct ds_addr *addrs; /* every address of every primary */
	size_t n_addrs;

	bool down_seen; /* open because primaries were down since last gated */
	bool grace_running;
	uint64_t grace_until_ms;

	uint64_t reject_grace_ms;   /* 0: none (the reply is not reject) */
	bool primary_failed;	    /* primary_failed_ms is valid */
	uint64_t primary_failed_ms; /* the last round in which a primary failed */
};

/* Starts unknown (DNS pending). 0 or -ENOMEM. */
int ds_init(struct domain_state *d, const char *name, uint64_t recovery_grace_ms, uint64_t now_ms);
void ds_free(struct domain_state *d);

/*
 * Feed a DNS answer. MX_OK, MX_NULL and MX_NO_RECORDS are usable answers;
 * MX_ERROR and MX_NXDOMAIN are failures. Hysteresis of addresses that stay
 * in the set is kept. Returns true when state or reason changed.
 * Negative errno (-ENOMEM) leaves the domain as it was.
 */
int ds_dns_answer(struct domain_state *d, const struct ds_params *p, const struct mx_set *set,
		  uint64_t now_ms);

/* One probe round's result for one address (the controller's round table,
 * sorted with mxg_ip_cmp so ds_round can bsearch it). */
struct ds_probe_result {
	struct mxg_ip ip;
	enum probe_result result;
	int code;
};
void ds_sort_results(struct ds_probe_result *r, size_t n);

/* A completed probe round: addresses missing from r keep their counters.
 * Returns true when state or reason changed. */
bool ds_round(struct domain_state *d, const struct ds_params *p, const struct ds_probe_result *r,
	      size_t n, uint64_t now_ms);

/* Settled: gated on up primaries with nothing running (no grace, DNS
 * answering), every address probed, up, its last probe OK. A further OK
 * round would change nothing but the addresses' ok_run and last_ms, so
 * the controller may skip feeding it rounds whose results for its
 * addresses are what they were, and catch up later with ds_replay_ok. */
bool ds_settled(const struct domain_state *d);
/* As if `rounds` more OK rounds had been fed to a settled domain, the
 * last at last_ms. */
void ds_replay_ok(struct domain_state *d, uint64_t rounds, uint64_t last_ms);

/* Re-evaluate timers (dns_grace, recovery_grace) without new input. */
bool ds_evaluate(struct domain_state *d, const struct ds_params *p, uint64_t now_ms);

/* Gated in its reject grace: answers 451 where reply = reject says 551. */
static inline bool ds_in_reject_grace(const struct domain_state *d)
{
	return d->state == MXG_DOMAIN_GATED && d->reason == MXG_REASON_REJECT_GRACE;
}

/* What is left of the reject grace, 0 when it is not running. */
uint64_t ds_reject_grace_left(const struct domain_state *d, uint64_t now_ms);

/* host (an MX host name, trailing dot or not, any case) is one of self. */
bool ds_is_self(const struct ds_params *p, const char *host);

/* Is ip one of this domain's self MX addresses? Used to decide which gate
 * addresses serve the domain when `addresses` is not configured. Returns
 * -1 when the domain has no usable set (unknown: served everywhere). */
int ds_self_has_addr(const struct domain_state *d, const struct ds_params *p,
		     const struct mxg_ip *ip);

#endif
