// SPDX-License-Identifier: GPL-2.0-only
/*
 * Non-blocking DNS on the event loop. ldns builds and parses packets; the
 * I/O is ours: a few shared, connected UDP sockets, random query IDs, an
 * answer accepted only when ID, question and source all match (anything
 * else is ignored, so a spoofed or stale datagram cannot end a query),
 * per-attempt timeouts with retries, and a TCP retry, with 2-octet length
 * framing, when the server sets TC. A request resolves one domain's MX
 * set, then the A and AAAA of every host concurrently.
 */
#include "dns_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"

#define DNS_UDP_SOCKETS 4   /* queries spread over this many source ports */
#define DNS_MSG_MAX 65535   /* largest DNS message, UDP or TCP */
#define DNS_ID_BUCKETS 1024 /* in-flight UDP queries hashed by ID */
#define DNS_READ_BURST 64   /* datagrams read per wake-up, to stay fair */
#define DNS_DEFAULT_TIMEOUT_MS 2000
#define DNS_DEFAULT_ATTEMPTS 3

enum q_state { Q_UDP, Q_TCP_CONNECTING, Q_TCP_WRITING, Q_TCP_READING };

struct dns_query {
	struct dns_query *next, *prev;	  /* in the request */
	struct dns_query *hnext, **hprev; /* ID hash, UDP only */
	struct dns_request *req;
	struct ev_timer timer;
	ldns_rdf *qname;
	ldns_rr_type type;
	int host; /* index into req->set.hosts; -1 for the MX query */
	unsigned hops;
	unsigned attempt;
	uint16_t id;
	enum q_state state;
	uint8_t *wire; /* the query, with 2 octets of TCP length in front */
	size_t wire_len;
	int tcp_fd;
	size_t tcp_pos;	     /* bytes sent, or bytes of the answer read */
	uint8_t tcp_len[2];  /* the answer's length prefix */
	uint8_t *tcp_answer; /* allocated once the length is known */
	char err[128];	     /* the last problem seen, for the final error */
};

struct dns_request {
	struct dns_request *next, *prev;
	struct dns_resolver *r;
	mx_resolve_cb cb;
	void *arg;
	struct ev_timer done_timer; /* deliver from a clean stack */
	struct dns_query *queries;
	size_t pending;
	uint32_t ttl;
	uint8_t fam_status[MXG_MX_MAX_HOSTS][2]; /* enum mx_status of A, AAAA */
	struct mx_set set;
};

struct dns_resolver {
	struct ev_loop *loop;
	struct sockaddr_storage server;
	socklen_t server_len;
	char server_str[MXG_ADDRSTRLEN + 8];
	unsigned timeout_ms;
	unsigned attempts;
	int udp[DNS_UDP_SOCKETS];
	bool refused; /* ICMP port unreachable seen: nothing listens there */
	struct dns_query *ids[DNS_ID_BUCKETS];
	struct dns_request *reqs;
	uint8_t *rbuf; /* DNS_MSG_MAX */
};

static void query_timer(struct ev_loop *loop, void *arg);
static void tcp_io(struct ev_loop *loop, int fd, unsigned events, void *arg);
static void query_answered(struct dns_query *q, const ldns_pkt *pkt);
static void query_failed(struct dns_query *q);

int dns_default_server(struct sockaddr_storage *ss, socklen_t *len)
{
	ldns_resolver *res = NULL;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	if (ldns_resolver_new_frm_file(&res, NULL) == LDNS_STATUS_OK && res) {
		ldns_rdf **ns = ldns_resolver_nameservers(res);

		if (ldns_resolver_nameserver_count(res) > 0 && ns && ns[0]) {
			size_t size = 0;
			struct sockaddr_storage *got =
			    ldns_rdf2native_sockaddr_storage(ns[0], 53, &size);

			if (got && size <= sizeof(*ss)) {
				memcpy(ss, got, size);
				*len = (socklen_t)size;
				free(got);
				ldns_resolver_deep_free(res);
				return 0;
			}
			free(got);
		}
		ldns_resolver_deep_free(res);
	}
	/* resolv.conf(5): no nameserver line means the local host. */
	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*sin);
	return 0;
}

