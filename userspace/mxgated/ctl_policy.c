// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's side of the Postfix policy service (policy.c): start it
 * on policy_listen, and answer its per-domain lookups from the live domain
 * states, so the policy service and the responder always agree; its pass
 * checks; and whether a client is one of this host's own addresses.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_pass.h"

#include "controller.h"
#include "log.h"
#include "policy.h"

static int lookup(void *arg, const char *domain, struct policy_domain *d)
{
	struct controller *c = arg;
	const struct ctl_domain *cd = ctl_find_domain(c, domain);

	if (cd) {
		d->state = cd->ds.state;
		/* The kernel's gate entries expire state_ttl after the last
		 * round; a verdict that old is no verdict here either: a
		 * controller whose rounds stopped must not refuse mail. */
		if (d->state == MXG_DOMAIN_GATED &&
		    (!c->round.last_ms || ev_now_ms() - c->round.last_ms > c->cfg->state_ttl_ms))
			d->state = MXG_DOMAIN_OPEN;
		d->reply = config_domain_reply(c->cfg, cd->dcfg);
		d->primary = cd->ds.primary;
		d->reply_text = config_domain_reply_text(c->cfg, cd->dcfg);
		return 0;
	}
	return -ENOENT;
}

/* A recipient's local part and domain, lower case; false if unparsable. */
static bool split_rcpt(const char *rcpt, char *local, size_t llen, char *dom, size_t dlen)
{
	const char *at = strrchr(rcpt, '@');
	size_t n;

	if (!at || at == rcpt || (size_t)(at - rcpt) >= llen || strlen(at + 1) >= dlen)
		return false;
	n = (size_t)(at - rcpt);
	for (size_t i = 0; i < n; i++)
		local[i] = (char)tolower((unsigned char)rcpt[i]);
	local[n] = '\0';
	n = strlen(at + 1);
	for (size_t i = 0; i < n; i++)
		dom[i] = (char)tolower((unsigned char)at[1 + i]);
	dom[n] = '\0';
	if (n && dom[n - 1] == '.')
		dom[n - 1] = '\0';
	return true;
}

static void lower(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

static bool client_passed(void *arg, const struct mxg_ip *ip, const char *sender,
			  const char *recipient, int reply)
{
	struct controller *c = arg;
	char local[MXG_PASS_RCPT_MAX], dom[MXG_NAME_MAX];
	char from[GREYLIST_SENDER_MAX], rcpt[MXG_PASS_RCPT_MAX + MXG_NAME_MAX];

	if (ip && cfg_pass_client(c->cfg, ip)) {
		c->cnt.pass_hits[0]++;
		return true;
	}
	bool split = split_rcpt(recipient, local, sizeof(local), dom, sizeof(dom));

	if (split && cfg_pass_recipient(c->cfg, local, dom)) {
		c->cnt.pass_hits[1]++;
		return true;
	}
	if (!ip) /* no client address: nothing client-bound can pass it */
		return false;
	if (ctl_pass_live(c, ip)) {
		/* It is delivering through us: renew its pass. */
		ctl_pass_add(c, ip, MXG_PASS_GREYLIST);
		c->cnt.pass_hits[2]++;
		return true;
	}
	/* Greylisting, as the responder does it: the same tuple hash. */
	if (reply == MXG_REPLY_GREYLIST && split) {
		lower(sender, from, sizeof(from));
		snprintf(rcpt, sizeof(rcpt), "%s@%s", local, dom);
		ctl_greylist_seen(c, ip, greylist_tuple_hash(0, ip, from, rcpt));
		return ctl_pass_live(c, ip);
	}
	return false;
}

/* One of this host's own addresses (its MTA or a content filter over the
 * public address, a local script): never an offender (ctl_host.c). */
static bool client_is_host(void *arg, const struct mxg_ip *ip)
{
	return ctl_ip_is_host(arg, ip);
}

int ctl_policy_start(struct controller *c)
{
	/* The host list fills at the first publish, which ends the first
	 * round: before it no domain is gated, so no one is counted. */
	const struct policy_hooks h = {lookup, client_passed, client_is_host, c};
	char err[512];

	if (!c->cfg->policy_listen[0])
		return 0;
	c->policy = policy_server_new(c->loop, c->cfg, &h, err, sizeof(err));
	if (!c->policy) {
		log_err("%s", err);
		return -EINVAL;
	}
	return 0;
}

void ctl_policy_stop(struct controller *c)
{
	policy_server_free(c->policy);
	c->policy = NULL;
}
