/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Non-blocking DNS on the event loop. ldns builds and parses the packets
 * (ldns_pkt2wire, ldns_wire2pkt); the UDP/TCP I/O, retries, ID and question
 * matching and TCP fallback on truncation are ours, so hundreds of queries
 * run at once in the daemon's one thread. Names are queried absolute
 * (trailing dot): no search list ever applies.
 *
 * Against off-path forgery (RFC 5452): every attempt of every query leaves
 * from a UDP socket of a rotated pool (kernel-chosen random ports,
 * connect()ed to the resolver; a retry never from its last socket) with a
 * new random ID, unique on its socket, and a new random 0x20 case pattern
 * in the question; an answer is taken only on that socket, from the
 * resolver's address and port, with the ID and the question octet for
 * octet as sent. Anything else is dropped and counted (dns_stats.forged);
 * dns_usock.c says why the pool keeps the entropy of a socket per query.
 */
#ifndef MXG_DNS_H
#define MXG_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "event.h"

#define MXG_MX_MAX_HOSTS 32  /* MX records kept per domain */
#define MXG_MX_MAX_ADDRS 16  /* A+AAAA kept per MX host */
#define MXG_DNS_TTL_MIN_S 30 /* TTLs are clamped to this range: mxg_dns_ttl_clamp() */
#define MXG_DNS_TTL_MAX_S 3600

enum mx_status {
	MX_OK,	       /* MX records found (hosts[] filled) */
	MX_NULL,       /* RFC 7505 null MX: the domain accepts no mail */
	MX_NO_RECORDS, /* NOERROR/NODATA for MX: implicit MX (RFC 5321 5.1) */
	MX_NXDOMAIN,   /* the domain does not exist */
	MX_ERROR,      /* SERVFAIL, REFUSED, timeout, garbage: no usable answer */
};

/* The one spelling of an MX answer's status: status (text and JSON
 * `dns.last`), `mxgate probe` (`mx_status`, `address_status`), logs. */
static inline const char *mxg_mx_status_str(unsigned s)
{
	static const char *const names[] = {
	    [MX_OK] = "ok",
	    [MX_NULL] = "null-mx",
	    [MX_NO_RECORDS] = "no-records",
	    [MX_NXDOMAIN] = "nxdomain",
	    [MX_ERROR] = "error",
	};
	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "error";
}

struct mx_host {
	char name[256]; /* lower case, no trailing dot */
	uint16_t pref;
	struct mxg_ip addrs[MXG_MX_MAX_ADDRS];
	size_t n_addrs;
	enum mx_status addr_status; /* MX_OK, or why no address */
};

struct mx_set {
	char domain[256];
	enum mx_status status;
	char error[160];			/* human text for MX_ERROR / MX_NXDOMAIN */
	uint32_t ttl_s;				/* min TTL over the answers used, clamped */
	struct mx_host hosts[MXG_MX_MAX_HOSTS]; /* sorted by pref, then name */
	size_t n_hosts;
};

/* A TTL in seconds as mxgate uses it: at least MXG_DNS_TTL_MIN_S (a zero
 * TTL must not make us ask in a tight loop), at most MXG_DNS_TTL_MAX_S (a
 * changed MX set is seen within the hour). The one place TTLs are clamped;
 * every mx_set a lookup delivers has its ttl_s through it. */
static inline uint32_t mxg_dns_ttl_clamp(uint32_t ttl_s)
{
	if (ttl_s < MXG_DNS_TTL_MIN_S)
		return MXG_DNS_TTL_MIN_S;
	if (ttl_s > MXG_DNS_TTL_MAX_S)
		return MXG_DNS_TTL_MAX_S;
	return ttl_s;
}

struct dns_resolver;

struct dns_options {
	unsigned timeout_ms;  /* per attempt; default 2000 */
	unsigned attempts;    /* UDP tries before giving up; default 3 */
	unsigned max_sockets; /* queries in flight at once; default 256; more wait */
	unsigned sock_uses;   /* attempts one UDP socket carries; default and most 64 */
};

struct dns_stats {
	uint64_t sent;	      /* attempts sent (UDP and TCP) */
	uint64_t forged;      /* answers dropped: wrong ID, question or case */
	uint64_t waited;      /* queries that waited for a free slot */
	uint64_t udp_sockets; /* UDP sockets opened */
	unsigned max_open;    /* most queries in flight at once */
};

/* server: the resolver address with its port (53). */
struct dns_resolver *dns_resolver_new(struct ev_loop *loop, const struct sockaddr *server,
				      socklen_t server_len, const struct dns_options *opts);
/* Never from one of its own callbacks. */
void dns_resolver_free(struct dns_resolver *r);
struct ev_loop *dns_resolver_loop(const struct dns_resolver *r);
/* Counters since dns_resolver_new. */
void dns_resolver_stats(const struct dns_resolver *r, struct dns_stats *out);
/* First nameserver of /etc/resolv.conf (or 127.0.0.1), port 53. */
int dns_default_server(struct sockaddr_storage *ss, socklen_t *len);

/* Called once per request, from the event loop; set is valid only during
 * the call. */
typedef void (*mx_resolve_cb)(void *arg, const struct mx_set *set);
/* Resolve domain's MX set and the A/AAAA of every host (CNAMEs followed as
 * the server gives them). Returns 0 (callback will come) or -errno. */
int dns_resolve_mx(struct dns_resolver *r, const char *domain, mx_resolve_cb cb, void *arg);
/* The MX records only: hosts without addresses (dns_cache.c asks for
 * those itself, once per host for every domain). */
int dns_resolve_mx_only(struct dns_resolver *r, const char *domain, mx_resolve_cb cb, void *arg);
/* The A and AAAA of one host: the set has status MX_OK and one host,
 * hosts[0], with its addresses and addr_status; ttl_s is theirs. */
int dns_resolve_addrs(struct dns_resolver *r, const char *host, mx_resolve_cb cb, void *arg);
/* Cancel every outstanding request whose arg is arg (no callback). */
void dns_cancel(struct dns_resolver *r, void *arg);

/* Pure: parse one MX answer packet (wire format) into set->hosts without
 * addresses, the way the resolver reads its answers (dns_mx_from_pkt);
 * for the unit tests and the fuzzer. 0 or negative errno. */
int dns_parse_mx_answer(const uint8_t *wire, size_t len, const char *domain, struct mx_set *set);

#endif
