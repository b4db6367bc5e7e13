/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pass decision: is this recipient of a gated domain let through, and
 * why. One function for both askers, so they cannot drift: the responder
 * (a steered session, which can only report what it saw) and the policy
 * service (through the controller, which owns the passes and the tuples).
 * Each caller says how its questions are answered; the order and the
 * greylist tuple are decided here. rcpt_decide() (smtp/rcpt.h) asks this
 * as its "passed" question.
 *
 * The order: pass_clients (the kernel never steers them; only the policy
 * service sees them), pass_recipients (postmaster, abuse: pass the
 * client), a live pass (renewed: the client is delivering), then, for
 * reply = greylist, the tuple of client network, sender and recipient: let
 * through when it came back after greylist_delay and within the window.
 */
#ifndef MXG_PASS_DECIDE_H
#define MXG_PASS_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

enum pass_why {
	PASS_NONE,	/* not let through: the domain's reply */
	PASS_CLIENT,	/* on pass_clients */
	PASS_RECIPIENT, /* on pass_recipients: the client is passed */
	PASS_HELD,	/* the client holds a live pass, now renewed */
	PASS_GREYLIST,	/* its greylist tuple came back in time */
};

struct pass_ask {
	const struct mxg_config *cfg;
	const struct mxg_ip *client; /* NULL: unknown; only the recipient counts */
	const char *from;	     /* envelope sender, "" for <>; any case */
	const char *local;	     /* recipient, lower case; NULL: none parsed */
	const char *domain;
	int reply; /* enum mxg_reply_mode of the recipient's domain */
	/* The asker sits behind the gate (the responder): the kernel already
	 * let pass_clients and live passes through, and only the controller
	 * can see passes. */
	bool behind_gate;
	/* Does the client hold a live pass? Renew it when it does (it is
	 * delivering). Not asked behind the gate; NULL: never. */
	bool (*held)(void *arg, const struct mxg_ip *client);
	/* The tuple (greylist_tuple_hash with seed 0) was seen from client;
	 * true when the client is passed now. NULL: greylisting is off. */
	bool (*tuple)(void *arg, const struct mxg_ip *client, uint64_t hash);
	void *arg;
};

enum pass_why pass_decide(const struct pass_ask *a);

/* Can the gate pass a client at all? Only the tc gate (passes map) and
 * the nft gate in its own table (sets pass4/pass6) can; elsewhere "your
 * next connection goes to the MTA" would not be true, so the responder
 * lets no one through and greylist works as defer
 * (docs/design-deviations.md). */
bool pass_gate_can_pass(const struct mxg_config *cfg);

/* A recipient local@domain, split and lower-cased, a trailing dot of the
 * domain dropped; false when it does not parse or does not fit. */
bool pass_split_rcpt(const char *rcpt, char *local, size_t llen, char *dom, size_t dlen);

#endif
