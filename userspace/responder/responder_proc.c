// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child's event loop (it runs without privileges, see
 * responder_priv.c): accept steered connections, run one smtp_session per
 * connection with non-blocking I/O and bounded buffers, enforce the
 * connection (in all, per client, per network), command, idle and
 * session-lifetime limits, make room for new clients by closing the
 * longest-idle session when full, track offenders, take domain
 * tables from the controller and report counters and offenders back to it
 * (responder_report.c). It exits when the controller's end of the
 * socketpair closes.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "config_pass.h"
#include "greylist.h"
#include "offender.h"
#include "responder_int.h"
#include "responder_report.h"
#include "responder_wire.h"
#include "smtp_session.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define CONN_IN_MAX 1024	    /* unprocessed client bytes per session: two full lines */
#define CONN_LINGER_MS 2000	    /* after the last reply: wait for the client's FIN */
#define ACCEPT_BATCH 64		    /* accepts per wakeup, so sessions get served too */
#define ACCEPT_PAUSE_MS 100	    /* out of descriptors: stop accepting this long */
#define REFUSE_LOG_INTERVAL_MS 1000 /* at most one "refused" line per second */

struct rsp;

struct conn {
	LIST_ENTRY(conn) link; /* in rsp.conns */
	struct rsp *rsp;
	int fd;
	struct mxg_ip peer, dst;
	uint16_t peer_port, dst_port;
	struct client_key key, net;
	uint64_t serial;       /* this session, for the offender count (never 0) */
	uint64_t started_ms;   /* accepted: session_timeout counts from here */
	uint64_t active_ms;    /* accepted, or the last complete command */
	struct ev_timer timer; /* idle or lifetime, then linger */
	bool lingering;	       /* replies sent, write side shut: wait for EOF */
	const char *end;       /* why it ended, for the log line */
	size_t in_len;
	char in[CONN_IN_MAX];
	struct smtp_session smtp;
};

struct rsp {
	struct ev_loop *loop;
	const struct mxg_config *cfg;
	int listen_fd[2];
	int ctl;
	char helo[MXG_NAME_MAX];
	unsigned max_conn, max_per_client, max_per_net;
	uint64_t idle_ms, session_ms;
	struct ev_timer accept_pause;

	struct responder_domain *dom;
	size_t n_dom;
	bool have_table;
	uint32_t tables; /* tables installed: the ACK sequence */

	struct responder_wire_reader rd; /* tables from the controller */

	LIST_HEAD(, conn) conns;
	unsigned n_conns;
	struct offender_table off;
	uint64_t sessions_seen;	     /* serial of the last session accepted */
	struct responder_report rep; /* counters and offenders to the controller */
	struct ev_timer report_timer;

	uint64_t refuse_log_ms;
	unsigned refused_quiet; /* refusals not logged since the last line */
	uint64_t unsteered;	/* connections closed: not steered from port 25 */
	int exit_code;
};

