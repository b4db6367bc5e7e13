// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's domain table: one entry per served domain, its MX set
 * refreshed on its DNS TTL (clamped by dns_parse.c), state changes logged, and
 * the table rebuilt on reload with the state of kept domains carried over.
 */
#include "controller.h"
#include "ctl_responder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reason.h"

struct ctl_domain *ctl_domain_new(struct controller *c, const struct mxg_domain_config *dcfg)
{
	struct ctl_domain *cd = calloc(1, sizeof(*cd));
	uint64_t grace_ms = config_domain_recovery_grace(c->cfg, dcfg);

	if (!cd)
		return NULL;
	cd->c = c;
	cd->dcfg = dcfg;
	if (ds_init(&cd->ds, dcfg->name, grace_ms, ev_now_ms()) < 0) {
		free(cd);
		return NULL;
	}
	cd->ds.reject_grace_ms = config_domain_reject_grace(c->cfg, dcfg);
	ctl_domain_track(cd);
	return cd;
}

void ctl_domain_free(struct ctl_domain *cd)
{
	if (!cd)
		return;
	ctl_dns_wheel_del(&cd->c->dnsw, &cd->dns_due);
	if (cd->lookup && cd->c->dnsc)
		dns_cache_cancel(cd->c->dnsc, cd->lookup);
	cd->lookup = NULL;
	ctl_domain_untrack(cd);
	ds_free(&cd->ds);
	free(cd);
}

enum mxg_reply_mode ctl_domain_reply(const struct controller *c, const struct ctl_domain *cd)
{
	enum mxg_reply_mode r = config_domain_reply(c->cfg, cd->dcfg);

	return r == MXG_REPLY_REJECT && ds_in_reject_grace(&cd->ds) ? MXG_REPLY_DEFER : r;
}

void ctl_dns_schedule(struct ctl_domain *cd, uint64_t delay_ms)
{
	cd->dns_next_ms = ev_now_ms() + delay_ms;
	ctl_dns_wheel_put(&cd->c->dnsw, &cd->dns_due, cd->dns_next_ms);
}

void ctl_log_change(struct ctl_domain *cd, enum mxg_domain_state old_state,
		    enum mxg_reason old_reason)
{
	const struct domain_state *d = &cd->ds;
	int prio = d->state != old_state ? LOG_NOTICE : LOG_INFO;
	char primary[300] = "";

	if (d->state == old_state && d->reason == old_reason)
		return;
	if (d->state != old_state)
		cd->c->cnt.transitions++;
	if (d->primary[0])
		snprintf(primary, sizeof(primary), ", primary %s", d->primary);
	if (d->reason == MXG_REASON_SELF_NOT_IN_MX) {
		log_warn("domain %s: %s -> %s (%s): none of `self` is among its MX hosts; fix "
			 "`self` in %s or the domain's MX records",
			 d->name, mxg_domain_state_str(old_state), mxg_domain_state_str(d->state),
			 mxg_reason_str(d->reason), cd->c->config_path);
		return;
	}
	if (d->reason == MXG_REASON_DNS_FAILED || d->reason == MXG_REASON_NXDOMAIN) {
		log_warn("domain %s: %s -> %s (%s: %s); check the resolver and the domain's zone",
			 d->name, mxg_domain_state_str(old_state), mxg_domain_state_str(d->state),
			 mxg_reason_str(d->reason), d->dns_error[0] ? d->dns_error : "no answer");
		return;
	}
	log_msg(prio, "domain %s: %s -> %s (%s%s)", d->name, mxg_domain_state_str(old_state),
		mxg_domain_state_str(d->state), mxg_reason_str(d->reason), primary);
}

static void log_answer(const struct ctl_domain *cd, const struct mx_set *set)
{
	char a[MXG_ADDRSTRLEN];

	if (!log_debug_enabled())
		return;
	if (set->status == MX_ERROR || set->status == MX_NXDOMAIN) {
		log_debug("dns %s: %s: %s", cd->ds.name, mxg_mx_status_str(set->status),
			  set->error);
		return;
	}
	log_debug("dns %s: %s, %zu MX host(s), ttl %us", cd->ds.name,
		  mxg_mx_status_str(set->status), set->n_hosts, set->ttl_s);
	for (size_t i = 0; i < set->n_hosts; i++) {
		const struct mx_host *h = &set->hosts[i];

		log_debug("dns %s:   MX %u %s: %zu address(es)%s%s", cd->ds.name, h->pref, h->name,
			  h->n_addrs, h->n_addrs ? " first " : "",
			  h->n_addrs ? mxg_ip_str(&h->addrs[0], a, sizeof(a)) : "");
	}
}

