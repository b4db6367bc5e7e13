// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's side of the Postfix policy service (policy.c): start it
 * on policy_listen, and answer its per-domain lookups from the live domain
 * states, so the policy service and the responder always agree; its pass
 * checks; and whether a client is one of this host's own addresses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "controller.h"
#include "log.h"
#include "pass_decide.h"
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
		d->reply = ctl_domain_reply(c, cd);
		d->primary = cd->ds.primary;
		d->reply_text = config_domain_reply_text(c->cfg, cd->dcfg);
		return 0;
	}
	return -ENOENT;
}

/* A live pass: it is delivering through us, renew it. */
static bool pass_held(void *arg, const struct mxg_ip *ip)
{
	struct controller *c = arg;

	if (!ctl_pass_live(c, ip))
		return false;
	ctl_pass_add(c, ip, MXG_PASS_GREYLIST);
	return true;
}

static bool pass_tuple(void *arg, const struct mxg_ip *ip, uint64_t hash)
{
	struct controller *c = arg;

	ctl_greylist_seen(c, ip, hash);
	return ctl_pass_live(c, ip);
}

static bool client_passed(void *arg, const struct mxg_ip *ip, const char *sender,
			  const char *recipient, int reply)
{
	struct controller *c = arg;
	char local[MXG_PASS_RCPT_MAX], dom[MXG_NAME_MAX] = "";
	bool split = pass_split_rcpt(recipient, local, sizeof(local), dom, sizeof(dom));
	const struct pass_ask ask = {.cfg = c->cfg,
				     .client = ip,
				     .from = sender,
				     .local = split ? local : NULL,
				     .domain = dom,
				     .reply = reply,
				     .held = pass_held,
				     .tuple = pass_tuple,
				     .arg = c};

	struct pass_db *db = ctl_pass_db(c);
	enum pass_why why = pass_decide(&ask);

	if (db && why != PASS_GREYLIST)
		db->hits[why]++; /* status and metrics: what let it through */
	return why != PASS_NONE;
}

/* One of this host's own addresses (its MTA or a content filter over the
 * public address, a local script): never an offender (ctl_host.c). */
static bool client_is_host(void *arg, const struct mxg_ip *ip)
{
	return ctl_ip_is_host(arg, ip);
}

/* A unix socket's directory, made if missing (/run/mxgate), root's alone
 * before and after: nobody may put another socket in place of ours (and
 * answer REJECT for every recipient). */
static int policy_dir(const struct mxg_config *cfg, char *err, size_t errlen)
{
	const char *sock = ((const struct sockaddr_un *)&cfg->policy_addr)->sun_path;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	int r = ctl_socket_dir_check("policy_listen", sock, true, err, errlen);

	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s", sock);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			snprintf(err, errlen, "policy_listen %s: cannot create its directory: %s",
				 sock, strerror(-r));
			return r;
		}
	}
	return ctl_socket_dir_check("policy_listen", sock, false, err, errlen);
}

int ctl_policy_start(struct controller *c)
{
	/* The host list fills at the first publish, which ends the first
	 * round: before it no domain is gated, so no one is counted. */
	const struct policy_hooks h = {lookup, client_passed, client_is_host, c};
	char err[512];

	if (!c->cfg->policy_listen[0])
		return 0;
	if (c->cfg->policy_addr.ss_family == AF_UNIX && policy_dir(c->cfg, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return -EPERM;
	}
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
