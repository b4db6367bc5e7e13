/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small authoritative DNS server for unit tests, on the test's own event
 * loop (127.0.0.1, a kernel-chosen port, UDP and TCP): answers from a list
 * of RR strings, follows in-zone CNAMEs as nsd does, and can misbehave on
 * request (stay silent, spoof, truncate over UDP).
 */
#ifndef MXG_TEST_FAKE_DNS_H
#define MXG_TEST_FAKE_DNS_H

#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"

#define FAKE_DNS_LOG 16

/* MXG_TIME_SCALE (tests/lib/testnet.sh): how many times slower than the
 * machine these timeouts were written on this one runs (check-kernel's VM
 * under emulation measures it); 1 when unset or not a number from 1 to
 * 100. A test's own timeouts and the bounds it asserts are multiplied by
 * it, so an answer the test expects never loses the race by slowness. */
static inline unsigned fake_dns_scale(void)
{
	const char *s = getenv("MXG_TIME_SCALE");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return 1;
	v = strtoul(s, &end, 10);
	return *end || v < 1 || v > 100 ? 1 : (unsigned)v;
}
#define FAKE_DNS_SOA "test. 3600 IN SOA ns.test. admin.test. 1 3600 600 86400 60"

struct fake_dns {
	struct ev_loop *loop;
	int udp, tcp;
	struct sockaddr_in addr;
	const char *const *zone; /* RR strings, NULL-terminated */
	bool silent;		 /* never answer */
	bool tc_udp;		 /* answer every UDP query with TC and no records */
	bool spoof_first;	 /* before each answer: wrong ID, then wrong name */
	bool flip_case;		 /* answer with the question's letters case-flipped */
	bool cross;		 /* answer each UDP query to the next one's socket */
	int udp_queries, tcp_queries;
	/* What each UDP query looked like (the first FAKE_DNS_LOG of them). */
	uint16_t log_port[16], log_id[16];
	char log_qname[16][64];
	/* cross: the query waiting for a partner, and its answer. */
	struct sockaddr_storage held_to;
	socklen_t held_len;
	ldns_pkt *held;
	int conn_fd; /* one TCP connection at a time is enough */
	uint8_t conn_buf[600];
	size_t conn_len;
};

static ldns_pkt *fake_dns_answer(struct fake_dns *fd, const ldns_pkt *query, bool truncate)
{
	const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(query), 0);
	ldns_pkt *a = ldns_pkt_query_new(ldns_rdf_clone(ldns_rr_owner(q)), ldns_rr_get_type(q),
					 LDNS_RR_CLASS_IN, 0);
	ldns_rdf *name = ldns_rdf_clone(ldns_rr_owner(q));
	bool owner_exists = false, any = false;

	ldns_pkt_set_id(a, ldns_pkt_id(query));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	if (truncate) {
		ldns_pkt_set_tc(a, true);
		ldns_rdf_deep_free(name);
		return a;
	}
	for (int hop = 0; hop < 8; hop++) {
		ldns_rdf *next = NULL;

		for (const char *const *z = fd->zone; *z; z++) {
			ldns_rr *rr = NULL;

			if (ldns_rr_new_frm_str(&rr, *z, 0, NULL, NULL) != LDNS_STATUS_OK)
				continue;
			if (ldns_dname_compare(ldns_rr_owner(rr), name) != 0) {
				ldns_rr_free(rr);
				continue;
			}
			owner_exists = true;
			if (ldns_rr_get_type(rr) == ldns_rr_get_type(q)) {
				ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
				any = true;
			} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME) {
				next = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
				ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
			} else {
				ldns_rr_free(rr);
			}
		}
		if (any || !next) {
			ldns_rdf_deep_free(next);
			break;
		}
		ldns_rdf_deep_free(name);
		name = next;
	}
	ldns_rdf_deep_free(name);
	if (!any) {
		ldns_rr *soa = NULL;

		if (!owner_exists && ldns_pkt_ancount(a) == 0)
			ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
		if (ldns_rr_new_frm_str(&soa, FAKE_DNS_SOA, 0, NULL, NULL) == LDNS_STATUS_OK)
			ldns_pkt_push_rr(a, LDNS_SECTION_AUTHORITY, soa);
	}
	return a;
}