/* A random fraction of ms between lo and hi per mille: refreshes and
 * retries of many domains spread out instead of meeting. */
static uint64_t jitter(uint64_t ms, unsigned lo, unsigned hi)
{
	return ms * (lo + (uint64_t)random() % (hi - lo + 1)) / 1000;
}

/* When to ask again. A usable answer: on its TTL, a little early, at a
 * random point (the first answer anywhere in the TTL, so 100,000 domains
 * resolved at start-up do not all come due together again). A failure:
 * backoff from CTL_DNS_RETRY_MS, doubling, with jitter, capped lower while
 * the domain has no answer at all (it is unknown until then). */
static uint64_t next_lookup(struct ctl_domain *cd, const struct mx_set *set, bool first)
{
	if (set->status == MX_ERROR || set->status == MX_NXDOMAIN) {
		uint64_t cap = cd->ds.set ? CTL_DNS_RETRY_MAX_MS : CTL_DNS_RETRY_FIRST_MAX_MS;
		uint64_t ms = CTL_DNS_RETRY_MS;

		for (unsigned i = 1; i < cd->dns_fails && ms < cap; i++)
			ms *= 2;
		return jitter(ms < cap ? ms : cap, 750, 1250);
	}
	/* dns/ has clamped it; clamped again by the same function, as a
	 * zero here would ask again at once, in a loop. */
	uint32_t ttl = mxg_dns_ttl_clamp(set->ttl_s);

	return first ? jitter(ttl * 1000ull, 100, 1000) : jitter(ttl * 1000ull, 900, 1000);
}

static void dns_done(void *arg, const struct mx_set *set)
{
	struct ctl_domain *cd = arg;
	struct controller *c = cd->c;
	bool first = !cd->ds.set;
	struct ctl_snap snap;
	int r;

	ctl_snap_take(cd, &snap);
	cd->lookup = NULL;
	log_answer(cd, set);
	if (set->status == MX_ERROR || set->status == MX_NXDOMAIN) {
		c->cnt.dns_failures++;
		if (cd->dns_fails < 255)
			cd->dns_fails++;
	} else {
		c->cnt.dns_answers++;
		cd->dns_fails = 0;
	}
	r = ds_dns_answer(&cd->ds, &c->params, set, ev_now_ms());
	if (r < 0)
		log_err("domain %s: keeping the previous MX set: %s", cd->ds.name, strerror(-r));
	ctl_dns_schedule(cd, next_lookup(cd, set, first));
	ctl_domain_changed(cd, &snap);
	if (cd->dirty)
		ctl_publish_soon(c);
}

void ctl_dns_due(void *arg, struct ctl_dns_entry *e)
{
	struct ctl_domain *cd =
	    (struct ctl_domain *)((char *)e - offsetof(struct ctl_domain, dns_due));

	if (cd->lookup)
		return;
	/* Queued behind at most DNS_CACHE_INFLIGHT running lookups. */
	cd->lookup = dns_cache_resolve(cd->c->dnsc, cd->ds.name, dns_done, cd);
	if (!cd->lookup) {
		log_err("domain %s: cannot start the MX lookup: %s; retrying in %us", cd->ds.name,
			strerror(errno), CTL_DNS_RETRY_MS / 1000);
		ctl_dns_schedule(cd, CTL_DNS_RETRY_MS);
	}
}

