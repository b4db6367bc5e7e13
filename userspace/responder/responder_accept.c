// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child's accept side: take steered connections from the
 * listening sockets, drop those not steered from port 25, enforce the
 * connection limits (in all, per client, per network), make room when
 * full by closing the longest-idle session or else one that only keeps
 * itself alive (from the network holding most), refuse the rest with 421, and
 * pause when out of descriptors. Whether a client is local (never an
 * offender) is decided here too, from the addresses noted before the
 * privilege drop. The sessions themselves are responder_conn.c's.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "responder_child.h"
#include "responder_int.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define ACCEPT_BATCH 64		    /* accepts per wakeup, so sessions get served too */
#define ACCEPT_PAUSE_MS 100	    /* out of descriptors: stop accepting this long */
#define REFUSE_LOG_INTERVAL_MS 1000 /* at most one "refused" line per second */

/* The destination the client dialled: with bpf_sk_assign or tproxy
 * getsockname already shows it (steered, port 25); behind an nft
 * redirect ask conntrack. A port other than steered means the connection
 * was not steered: someone on this host connected to the responder's
 * own listener. */
static void original_dst(int fd, uint16_t steered, struct mxg_ip *dst, uint16_t *dst_port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc;

	*dst_port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    mxg_ip_from_sockaddr((struct sockaddr *)&ss, dst, dst_port) < 0 || *dst_port == steered)
		return;
	len = sizeof(ss);
	if (ss.ss_family == AF_INET)
		rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len);
	else
		rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len);
	if (rc == 0)
		mxg_ip_from_sockaddr((struct sockaddr *)&ss, dst, dst_port);
}

/* This host's addresses, taken before the privilege drop (and any
 * sandbox): a client there is local, never an offender. */
static struct mxg_ip self_addrs[MXG_MAX_HOST_ADDRESSES];
static size_t n_self_addrs;

void responder_self_snapshot(void)
{
	struct ifaddrs *ifa = NULL;

	n_self_addrs = 0;
	if (getifaddrs(&ifa) < 0) {
		log_warn("responder: cannot list this host's addresses (%s); only loopback "
			 "and the dialled address count as local",
			 strerror(errno));
		return;
	}
	n_self_addrs = mxg_ip_from_ifaddrs(ifa, self_addrs, MXG_MAX_HOST_ADDRESSES);
	if (n_self_addrs > MXG_MAX_HOST_ADDRESSES)
		n_self_addrs = MXG_MAX_HOST_ADDRESSES;
	freeifaddrs(ifa);
}

/* Loopback, the address it dialled (it connected to itself), or one of
 * this host's addresses: a local client. Counting it would put the host
 * itself into the offender set (local submission over localhost, the
 * host's own MTA). */
bool rsp_client_is_local(const struct conn *c)
{
	const struct mxg_ip *p = &c->peer;

	if (mxg_ip_is_loopback(p))
		return true;
	if (c->dst.family && mxg_ip_equal(p, &c->dst))
		return true;
	for (size_t i = 0; i < n_self_addrs; i++)
		if (mxg_ip_equal(p, &self_addrs[i]))
			return true;
	return false;
}

static void refuse(struct rsp *r, int fd, const struct mxg_ip *peer, const char *why)
{
	static const char msg[] = "421 4.7.0 " SMTP_WHY_TOO_MANY "\r\n";
	uint64_t now = ev_now_ms();
	char addr[MXG_ADDRSTRLEN];
	ssize_t w;

	/* The client has said nothing yet, so close sends a FIN, not a RST. */
	w = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w; /* best effort: the connection is closed either way */
	close(fd);
	r->rep.cnt.refused++;
	r->rep.cnt.replies[RESPONDER_CODE_421]++;
	if (now - r->refuse_log_ms < REFUSE_LOG_INTERVAL_MS) {
		r->refused_quiet++;
		return;
	}
	log_notice("responder: refused client=%s reply=421 end=%s (%u more not logged)",
		   mxg_ip_str(peer, addr, sizeof(addr)), why, r->refused_quiet);
	r->refuse_log_ms = now;
	r->refused_quiet = 0;
}

/* Full: close the session idle longest, if it has been idle a third of
 * idle_timeout, so that a new client is served instead of the one that
 * holds a slot doing nothing (idle floods). A client in a dialogue sends
 * its next command within milliseconds and is never chosen. */
static bool evict_idlest(struct rsp *r, struct conn *idlest)
{
	bool ignored = false;

	if (!idlest || ev_now_ms() - idlest->active_ms < r->idle_ms / 3)
		return false;
	idlest->end = "evicted: idle while full";
	smtp_session_close_421(&idlest->smtp, SMTP_WHY_BUSY);
	/* One try: an idle client has nothing unread, so close sends a FIN
	 * after the 421; a slot now matters more than a slow reader. */
	rsp_conn_send(idlest, &ignored);
	rsp_conn_free(idlest);
	return true;
}

#define HOLDER_NETS 16 /* networks tracked while choosing whose holder goes */