static void server_to_str(struct dns_resolver *r)
{
	struct mxg_ip ip;
	uint16_t port = 53;
	char a[INET6_ADDRSTRLEN];

	if (mxg_ip_from_sockaddr((struct sockaddr *)&r->server, &ip, &port) < 0) {
		snprintf(r->server_str, sizeof(r->server_str), "?");
		return;
	}
	mxg_ip_str(&ip, a, sizeof(a));
	if (port == 53)
		snprintf(r->server_str, sizeof(r->server_str), "%s", a);
	else if (ip.family == AF_INET6)
		snprintf(r->server_str, sizeof(r->server_str), "[%s]:%u", a, port);
	else
		snprintf(r->server_str, sizeof(r->server_str), "%s:%u", a, port);
}

struct dns_resolver *dns_resolver_new(struct ev_loop *loop, const struct sockaddr *server,
				      socklen_t server_len, const struct dns_options *opts)
{
	struct dns_resolver *r;

	if (!server || server_len > sizeof(r->server) ||
	    (server->sa_family != AF_INET && server->sa_family != AF_INET6)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->rbuf = malloc(DNS_MSG_MAX);
	if (!r->rbuf) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	memcpy(&r->server, server, server_len);
	r->server_len = server_len;
	r->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
	r->attempts = opts && opts->attempts ? opts->attempts : DNS_DEFAULT_ATTEMPTS;
	for (int i = 0; i < DNS_UDP_SOCKETS; i++)
		r->udp[i] = -1;
	server_to_str(r);
	return r;
}

/* The ID hash. */

static void id_unlink(struct dns_query *q)
{
	if (!q->hprev)
		return;
	*q->hprev = q->hnext;
	if (q->hnext)
		q->hnext->hprev = q->hprev;
	q->hprev = NULL;
	q->hnext = NULL;
}

static struct dns_query *id_find(struct dns_resolver *r, uint16_t id)
{
	for (struct dns_query *q = r->ids[id % DNS_ID_BUCKETS]; q; q = q->hnext)
		if (q->id == id)
			return q;
	return NULL;
}

static int id_assign(struct dns_resolver *r, struct dns_query *q)
{
	struct dns_query **head;
	uint16_t id;

	/* Unpredictable IDs (RFC 5452); a few tries find a free one. */
	for (int tries = 0;; tries++) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return -EIO;
		if (!id_find(r, id))
			break;
		if (tries > 16)
			return -EAGAIN;
	}
	q->id = id;
	head = &r->ids[id % DNS_ID_BUCKETS];
	q->hnext = *head;
	if (*head)
		(*head)->hprev = &q->hnext;
	q->hprev = head;
	*head = q;
	return 0;
}

/* Queries. */

static void tcp_close(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;

	if (q->tcp_fd >= 0) {
		ev_io_del(r->loop, q->tcp_fd);
		close(q->tcp_fd);
		q->tcp_fd = -1;
	}
	free(q->tcp_answer);
	q->tcp_answer = NULL;
	q->tcp_pos = 0;
}

static void query_free(struct dns_query *q)
{
	struct dns_request *req = q->req;

	ev_timer_stop(req->r->loop, &q->timer);
	id_unlink(q);
	tcp_close(q);
	if (q->prev)
		q->prev->next = q->next;
	else
		req->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	ldns_rdf_deep_free(q->qname);
	free(q->wire);
	free(q);
}

static void udp_read(struct ev_loop *loop, int fd, unsigned events, void *arg);

