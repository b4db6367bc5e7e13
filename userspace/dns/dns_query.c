// SPDX-License-Identifier: GPL-2.0-only
/*
 * One DNS question over UDP, hardened against off-path forgery (RFC 5452):
 * each attempt leaves from a socket of the pool (dns_usock.c: connect()ed,
 * on a random port, rotated; never the last attempt's), carries a new
 * random ID (one no other attempt on that socket had) and a new random
 * 0x20 case pattern in the question, and is answered only by a datagram
 * that arrives on that socket and repeats ID and question octet for octet.
 * A forger must guess port, ID and case at once, for one attempt's
 * lifetime. Anything else is dropped and counted, never an end of the
 * query: the attempt timer decides what happens next.
 */
#include "dns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void query_timer(struct ev_loop *loop, void *arg);

void dns_query_close_socket(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;

	if (q->us) {
		dns_usock_leave(q->us, q->us_slot);
		q->us = NULL;
	}
	if (q->fd >= 0) {
		ev_io_del(r->loop, q->fd);
		close(q->fd);
		q->fd = -1;
	}
	free(q->tcp_answer);
	q->tcp_answer = NULL;
	q->tcp_pos = 0;
}

void dns_query_free(struct dns_query *q)
{
	struct dns_request *req = q->req;

	ev_timer_stop(req->r->loop, &q->timer);
	dns_query_close_socket(q);
	dns_slot_release(q);
	LIST_REMOVE(q, link);
	ldns_rdf_deep_free(q->qname);
	free(q->wire);
	free(q);
}

int dns_query_randomize(struct dns_query *q, const struct dns_usock *us)
{
	uint8_t *msg = q->wire + 2;
	uint8_t bits[2 + 32]; /* the ID, then one bit per letter (names <= 255) */
	uint16_t old = (uint16_t)(msg[0] << 8 | msg[1]), id;
	size_t pos = DNS_HDR_LEN, letter = 0;

	if (dns_random(q->req->r, bits, sizeof(bits)) < 0)
		return -EIO;
	id = (uint16_t)(bits[0] << 8 | bits[1]);
	/* A retry never repeats the last ID; on a shared socket, no two
	 * attempts share one (an answer finds its attempt by ID). */
	while (id == old || (us && dns_usock_id_taken(us, id))) {
		if (dns_random(q->req->r, bits, 2) < 0)
			return -EIO;
		id = (uint16_t)(bits[0] << 8 | bits[1]);
	}
	msg[0] = (uint8_t)(id >> 8);
	msg[1] = (uint8_t)id;
	/* 0x20 (draft-vixie-dnsext-dns0x20): flip the case of each letter of
	 * the uncompressed question name at random. */
	while (pos < q->wire_len - 2 && msg[pos]) {
		size_t lab = msg[pos++];

		for (size_t i = 0; i < lab && pos < q->wire_len - 2; i++, pos++) {
			uint8_t c = msg[pos];

			if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
				bool up = bits[2 + letter / 8] >> (letter % 8) & 1;

				msg[pos] = up ? (uint8_t)(c & ~0x20) : (uint8_t)(c | 0x20);
				letter++;
			}
		}
	}
	return 0;
}

int dns_answer_matches(const struct dns_query *q, const uint8_t *a, size_t len)
{
	const uint8_t *m = q->wire + 2;

	/* ID; QR set and opcode QUERY; exactly one question; that question
	 * (name in this attempt's case, type, class) as we sent it. The
	 * question is the first name in the message, so it cannot be
	 * compressed: a plain octet compare is exact. */
	if (len < DNS_HDR_LEN + q->question_len)
		return -EPROTO;
	if (a[0] != m[0] || a[1] != m[1] || !(a[2] & 0x80) || (a[2] & 0x78) != 0)
		return -EPROTO;
	if (a[4] != 0 || a[5] != 1)
		return -EPROTO;
	if (memcmp(a + DNS_HDR_LEN, m + DNS_HDR_LEN, q->question_len) != 0)
		return -EPROTO;
	return 0;
}

void dns_query_send_udp(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;
	struct dns_usock *last = q->us;
	unsigned last_slot = q->us_slot;
	int ret;

	/* The new attempt is entered on its socket before the last one
	 * leaves its own, so the two never share a port. */
	q->us = NULL;
	dns_query_close_socket(q); /* a TCP attempt's, if any */
	ret = dns_usock_take(q, last);
	if (last)
		dns_usock_leave(last, last_slot);
	if (ret < 0) {
		snprintf(q->err, sizeof(q->err), "cannot send a query to %s: %s", r->server_str,
			 strerror(-ret));
		return;
	}
	q->state = Q_UDP;
	r->stats.sent++;
	if (send(q->us->fd, q->wire + 2, q->wire_len - 2, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno == ECONNREFUSED)
			r->refused = true;
		snprintf(q->err, sizeof(q->err), "cannot send to %s: %s", r->server_str,
			 strerror(errno));
	}
	/* Lost or not, the attempt timer decides what happens next. */
}