/* Full, and nobody idle long enough: close a session whose last commands
 * only kept it alive (NOOP, RSET, ... since its last MAIL or RCPT,
 * smtp_session_holding()), the oldest of the network (IPv4 /24, IPv6
 * /48) holding the most such sessions, so that a flood from a few
 * networks pays before a lone client does. Active holders NOOP well
 * within the idle limit; a sender in its refusal dialogue sends MAIL and
 * RCPT and is never chosen, nor is a client that has not spoken yet.
 * One pass, only when full: the networks are counted with Misra-Gries
 * (HOLDER_NETS counters, O(n x HOLDER_NETS)), which finds every network
 * with more than 1/(HOLDER_NETS + 1) of the holders, the floods. */
static struct conn *find_holder(struct rsp *r)
{
	struct {
		const struct client_key *net;
		unsigned n;
		struct conn *oldest;
	} top[HOLDER_NETS] = {0};
	struct conn *c, *oldest = NULL;
	size_t best = HOLDER_NETS;

	LIST_FOREACH(c, &r->conns, link) {
		size_t i, free_slot = HOLDER_NETS;

		if (c->lingering || !smtp_session_holding(&c->smtp))
			continue;
		if (!oldest || c->started_ms < oldest->started_ms)
			oldest = c;
		for (i = 0; i < HOLDER_NETS; i++) {
			if (top[i].n && client_key_equal(top[i].net, &c->net))
				break;
			if (!top[i].n && free_slot == HOLDER_NETS)
				free_slot = i;
		}
		if (i == HOLDER_NETS && free_slot < HOLDER_NETS) {
			i = free_slot;
			top[i].net = &c->net;
			top[i].oldest = NULL;
		}
		if (i < HOLDER_NETS) {
			top[i].n++;
			if (!top[i].oldest || c->started_ms < top[i].oldest->started_ms)
				top[i].oldest = c;
			continue;
		}
		for (i = 0; i < HOLDER_NETS; i++)
			top[i].n--; /* none free, none matched: all were > 0 */
	}
	for (size_t i = 0; i < HOLDER_NETS; i++)
		if (top[i].n && (best == HOLDER_NETS || top[i].n > top[best].n))
			best = i;
	return best < HOLDER_NETS ? top[best].oldest : oldest;
}

static bool evict_holder(struct rsp *r)
{
	struct conn *holder = find_holder(r);
	bool ignored = false;

	if (!holder)
		return false;
	holder->end = "evicted: no progress while full";
	smtp_session_close_421(&holder->smtp, SMTP_WHY_HOLDING);
	rsp_conn_send(holder, &ignored);
	rsp_conn_free(holder);
	return true;
}

static void accept_one(struct rsp *r, int fd, const struct sockaddr_storage *ss)
{
	struct mxg_ip peer, dst = {0};
	struct client_key key, net;
	uint16_t peer_port, dst_port;
	struct conn *c, *idlest = NULL;

	if (mxg_ip_from_sockaddr((const struct sockaddr *)ss, &peer, &peer_port) < 0) {
		close(fd); /* not TCP over IP: cannot happen on our listeners */
		return;
	}
	original_dst(fd, r->steered_port, &dst, &dst_port);
	if (dst_port != r->steered_port) {
		/* Not steered from port 25: a local process dialled our
		 * listener. No session, no reply, nothing counted. */
		close(fd);
		r->unsteered++;
		return;
	}
	client_key_from_ip(&peer, &key);
	client_key_network(&key, &net);
	/* A client over its own limits never takes another's slot. */
	if (rsp_count(&r->counts, RSP_COUNT_CLIENT, &key) >= r->max_per_client) {
		refuse(r, fd, &peer, "too many connections from this client");
		return;
	}
	if (rsp_count(&r->counts, RSP_COUNT_NET, &net) >= r->max_per_net) {
		refuse(r, fd, &peer, "too many connections from this network");
		return;
	}
	/* Only when full is every session looked at, for one to close. */
	if (r->n_conns >= r->max_conn) {
		LIST_FOREACH(c, &r->conns, link) {
			if (!c->lingering && !smtp_session_done(&c->smtp) &&
			    (!idlest || c->active_ms < idlest->active_ms))
				idlest = c;
		}
	}
	if (r->n_conns >= r->max_conn && !evict_idlest(r, idlest) && !evict_holder(r)) {
		refuse(r, fd, &peer, "too many connections");
		return;
	}
	if (!rsp_conn_new(r, fd, &peer, peer_port, &key, &net, &dst, dst_port))
		refuse(r, fd, &peer, "out of memory");
}

static void listeners_enable(struct rsp *r, unsigned events)
{
	for (int i = 0; i < 2; i++)
		if (r->listen_fd[i] >= 0)
			ev_io_mod(r->loop, r->listen_fd[i], events);
}

void rsp_accept_resume(struct ev_loop *loop, void *arg)
{
	listeners_enable(arg, EV_READ);
}

void rsp_on_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct rsp *r = arg;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(r, fd, &ss);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the backlog keeps the
		 * clients; stop accepting for a moment instead of spinning. */
		log_warn("responder: accept: %s; pausing %d ms", strerror(errno), ACCEPT_PAUSE_MS);
		listeners_enable(r, 0);
		if (ev_timer_start(loop, &r->accept_pause, ACCEPT_PAUSE_MS) < 0)
			rsp_fatal(r, "cannot arm the accept pause timer: out of memory");
		return;
	}
}