/* Keys that only a restart changes: say so instead of half-applying. */
static void warn_restart_keys(const struct mxg_config *o, const struct mxg_config *n)
{
	bool ifs = o->n_interfaces != n->n_interfaces ||
		   memcmp(o->interfaces, n->interfaces, sizeof(o->interfaces));

	if (o->gate != n->gate || ifs || strcmp(o->pin_dir, n->pin_dir))
		log_warn("reload: gate, interfaces and pin_dir change only when mxgated restarts; "
			 "keeping the running gate");
	if (strcmp(o->policy_listen, n->policy_listen))
		log_warn("reload: policy_listen changes only when mxgated restarts; still on %s",
			 o->policy_listen[0] ? o->policy_listen : "(off)");
	if (strcmp(o->control_socket, n->control_socket))
		log_warn("reload: control_socket changes only when mxgated restarts; still on %s",
			 o->control_socket);
	if (o->offender_set != n->offender_set ||
	    strcmp(o->offender_nft_family, n->offender_nft_family) ||
	    strcmp(o->offender_nft_table, n->offender_nft_table) ||
	    strcmp(o->offender_nft_set, n->offender_nft_set))
		log_warn("reload: offender_set and offender_nft_set change only when mxgated "
			 "restarts; keeping the running ones");
	if (o->greylist_table_size != n->greylist_table_size ||
	    o->pass_table_size != n->pass_table_size)
		log_warn("reload: greylist_table_size and pass_table_size change only when mxgated "
			 "restarts; keeping the running tables (their limits apply now)");
}

/* What the responder child was started with (it reads its config copy
 * from the fork): a change is applied by starting a new child. Without
 * it, a pass_recipients entry added on reload (postmaster) would still
 * get the domain's 551 from the responder while the policy service
 * already lets it through. */
static bool responder_keys_changed(const struct mxg_config *o, const struct mxg_config *n)
{
	if (o->n_pass_recipients != n->n_pass_recipients)
		return true;
	for (size_t i = 0; i < n->n_pass_recipients; i++)
		if (strcmp(o->pass_recipients[i], n->pass_recipients[i]))
			return true;
	return strcmp(o->user, n->user) || strcmp(o->helo_name, n->helo_name) ||
	       o->max_connections != n->max_connections ||
	       o->max_connections_per_client != n->max_connections_per_client ||
	       o->max_commands != n->max_commands || o->idle_timeout_ms != n->idle_timeout_ms ||
	       o->max_connections_per_network != n->max_connections_per_network ||
	       o->session_timeout_ms != n->session_timeout_ms ||
	       o->offender_threshold != n->offender_threshold ||
	       o->offender_window_ms != n->offender_window_ms;
}

/* The TLS files likewise, renewed at the same paths too (tls_stamp): the
 * child read them before its chroot and cannot read them again. */
static bool responder_tls_changed(const struct mxg_config *o, const struct mxg_config *n)
{
	return strcmp(o->tls_cert_file, n->tls_cert_file) ||
	       strcmp(o->tls_key_file, n->tls_key_file) || o->tls_stamp != n->tls_stamp;
}

static int cmp_name_domain(const void *key, const void *elem)
{
	return strcmp(key, (*(struct ctl_domain *const *)elem)->ds.name);
}

/* c->domains is built in the order of cfg->domains, sorted by name. */
struct ctl_domain *ctl_find_domain(const struct controller *c, const char *name)
{
	struct ctl_domain **cd;

	if (!c->n_domains)
		return NULL;
	cd = bsearch(name, c->domains, c->n_domains, sizeof(*c->domains), cmp_name_domain);
	return cd ? *cd : NULL;
}

static void set_params(struct controller *c)
{
	/* As config_keys.c bounded them (rise, fall >= 1). */
	c->params.rise = c->cfg->rise;
	c->params.fall = c->cfg->fall;
	c->params.quorum = c->cfg->quorum;
	c->params.probe_interval_ms = c->cfg->probe_interval_ms;
	c->params.dns_grace_ms = c->cfg->dns_grace_ms;
	c->params.self = (const char(*)[MXG_NAME_MAX])c->cfg->self;
	c->params.n_self = c->cfg->n_self;
	if (!c->params.store)
		c->params.store = mxs_store_new();
}

/* Before the resolver is replaced: its counters live on in the totals. */
static void ctl_dns_keep_counts(struct controller *c)
{
	struct dns_stats st;

	if (!c->dns)
		return;
	dns_resolver_stats(c->dns, &st);
	c->cnt.dns_forged_before += st.forged;
}

