// SPDX-License-Identifier: GPL-2.0-only
/*
 * This host's own addresses, as of the last publish: the policy service
 * never counts one as an offender, and an offender report from the
 * responder that names one is refused (the responder is not trusted: a
 * report of 127.0.0.1 or the host's public address would put local
 * submission into the administrator's drop rule). Refreshed from the one
 * getifaddrs of each publish, never per request; bounded.
 */
#include "controller.h"

#include <string.h>

#include "log.h"

bool ctl_ip_is_host(const struct controller *c, const struct mxg_ip *ip)
{
	if (mxg_ip_is_loopback(ip))
		return true;
	for (size_t i = 0; i < c->n_host_addrs; i++)
		if (mxg_ip_equal(&c->host_addrs[i], ip))
			return true;
	return false;
}

void ctl_host_refresh(struct controller *c, const struct ifaddrs *ifa, int err)
{
	size_t n;

	if (err) {
		if (!c->host_addrs_failing)
			log_warn("cannot list this host's addresses (getifaddrs: %s); keeping the "
				 "%zu known, so a new address of this host may be counted as an "
				 "offender until it works again",
				 strerror(err), c->n_host_addrs);
		c->host_addrs_failing = true;
		return;
	}
	if (c->host_addrs_failing)
		log_notice("listing this host's addresses works again");
	c->host_addrs_failing = false;
	n = mxg_ip_from_ifaddrs(ifa, c->host_addrs, MXG_MAX_HOST_ADDRESSES);
	if (n > MXG_MAX_HOST_ADDRESSES && !c->host_addrs_full)
		log_warn("this host has %zu addresses; only the first %d are known as its own, a "
			 "client on another one can be counted as an offender",
			 n, MXG_MAX_HOST_ADDRESSES);
	c->host_addrs_full = n > MXG_MAX_HOST_ADDRESSES;
	c->n_host_addrs = c->host_addrs_full ? MXG_MAX_HOST_ADDRESSES : n;
}
