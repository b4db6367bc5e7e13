// SPDX-License-Identifier: GPL-2.0-only
/*
 * From domain states to the kernel and the responder. Which domains are
 * served on which gate address:
 *   - with `addresses` configured, every served domain on every address:
 *     the config says nothing finer, so that is all we know;
 *   - otherwise the gate addresses are the local addresses of `self` as
 *     they appear in the MX sets (the A/AAAA of our own MX host names,
 *     kept when getifaddrs shows them on this host), and a domain is
 *     served on the addresses of the self hosts in its own MX set. A
 *     domain without a usable answer is served everywhere.
 * An address is gated iff it serves at least one domain and every domain
 * served on it is gated; unknown gates nothing.
 */
#include "controller.h"
#include "ctl_responder.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static bool is_local(const struct ifaddrs *ifa, const struct mxg_ip *ip)
{
	for (; ifa; ifa = ifa->ifa_next) {
		struct mxg_ip l;
		uint16_t port;

		if (!ifa->ifa_addr ||
		    (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		if (!mxg_ip_from_sockaddr(ifa->ifa_addr, &l, &port) && mxg_ip_equal(&l, ip))
			return true;
	}
	return false;
}

static bool have(const struct ctl_gate_addr *a, size_t n, const struct mxg_ip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (mxg_ip_equal(&a[i].ip, ip))
			return true;
	return false;
}

/* Fill out[] with this round's gate addresses; keeps the previous gated
 * flags so changes can be logged. ifa: this host's addresses, or NULL
 * with err = getifaddrs' errno. */
static size_t gate_addresses(struct controller *c, struct ctl_gate_addr *out,
			     const struct ifaddrs *ifa, int err)
{
	size_t n = 0;

	if (c->cfg->n_addresses) {
		for (size_t i = 0; i < c->cfg->n_addresses && n < MXG_MAX_ADDRESSES; i++)
			if (!have(out, n, &c->cfg->addresses[i]))
				out[n++].ip = c->cfg->addresses[i];
		return n;
	}
	if (err) {
		log_err("getifaddrs: %s; gating nothing this round", strerror(err));
		return 0;
	}
	for (size_t i = 0; i < c->n_domains; i++) {
		const struct mxs *set = c->domains[i]->ds.set;

		for (size_t h = 0; set && h < set->n_hosts; h++) {
			if (!ds_is_self(&c->params, set->hosts[h].name))
				continue;
			for (size_t j = 0; j < set->hosts[h].n_addrs && n < MXG_MAX_ADDRESSES;
			     j++) {
				const struct mxg_ip *ip = &set->hosts[h].addrs[j];

				if (!have(out, n, ip) && is_local(ifa, ip))
					out[n++].ip = *ip;
			}
		}
	}
	return n;
}

static void decide_addresses(struct controller *c, struct ctl_gate_addr *a, size_t n)
{
	bool all = c->cfg->n_addresses > 0;

	for (size_t i = 0; i < n; i++) {
		bool gated = true;

		a[i].n_domains = 0;
		for (size_t j = 0; j < c->n_domains; j++) {
			const struct domain_state *d = &c->domains[j]->ds;

			if (!all && ds_self_has_addr(d, &c->params, &a[i].ip) == 0)
				continue;
			a[i].n_domains++;
			if (d->state != MXG_DOMAIN_GATED)
				gated = false;
		}
		a[i].gated = gated && a[i].n_domains > 0;
	}
}

static void log_address_changes(struct controller *c, const struct ctl_gate_addr *a, size_t n)
{
	char s[MXG_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++) {
		bool was = false, known = false;

		for (size_t j = 0; j < c->n_addrs; j++)
			if (mxg_ip_equal(&c->addrs[j].ip, &a[i].ip)) {
				was = c->addrs[j].gated;
				known = true;
			}
		if (!known || was != a[i].gated)
			log_notice("address %s: %s (%u domain(s))",
				   mxg_ip_str(&a[i].ip, s, sizeof(s)),
				   a[i].gated ? "gated" : "open", a[i].n_domains);
	}
	for (size_t j = 0; j < c->n_addrs; j++)
		if (!have(a, n, &c->addrs[j].ip))
			log_notice("address %s: no longer a gate address",
				   mxg_ip_str(&c->addrs[j].ip, s, sizeof(s)));
}

static int write_gate(struct controller *c)
{
	uint64_t ttl = c->cfg->state_ttl_ms;
	int r;

	r = c->gops->begin(c->gate);
	for (size_t i = 0; !r && i < c->n_addrs; i++)
		r = c->gops->set_address(c->gate, &c->addrs[i].ip, c->addrs[i].gated,
					 c->addrs[i].n_domains, ttl);
	for (size_t i = 0; !r && i < c->n_domains; i++) {
		const struct domain_state *d = &c->domains[i]->ds;
		struct gate_domain_view v = {
		    .name = d->name,
		    .state = d->state,
		    .reason = d->reason,
		    .primary = d->primary,
		    .since_ns = d->since_ms * 1000000ull,
		};

		r = c->gops->set_domain(c->gate, &v, ttl);
	}
	if (!r)
		r = c->gops->commit(c->gate);
	else
		c->gops->commit(c->gate);
	return r;
}

void ctl_publish_soon(struct controller *c)
{
	if (!ev_timer_armed(&c->publish_timer) &&
	    ev_timer_start(c->loop, &c->publish_timer, CTL_PUBLISH_DELAY_MS) < 0)
		ctl_publish(c);
}

void ctl_publish_timer_cb(struct ev_loop *loop, void *arg)
{
	ctl_publish(arg);
}

void ctl_publish(struct controller *c)
{
	if (c->loop)
		ev_timer_stop(c->loop, &c->publish_timer);
	struct ctl_gate_addr *a = calloc(MXG_MAX_ADDRESSES, sizeof(*a));
	struct ifaddrs *ifa = NULL;
	int ifa_err = 0;
	size_t n;
	int r;

	if (!a) {
		log_err("publish: out of memory; gate entries expire in state_ttl (fail open)");
		return;
	}
	/* One listing of this host's addresses a publish serves both the gate
	 * addresses and the own-address list (ctl_host.c), which the offender
	 * table (always there) and the policy service ask. */
	if (getifaddrs(&ifa) < 0) {
		ifa_err = errno;
		ifa = NULL;
	}
	ctl_host_refresh(c, ifa, ifa_err);
	n = gate_addresses(c, a, ifa, ifa_err);
	if (ifa)
		freeifaddrs(ifa);
	decide_addresses(c, a, n);
	log_address_changes(c, a, n);
	memcpy(c->addrs, a, n * sizeof(*a));
	c->n_addrs = n;
	free(a);

	if (c->gate) {
		ctl_gate_check(c);
		r = write_gate(c);
		if (r < 0) {
			c->cnt.gate_errors++;
			if (!c->gate_failing)
				log_err(
				    "writing the %s gate: %s; its entries expire within state_ttl "
				    "(fail open); check the pin_dir and the kernel log",
				    c->gops->name, strerror(-r));
			c->gate_failing = true;
		} else if (c->gate_failing) {
			log_notice("writing the %s gate works again", c->gops->name);
			c->gate_failing = false;
		}
	}
	ctl_passes_sweep(c);
	ctl_responder_push(c);
}