static int udp_socket(struct dns_resolver *r, int i)
{
	int fd, ret;

	if (r->udp[i] >= 0)
		return r->udp[i];
	fd = socket(r->server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Connected: the kernel drops datagrams from other sources and
	 * reports ICMP unreachable as ECONNREFUSED. */
	if (connect(fd, (struct sockaddr *)&r->server, r->server_len) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = ev_io_add(r->loop, fd, EV_READ, udp_read, r);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	r->udp[i] = fd;
	return fd;
}

static void query_send_udp(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;
	int fd = udp_socket(r, q->id % DNS_UDP_SOCKETS);

	if (fd < 0) {
		snprintf(q->err, sizeof(q->err), "cannot open a socket to %s: %s", r->server_str,
			 strerror(-fd));
		return;
	}
	if (send(fd, q->wire + 2, q->wire_len - 2, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno == ECONNREFUSED)
			r->refused = true;
		snprintf(q->err, sizeof(q->err), "cannot send to %s: %s", r->server_str,
			 strerror(errno));
	}
	/* Lost or not, the attempt timer decides what happens next. */
}

static void query_start_tcp(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;
	int fd;

	tcp_close(q);
	id_unlink(q);
	q->state = Q_TCP_CONNECTING;
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
	q->tcp_fd = fd;
	q->state = Q_TCP_CONNECTING;
}

static int query_new(struct dns_request *req, const ldns_rdf *name, ldns_rr_type type, int host,
		     unsigned hops)
{
	struct dns_resolver *r = req->r;
	struct dns_query *q;
	ldns_pkt *pkt = NULL;
	ldns_rdf *qcopy;
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret = -ENOMEM;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->req = req;
	q->type = type;
	q->host = host;
	q->hops = hops;
	q->tcp_fd = -1;
	ev_timer_init(&q->timer, query_timer, q);
	q->qname = ldns_rdf_clone(name);
	if (!q->qname)
		goto err;
	ret = id_assign(r, q);
	if (ret < 0)
		goto err;
	ret = -ENOMEM;
	/* RD set: a recursive resolver recurses, an authoritative one ignores it.
	 * The packet owns the name only once it exists. */
	qcopy = ldns_rdf_clone(name);
	pkt = qcopy ? ldns_pkt_query_new(qcopy, type, LDNS_RR_CLASS_IN, LDNS_RD) : NULL;
	if (!pkt) {
		ldns_rdf_deep_free(qcopy);
		goto err;
	}
	ldns_pkt_set_id(pkt, q->id);
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK || len > DNS_MSG_MAX)
		goto err;
	q->wire = malloc(len + 2);
	if (!q->wire)
		goto err;
	q->wire[0] = (uint8_t)(len >> 8);
	q->wire[1] = (uint8_t)len;
	memcpy(q->wire + 2, wire, len);
	q->wire_len = len + 2;
	ret = ev_timer_start(r->loop, &q->timer, r->timeout_ms);
	if (ret < 0)
		goto err;
	free(wire);
	ldns_pkt_free(pkt);

	q->next = req->queries;
	if (req->queries)
		req->queries->prev = q;
	req->queries = q;
	req->pending++;
	query_send_udp(q);
	return 0;
err:
	free(wire);
	ldns_pkt_free(pkt);
	id_unlink(q);
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
		query_failed(q);
		return;
	}
	if (ev_timer_start(loop, &q->timer, r->timeout_ms) < 0) {
		query_failed(q);
		return;
	}
	if (q->state == Q_UDP)
		query_send_udp(q);
	else
		query_start_tcp(q);
}

/* Does pkt answer q? ID, QR, opcode and the one question must match. */
static bool answers(const struct dns_query *q, const ldns_pkt *pkt)
{
	const ldns_rr_list *qs = ldns_pkt_question(pkt);
	const ldns_rr *qr;

	if (ldns_pkt_id(pkt) != q->id || !ldns_pkt_qr(pkt) ||
	    ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY || !qs || ldns_rr_list_rr_count(qs) != 1)
		return false;
	qr = ldns_rr_list_rr(qs, 0);
	return ldns_rr_get_type(qr) == q->type && ldns_rr_get_class(qr) == LDNS_RR_CLASS_IN &&
	       ldns_dname_compare(ldns_rr_owner(qr), q->qname) == 0;
}

static bool same_server(const struct dns_resolver *r, const struct sockaddr_storage *from,
			socklen_t len)
{
	struct mxg_ip a, b;
	uint16_t pa, pb;

	if (mxg_ip_from_sockaddr((const struct sockaddr *)from, &a, &pa) < 0 ||
	    mxg_ip_from_sockaddr((const struct sockaddr *)&r->server, &b, &pb) < 0)
		return false;
	return len > 0 && pa == pb && mxg_ip_equal(&a, &b);
}

