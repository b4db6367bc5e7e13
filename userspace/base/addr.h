/* SPDX-License-Identifier: GPL-2.0-only */
/* IPv4/IPv6 addresses as one type: parse, print, compare, hash. */
#ifndef MXG_ADDR_H
#define MXG_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct mxg_ip {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* INET6_ADDRSTRLEN plus brackets and room for ":port". */
#define MXG_ADDRSTRLEN 56

/* Parse "192.0.2.1" or "2001:db8::1" (no brackets). 0 or -EINVAL. */
int mxg_ip_parse(const char *s, struct mxg_ip *ip);
/* Format the address alone. Returns buf. */
const char *mxg_ip_str(const struct mxg_ip *ip, char *buf, size_t len);
/* The one order of addresses: IPv4 before IPv6, then by the bytes in
 * network order; <0, 0 or >0 like memcmp. */
int mxg_ip_cmp(const struct mxg_ip *a, const struct mxg_ip *b);
bool mxg_ip_equal(const struct mxg_ip *a, const struct mxg_ip *b);
/* 127/8, ::1 or ::ffff:127/104: this host, whatever its interfaces. */
bool mxg_ip_is_loopback(const struct mxg_ip *ip);
/* The address's hash (hash.h) from seed, the same for equal addresses:
 * for tables indexed by client or primary address. */
uint64_t mxg_ip_hash(const struct mxg_ip *ip, uint64_t seed);
/* sockaddr with port; returns its length. */
socklen_t mxg_ip_to_sockaddr(const struct mxg_ip *ip, uint16_t port, struct sockaddr_storage *ss);
int mxg_ip_from_sockaddr(const struct sockaddr *sa, struct mxg_ip *ip, uint16_t *port);
/* The IPv4 and IPv6 addresses of a getifaddrs() list, the first max of
 * them into out. Returns how many the list has: more than max means the
 * rest did not fit. */
struct ifaddrs;
size_t mxg_ip_from_ifaddrs(const struct ifaddrs *ifa, struct mxg_ip *out, size_t max);

#endif
