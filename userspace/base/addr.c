// SPDX-License-Identifier: GPL-2.0-only
/* Address helpers; see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"

int mxg_ip_parse(const char *s, struct mxg_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &ip->v6) == 1) {
		ip->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *mxg_ip_str(const struct mxg_ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->family,
		       ip->family == AF_INET ? (const void *)&ip->v4 : (const void *)&ip->v6, buf,
		       len))
		snprintf(buf, len, "?");
	return buf;
}

int mxg_ip_cmp(const struct mxg_ip *a, const struct mxg_ip *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	if (a->family == AF_INET)
		return memcmp(&a->v4, &b->v4, sizeof(a->v4));
	return memcmp(&a->v6, &b->v6, sizeof(a->v6));
}

uint64_t mxg_ip_hash(const struct mxg_ip *ip, uint64_t seed)
{
	uint64_t h = mxg_hash(MXG_HASH_INIT ^ seed, &ip->family, sizeof(ip->family));

	if (ip->family == AF_INET)
		return mxg_hash(h, &ip->v4, sizeof(ip->v4));
	return mxg_hash(h, &ip->v6, sizeof(ip->v6));
}

bool mxg_ip_equal(const struct mxg_ip *a, const struct mxg_ip *b)
{
	return mxg_ip_cmp(a, b) == 0;
}

bool mxg_ip_is_loopback(const struct mxg_ip *ip)
{
	if (ip->family == AF_INET)
		return (ntohl(ip->v4.s_addr) >> 24) == 127;
	/* A mapped address a caller kept as IPv6 is still IPv4's loopback. */
	return ip->family == AF_INET6 &&
	       (IN6_IS_ADDR_LOOPBACK(&ip->v6) ||
		(IN6_IS_ADDR_V4MAPPED(&ip->v6) && ip->v6.s6_addr[12] == 127));
}

socklen_t mxg_ip_to_sockaddr(const struct mxg_ip *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = ip->v4;
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = ip->v6;
		return sizeof(*sin6);
	}
}

int mxg_ip_from_sockaddr(const struct sockaddr *sa, struct mxg_ip *ip, uint16_t *port)
{
	memset(ip, 0, sizeof(*ip));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		ip->family = AF_INET;
		ip->v4 = sin->sin_addr;
		if (port)
			*port = ntohs(sin->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			ip->family = AF_INET;
			memcpy(&ip->v4, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			ip->family = AF_INET6;
			ip->v6 = sin6->sin6_addr;
		}
		if (port)
			*port = ntohs(sin6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

size_t mxg_ip_from_ifaddrs(const struct ifaddrs *ifa, struct mxg_ip *out, size_t max)
{
	size_t n = 0;

	for (; ifa; ifa = ifa->ifa_next) {
		struct mxg_ip ip;

		if (!ifa->ifa_addr || mxg_ip_from_sockaddr(ifa->ifa_addr, &ip, NULL) < 0)
			continue;
		if (n < max)
			out[n] = ip;
		n++;
	}
	return n;
}