void ctl_reload_match_begin(struct controller *c)
{
	c->reload_gen++;
}

void ctl_reload_match(struct controller *c, const struct mxg_config *ncfg, size_t from, size_t to,
		      struct ctl_domain **nd)
{
	for (size_t i = from; i < to; i++) {
		struct ctl_domain *cd = ctl_find_domain(c, ncfg->domains[i].name);

		if (cd && cd->keep_gen == c->reload_gen)
			cd = NULL; /* listed twice: config_domains.c refuses it, be safe */
		if (cd)
			cd->keep_gen = c->reload_gen;
		nd[i] = cd;
	}
}

/* Domains after a reload, CTL_RELOAD_STEP an iteration at most (fewer
 * once its budget is spent): the new settings
 * (rise, fall, graces, self) may change a verdict. Then publish. */
void ctl_eval_timer_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	size_t end = c->eval_next + CTL_RELOAD_STEP;

	if (end > c->n_domains)
		end = c->n_domains;
	for (size_t n = 0; c->eval_next < end; c->eval_next++, n++) {
		struct ctl_domain *cd = c->domains[c->eval_next];
		struct ctl_snap snap;

		if (n >= CTL_RELOAD_MIN && n % CTL_RELOAD_MIN == 0 && ev_over_budget(loop))
			break;

		ctl_snap_take(cd, &snap);
		ds_evaluate(&cd->ds, &c->params, ev_now_ms());
		ctl_domain_changed(cd, &snap);
	}
	if (c->eval_next < c->n_domains) {
		ctl_timer_start(c, &c->eval_timer, 0, "reload evaluation");
		return;
	}
	ctl_publish(c);
}

/* A reload's new config, loaded and checked by the helper and matched
 * to the domains served (ctl_reload.c): applied here in one step (what is
 * left is a pointer or two per domain, and the domains added or removed),
 * ncfg is the controller's from now on. */
