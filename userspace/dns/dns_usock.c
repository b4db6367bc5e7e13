// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pool of UDP sockets to the resolver. A socket is connect()ed (the
 * kernel binds a random ephemeral port and drops datagrams from any other
 * address or port) and carries up to sock_uses attempts (DNS_SOCK_USES),
 * each with an ID no other attempt on it had, taking new ones only while
 * it is younger than DNS_SOCK_FRESH_MS; then it retires and closes when
 * its last attempt ends. A retry never leaves from its last attempt's
 * socket.
 *
 * Why this keeps RFC 5452's entropy: an answer is taken only for the
 * (port, ID, question in its 0x20 case) of an attempt in flight. With Q
 * attempts in flight, a forged datagram off the path hits one with odds of
 * Q / (ports x 65,536) x 2^-letters, whether the Q attempts sit on Q
 * sockets or on Q / 64: the pool changes how many ports carry them, not
 * how many (port, ID) pairs are right. What a long-lived port would give
 * away, a port learnt once and aimed at at leisure (a scan through a side
 * channel, a local user reading /proc/net/udp), is bounded by the
 * rotation: a port takes attempts for a second and lives until they end
 * (one attempt's timeout later at most). The case pattern is still drawn
 * per attempt. What it saves: a socket, connect, two epoll_ctl and a close
 * for every query (340 a second at 100,000 domains), and answers that
 * arrive together are read in one wake-up.
 */
#include "dns_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

static void usock_read(struct ev_loop *loop, int fd, unsigned events, void *arg);

static void usock_close(struct dns_usock *us)
{
	struct dns_resolver *r = us->r;

	if (r->cur == us)
		r->cur = NULL;
	LIST_REMOVE(us, link);
	ev_io_del(r->loop, us->fd);
	close(us->fd);
	free(us);
}

/* Closed once it takes nothing more and waits for nothing. */
static void usock_maybe_close(struct dns_usock *us)
{
	if (!us->reading && !us->live && us->retired)
		usock_close(us);
}

static void usock_retire(struct dns_usock *us)
{
	struct dns_resolver *r = us->r;

	us->retired = true;
	if (r->cur == us)
		r->cur = NULL;
	usock_maybe_close(us);
}

static struct dns_usock *usock_open(struct dns_resolver *r, int *err)
{
	struct dns_usock *us = calloc(1, sizeof(*us));

	*err = -ENOMEM;
	if (!us)
		return NULL;
	us->r = r;
	us->fd = socket(r->server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (us->fd < 0) {
		*err = -errno;
		free(us);
		return NULL;
	}
	/* connect() binds a kernel-chosen random port and makes the kernel
	 * drop datagrams from any other source; ICMP unreachable comes back
	 * as ECONNREFUSED. */
	if (connect(us->fd, (struct sockaddr *)&r->server, r->server_len) < 0) {
		*err = -errno;
		close(us->fd);
		free(us);
		return NULL;
	}
	*err = ev_io_add(r->loop, us->fd, EV_READ, usock_read, us);
	if (*err < 0) {
		close(us->fd);
		free(us);
		return NULL;
	}
	us->opened_ms = ev_now_ms();
	LIST_INSERT_HEAD(&r->usocks, us, link);
	r->stats.udp_sockets++;
	return us;
}

int dns_usock_take(struct dns_query *q, struct dns_usock *avoid)
{
	struct dns_resolver *r = q->req->r;
	struct dns_usock *us = r->cur;
	int err;

	if (us && (us == avoid || us->used >= r->sock_uses ||
		   ev_now_ms() - us->opened_ms >= DNS_SOCK_FRESH_MS))
		usock_retire(us);
	if (!r->cur) {
		/* Opened while avoid is still open: the kernel cannot hand
		 * its port out again. */
		r->cur = usock_open(r, &err);
		if (!r->cur)
			return err;
	}
	us = r->cur;
	err = dns_query_randomize(q, us);
	if (err < 0)
		return err;
	q->us = us;
	q->us_slot = us->used;
	us->id[us->used] = (uint16_t)(q->wire[2] << 8 | q->wire[3]);
	us->q[us->used++] = q;
	us->live++;
	if (us->used >= r->sock_uses)
		usock_retire(us);
	return 0;
}

void dns_usock_leave(struct dns_usock *us, unsigned slot)
{
	struct dns_resolver *r = us->r;

	us->q[slot] = NULL;
	us->live--;
	/* Idle and old: close it now rather than at the next query. */
	if (!us->live && r->cur == us && ev_now_ms() - us->opened_ms >= DNS_SOCK_FRESH_MS)
		us->retired = true;
	usock_maybe_close(us);
}

bool dns_usock_id_taken(const struct dns_usock *us, uint16_t id)
{
	for (unsigned i = 0; i < us->used; i++)
		if (us->id[i] == id)
			return true;
	return false;
}

void dns_usock_close_all(struct dns_resolver *r)
{
	while (!LIST_EMPTY(&r->usocks))
		usock_close(LIST_FIRST(&r->usocks));
}

/* The attempt waiting on us with this ID; *late when one had it and
 * ended. */
static struct dns_query *usock_find(const struct dns_usock *us, uint16_t id, bool *late)
{
	*late = false;
	for (unsigned i = 0; i < us->used; i++) {
		if (us->id[i] != id)
			continue;
		if (us->q[i])
			return us->q[i];
		*late = true;
	}
	return NULL;
}

/* What a datagram on us says. */
static void usock_datagram(struct dns_usock *us, uint8_t *buf, size_t n)
{
	struct dns_resolver *r = us->r;
	struct dns_query *q;
	bool late;

	if (n < 2 || n > DNS_MSG_MAX) {
		r->stats.forged++;
		return;
	}
	q = usock_find(us, (uint16_t)(buf[0] << 8 | buf[1]), &late);
	if (!q) {
		/* An ID nobody sent here: forged. An attempt's that timed
		 * out: late, and not a forgery to count. */
		if (!late)
			r->stats.forged++;
		return;
	}
	dns_query_udp_answer(q, buf, n); /* may end q */
}

/* The datagrams waiting on the socket, up to DNS_READ_BURST in one
 * recvmmsg: answers sent together arrive together, and one system call
 * reads them all (a recv each, and one more to see EAGAIN, was most of
 * the receive side's calls). */
static void usock_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dns_usock *us = arg;
	struct dns_resolver *r = us->r;
	struct mmsghdr mm[DNS_READ_BURST];
	struct iovec iov[DNS_READ_BURST];
	int n = -1;

	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < DNS_READ_BURST; i++) {
		iov[i].iov_base = r->rbuf + (size_t)i * DNS_MSG_MAX;
		iov[i].iov_len = DNS_MSG_MAX;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	/* Connected: only the resolver's address and port get here. An ICMP
	 * unreachable comes first, once, as ECONNREFUSED. */
	for (int tries = 0; tries < 2 && n < 0; tries++) {
		n = recvmmsg(fd, mm, DNS_READ_BURST, MSG_DONTWAIT, NULL);
		if (n < 0 && errno != ECONNREFUSED)
			return; /* EAGAIN, or nothing we can act on */
		if (n < 0)
			r->refused = true;
	}
	us->reading = true;
	for (int i = 0; i < n; i++)
		usock_datagram(us, iov[i].iov_base, mm[i].msg_len);
	us->reading = false;
	usock_maybe_close(us);
}
