/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Postfix policy delegation server (SMTPD_POLICY_README): per
 * recipient domain, the same answer the responder would give, for a shared
 * address that serves many domains and so can rarely be gated as a whole.
 * Postfix sends name=value lines ending with an empty line; we answer
 * "action=..." and an empty line. A served, gated domain gets the
 * responder's 551/451 (or 550 for an offender) from reply.c; anything else,
 * including anything unexpected, gets DUNNO: the policy server fails open.
 *
 * The controller owns the domain states, the passes and the list of this
 * host's addresses: it answers through hooks.
 *
 *     static int lookup(void *arg, const char *domain, struct policy_domain *d);
 *     const struct policy_hooks h = {lookup, client_passed, client_is_host, ctl};
 *     ps = policy_server_new(loop, cfg, &h, err, sizeof(err));
 *     ...
 *     policy_server_free(ps);
 */
#ifndef MXG_POLICY_H
#define MXG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "offender.h"

struct ev_loop;
struct policy_server;

/* What the lookup tells about one served domain. The strings must stay
 * valid until the callback's caller returns to the event loop. */
struct policy_domain {
	unsigned state;		/* enum mxg_domain_state */
	int reply;		/* enum mxg_reply_mode of this domain */
	const char *primary;	/* the primary MX host that is up */
	const char *reply_text; /* template; NULL or "" = the default text */
};

/* domain: lower case, no trailing dot. Return 0 and fill d when the domain
 * is served; -ENOENT when it is not (then the answer is DUNNO). */
typedef int (*policy_lookup_fn)(void *arg, const char *domain, struct policy_domain *d);

/* The client, sender and recipient of a request for a gated domain with
 * reply mode reply: true when it is let through (DUNNO): the client is in
 * pass_clients or holds a pass (which this renews: it is delivering), the
 * recipient is on pass_recipients, or (reply = greylist) the tuple came
 * back in time. client is NULL when Postfix's client_address did not
 * parse: the recipient checks still apply. NULL: never. */
struct mxg_ip;
typedef bool (*policy_client_fn)(void *arg, const struct mxg_ip *client, const char *sender,
				 const char *recipient, int reply);

/* true when client is one of this host's own addresses (its MTA or a
 * content filter re-injecting over a public address, a local script):
 * such a client is never counted as an offender. Loopback is this host
 * without asking. Called per request: answer from a list, never list the
 * interfaces here. */
typedef bool (*policy_host_fn)(void *arg, const struct mxg_ip *client);

/* What the policy service asks its owner; each hook gets arg. */
struct policy_hooks {
	policy_lookup_fn lookup;
	policy_client_fn client; /* NULL: nothing is let through */
	policy_host_fn host;	 /* NULL: only loopback is this host */
	void *arg;
};

/* Bounds on what a client may send; beyond them the request gets DUNNO or
 * the connection is closed. */
#define POLICY_LINE_MAX 2048	 /* octets per attribute line, with LF */
#define POLICY_ATTRS_MAX 100	 /* attributes per request */
#define POLICY_REQUEST_MAX 32768 /* octets per request */
#define POLICY_CONN_MAX 256	 /* concurrent connections (smtpd processes) */
#define POLICY_IDLE_MS 330000	 /* > Postfix's smtpd_policy_service_max_idle (300 s) */

/* ---- the protocol, pure (unit-tested) ---- */

struct policy_request {
	char request[32];	 /* "smtpd_access_policy" */
	char protocol_state[16]; /* "RCPT", ... */
	char recipient[512];
	char client_address[64];
	char instance[64]; /* one message of one smtpd session */
	char sender[512];
	unsigned n_attrs;
	size_t size;
	bool bad; /* malformed or over a bound: answer DUNNO */
};

void policy_request_reset(struct policy_request *r);
/* Feed one line without its LF (a trailing CR is ignored). Returns true
 * when the line is empty, i.e. the request is complete. */
bool policy_request_line(struct policy_request *r, const char *line, size_t len);

/* The answer to a complete request, "action=...\n\n", into out. offenders
 * may be NULL (no escalation). Returns the length. */
size_t policy_answer(const struct policy_request *r, const struct policy_hooks *h,
		     struct offender_table *offenders, uint64_t now_ms, char *out, size_t outlen);

/* ---- the server ---- */

/* Listen on cfg->policy_listen (inet:ADDR:PORT or unix:PATH) on loop;
 * h is copied. offender_threshold/_window come from cfg. NULL on error
 * with one line in err saying what failed and what to do. */
struct policy_server *policy_server_new(struct ev_loop *loop, const struct mxg_config *cfg,
					const struct policy_hooks *h, char *err, size_t errlen);
/* Close every connection and the listener (and unlink a unix socket). */
void policy_server_free(struct policy_server *ps);
/* Another edge's offender: an offender here until until_ms (ev_now_ms
 * clock; offender_mark). */
void policy_offender_mark(struct policy_server *ps, const struct mxg_ip *ip, uint64_t until_ms);

#endif