static enum smtp_lookup conn_lookup(void *arg, const char *domain,
				    const struct responder_domain **d)
{
	struct conn *c = arg;
	struct rsp *r = c->rsp;
	size_t lo = 0, hi = r->n_dom;

	if (!r->have_table)
		return SMTP_DOMAIN_NO_TABLE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(domain, r->dom[mid].name);

		if (!cmp) {
			*d = &r->dom[mid];
			return SMTP_DOMAIN_FOUND;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* Reported so that `mxgate status` can name it: a domain the MTA
	 * takes and mxgate does not list gets 451 until the address opens. */
	report_unserved(&c->rsp->rep, domain);
	return SMTP_DOMAIN_NOT_SERVED;
}

static bool client_is_local(const struct conn *c);
static void report_update_events(struct rsp *r, bool pending);

static bool conn_offender(void *arg)
{
	struct conn *c = arg;

	if (!c->rsp->cfg->responder_test_mode && client_is_local(c))
		return false;
	if (!offender_try(&c->rsp->off, &c->key, ev_now_ms(), c->serial))
		return false;
	c->rsp->rep.cnt.offenders++;
	report_offender(&c->rsp->rep, &c->peer, ev_now_ms());
	return true;
}

static void conn_rcpt_replied(void *arg, int code)
{
	struct conn *c = arg;

	c->rsp->rep.cnt.replies[responder_code_of(code)]++;
}

static bool conn_rcpt_pass(void *arg, const struct responder_domain *d, const char *local,
			   const char *domain, const char *from)
{
	struct conn *c = arg;
	struct rsp *r = c->rsp;

	/* Only the tc gate (passes map) and the nft gate in its own table
	 * (set pass4/pass6) can pass a client. Elsewhere a "your next
	 * connection goes to its mail server" would not be true: such a
	 * recipient gets the domain's usual reply, and greylist works as
	 * defer (docs/design-deviations.md). */
	if (r->cfg->gate != MXG_GATE_TC && !(r->cfg->gate == MXG_GATE_NFT && !r->cfg->nft_table[0]))
		return false;
	if (cfg_pass_recipient(r->cfg, local, domain)) {
		r->rep.cnt.passed_recipient++;
		report_pass(&r->rep, &c->peer, ev_now_ms(), MXG_PASS_RECIPIENT);
		report_update_events(r, r->rep.out_len > 0);
		return true;
	}
	if (d->reply == MXG_REPLY_GREYLIST) {
		char rcpt[SMTP_FROM_MAX];

		/* 451 with the defer text; the controller keeps the tuple and
		 * passes the client if it comes back in time. */
		snprintf(rcpt, sizeof(rcpt), "%s@%s", local, domain);
		r->rep.cnt.greylisted++;
		report_tuple(&r->rep, &c->peer, ev_now_ms(),
			     greylist_tuple_hash(0, &c->peer, from, rcpt));
		report_update_events(r, r->rep.out_len > 0);
	}
	return false;
}

static const struct smtp_session_ops conn_ops = {.lookup = conn_lookup,
						 .offender_try = conn_offender,
						 .rcpt_pass = conn_rcpt_pass,
						 .rcpt_replied = conn_rcpt_replied};

static void conn_free(struct conn *c)
{
	struct rsp *r = c->rsp;
	char peer[MXG_ADDRSTRLEN], dst[MXG_ADDRSTRLEN];

	log_info("responder: session client=%s port=%u dst=%s port=%u rcpt=%s reply=%d end=%s "
		 "commands=%u",
		 mxg_ip_str(&c->peer, peer, sizeof(peer)), (unsigned)c->peer_port,
		 mxg_ip_str(&c->dst, dst, sizeof(dst)), (unsigned)c->dst_port,
		 c->smtp.summary_len ? c->smtp.summary : "-", c->smtp.last_rcpt_code,
		 c->end ? c->end : "closed", c->smtp.commands);
	if (c->smtp.last_code == 421)
		r->rep.cnt.replies[RESPONDER_CODE_421]++;
	ev_io_del(r->loop, c->fd);
	ev_timer_stop(r->loop, &c->timer);
	close(c->fd);
	LIST_REMOVE(c, link);
	r->n_conns--;
	free(c);
}

static size_t conn_out_len(const struct conn *c)
{
	size_t out;

	smtp_session_output(&c->smtp, &out);
	return out;
}

/* Wait for the next command at most idle_ms, and never past the end of
 * the session's lifetime. */
static int conn_arm(struct conn *c)
{
	struct rsp *r = c->rsp;
	uint64_t now = ev_now_ms(), end = c->started_ms + r->session_ms;
	uint64_t left = end > now ? end - now : 0;

	return ev_timer_start(r->loop, &c->timer, left < r->idle_ms ? left : r->idle_ms);
}

static void conn_update_events(struct conn *c)
{
	unsigned ev = 0;

	/* Lingering: read (and drop) until the FIN. Otherwise read while
	 * there is room, and the session still wants input. */
	if (c->lingering || (!smtp_session_done(&c->smtp) && c->in_len < sizeof(c->in)))
		ev = EV_READ;
	if (!c->lingering && conn_out_len(c))
		ev |= EV_WRITE;
	ev_io_mod(c->rsp->loop, c->fd, ev);
}

/* Send what the session has queued. false on a fatal error. */
static bool conn_send(struct conn *c, bool *progress)
{
	size_t out;
	const char *o = smtp_session_output(&c->smtp, &out);
	ssize_t w;

	if (!out)
		return true;
	w = send(c->fd, o, out, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w > 0) {
		smtp_session_consume(&c->smtp, (size_t)w);
		*progress = true;
		return true;
	}
	return w == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Feed what we have, send what we can, until neither makes progress.
 * Returns false when the connection was freed. */
static bool conn_pump(struct conn *c)
{
	struct rsp *r = c->rsp;
	bool progress;

	do {
		progress = false;
		if (c->in_len && !c->lingering) {
			unsigned before = c->smtp.commands;
			size_t n = smtp_session_feed(&c->smtp, c->in, c->in_len);

			if (n) {
				memmove(c->in, c->in + n, c->in_len - n);
				c->in_len -= n;
				progress = true;
			}
			/* The idle timeout is per command: a client dribbling one
			 * endless line gets no extension. */
			if (c->smtp.commands != before && !smtp_session_done(&c->smtp)) {
				c->active_ms = ev_now_ms();
				if (conn_arm(c) < 0) {
					c->end = "out of memory (timer)";
					conn_free(c);
					return false;
				}
			}
		}
		if (!conn_send(c, &progress)) {
			c->end = "write error";
			conn_free(c);
			return false;
		}
	} while (progress);

	if (smtp_session_done(&c->smtp) && !c->lingering && !conn_out_len(c)) {
		/* Half-close and wait for the client's FIN: closing with unread
		 * input would send a RST that can destroy our last reply before
		 * the client reads it. */
		if (!c->end)
			c->end = c->smtp.last_code == 221 ? "quit" : "421";
		shutdown(c->fd, SHUT_WR);
		c->lingering = true;
		c->in_len = 0;
		if (ev_timer_start(r->loop, &c->timer, CONN_LINGER_MS) < 0) {
			conn_free(c); /* no linger then: the reply is sent */
			return false;
		}
	}
	conn_update_events(c);
	return true;
}

static void conn_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct conn *c = arg;
	char junk[4096];
	ssize_t n;

	if (!(events & (EV_READ | EV_ERROR))) {
		conn_pump(c);
		return;
	}
	if (c->lingering) {
		n = read(fd, junk, sizeof(junk));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_free(c);
		return;
	}
	if (c->in_len < sizeof(c->in)) {
		n = read(fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			bool ignored = false;

			/* Answer what was pipelined before the EOF, once. */
			if (!c->end)
				c->end = n == 0 ? "client closed" : "read error";
			smtp_session_feed(&c->smtp, c->in, c->in_len);
			c->in_len = 0;
			if (n == 0)
				conn_send(c, &ignored);
			conn_free(c);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
	}
	conn_pump(c);
}

static void conn_timer(struct ev_loop *loop, void *arg)
{
	struct conn *c = arg;

	if (c->lingering || smtp_session_done(&c->smtp)) {
		/* linger over, or a 421 the client would not read */
		conn_free(c);
		return;
	}
	if (ev_now_ms() >= c->started_ms + c->rsp->session_ms) {
		c->end = "session timeout";
		smtp_session_close_421(&c->smtp, SMTP_WHY_LIFETIME);
	} else {
		c->end = "idle timeout";
		smtp_session_close_421(&c->smtp, SMTP_WHY_IDLE);
	}
	if (ev_timer_start(loop, &c->timer, CONN_LINGER_MS) < 0) {
		bool ignored = false;

		/* No linger: one try at the 421, then close. */
		conn_send(c, &ignored);
		conn_free(c);
		return;
	}
	conn_pump(c);
}

/* The destination the client dialled: with bpf_sk_assign or tproxy
 * getsockname already shows it (port 25); behind an nft redirect ask
 * conntrack. A port other than 25 means the connection was not steered:
 * someone on this host connected to the responder's own listener. */
static void original_dst(int fd, struct mxg_ip *dst, uint16_t *dst_port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc;

	*dst_port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    mxg_ip_from_sockaddr((struct sockaddr *)&ss, dst, dst_port) < 0 ||
	    *dst_port == MXG_SMTP_PORT)
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
#define SELF_ADDRS_MAX 64
static struct mxg_ip self_addrs[SELF_ADDRS_MAX];
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
	for (struct ifaddrs *i = ifa; i && n_self_addrs < SELF_ADDRS_MAX; i = i->ifa_next) {
		uint16_t port;

		if (i->ifa_addr &&
		    mxg_ip_from_sockaddr(i->ifa_addr, &self_addrs[n_self_addrs], &port) == 0)
			n_self_addrs++;
	}
	freeifaddrs(ifa);
}

/* Loopback, the address it dialled (it connected to itself), or one of
 * this host's addresses: a local client. Counting it would put the host
 * itself into the offender set (local submission over localhost, the
 * host's own MTA). */
static bool client_is_local(const struct conn *c)
{
	const struct mxg_ip *p = &c->peer;

	if (p->family == AF_INET && (ntohl(p->v4.s_addr) >> 24) == 127)
		return true;
	if (p->family == AF_INET6 && (IN6_IS_ADDR_LOOPBACK(&p->v6) ||
				      (IN6_IS_ADDR_V4MAPPED(&p->v6) && p->v6.s6_addr[12] == 127)))
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
	conn_send(idlest, &ignored);
	conn_free(idlest);
	return true;
}

static void accept_one(struct rsp *r, int fd, const struct sockaddr_storage *ss)
{
	struct smtp_session_params p = {r->helo, r->cfg->max_commands, 0};
	struct mxg_ip peer, dst = {0};
	struct client_key key, net;
	uint16_t peer_port, dst_port;
	unsigned same = 0, same_net = 0;
	struct conn *c, *idlest = NULL;

	if (mxg_ip_from_sockaddr((const struct sockaddr *)ss, &peer, &peer_port) < 0) {
		close(fd); /* not TCP over IP: cannot happen on our listeners */
		return;
	}
	original_dst(fd, &dst, &dst_port);
	if (dst_port != MXG_SMTP_PORT && !r->cfg->responder_test_mode) {
		/* Not steered from port 25: a local process dialled our
		 * listener. No session, no reply, nothing counted. */
		close(fd);
		r->unsteered++;
		return;
	}
	client_key_from_ip(&peer, &key);
	client_key_network(&key, &net);
	LIST_FOREACH(c, &r->conns, link) {
		same += client_key_equal(&c->key, &key);
		same_net += client_key_equal(&c->net, &net);
		if (!c->lingering && !smtp_session_done(&c->smtp) &&
		    (!idlest || c->active_ms < idlest->active_ms))
			idlest = c;
	}
	/* A client over its own limits never takes another's slot. */
	if (same >= r->max_per_client) {
		refuse(r, fd, &peer, "too many connections from this client");
		return;
	}
	if (same_net >= r->max_per_net) {
		refuse(r, fd, &peer, "too many connections from this network");
		return;
	}
	if (r->n_conns >= r->max_conn && !evict_idlest(r, idlest)) {
		refuse(r, fd, &peer, "too many connections");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		refuse(r, fd, &peer, "out of memory");
		return;
	}
	c->rsp = r;
	c->fd = fd;
	c->peer = peer;
	c->peer_port = peer_port;
	c->key = key;
	c->net = net;
	c->serial = ++r->sessions_seen;
	c->started_ms = c->active_ms = ev_now_ms();
	c->dst = dst;
	c->dst_port = dst_port;
	ev_timer_init(&c->timer, conn_timer, c);
	smtp_session_init(&c->smtp, &p, &conn_ops, c);
	if (ev_io_add(r->loop, fd, EV_READ | EV_WRITE, conn_io, c) < 0 || conn_arm(c) < 0) {
		ev_io_del(r->loop, fd);
		ev_timer_stop(r->loop, &c->timer);
		free(c);
		refuse(r, fd, &peer, "out of memory");
		return;
	}
	LIST_INSERT_HEAD(&r->conns, c, link);
	r->n_conns++;
	r->rep.cnt.sessions++;
	smtp_session_start(&c->smtp);
	conn_pump(c);
}

static void listeners_enable(struct rsp *r, unsigned events)
{
	for (int i = 0; i < 2; i++)
		if (r->listen_fd[i] >= 0)
			ev_io_mod(r->loop, r->listen_fd[i], events);
}

static void accept_resume(struct ev_loop *loop, void *arg)
{
	listeners_enable(arg, EV_READ);
}

static void fatal(struct rsp *r, const char *what)
{
	log_err("responder: %s; exiting (the gate opens, mxgated restarts the responder)", what);
	r->exit_code = 1;
	ev_stop(r->loop);
}

static void on_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct rsp *r = arg;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			if (responder_test_after_accept)
				responder_test_after_accept();
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
			fatal(r, "cannot arm the accept pause timer: out of memory");
		return;
	}
}

