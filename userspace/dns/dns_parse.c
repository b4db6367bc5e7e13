// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading DNS answers into an MX set: pure functions over packets that
 * ldns has parsed, no I/O, so the fuzzer and the unit tests drive them with
 * canned packets. Everything from the wire is bounded here: host count,
 * address count, name length, CNAME hops.
 */
#include "dns_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dns_name_str(const ldns_rdf *name, char *buf, size_t len)
{
	const uint8_t *d;
	size_t size, pos = 0, out = 0;

	if (!name || ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME || !len)
		return -EINVAL;
	d = ldns_rdf_data(name);
	size = ldns_rdf_size(name);
	if (size > LDNS_MAX_DOMAINLEN)
		return -ENAMETOOLONG;
	/* ldns's text form of a name (ldns_rdf2buffer_str_dname: the same
	 * octets escaped the same way), in lower case and without the
	 * trailing dot, written here: ldns_rdf2str allocated a buffer and a
	 * string for every name of every answer. */
	while (pos < size && d[pos]) {
		size_t lab = d[pos++];

		for (size_t i = 0; i < lab && pos < size; i++, pos++) {
			unsigned char c = d[pos];
			char esc[8];
			int n = 1;

			if (i == 0 && out) {
				if (out + 1 >= len)
					return -ENAMETOOLONG;
				buf[out++] = '.';
			}
			if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
				esc[0] = '\\';
				esc[1] = (char)c;
				n = 2;
			} else if (!(isascii(c) && isgraph(c))) {
				n = snprintf(esc, sizeof(esc), "\\%03u", c);
			} else {
				esc[0] = (char)tolower(c);
			}
			if (out + (size_t)n >= len)
				return -ENAMETOOLONG;
			memcpy(buf + out, esc, (size_t)n);
			out += (size_t)n;
		}
	}
	buf[out] = '\0';
	return 0;
}

int dns_wire2pkt(ldns_pkt **pkt, uint8_t *wire, size_t len)
{
	/* Nothing here reads the additional section (glue addresses: every
	 * address is asked for itself), so ldns is told there is none and
	 * stops after the authority: it allocates a record, its owner and
	 * each field, a dozen times a record, and an MX answer's glue was
	 * half of its records. */
	if (len >= DNS_HDR_LEN)
		wire[10] = wire[11] = 0;
	if (ldns_wire2pkt(pkt, wire, len) != LDNS_STATUS_OK || !*pkt)
		return -EBADMSG;
	return 0;
}

/* "SERVFAIL", "REFUSED", ... */
static const char *dns_rcode_str(ldns_pkt_rcode rcode)
{
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		return "NOERROR";
	case LDNS_RCODE_FORMERR:
		return "FORMERR";
	case LDNS_RCODE_SERVFAIL:
		return "SERVFAIL";
	case LDNS_RCODE_NXDOMAIN:
		return "NXDOMAIN";
	case LDNS_RCODE_NOTIMPL:
		return "NOTIMPL";
	case LDNS_RCODE_REFUSED:
		return "REFUSED";
	default:
		return "an unexpected rcode";
	}
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The negative-caching TTL of an NXDOMAIN or NODATA answer (RFC 2308 5):
 * min(SOA TTL, SOA MINIMUM); without a SOA, the shortest we allow. */
static uint32_t negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);

	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const ldns_rdf *min;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7)
			continue;
		min = ldns_rr_rdf(rr, 6);
		if (ldns_rdf_size(min) != 4)
			continue;
		return min_u32(ldns_rr_ttl(rr), ldns_rdf2native_int32(min));
	}
	return MXG_DNS_TTL_MIN_S;
}

/* Follow CNAMEs inside the answer from name; returns a new rdf (caller
 * frees) and lowers *ttl to the CNAME TTLs used. */
static ldns_rdf *follow_cnames(const ldns_pkt *pkt, const ldns_rdf *name, uint32_t *ttl)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);
	ldns_rdf *cur = ldns_rdf_clone(name);

	for (unsigned hop = 0; cur && hop < DNS_CNAME_HOPS; hop++) {
		const ldns_rr *next = NULL;

		for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(ans, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
			    ldns_rr_rd_count(rr) == 1 &&
			    ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME &&
			    ldns_dname_compare(ldns_rr_owner(rr), cur) == 0) {
				next = rr;
				break;
			}
		}
		if (!next)
			break;
		*ttl = min_u32(*ttl, ldns_rr_ttl(next));
		ldns_rdf_deep_free(cur);
		cur = ldns_rdf_clone(ldns_rr_rdf(next, 0));
	}
	return cur;
}

