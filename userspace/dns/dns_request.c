// SPDX-License-Identifier: GPL-2.0-only
/*
 * A request resolves one domain's MX set: the MX query, then the A and
 * AAAA of every host at once (CNAME chains that leave an answer are asked
 * for, a bounded number of hops), then one callback from a clean stack
 * with addresses sorted and the TTL clamped.
 */
#include "dns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int host_query(struct dns_request *req, int host, ldns_rr_type type, const ldns_rdf *name,
		      unsigned hops)
{
	int fam = type == LDNS_RR_TYPE_A ? 0 : 1;
	int ret = dns_query_new(req, name, type, host, hops);

	if (ret < 0)
		req->fam_status[host][fam] = MX_ERROR;
	return ret;
}

/* A zeroed request: a spare one, else a new one. */
static struct dns_request *request_get(struct dns_resolver *r)
{
	struct dns_request *req;

	if (!r->n_spare)
		return calloc(1, sizeof(struct dns_request));
	req = r->spare[--r->n_spare];
	memset(req, 0, sizeof(*req));
	return req;
}

/* Done with req (off every list): kept as a spare, or freed. */
static void request_put(struct dns_resolver *r, struct dns_request *req)
{
	if (r->n_spare < DNS_SPARE_REQUESTS)
		r->spare[r->n_spare++] = req;
	else
		free(req);
}

void dns_request_spares_free(struct dns_resolver *r)
{
	while (r->n_spare)
		free(r->spare[--r->n_spare]);
}

/* Take req off the resolver's list of requests. */
static void request_unlink(struct dns_request *req)
{
	LIST_REMOVE(req, link);
}

static void request_deliver(struct ev_loop *loop, void *arg)
{
	struct dns_request *req = arg;
	struct dns_resolver *r = req->r;

	request_unlink(req);
	req->cb(req->arg, &req->set);
	/* No callback frees the resolver (dns.h): r is still there. */
	request_put(r, req);
}

static int ip_cmp(const void *a, const void *b)
{
	return mxg_ip_cmp(a, b);
}

/* Combine what A and AAAA said about a host. */
static enum mx_status host_status(const struct mx_host *h, const uint8_t st[2])
{
	if (h->n_addrs)
		return MX_OK;
	if (st[0] == MX_ERROR || st[1] == MX_ERROR)
		return MX_ERROR;
	if (st[0] == MX_NXDOMAIN && st[1] == MX_NXDOMAIN)
		return MX_NXDOMAIN;
	return MX_NO_RECORDS;
}

static void request_finish(struct dns_request *req)
{
	struct mx_set *set = &req->set;

	if (set->status == MX_OK) {
		for (size_t i = 0; i < set->n_hosts; i++) {
			struct mx_host *h = &set->hosts[i];

			h->addr_status = host_status(h, req->fam_status[i]);
			qsort(h->addrs, h->n_addrs, sizeof(h->addrs[0]), ip_cmp);
		}
		if (set->ttl_s > req->ttl)
			set->ttl_s = req->ttl;
	}
	set->ttl_s = mxg_dns_ttl_clamp(set->ttl_s);
	if (ev_timer_start(req->r->loop, &req->done_timer, 0) < 0)
		log_err("dns: cannot schedule the answer for %s: out of memory", set->domain);
}

void dns_request_query_done(struct dns_request *req)
{
	if (--req->pending == 0)
		request_finish(req);
}

static void mx_answered(struct dns_request *req, const ldns_pkt *pkt)
{
	struct mx_set *set = &req->set;
	char domain[sizeof(set->domain)];

	memcpy(domain, set->domain, sizeof(domain));
	if (dns_mx_from_pkt(pkt, domain, set) < 0) {
		set->status = MX_ERROR;
		snprintf(set->error, sizeof(set->error),
			 "cannot read the MX answer: out of memory");
		return;
	}
	if (set->status != MX_OK)
		return;
	req->ttl = set->ttl_s;
	for (size_t i = 0; i < set->n_hosts && !req->mx_only; i++) {
		ldns_rdf *name = ldns_dname_new_frm_str(set->hosts[i].name);

		if (!name) {
			req->fam_status[i][0] = req->fam_status[i][1] = MX_ERROR;
			continue;
		}
		req->fam_status[i][0] = req->fam_status[i][1] = MX_NO_RECORDS;
		host_query(req, (int)i, LDNS_RR_TYPE_A, name, 0);
		host_query(req, (int)i, LDNS_RR_TYPE_AAAA, name, 0);
		ldns_rdf_deep_free(name);
	}
}

static void addr_answered(struct dns_request *req, struct dns_query *q, const ldns_pkt *pkt)
{
	struct mx_host *h = &req->set.hosts[q->host];
	int fam = q->type == LDNS_RR_TYPE_A ? 0 : 1;
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	ldns_rdf *chain_end = NULL;
	uint8_t *st = &req->fam_status[q->host][fam];

	if (rcode == LDNS_RCODE_NXDOMAIN) {
		*st = MX_NXDOMAIN;
		return;
	}
	if (rcode != LDNS_RCODE_NOERROR) {
		*st = MX_ERROR;
		return;
	}
	if (dns_addrs_from_pkt(pkt, q->qname, q->type, h, &req->ttl, &chain_end) > 0)
		*st = MX_OK;
	if (chain_end) {
		/* The CNAME chain leaves the answer: ask for its end. */
		if (q->hops + 1 < DNS_CNAME_HOPS)
			host_query(req, q->host, q->type, chain_end, q->hops + 1);
		ldns_rdf_deep_free(chain_end);
	}
}

