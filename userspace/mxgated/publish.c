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

/* Fill out[] with this publish's gate addresses from the counts of
 * ctl_changes.c. ifa: this host's addresses, or NULL with err =
 * getifaddrs' errno. */
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
	for (size_t i = 0; i < c->n_self_addrs && n < MXG_MAX_ADDRESSES; i++) {
		const struct mxg_ip *ip = &c->self_addrs[i].ip;

		if (c->self_addrs[i].n_sets && !have(out, n, ip) && is_local(ifa, ip))
			out[n++].ip = *ip;
	}
	return n;
}

static void decide_addresses(struct controller *c, struct ctl_gate_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t served = c->n_domains, open = c->n_open;

		if (!c->cfg->n_addresses) {
			const struct ctl_self_addr *s = NULL;

			for (size_t j = 0; j < c->n_self_addrs && !s; j++)
				if (mxg_ip_equal(&c->self_addrs[j].ip, &a[i].ip))
					s = &c->self_addrs[j];
			served = c->n_everywhere + (s ? s->n_served : 0);
			open = c->n_everywhere_open + (s ? s->n_open : 0);
		}
		a[i].n_domains = (unsigned)served;
		a[i].gated = served > 0 && open == 0;
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

static struct gate_domain_view view_of(const struct domain_state *d, bool force)
{
	return (struct gate_domain_view){
	    .name = d->name,
	    .state = d->state,
	    .reason = d->reason,
	    .primary = d->primary,
	    .since_ns = d->since_ms * 1000000ull,
	    .force = force,
	};
}

/* The life of a domain map entry. The gate's fail-open expiry is the
 * gate addresses' (state_ttl; the program reads only those): a domain
 * entry tells administrators (bpftool map dump, mxgate dump) what the
 * controller last decided, and keeping every one of 100,000 alive within
 * state_ttl cost 5,500 map writes a second, the largest share of the
 * steady state after DNS. A change is written at once, whatever this. */
static uint64_t domain_ttl_ms(const struct controller *c)
{
	return c->cfg->state_ttl_ms > CTL_DOMAIN_ENTRY_TTL_MS ? c->cfg->state_ttl_ms
							      : CTL_DOMAIN_ENTRY_TTL_MS;
}

/* Up to CTL_PUBLISH_BATCH domains off c->dirty into the open batch; the
 * rest in the next loop iterations (dirty_timer). A domain whose write
 * failed is not queued again: the expiry refresh writes it. */
static int write_dirty(struct controller *c)
{
	int r = 0;

	for (unsigned n = 0; n < CTL_PUBLISH_BATCH && !TAILQ_EMPTY(&c->dirty); n++) {
		struct ctl_domain *cd = TAILQ_FIRST(&c->dirty);
		struct gate_domain_view v = view_of(&cd->ds, false);
		int r2;

		TAILQ_REMOVE(&c->dirty, cd, dirty_link);
		cd->dirty = false;
		c->n_dirty--;
		r2 = c->gate ? c->gops->set_domain(c->gate, &v, domain_ttl_ms(c)) : 0;
		if (!r)
			r = r2;
	}
	if (c->n_dirty && !ev_timer_armed(&c->dirty_timer))
		ctl_timer_start(c, &c->dirty_timer, 0, "publish");
	return r;
}

static void gate_result(struct controller *c, int r)
{
	if (r < 0) {
		c->cnt.gate_errors++;
		if (!c->gate_failing)
			log_err("writing the %s gate: %s; its entries expire within state_ttl "
				"(fail open); check the pin_dir and the kernel log",
				c->gops->name, strerror(-r));
		c->gate_failing = true;
	} else if (c->gate_failing) {
		log_notice("writing the %s gate works again", c->gops->name);
		c->gate_failing = false;
	}
}

/* Every gate address, and the domains that changed (a bounded batch). */
static int write_gate(struct controller *c)
{
	uint64_t ttl = c->cfg->state_ttl_ms;
	int r;

	r = c->gops->begin(c->gate, true);
	for (size_t i = 0; !r && i < c->n_addrs; i++)
		r = c->gops->set_address(c->gate, &c->addrs[i].ip, c->addrs[i].gated,
					 c->addrs[i].n_domains, ttl);
	if (!r)
		r = write_dirty(c);
	if (!r)
		r = c->gops->commit(c->gate);
	else
		c->gops->commit(c->gate);
	return r;
}

void ctl_dirty_timer_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	int r;

	if (!c->gate) {
		write_dirty(c);
		return;
	}
	r = c->gops->begin(c->gate, false);
	if (!r)
		r = write_dirty(c);
	if (!r)
		r = c->gops->commit(c->gate);
	else
		c->gops->commit(c->gate);
	gate_result(c, r);
}