static int host_cmp(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Keep a host: deduplicated by name (lowest preference wins); when full,
 * a lower preference displaces the highest, since the primaries are the
 * low ones and losing a high one only makes us fail open. */
static void add_host(struct mx_set *set, const char *name, uint16_t pref)
{
	struct mx_host *h = NULL;

	for (size_t i = 0; i < set->n_hosts; i++) {
		if (strcmp(set->hosts[i].name, name) == 0) {
			if (pref < set->hosts[i].pref)
				set->hosts[i].pref = pref;
			return;
		}
	}
	if (set->n_hosts < MXG_MX_MAX_HOSTS) {
		h = &set->hosts[set->n_hosts++];
	} else {
		size_t worst = 0;

		for (size_t i = 1; i < set->n_hosts; i++)
			if (set->hosts[i].pref > set->hosts[worst].pref)
				worst = i;
		if (set->hosts[worst].pref <= pref)
			return;
		h = &set->hosts[worst];
	}
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->pref = pref;
	h->addr_status = MX_NO_RECORDS;
}

static void set_domain(struct mx_set *set, const char *domain)
{
	size_t n = strnlen(domain, sizeof(set->domain) - 1);

	if (n && domain[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++)
		set->domain[i] = (char)tolower((unsigned char)domain[i]);
	set->domain[n] = '\0';
}

int dns_mx_from_pkt(const ldns_pkt *pkt, const char *domain, struct mx_set *set)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	ldns_rdf *qname, *owner;
	uint32_t ttl = UINT32_MAX;
	unsigned null_mx = 0;
	char name[sizeof(set->hosts[0].name)];

	set_domain(set, domain);
	set->n_hosts = 0;
	set->error[0] = '\0';
	if (rcode == LDNS_RCODE_NXDOMAIN) {
		set->status = MX_NXDOMAIN;
		set->ttl_s = negative_ttl(pkt);
		snprintf(set->error, sizeof(set->error), "domain does not exist (NXDOMAIN)");
		return 0;
	}
	if (rcode != LDNS_RCODE_NOERROR) {
		set->status = MX_ERROR;
		set->ttl_s = MXG_DNS_TTL_MIN_S;
		snprintf(set->error, sizeof(set->error), "the DNS server answered %s",
			 dns_rcode_str(rcode));
		return 0;
	}
	qname = ldns_dname_new_frm_str(domain);
	if (!qname) {
		set->status = MX_ERROR;
		snprintf(set->error, sizeof(set->error), "not a valid domain name");
		return -EINVAL;
	}
	owner = follow_cnames(pkt, qname, &ttl);
	ldns_rdf_deep_free(qname);
	if (!owner)
		return -ENOMEM;

	for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		const ldns_rdf *pref, *exch;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_MX ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) != 2 ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		pref = ldns_rr_mx_preference(rr);
		exch = ldns_rr_mx_exchange(rr);
		if (!pref || ldns_rdf_size(pref) != 2 || !exch ||
		    ldns_rdf_get_type(exch) != LDNS_RDF_TYPE_DNAME)
			continue;
		ttl = min_u32(ttl, ldns_rr_ttl(rr));
		if (ldns_dname_label_count(exch) == 0) {
			null_mx++; /* "." exchanges no mail (RFC 7505) */
			continue;
		}
		if (dns_name_str(exch, name, sizeof(name)) < 0)
			continue;
		add_host(set, name, ldns_rdf2native_int16(pref));
	}
	ldns_rdf_deep_free(owner);

	if (set->n_hosts) {
		set->status = MX_OK;
		qsort(set->hosts, set->n_hosts, sizeof(set->hosts[0]), host_cmp);
		set->ttl_s = ttl;
	} else if (null_mx) {
		set->status = MX_NULL;
		set->ttl_s = ttl;
	} else {
		set->status = MX_NO_RECORDS;
		set->ttl_s = negative_ttl(pkt);
	}
	return 0;
}

int dns_parse_mx_answer(const uint8_t *wire, size_t len, const char *domain, struct mx_set *set)
{
	ldns_pkt *pkt = NULL;
	uint8_t *copy;
	int ret;

	set_domain(set, domain);
	set->n_hosts = 0;
	set->status = MX_ERROR;
	set->ttl_s = MXG_DNS_TTL_MIN_S;
	copy = malloc(len ? len : 1);
	if (!copy) {
		snprintf(set->error, sizeof(set->error), "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, wire, len);
	ret = dns_wire2pkt(&pkt, copy, len);
	free(copy);
	if (ret < 0) {
		snprintf(set->error, sizeof(set->error), "malformed DNS answer");
		return -EBADMSG;
	}
	if (ldns_pkt_tc(pkt)) {
		snprintf(set->error, sizeof(set->error), "truncated DNS answer");
		ret = -EMSGSIZE;
		goto out;
	}
	ret = dns_mx_from_pkt(pkt, domain, set);
out:
	ldns_pkt_free(pkt);
	return ret;
}

static bool has_addr(const struct mx_host *h, const struct mxg_ip *ip)
{
	for (size_t i = 0; i < h->n_addrs; i++)
		if (mxg_ip_equal(&h->addrs[i], ip))
			return true;
	return false;
}

size_t dns_addrs_from_pkt(const ldns_pkt *pkt, const ldns_rdf *qname, ldns_rr_type type,
			  struct mx_host *h, uint32_t *ttl, ldns_rdf **chain_end)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);
	size_t want = type == LDNS_RR_TYPE_A ? 4 : 16, found = 0, added = 0;
	ldns_rdf *target;

	*chain_end = NULL;
	target = follow_cnames(pkt, qname, ttl);
	if (!target)
		return 0;
	for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		const ldns_rdf *rd;
		struct mxg_ip ip = {0};

		if (ldns_rr_get_type(rr) != type || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rd_count(rr) != 1 || ldns_dname_compare(ldns_rr_owner(rr), target) != 0)
			continue;
		rd = ldns_rr_rdf(rr, 0);
		if (ldns_rdf_size(rd) != want)
			continue;
		found++;
		*ttl = min_u32(*ttl, ldns_rr_ttl(rr));
		ip.family = type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6;
		memcpy(ip.family == AF_INET ? (void *)&ip.v4 : (void *)&ip.v6, ldns_rdf_data(rd),
		       want);
		if (h->n_addrs < MXG_MX_MAX_ADDRS && !has_addr(h, &ip)) {
			h->addrs[h->n_addrs++] = ip;
			added++;
		}
	}
	if (!found && ldns_dname_compare(target, qname) != 0)
		*chain_end = target;
	else
		ldns_rdf_deep_free(target);
	return added;
}