static void report_update_events(struct rsp *r, bool pending);

static void table_install(struct rsp *r)
{
	struct responder_domain *t;
	size_t gated = 0;

	if (responder_wire_decode(r->rd.payload, r->rd.hdr.len, r->rd.hdr.count, &t) < 0) {
		fatal(r, "bad domain table from the controller");
		return;
	}
	free(r->dom);
	r->dom = t;
	r->n_dom = r->rd.hdr.count;
	for (size_t i = 0; i < r->n_dom; i++)
		gated += r->dom[i].state == MXG_DOMAIN_GATED;
	if (!r->have_table)
		log_info("responder: first domain table: %zu domains, %zu gated", r->n_dom, gated);
	else
		log_debug("responder: domain table: %zu domains, %zu gated", r->n_dom, gated);
	r->have_table = true;
	/* The controller's heartbeat: a table not acknowledged in time
	 * means this loop is stuck, and it kills us (supervise.c). */
	report_ack(&r->rep, ++r->tables);
	report_update_events(r, r->rep.out_len > 0);
}

static void report_update_events(struct rsp *r, bool pending)
{
	ev_io_mod(r->loop, r->ctl, EV_READ | (pending ? EV_WRITE : 0));
}

static void on_report_timer(struct ev_loop *loop, void *arg)
{
	struct rsp *r = arg;

	report_tick(&r->rep);
	report_update_events(r, r->rep.out_len > 0);
	if (ev_timer_start(loop, &r->report_timer, REPORT_INTERVAL_MS) < 0)
		fatal(r, "cannot arm the report timer: out of memory");
}