void dns_request_answered(struct dns_query *q, const ldns_pkt *pkt)
{
	if (q->host < 0)
		mx_answered(q->req, pkt);
	else
		addr_answered(q->req, q, pkt);
}

void dns_request_failed(struct dns_query *q)
{
	struct dns_request *req = q->req;
	struct dns_resolver *r = req->r;

	if (q->host >= 0) {
		req->fam_status[q->host][q->type == LDNS_RR_TYPE_A ? 0 : 1] = MX_ERROR;
		return;
	}
	req->set.status = MX_ERROR;
	if (r->refused)
		snprintf(req->set.error, sizeof(req->set.error),
			 "no answer from DNS server %s: connection refused (is it running?)",
			 r->server_str);
	else if (q->err[0])
		snprintf(req->set.error, sizeof(req->set.error), "%s", q->err);
	else
		snprintf(req->set.error, sizeof(req->set.error),
			 "no answer from DNS server %s after %u attempts of %u ms", r->server_str,
			 r->attempts, r->timeout_ms);
}

/* A request for name, on r's list; the first query is the caller's. */
static struct dns_request *request_new(struct dns_resolver *r, const char *name, mx_resolve_cb cb,
				       void *arg, ldns_rdf **dname, int *err)
{
	struct dns_request *req;
	size_t n = strlen(name);

	*err = -EINVAL;
	if (!cb || n == 0 || n >= sizeof(req->set.domain))
		return NULL;
	*dname = ldns_dname_new_frm_str(name); /* absolute: no search list */
	if (!*dname)
		return NULL;
	req = request_get(r);
	if (!req) {
		ldns_rdf_deep_free(*dname);
		*err = -ENOMEM;
		return NULL;
	}
	req->r = r;
	LIST_INIT(&req->queries);
	req->cb = cb;
	req->arg = arg;
	req->ttl = UINT32_MAX;
	ev_timer_init(&req->done_timer, request_deliver, req);
	*err = dns_name_str(*dname, req->set.domain, sizeof(req->set.domain));
	if (*err) {
		ldns_rdf_deep_free(*dname);
		request_put(r, req);
		return NULL;
	}
	return req;
}

static void request_link(struct dns_request *req)
{
	LIST_INSERT_HEAD(&req->r->reqs, req, link);
}

static int resolve_mx(struct dns_resolver *r, const char *domain, bool mx_only, mx_resolve_cb cb,
		      void *arg)
{
	struct dns_request *req;
	ldns_rdf *name;
	int ret;

	req = request_new(r, domain, cb, arg, &name, &ret);
	if (!req)
		return ret;
	req->mx_only = mx_only;
	/* On the list first: an answer can never come before it is. */
	request_link(req);
	ret = dns_query_new(req, name, LDNS_RR_TYPE_MX, -1, 0);
	ldns_rdf_deep_free(name);
	if (ret < 0) {
		request_unlink(req);
		request_put(r, req);
		return ret;
	}
	return 0;
}

int dns_resolve_mx(struct dns_resolver *r, const char *domain, mx_resolve_cb cb, void *arg)
{
	return resolve_mx(r, domain, false, cb, arg);
}

int dns_resolve_mx_only(struct dns_resolver *r, const char *domain, mx_resolve_cb cb, void *arg)
{
	return resolve_mx(r, domain, true, cb, arg);
}

int dns_resolve_addrs(struct dns_resolver *r, const char *host, mx_resolve_cb cb, void *arg)
{
	struct dns_request *req;
	struct mx_host *h;
	ldns_rdf *name;
	int ret, ra, rb;

	req = request_new(r, host, cb, arg, &name, &ret);
	if (!req)
		return ret;
	/* One host, as if an MX answer had named it. */
	h = &req->set.hosts[0];
	memcpy(h->name, req->set.domain, sizeof(h->name));
	req->set.n_hosts = 1;
	req->set.status = MX_OK;
	req->set.ttl_s = UINT32_MAX;
	req->fam_status[0][0] = req->fam_status[0][1] = MX_NO_RECORDS;
	request_link(req);
	ra = host_query(req, 0, LDNS_RR_TYPE_A, name, 0);
	rb = host_query(req, 0, LDNS_RR_TYPE_AAAA, name, 0);
	ldns_rdf_deep_free(name);
	if (ra < 0 && rb < 0) {
		request_unlink(req);
		request_put(r, req);
		return ra;
	}
	return 0;
}

void dns_request_free(struct dns_request *req)
{
	struct dns_resolver *r = req->r;

	while (!LIST_EMPTY(&req->queries))
		dns_query_free(LIST_FIRST(&req->queries));
	ev_timer_stop(r->loop, &req->done_timer);
	request_unlink(req);
	request_put(r, req);
}

void dns_cancel(struct dns_resolver *r, void *arg)
{
	struct dns_request *req, *next;

	for (req = LIST_FIRST(&r->reqs); req; req = next) {
		next = LIST_NEXT(req, link);
		if (req->arg == arg)
			dns_request_free(req);
	}
}
