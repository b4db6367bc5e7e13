// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TCP retry of a query whose UDP answer came truncated (RFC 7766):
 * 2-octet length framing, one connection per attempt with its own new ID
 * and 0x20 case pattern, the answer checked like a UDP one. A failed
 * connection ends the attempt at once; the attempt timer counts it.
 */
#include "dns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tcp_io(struct ev_loop *loop, int fd, unsigned events, void *arg);

void dns_query_start_tcp(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;
	int fd, ret;

	dns_query_close_socket(q);
	q->state = Q_TCP_CONNECTING;
	ret = dns_query_randomize(q, NULL);
	if (ret < 0) {
		snprintf(q->err, sizeof(q->err), "no random numbers for a DNS query: %s",
			 strerror(-ret));
		return;
	}
	fd = socket(r->server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(q->err, sizeof(q->err), "cannot open a TCP socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&r->server, r->server_len) < 0 && errno != EINPROGRESS) {
		snprintf(q->err, sizeof(q->err), "TCP to %s: %s", r->server_str, strerror(errno));
		close(fd);
		return;
	}
	if (ev_io_add(r->loop, fd, EV_WRITE, tcp_io, q) < 0) {
		close(fd);
		return;
	}
	q->fd = fd;
	r->stats.sent++;
}

/* A TCP attempt failed: try again at once while attempts remain. */
static void tcp_failed(struct dns_query *q, const char *what, int err)
{
	struct dns_resolver *r = q->req->r;

	if (err)
		snprintf(q->err, sizeof(q->err), "TCP to %s: %s: %s", r->server_str, what,
			 strerror(err));
	else
		snprintf(q->err, sizeof(q->err), "TCP to %s: %s", r->server_str, what);
	dns_query_close_socket(q);
	q->state = Q_TCP_CONNECTING;
	/* query_timer counts the attempt; without it the query fails now. */
	if (ev_timer_start(r->loop, &q->timer, 0) < 0)
		dns_query_failed(q); /* frees q */
}

static void tcp_answer(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;
	size_t len = (size_t)q->tcp_len[0] << 8 | q->tcp_len[1];
	ldns_pkt *pkt = NULL;

	if (dns_answer_matches(q, q->tcp_answer, len) < 0) {
		r->stats.forged++;
		tcp_failed(q, "answer does not match the question (ID, name or its case)", 0);
		return;
	}
	if (dns_wire2pkt(&pkt, q->tcp_answer, len) < 0) {
		tcp_failed(q, "malformed answer", 0);
		return;
	}
	if (ldns_pkt_tc(pkt)) {
		ldns_pkt_free(pkt);
		tcp_failed(q, "truncated answer over TCP", 0);
		return;
	}
	dns_query_answered(q, pkt); /* frees q */
	ldns_pkt_free(pkt);
}

/* Connect, then write the framed query. 1 when the query is written. */
static int tcp_write(struct ev_loop *loop, struct dns_query *q, int fd, unsigned events)
{
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t n;

	if (q->state == Q_TCP_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err == EINPROGRESS || (!err && !(events & (EV_WRITE | EV_ERROR))))
			return 0;
		if (err) {
			tcp_failed(q, "connect", err);
			return -1;
		}
		q->state = Q_TCP_WRITING;
	}
	while (q->tcp_pos < q->wire_len) {
		n = send(fd, q->wire + q->tcp_pos, q->wire_len - q->tcp_pos,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			tcp_failed(q, "send", errno);
			return -1;
		}
		q->tcp_pos += (size_t)n;
	}
	q->state = Q_TCP_READING;
	q->tcp_pos = 0;
	if (ev_io_mod(loop, fd, EV_READ) < 0) {
		tcp_failed(q, "event loop", 0);
		return -1;
	}
	return 1;
}

static void tcp_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dns_query *q = arg;
	ssize_t n;

	if (q->state == Q_TCP_CONNECTING || q->state == Q_TCP_WRITING) {
		tcp_write(loop, q, fd, events);
		return; /* the answer comes with a later EV_READ */
	}
	if (q->state != Q_TCP_READING)
		return;
	for (;;) {
		size_t want, len;
		uint8_t *dst;

		if (q->tcp_pos < 2) {
			dst = q->tcp_len + q->tcp_pos;
			want = 2 - q->tcp_pos;
		} else {
			len = (size_t)q->tcp_len[0] << 8 | q->tcp_len[1];
			if (len < DNS_HDR_LEN) {
				tcp_failed(q, "answer too short", 0);
				return;
			}
			if (!q->tcp_answer) {
				q->tcp_answer = malloc(len);
				if (!q->tcp_answer) {
					tcp_failed(q, "out of memory", 0);
					return;
				}
			}
			dst = q->tcp_answer + (q->tcp_pos - 2);
			want = len - (q->tcp_pos - 2);
			if (!want)
				break;
		}
		n = recv(fd, dst, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			tcp_failed(q, "read", errno);
			return;
		}
		if (n == 0) {
			tcp_failed(q, "connection closed before the answer", 0);
			return;
		}
		q->tcp_pos += (size_t)n;
	}
	tcp_answer(q);
}
