// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keeping the gate where it was put. Someone may remove our tc filter
 * behind our back (`tc qdisc del dev eth0 clsact`, an interface deleted
 * and re-created, a network manager that resets the qdisc): the gate then
 * silently stops. An rtnetlink socket in the event loop hears every link
 * and tc change and, after a short settle, asks the backend to check and
 * re-attach; every round checks too, in case a message was lost. What
 * could not be repaired is logged by the backend and shows in status
 * (the address is not gated) and metrics.
 */
#include "controller.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "ctl_responder.h"
#include "log.h"

void ctl_gate_check(struct controller *c)
{
	unsigned reattached = 0;

	if (!c->gate || !c->gops->check)
		return;
	c->gops->check(c->gate, &reattached);
	c->cnt.gate_reattached += reattached;
}

static void settle_cb(struct ev_loop *loop, void *arg)
{
	ctl_gate_check(arg);
}

static void on_links(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct controller *c = arg;
	char buf[8192];
	bool any = false;

	/* The content does not matter: any link or tc change may be one that
	 * took our filter, and check() looks at the kernel itself. ENOBUFS
	 * (messages lost) is a reason to look too. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = mnl_socket_recvfrom(c->links_nl, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		any = true;
		if (n < 0 && errno != ENOBUFS) {
			log_err("rtnetlink: %s; a removed tc filter is now found at the next "
				"round only",
				strerror(errno));
			ctl_links_stop(c);
			break;
		}
	}
	if (any && !c->stopping && !ev_timer_armed(&c->links_timer) &&
	    ev_timer_start(loop, &c->links_timer, CTL_LINKS_SETTLE_MS) < 0)
		ctl_gate_check(c); /* at once, unsettled */
}

int ctl_links_start(struct controller *c)
{
	struct mnl_socket *nl;

	ev_timer_init(&c->links_timer, settle_cb, c);
	if (!c->gate || !c->gops->check)
		return 0;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, RTMGRP_LINK | RTMGRP_TC, MNL_SOCKET_AUTOPID) < 0 ||
	    ev_io_add(c->loop, mnl_socket_get_fd(nl), EV_READ, on_links, c) < 0) {
		/* Not fatal: every round still checks. */
		log_warn("rtnetlink: %s; a removed tc filter is found at the next round only",
			 strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return 0;
	}
	c->links_nl = nl;
	return 0;
}

void ctl_links_stop(struct controller *c)
{
	if (c->loop)
		ev_timer_stop(c->loop, &c->links_timer);
	if (!c->links_nl)
		return;
	if (c->loop)
		ev_io_del(c->loop, mnl_socket_get_fd(c->links_nl));
	mnl_socket_close(c->links_nl);
	c->links_nl = NULL;
}

static enum ctl_steer iface_steer(const struct controller *c, const char *ifname)
{
	if (!c->gops->steers(c->gate, ifname))
		return CTL_STEER_NO_FILTER;
	if (c->gops->filters_ahead && c->gops->filters_ahead(c->gate, ifname, NULL, NULL))
		return CTL_STEER_FILTER_AHEAD;
	return CTL_STEER_YES;
}

/*
 * Is mail to ip steered? Only while a responder is ready (before READY and
 * after its end the program finds no socket and passes everything), and
 * only when our filter is on the interface that holds it, if that is a
 * configured one; an address elsewhere (a dummy or lo) is reached through
 * the configured interfaces, so one of them must have it. And only when
 * no other tool's filter runs before ours there (it may end
 * classification: ours never sees the packet). ifa:
 * getifaddrs(), or NULL (then: any).
 */
enum ctl_steer ctl_addr_steer(const struct controller *c, const struct mxg_ip *ip,
			      const struct ifaddrs *ifa)
{
	enum ctl_steer any = CTL_STEER_NO_FILTER;
	const char *on = NULL;

	if (!c->gate || !c->gops->steers)
		return CTL_STEER_YES;
	if (!ctl_responder_alive(c))
		return CTL_STEER_NO_RESPONDER;
	for (; ifa; ifa = ifa->ifa_next) {
		struct mxg_ip l;
		uint16_t port;

		if (!ifa->ifa_addr || !ifa->ifa_name ||
		    (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		if (!mxg_ip_from_sockaddr(ifa->ifa_addr, &l, &port) && mxg_ip_equal(&l, ip)) {
			on = ifa->ifa_name;
			break;
		}
	}
	if (on)
		for (size_t i = 0; i < c->cfg->n_interfaces; i++)
			if (!strcmp(c->cfg->interfaces[i], on))
				return iface_steer(c, on);
	/* Reached through any configured interface: steered when one of
	 * them has ours deciding. */
	for (size_t i = 0; i < c->cfg->n_interfaces; i++) {
		enum ctl_steer s = iface_steer(c, c->cfg->interfaces[i]);

		if (s == CTL_STEER_YES)
			return s;
		if (s == CTL_STEER_FILTER_AHEAD)
			any = s;
	}
	return any;
}

const char *ctl_steer_token(enum ctl_steer s)
{
	return s == CTL_STEER_YES	     ? "steered"
	       : s == CTL_STEER_NO_RESPONDER ? "no-responder"
	       : s == CTL_STEER_FILTER_AHEAD ? "filter-ahead"
					     : "no-filter";
}

const char *ctl_steer_text(enum ctl_steer s)
{
	return s == CTL_STEER_YES ? "steered"
	       : s == CTL_STEER_NO_RESPONDER
		   ? "no responder is ready to receive it (mail goes to the MTA; see the log)"
	       : s == CTL_STEER_FILTER_AHEAD
		   ? "another tc filter runs before ours on its interface (see the log)"
		   : "no mxgate tc filter on its interface (see the log)";
}
