// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's side of the Postfix policy service (policy.c): start it
 * on policy_listen, and answer its per-domain lookups from the live domain
 * states, so the policy service and the responder always agree.
 */
#include <errno.h>
#include <string.h>

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

int ctl_policy_start(struct controller *c)
{
	char err[512];

	if (!c->cfg->policy_listen[0])
		return 0;
	c->policy = policy_server_new(c->loop, c->cfg, lookup, c, err, sizeof(err));
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