static void sync_domains(struct controller *c)
{
	int r = c->gops->domains_sync(c->gate);

	c->sync_pending = r == 1;
	if (r < 0)
		c->cnt.gate_errors++;
}

/* The expiry refresh: every domain entry is written again within 3/5 of
 * its life (domain_ttl_ms), a slice every CTL_REFRESH_TICK_MS, so that no
 * publish walks every domain and the entries' ages stay spread. Only
 * while rounds go on: verdicts no round checks any more are left to
 * expire, as the gate addresses are. */
void ctl_refresh_timer_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	uint64_t now = ev_now_ms(), period = domain_ttl_ms(c) * 3 / 5, k;
	int r;

	ctl_timer_start(c, &c->refresh_timer, CTL_REFRESH_TICK_MS, "refresh");
	if (!c->gate || !c->gops->domains_sync || !c->n_domains || !c->round.last_ms ||
	    now - c->round.last_ms > c->cfg->probe_interval_ms + c->cfg->probe_timeout_ms + 1000)
		return;
	if (c->sync_pending)
		sync_domains(c);
	k = c->n_domains * CTL_REFRESH_TICK_MS / (period ? period : 1) + 1;
	if (k > CTL_REFRESH_MAX)
		k = CTL_REFRESH_MAX;
	r = c->gops->begin(c->gate, false);
	for (; !r && k-- && c->refresh_next < c->n_domains; c->refresh_next++) {
		struct gate_domain_view v = view_of(&c->domains[c->refresh_next]->ds, true);

		r = c->gops->set_domain(c->gate, &v, domain_ttl_ms(c));
	}
	if (!r)
		r = c->gops->commit(c->gate);
	else
		c->gops->commit(c->gate);
	gate_result(c, r);
	if (c->refresh_next >= c->n_domains) {
		/* Every domain written since the last sync: drop the others. */
		c->refresh_next = 0;
		sync_domains(c);
	}
}

void ctl_publish_start(struct controller *c)
{
	ctl_timer_start(c, &c->refresh_timer, CTL_REFRESH_TICK_MS, "refresh");
}

/* The answers to writes the backend sent without waiting (nft). */
static void gate_async_poll(struct controller *c)
{
	int r;

	if (!c->gate)
		return;
	r = c->gops->async_poll(c->gate, ev_now_ms());
	if (r == -ENOENT)
		ctl_publish_soon(c); /* its table is made again there */
	else if (r < 0)
		c->cnt.gate_errors++;
}

static void gate_async_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	gate_async_poll(arg);
}

void ctl_gate_async_timer_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;

	ctl_timer_start(c, &c->gate_async_timer, CTL_GATE_ASYNC_TICK_MS, "gate answers");
	gate_async_poll(c);
}

int ctl_gate_async_start(struct controller *c)
{
	int fd = c->gops->async_fd ? c->gops->async_fd(c->gate) : -1, r;

	c->gate_async_fd = -1;
	if (fd < 0)
		return 0;
	r = ev_io_add(c->loop, fd, EV_READ, gate_async_io, c);
	if (r < 0)
		return r;
	c->gate_async_fd = fd;
	ctl_timer_start(c, &c->gate_async_timer, CTL_GATE_ASYNC_TICK_MS, "gate answers");
	return 0;
}

void ctl_gate_async_stop(struct controller *c)
{
	if (c->gate_async_fd >= 0 && c->loop)
		ev_io_del(c->loop, c->gate_async_fd);
	c->gate_async_fd = -1;
	if (c->loop)
		ev_timer_stop(c->loop, &c->gate_async_timer);
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
		gate_result(c, write_gate(c));
	} else {
		write_dirty(c);
	}
	ctl_passes_sweep(c);
	ctl_responder_push(c);
}
