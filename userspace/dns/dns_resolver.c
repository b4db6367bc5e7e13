// SPDX-License-Identifier: GPL-2.0-only
/*
 * The resolver object: which server, how long to wait, how many queries
 * may be in flight at once. Every query holds one slot from its first send
 * to its end (its attempts on the UDP sockets of the pool, dns_usock.c, or
 * a TCP connection of its own); when all slots are taken, new queries wait
 * in order and start as slots free, so a burst of thousands of domains
 * never runs the process out of file descriptors.
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

static void dispatch(struct ev_loop *loop, void *arg);

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
	/* Address space for a burst of the largest datagrams; only the pages
	 * answers are written to are ever touched. */
	r->rbuf = malloc((size_t)DNS_READ_BURST * DNS_MSG_MAX);
	if (!r->rbuf) {
		free(r);
		return NULL;
	}
	r->loop = loop;
	LIST_INIT(&r->reqs);
	TAILQ_INIT(&r->waiting);
	memcpy(&r->server, server, server_len);
	r->server_len = server_len;
	r->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
	r->attempts = opts && opts->attempts ? opts->attempts : DNS_DEFAULT_ATTEMPTS;
	r->max_sockets = opts && opts->max_sockets ? opts->max_sockets : DNS_DEFAULT_MAX_SOCKETS;
	r->sock_uses = opts && opts->sock_uses && opts->sock_uses < DNS_SOCK_USES ? opts->sock_uses
										  : DNS_SOCK_USES;
	LIST_INIT(&r->usocks);
	ev_timer_init(&r->dispatch_timer, dispatch, r);
	server_to_str(r);
	return r;
}

int dns_random(struct dns_resolver *r, void *buf, size_t n)
{
	if (n > sizeof(r->rnd))
		return -EIO;
	if (n > r->rnd_left) {
		if (getrandom(r->rnd, sizeof(r->rnd), 0) != (ssize_t)sizeof(r->rnd))
			return -EIO;
		r->rnd_left = sizeof(r->rnd);
	}
	/* Taken from the end, and wiped: no octet is handed out twice. */
	r->rnd_left -= n;
	memcpy(buf, r->rnd + r->rnd_left, n);
	memset(r->rnd + r->rnd_left, 0, n);
	return 0;
}

void dns_resolver_stats(const struct dns_resolver *r, struct dns_stats *out)
{
	*out = r->stats;
}

/* Slots. */

bool dns_slot_take(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;

	if (q->has_slot)
		return true;
	/* Waiting queries go first: no overtaking a queue. */
	if (r->open_sockets < r->max_sockets && TAILQ_EMPTY(&r->waiting)) {
		r->open_sockets++;
		if (r->open_sockets > r->stats.max_open)
			r->stats.max_open = r->open_sockets;
		q->has_slot = true;
		return true;
	}
	q->waiting = true;
	TAILQ_INSERT_TAIL(&r->waiting, q, wait);
	r->stats.waited++;
	return false;
}

static void wait_unlink(struct dns_resolver *r, struct dns_query *q)
{
	TAILQ_REMOVE(&r->waiting, q, wait);
	q->waiting = false;
}

void dns_slot_release(struct dns_query *q)
{
	struct dns_resolver *r = q->req->r;

	if (q->waiting)
		wait_unlink(r, q);
	if (!q->has_slot)
		return;
	q->has_slot = false;
	r->open_sockets--;
	/* Start the next waiting query from the loop, not from inside
	 * whatever freed this one. */
	if (!TAILQ_EMPTY(&r->waiting) && ev_timer_start(r->loop, &r->dispatch_timer, 0) < 0)
		log_err("dns: cannot schedule %s's waiting queries: out of memory", r->server_str);
}

static void dispatch(struct ev_loop *loop, void *arg)
{
	struct dns_resolver *r = arg;

	while (!TAILQ_EMPTY(&r->waiting) && r->open_sockets < r->max_sockets) {
		struct dns_query *q = TAILQ_FIRST(&r->waiting);

		wait_unlink(r, q);
		r->open_sockets++;
		if (r->open_sockets > r->stats.max_open)
			r->stats.max_open = r->open_sockets;
		q->has_slot = true;
		q->state = Q_UDP;
		if (ev_timer_start(loop, &q->timer, r->timeout_ms) < 0) {
			snprintf(q->err, sizeof(q->err), "dns: out of memory");
			dns_query_failed(q); /* frees q, releases its slot */
			continue;
		}
		dns_query_send_udp(q);
	}
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (!r)
		return;
	while (!LIST_EMPTY(&r->reqs))
		dns_request_free(LIST_FIRST(&r->reqs));
	ev_timer_stop(r->loop, &r->dispatch_timer);
	dns_usock_close_all(r);
	dns_request_spares_free(r);
	free(r->rbuf);
	free(r);
}

struct ev_loop *dns_resolver_loop(const struct dns_resolver *r)
{
	return r->loop;
}