static void on_ctl(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct rsp *r = arg;
	int rc;

	if (events & EV_WRITE)
		report_update_events(r, report_flush(&r->rep));
	if (!(events & (EV_READ | EV_ERROR)))
		return;
	rc = responder_wire_read(&r->rd, fd);
	if (rc == 1) {
		table_install(r);
		responder_wire_reader_free(&r->rd); /* a table can be large */
	} else if (rc == -EBADMSG)
		fatal(r, "bad message header from the controller");
	else if (rc == -ENOMEM)
		fatal(r, "out of memory for a domain table");
	else if (rc < 0 && rc != -EAGAIN) {
		log_info("responder: controller gone (%s); exiting",
			 rc == -EPIPE ? "end of file" : strerror(-rc));
		ev_stop(loop);
	}
}

int responder_child_run(const struct mxg_config *cfg, int fd_v4, int fd_v6, int ctl)
{
	struct rsp r = {.cfg = cfg, .listen_fd = {fd_v4, fd_v6}, .ctl = ctl};
	uint32_t seed = 0;
	int rc = 1;

	snprintf(r.helo, sizeof(r.helo), "%s", cfg->helo_name);
	if (!r.helo[0] && gethostname(r.helo, sizeof(r.helo) - 1) < 0)
		snprintf(r.helo, sizeof(r.helo), "localhost");
	r.max_conn =
	    cfg->max_connections ? cfg->max_connections : RESPONDER_DEFAULT_MAX_CONNECTIONS;
	r.max_per_client = cfg->max_connections_per_client ? cfg->max_connections_per_client
							   : RESPONDER_DEFAULT_MAX_PER_CLIENT;
	r.max_per_net = cfg->max_connections_per_network ? cfg->max_connections_per_network
							 : RESPONDER_DEFAULT_MAX_PER_NET;
	if (r.max_per_net > r.max_conn)
		r.max_per_net = r.max_conn;
	r.idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : RESPONDER_DEFAULT_IDLE_MS;
	r.session_ms =
	    cfg->session_timeout_ms ? cfg->session_timeout_ms : RESPONDER_DEFAULT_SESSION_MS;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) < 0)
		seed = (uint32_t)getpid() ^ (uint32_t)ev_now_ns();
	LIST_INIT(&r.conns);
	ev_timer_init(&r.accept_pause, accept_resume, &r);
	ev_timer_init(&r.report_timer, on_report_timer, &r);
	report_init(&r.rep, ctl);
	responder_wire_reader_init(&r.rd, RESPONDER_WIRE_TYPE(RESPONDER_MSG_DOMAINS),
				   RESPONDER_PAYLOAD_MAX);
	r.loop = ev_loop_new();
	if (!r.loop ||
	    offender_init(&r.off, cfg->offender_threshold, cfg->offender_window_ms, 0, seed) < 0) {
		log_err("responder: out of memory at start");
		goto out;
	}
	if (fcntl(ctl, F_SETFL, fcntl(ctl, F_GETFL) | O_NONBLOCK) < 0 ||
	    ev_io_add(r.loop, ctl, EV_READ, on_ctl, &r) < 0 ||
	    ev_timer_start(r.loop, &r.report_timer, REPORT_INTERVAL_MS) < 0)
		goto out;
	for (int i = 0; i < 2; i++)
		if (r.listen_fd[i] >= 0 &&
		    ev_io_add(r.loop, r.listen_fd[i], EV_READ, on_accept, &r) < 0)
			goto out;
	if (ev_run(r.loop) < 0) {
		log_err("responder: event loop failed: %s", strerror(errno));
		r.exit_code = 1;
	}
	rc = r.exit_code;
	while (!LIST_EMPTY(&r.conns)) {
		LIST_FIRST(&r.conns)->end = "responder exit";
		conn_free(LIST_FIRST(&r.conns));
	}
out:
	if (r.loop) {
		ev_timer_stop(r.loop, &r.accept_pause);
		ev_timer_stop(r.loop, &r.report_timer);
	}
	offender_free(&r.off);
	responder_wire_reader_free(&r.rd);
	free(r.dom);
	ev_loop_free(r.loop);
	return rc;
}