static void udp_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dns_resolver *r = arg;

	for (int i = 0; i < DNS_READ_BURST; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		struct dns_query *q;
		ldns_pkt *pkt = NULL;
		ssize_t n;

		n = recvfrom(fd, r->rbuf, DNS_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == ECONNREFUSED) {
				r->refused = true;
				continue;
			}
			return; /* EAGAIN, or nothing we can act on */
		}
		if (n < 12 || n > DNS_MSG_MAX || !same_server(r, &from, fromlen))
			continue;
		q = id_find(r, (uint16_t)(r->rbuf[0] << 8 | r->rbuf[1]));
		if (!q || q->state != Q_UDP)
			continue;
		if (ldns_wire2pkt(&pkt, r->rbuf, (size_t)n) != LDNS_STATUS_OK || !pkt) {
			snprintf(q->err, sizeof(q->err), "malformed answer from %s", r->server_str);
			continue;
		}
		if (!answers(q, pkt)) {
			ldns_pkt_free(pkt);
			continue;
		}
		if (ldns_pkt_tc(pkt)) {
			/* Truncated: ask again over TCP (RFC 7766), as a fresh
			 * attempt with its own timeout. */
			ldns_pkt_free(pkt);
			snprintf(q->err, sizeof(q->err), "truncated over UDP; TCP to %s failed",
				 r->server_str);
			if (ev_timer_start(loop, &q->timer, r->timeout_ms) == 0)
				query_start_tcp(q);
			continue;
		}
		query_answered(q, pkt);
		ldns_pkt_free(pkt);
	}
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
	tcp_close(q);
	q->state = Q_TCP_CONNECTING;
	ev_timer_start(r->loop, &q->timer, 0); /* query_timer counts the attempt */
}