static void fake_dns_send_pkt(int fd, const struct sockaddr *to, socklen_t tolen, ldns_pkt *p,
			      bool tcp)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		return;
	if (tcp) {
		uint8_t *framed = malloc(len + 2);

		if (framed) {
			framed[0] = (uint8_t)(len >> 8);
			framed[1] = (uint8_t)len;
			memcpy(framed + 2, wire, len);
			/* Small: fits the socket buffer; a short write fails the test. */
			if (write(fd, framed, len + 2) != (ssize_t)(len + 2))
				fprintf(stderr, "fake_dns: short TCP write\n");
			free(framed);
		}
	} else if (sendto(fd, wire, len, 0, to, tolen) < 0) {
		fprintf(stderr, "fake_dns: sendto failed\n");
	}
	free(wire);
}

static void fake_dns_serve(struct fake_dns *fd, int sock, const uint8_t *buf, size_t n,
			   const struct sockaddr *to, socklen_t tolen, bool tcp)
{
	ldns_pkt *query = NULL, *a;

	if (ldns_wire2pkt(&query, buf, n) != LDNS_STATUS_OK)
		return;
	a = fake_dns_answer(fd, query, !tcp && fd->tc_udp);
	if (fd->flip_case) {
		ldns_rdf *o = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(a), 0));
		uint8_t *d = ldns_rdf_data(o);

		for (size_t i = 0; i < ldns_rdf_size(o); i++)
			if ((d[i] | 0x20) >= 'a' && (d[i] | 0x20) <= 'z')
				d[i] ^= 0x20;
	}
	if (fd->cross && !tcp) {
		if (!fd->held) {
			fd->held = a;
			memcpy(&fd->held_to, to, tolen);
			fd->held_len = tolen;
		} else {
			fake_dns_send_pkt(sock, to, tolen, fd->held, false);
			fake_dns_send_pkt(sock, (struct sockaddr *)&fd->held_to, fd->held_len, a,
					  false);
			ldns_pkt_free(fd->held);
			ldns_pkt_free(a);
			fd->held = NULL;
		}
		ldns_pkt_free(query);
		return;
	}
	if (fd->spoof_first && !tcp) {
		ldns_pkt *bad = fake_dns_answer(fd, query, false);
		ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(bad), 0);

		ldns_pkt_set_id(bad, (uint16_t)(ldns_pkt_id(query) + 1));
		fake_dns_send_pkt(sock, to, tolen, bad, false);
		ldns_pkt_set_id(bad, ldns_pkt_id(query));
		ldns_rdf_deep_free(ldns_rr_owner(q));
		ldns_rr_set_owner(q, ldns_dname_new_frm_str("spoofed.test."));
		fake_dns_send_pkt(sock, to, tolen, bad, false);
		ldns_pkt_free(bad);
	}
	fake_dns_send_pkt(sock, to, tolen, a, tcp);
	ldns_pkt_free(a);
	ldns_pkt_free(query);
}

static void fake_dns_udp(struct ev_loop *loop, int sock, unsigned events, void *arg)
{
	struct fake_dns *fd = arg;
	uint8_t buf[600];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n =
	    recvfrom(sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);

	if (n <= 0)
		return;
	if (fd->udp_queries < FAKE_DNS_LOG && n > 12) {
		ldns_pkt *q = NULL;
		int i = fd->udp_queries;

		fd->log_port[i] = ntohs(((struct sockaddr_in *)&from)->sin_port);
		fd->log_id[i] = (uint16_t)(buf[0] << 8 | buf[1]);
		if (ldns_wire2pkt(&q, buf, (size_t)n) == LDNS_STATUS_OK) {
			char *str =
			    ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));

			if (str)
				snprintf(fd->log_qname[i], sizeof(fd->log_qname[i]), "%s", str);
			free(str);
			ldns_pkt_free(q);
		}
	}
	fd->udp_queries++;
	if (!fd->silent)
		fake_dns_serve(fd, sock, buf, (size_t)n, (struct sockaddr *)&from, fromlen, false);
}