/* The query as octets: the header (RD set: a recursive resolver
 * recurses, an authoritative one ignores it; ID 0 until
 * dns_query_randomize), one question. Written here rather than built as
 * an ldns packet and converted: that was eight allocations a query, 340
 * queries a second at 100,000 domains. */
static int query_wire(struct dns_query *q, const ldns_rdf *name, ldns_rr_type type)
{
	size_t nlen = ldns_rdf_size(name), len = DNS_HDR_LEN + nlen + 4;
	uint8_t *w;

	if (ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME || !nlen ||
	    nlen > LDNS_MAX_DOMAINLEN + 1)
		return -EINVAL;
	w = calloc(1, len + 2);
	if (!w)
		return -ENOMEM;
	w[0] = (uint8_t)(len >> 8);
	w[1] = (uint8_t)len;
	w[2 + 2] = 0x01; /* RD */
	w[2 + 5] = 1;	 /* QDCOUNT */
	memcpy(w + 2 + DNS_HDR_LEN, ldns_rdf_data(name), nlen);
	w[2 + DNS_HDR_LEN + nlen] = (uint8_t)(type >> 8);
	w[2 + DNS_HDR_LEN + nlen + 1] = (uint8_t)type;
	w[2 + DNS_HDR_LEN + nlen + 3] = LDNS_RR_CLASS_IN;
	q->wire = w;
	q->wire_len = len + 2;
	q->question_len = nlen + 4;
	return 0;
}

int dns_query_new(struct dns_request *req, const ldns_rdf *name, ldns_rr_type type, int host,
		  unsigned hops)
{
	struct dns_resolver *r = req->r;
	struct dns_query *q;
	int ret = -ENOMEM;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->req = req;
	q->type = type;
	q->host = host;
	q->hops = hops;
	q->fd = -1;
	q->state = Q_WAITING;
	ev_timer_init(&q->timer, query_timer, q);
	q->qname = ldns_rdf_clone(name);
	if (!q->qname)
		goto err;
	ret = query_wire(q, name, type);
	if (ret < 0)
		goto err;
	LIST_INSERT_HEAD(&req->queries, q, link);
	req->pending++;
	if (!dns_slot_take(q))
		return 0; /* dispatch() starts it when a socket frees */
	q->state = Q_UDP;
	if (ev_timer_start(r->loop, &q->timer, r->timeout_ms) < 0) {
		req->pending--;
		dns_query_free(q);
		return -ENOMEM;
	}
	dns_query_send_udp(q);
	return 0;
err:
	ldns_rdf_deep_free(q->qname);
	free(q->wire);
	free(q);
	return ret;
}

static void query_timer(struct ev_loop *loop, void *arg)
{
	struct dns_query *q = arg;
	struct dns_resolver *r = q->req->r;

	if (++q->attempt >= r->attempts) {
		dns_query_failed(q);
		return;
	}
	if (ev_timer_start(loop, &q->timer, r->timeout_ms) < 0) {
		dns_query_failed(q);
		return;
	}
	if (q->state == Q_UDP)
		dns_query_send_udp(q);
	else
		dns_query_start_tcp(q);
}

void dns_query_udp_answer(struct dns_query *q, uint8_t *wire, size_t len)
{
	struct dns_resolver *r = q->req->r;
	ldns_pkt *pkt = NULL;

	if (dns_answer_matches(q, wire, len) < 0) {
		r->stats.forged++;
		snprintf(q->err, sizeof(q->err),
			 "%s: answer with a wrong ID or question case (forged, "
			 "or a resolver that alters case)",
			 r->server_str);
		return;
	}
	if (dns_wire2pkt(&pkt, wire, len) < 0) {
		snprintf(q->err, sizeof(q->err), "malformed answer from %s", r->server_str);
		return;
	}
	if (ldns_pkt_tc(pkt)) {
		/* Truncated: ask again over TCP (RFC 7766), as a fresh
		 * attempt with its own timeout. */
		ldns_pkt_free(pkt);
		snprintf(q->err, sizeof(q->err), "truncated over UDP; TCP to %s failed",
			 r->server_str);
		if (ev_timer_start(r->loop, &q->timer, r->timeout_ms) < 0) {
			dns_query_failed(q);
			return;
		}
		dns_query_start_tcp(q); /* leaves the UDP socket */
		return;
	}
	dns_query_answered(q, pkt); /* frees q, which leaves its socket */
	ldns_pkt_free(pkt);
}

void dns_query_answered(struct dns_query *q, const ldns_pkt *pkt)
{
	struct dns_request *req = q->req;

	dns_request_answered(q, pkt);
	dns_query_free(q);
	dns_request_query_done(req);
}

void dns_query_failed(struct dns_query *q)
{
	struct dns_request *req = q->req;

	dns_request_failed(q);
	dns_query_free(q);
	dns_request_query_done(req);
}