static void tcp_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dns_query *q = arg;
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t n;

	switch (q->state) {
	case Q_TCP_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err == EINPROGRESS || (!err && !(events & (EV_WRITE | EV_ERROR))))
			return;
		if (err) {
			tcp_failed(q, "connect", err);
			return;
		}
		q->state = Q_TCP_WRITING;
		/* fallthrough */
	case Q_TCP_WRITING:
		while (q->tcp_pos < q->wire_len) {
			n = send(fd, q->wire + q->tcp_pos, q->wire_len - q->tcp_pos,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				tcp_failed(q, "send", errno);
				return;
			}
			q->tcp_pos += (size_t)n;
		}
		q->state = Q_TCP_READING;
		q->tcp_pos = 0;
		if (ev_io_mod(loop, fd, EV_READ) < 0) {
			tcp_failed(q, "event loop", 0);
			return;
		}
		return;
	case Q_TCP_READING:
		break;
	default:
		return;
	}

	for (;;) {
		size_t want, len;
		uint8_t *dst;

		if (q->tcp_pos < 2) {
			dst = q->tcp_len + q->tcp_pos;
			want = 2 - q->tcp_pos;
		} else {
			len = (size_t)q->tcp_len[0] << 8 | q->tcp_len[1];
			if (len < 12) {
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

	{
		size_t len = (size_t)q->tcp_len[0] << 8 | q->tcp_len[1];
		ldns_pkt *pkt = NULL;

		if (ldns_wire2pkt(&pkt, q->tcp_answer, len) != LDNS_STATUS_OK || !pkt) {
			tcp_failed(q, "malformed answer", 0);
			return;
		}
		if (!answers(q, pkt) || ldns_pkt_tc(pkt)) {
			ldns_pkt_free(pkt);
			tcp_failed(q, "answer does not match the question", 0);
			return;
		}
		query_answered(q, pkt);
		ldns_pkt_free(pkt);
	}
}

/* Requests. */

static int host_query(struct dns_request *req, int host, ldns_rr_type type, const ldns_rdf *name,
		      unsigned hops)
{
	int fam = type == LDNS_RR_TYPE_A ? 0 : 1;
	int ret = query_new(req, name, type, host, hops);

	if (ret < 0)
		req->fam_status[host][fam] = MX_ERROR;
	return ret;
}

/* Take req off the resolver's list of requests. */
static void request_unlink(struct dns_request *req)
{
	struct dns_resolver *r = req->r;

	if (req->prev)
		req->prev->next = req->next;
	else
		r->reqs = req->next;
	if (req->next)
		req->next->prev = req->prev;
}

static void request_deliver(struct ev_loop *loop, void *arg)
{
	struct dns_request *req = arg;

	request_unlink(req);
	req->cb(req->arg, &req->set);
	free(req);
}

static int ip_cmp(const void *a, const void *b)
{
	const struct mxg_ip *x = a, *y = b;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	return x->family == AF_INET ? memcmp(&x->v4, &y->v4, 4) : memcmp(&x->v6, &y->v6, 16);
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
	if (set->ttl_s < MXG_DNS_TTL_MIN_S)
		set->ttl_s = MXG_DNS_TTL_MIN_S;
	if (set->ttl_s > MXG_DNS_TTL_MAX_S)
		set->ttl_s = MXG_DNS_TTL_MAX_S;
	if (ev_timer_start(req->r->loop, &req->done_timer, 0) < 0)
		log_err("dns: cannot schedule the answer for %s: out of memory", set->domain);
}

static void request_query_done(struct dns_request *req)
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
	for (size_t i = 0; i < set->n_hosts; i++) {
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

static void query_answered(struct dns_query *q, const ldns_pkt *pkt)
{
	struct dns_request *req = q->req;

	if (q->host < 0)
		mx_answered(req, pkt);
	else
		addr_answered(req, q, pkt);
	query_free(q);
	request_query_done(req);
}

static void query_failed(struct dns_query *q)
{
	struct dns_request *req = q->req;
	struct dns_resolver *r = req->r;

	if (q->host < 0) {
		req->set.status = MX_ERROR;
		if (r->refused)
			snprintf(
			    req->set.error, sizeof(req->set.error),
			    "no answer from DNS server %s: connection refused (is it running?)",
			    r->server_str);
		else if (q->err[0])
			snprintf(req->set.error, sizeof(req->set.error), "%s", q->err);
		else
			snprintf(req->set.error, sizeof(req->set.error),
				 "no answer from DNS server %s after %u attempts of %u ms",
				 r->server_str, r->attempts, r->timeout_ms);
	} else {
		req->fam_status[q->host][q->type == LDNS_RR_TYPE_A ? 0 : 1] = MX_ERROR;
	}
	query_free(q);
	request_query_done(req);
}

int dns_resolve_mx(struct dns_resolver *r, const char *domain, mx_resolve_cb cb, void *arg)
{
	struct dns_request *req;
	ldns_rdf *name;
	size_t n = strlen(domain);
	int ret;

	if (!cb || n == 0 || n >= sizeof(req->set.domain))
		return -EINVAL;
	name = ldns_dname_new_frm_str(domain); /* absolute: no search list */
	if (!name)
		return -EINVAL;
	req = calloc(1, sizeof(*req));
	if (!req) {
		ldns_rdf_deep_free(name);
		return -ENOMEM;
	}
	req->r = r;
	req->cb = cb;
	req->arg = arg;
	req->ttl = UINT32_MAX;
	ev_timer_init(&req->done_timer, request_deliver, req);
	ret = dns_name_str(name, req->set.domain, sizeof(req->set.domain));
	if (ret == 0)
		ret = query_new(req, name, LDNS_RR_TYPE_MX, -1, 0);
	ldns_rdf_deep_free(name);
	if (ret < 0) {
		free(req);
		return ret;
	}
	req->next = r->reqs;
	if (r->reqs)
		r->reqs->prev = req;
	r->reqs = req;
	return 0;
}

static void request_free(struct dns_request *req)
{
	struct dns_resolver *r = req->r;

	while (req->queries)
		query_free(req->queries);
	ev_timer_stop(r->loop, &req->done_timer);
	request_unlink(req);
	free(req);
}

void dns_cancel(struct dns_resolver *r, void *arg)
{
	struct dns_request *req = r->reqs, *next;

	for (; req; req = next) {
		next = req->next;
		if (req->arg == arg)
			request_free(req);
	}
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (!r)
		return;
	while (r->reqs)
		request_free(r->reqs);
	for (int i = 0; i < DNS_UDP_SOCKETS; i++) {
		if (r->udp[i] >= 0) {
			ev_io_del(r->loop, r->udp[i]);
			close(r->udp[i]);
		}
	}
	free(r->rbuf);
	free(r);
}