static void fake_dns_conn(struct ev_loop *loop, int sock, unsigned events, void *arg)
{
	struct fake_dns *fd = arg;
	ssize_t n = read(sock, fd->conn_buf + fd->conn_len, sizeof(fd->conn_buf) - fd->conn_len);
	size_t want;

	if (n <= 0) {
		ev_io_del(loop, sock);
		close(sock);
		fd->conn_fd = -1;
		return;
	}
	fd->conn_len += (size_t)n;
	if (fd->conn_len < 2)
		return;
	want = (size_t)fd->conn_buf[0] << 8 | fd->conn_buf[1];
	if (fd->conn_len < want + 2)
		return;
	fd->tcp_queries++;
	if (!fd->silent)
		fake_dns_serve(fd, sock, fd->conn_buf + 2, want, NULL, 0, true);
	ev_io_del(loop, sock);
	close(sock);
	fd->conn_fd = -1;
}

static void fake_dns_accept(struct ev_loop *loop, int sock, unsigned events, void *arg)
{
	struct fake_dns *fd = arg;
	int c = accept4(sock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (fd->conn_fd >= 0) {
		close(c);
		return;
	}
	fd->conn_fd = c;
	fd->conn_len = 0;
	ev_io_add(loop, c, EV_READ, fake_dns_conn, fd);
}

/* Bind UDP and TCP on one kernel-chosen port; another socket may hold the
 * TCP side of a port that was free for UDP, so try a few. */
static int fake_dns_bind(struct fake_dns *fd)
{
	int one = 1;

	for (int tries = 0; tries < 50; tries++) {
		socklen_t len = sizeof(fd->addr);

		fd->addr.sin_family = AF_INET;
		fd->addr.sin_port = 0;
		fd->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		fd->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd->udp < 0 || fd->tcp < 0)
			return -1;
		setsockopt(fd->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd->udp, (struct sockaddr *)&fd->addr, sizeof(fd->addr)) == 0 &&
		    getsockname(fd->udp, (struct sockaddr *)&fd->addr, &len) == 0 &&
		    bind(fd->tcp, (struct sockaddr *)&fd->addr, sizeof(fd->addr)) == 0 &&
		    listen(fd->tcp, 16) == 0)
			return 0;
		close(fd->udp);
		close(fd->tcp);
	}
	return -1;
}

/* Returns 0 and fills fd->addr, or -1. */
static int fake_dns_start(struct fake_dns *fd, struct ev_loop *loop, const char *const *zone)
{
	memset(fd, 0, sizeof(*fd));
	fd->loop = loop;
	fd->zone = zone;
	fd->conn_fd = -1;
	if (fake_dns_bind(fd) < 0)
		return -1;
	if (ev_io_add(loop, fd->udp, EV_READ, fake_dns_udp, fd) < 0 ||
	    ev_io_add(loop, fd->tcp, EV_READ, fake_dns_accept, fd) < 0)
		return -1;
	return 0;
}

static void fake_dns_stop(struct fake_dns *fd)
{
	if (fd->conn_fd >= 0) {
		ev_io_del(fd->loop, fd->conn_fd);
		close(fd->conn_fd);
	}
	ldns_pkt_free(fd->held);
	fd->held = NULL;
	ev_io_del(fd->loop, fd->udp);
	ev_io_del(fd->loop, fd->tcp);
	close(fd->udp);
	close(fd->tcp);
}

#endif