int ctl_reload_apply(struct controller *c, struct mxg_config *ncfg, struct ctl_domain **nd)
{
	bool resolver_changed, prober_changed, interval_changed, self_changed, responder_changed;
	bool tls_changed, fleet_changed;
	size_t n_new = 0;

	warn_restart_keys(c->cfg, ncfg);
	responder_changed = responder_keys_changed(c->cfg, ncfg);
	tls_changed = responder_tls_changed(c->cfg, ncfg);
	resolver_changed = c->cfg->resolver_len != ncfg->resolver_len ||
			   memcmp(&c->cfg->resolver, &ncfg->resolver, sizeof(ncfg->resolver));
	prober_changed = c->cfg->probe_timeout_ms != ncfg->probe_timeout_ms ||
			 strcmp(c->cfg->helo_name, ncfg->helo_name) ||
			 c->cfg->probe_tls != ncfg->probe_tls ||
			 strcmp(c->cfg->probe_tls_ca, ncfg->probe_tls_ca);
	interval_changed = c->cfg->probe_interval_ms != ncfg->probe_interval_ms;
	/* Who the primaries are depends on `self`: the stored MX sets were
	 * read with the old one, so look them up again at once. */
	self_changed =
	    c->cfg->n_self != ncfg->n_self || memcmp(c->cfg->self, ncfg->self, sizeof(ncfg->self));

	for (size_t i = 0; i < ncfg->n_domains; i++) {
		struct ctl_domain *cd = nd[i];

		if (cd) {
			cd->dcfg = &ncfg->domains[i];
			cd->ds.recovery_grace_ms = config_domain_recovery_grace(ncfg, cd->dcfg);
			cd->ds.reject_grace_ms = config_domain_reject_grace(ncfg, cd->dcfg);
		} else {
			struct mxg_config *old = c->cfg;

			c->cfg = ncfg; /* the new domain's settings come from here */
			cd = ctl_domain_new(c, &ncfg->domains[i]);
			c->cfg = old;
			if (!cd) {
				log_err("reload: out of memory adding domain %s; it is not served",
					ncfg->domains[i].name);
				continue;
			}
			cd->keep_gen = c->reload_gen;
			ctl_dns_schedule(cd, 0);
			log_notice("domain %s: now served", cd->ds.name);
		}
		nd[n_new++] = cd;
	}
	for (size_t i = 0; i < c->n_domains; i++) {
		if (c->domains[i]->keep_gen == c->reload_gen)
			continue;
		log_notice("domain %s: no longer served", c->domains[i]->ds.name);
		ctl_domain_free(c->domains[i]);
	}
	free(c->domains);
	c->domains = nd;
	c->n_domains = n_new;
	fleet_changed = ctl_fleet_changed(c->cfg, ncfg);
	config_free(c->cfg);
	free(c->cfg);
	c->cfg = ncfg;
	set_params(c);
	ctl_fleet_reload(c, fleet_changed);
	c->prober_stale |= prober_changed;
	if (c->gate && c->gops->set_pass_clients && c->gops->set_pass_clients(c->gate, c->cfg) < 0)
		c->cnt.gate_errors++;

	if (resolver_changed) {
		struct dns_resolver *r = ctl_resolver_new(c, ncfg);
		struct dns_cache *dc = r ? dns_cache_new(r, 0) : NULL;

		if (!dc) {
			dns_resolver_free(r);
			log_err("reload: cannot set up the new resolver; keeping the old one");
		} else {
			/* Cancels every lookup, queued or running. */
			dns_cache_free(c->dnsc);
			ctl_dns_keep_counts(c);
			dns_resolver_free(c->dns);
			c->dns = r;
			c->dnsc = dc;
			for (size_t i = 0; i < c->n_domains; i++) {
				c->domains[i]->lookup = NULL;
				ctl_dns_schedule(c->domains[i], 0);
			}
		}
	}
	if (self_changed && !resolver_changed)
		for (size_t i = 0; i < c->n_domains; i++)
			if (!c->domains[i]->lookup)
				ctl_dns_schedule(c->domains[i], 0);
	if (self_changed)
		ctl_recount(c);
	if (interval_changed)
		ctl_timer_start(c, &c->round.timer, c->cfg->probe_interval_ms, "round");

	/* The array is new: the expiry refresh starts it from the top (a
	 * sync comes only after every domain of it was written), and so does
	 * the evaluation under the new settings, which publishes when done.
	 * Replies and reply texts may have changed: the responder's table
	 * too. */
	c->refresh_next = 0;
	c->eval_next = 0;
	ctl_timer_start(c, &c->eval_timer, 0, "reload evaluation");
	c->table_gen++;
	c->cnt.reloads++;
	ctl_trim_soon(c);	      /* the old config's domains were freed */
	c->state_saved_empty = false; /* state_dir may have changed: save there */
	log_notice("reloaded %s: %zu domain(s)", c->config_path, c->n_domains);
	if (responder_changed)
		ctl_responder_renew(c, "pass_recipients, user, helo_name, connection limits or "
				       "offender settings changed");
	else if (tls_changed)
		ctl_responder_renew(c,
				    "tls_cert_file, tls_key_file or the files they name changed");
	return 0;
}

void ctl_set_params(struct controller *c)
{
	set_params(c);
}

uint64_t ctl_dns_forged(const struct controller *c)
{
	struct dns_stats st = {0};

	if (c->dns)
		dns_resolver_stats(c->dns, &st);
	return c->cnt.dns_forged_before + st.forged;
}

struct dns_resolver *ctl_resolver_new(struct controller *c, const struct mxg_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t len = cfg->resolver_len;
	char a[MXG_ADDRSTRLEN];
	struct mxg_ip ip;
	uint16_t port = 0;

	memcpy(&ss, &cfg->resolver, sizeof(ss));
	if (!len && dns_default_server(&ss, &len) < 0) {
		log_err("no resolver: set `resolver` in %s or a nameserver in /etc/resolv.conf",
			c->config_path);
		return NULL;
	}
	if (!mxg_ip_from_sockaddr((struct sockaddr *)&ss, &ip, &port))
		log_info("resolver %s port %u", mxg_ip_str(&ip, a, sizeof(a)), port);
	return dns_resolver_new(c->loop, (struct sockaddr *)&ss, len, NULL);
}
