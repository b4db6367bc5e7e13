/* SPDX-License-Identifier: GPL-2.0-only */
/* Between dns.c (I/O) and dns_parse.c (pure packet reading): not a public
 * interface. */
#ifndef MXG_DNS_INT_H
#define MXG_DNS_INT_H

#include <ldns/ldns.h>

#include "dns.h"

#define DNS_CNAME_HOPS 8 /* CNAME links followed per name */

/* Read an MX answer into set (status, hosts without addresses, ttl_s
 * unclamped: the MX TTL, or the SOA minimum of a negative answer). */
int dns_mx_from_pkt(const ldns_pkt *pkt, const char *domain, struct mx_set *set);

/*
 * Read the A or AAAA answer for qname into h (deduplicated, bounded),
 * following CNAMEs inside the answer. *ttl is lowered to the TTLs used.
 * *chain_end is set (caller frees) when the chain ends at another name
 * without records of the type, so the caller may ask for that name.
 * Returns the number of addresses added.
 */
size_t dns_addrs_from_pkt(const ldns_pkt *pkt, const ldns_rdf *qname, ldns_rr_type type,
			  struct mx_host *h, uint32_t *ttl, ldns_rdf **chain_end);

/* "Mx1.Example.Test." -> "mx1.example.test"; root -> "". 0 or -ENAMETOOLONG. */
int dns_name_str(const ldns_rdf *name, char *buf, size_t len);

/* "SERVFAIL", "REFUSED", ... */
const char *dns_rcode_str(ldns_pkt_rcode rcode);

#endif
