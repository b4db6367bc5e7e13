// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Postfix policy delegation server's sockets: a listener on
 * policy_listen and one connection per smtpd process, all on the event
 * loop, each bounded in line length, request size and idle time. The
 * protocol itself is in policy_proto.c.
 */
#include "policy.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config_values.h"
#include "control.h"
#include "event.h"
#include "log.h"
#include "reply.h"

#define POLICY_OUT_MAX 2048 /* pending answers; Postfix waits for each one */

/* Who holds a connection: a uid (unix socket, SO_PEERCRED) or an address
 * (inet), so that no one client can take the whole connection cap. */
struct policy_peer {
	uint8_t b[17]; /* family byte, then the uid or the address */
};

struct policy_conn {
	struct policy_server *ps;
	int fd;
	struct policy_peer peer;
	uint64_t last_ms; /* last byte read */
	char in[POLICY_LINE_MAX];
	size_t in_len;
	bool discarding; /* inside a line over POLICY_LINE_MAX */
	struct policy_request req;
	char out[POLICY_OUT_MAX];
	size_t out_len;
	struct ev_timer idle;
	LIST_ENTRY(policy_conn) link; /* in policy_server.conns */
};

struct policy_server {
	struct ev_loop *loop;
	int fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct policy_hooks h;
	struct offender_table offenders;
	bool escalate;
	LIST_HEAD(, policy_conn) conns;
	unsigned n_conns;
};

static void conn_close(struct policy_conn *c)
{
	struct policy_server *ps = c->ps;

	ev_io_del(ps->loop, c->fd);
	ev_timer_stop(ps->loop, &c->idle);
	close(c->fd);
	LIST_REMOVE(c, link);
	ps->n_conns--;
	free(c);
}

static void on_idle(struct ev_loop *loop, void *arg)
{
	conn_close(arg);
}

/* Write what we can; the rest waits for EV_WRITE. -1: connection gone. */
static int conn_flush(struct policy_conn *c)
{
	while (c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	return ev_io_mod(c->ps->loop, c->fd, EV_READ | (c->out_len ? EV_WRITE : 0)) ? -1 : 0;
}

/* One complete line (without LF). -1: close the connection. */
static int conn_line(struct policy_conn *c, const char *line, size_t len)
{
	char answer[REPLY_LINE_MAX + 32];
	size_t n;

	if (!policy_request_line(&c->req, line, len))
		return 0;
	n = policy_answer(&c->req, &c->ps->h, c->ps->escalate ? &c->ps->offenders : NULL,
			  ev_now_ms(), answer, sizeof(answer));
	if (c->req.bad)
		log_debug("policy: malformed or oversized request, answered DUNNO");
	policy_request_reset(&c->req);
	if (n > sizeof(c->out) - c->out_len)
		return -1; /* a client that does not read its answers */
	memcpy(c->out + c->out_len, answer, n);
	c->out_len += n;
	return 0;
}

static int conn_input(struct policy_conn *c, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (c->discarding) {
				/* The line was too long: the request is spoiled. */
				c->discarding = false;
				c->req.bad = true;
				c->req.n_attrs++;
				continue;
			}
			if (conn_line(c, c->in, c->in_len))
				return -1;
			c->in_len = 0;
		} else if (c->discarding) {
			continue;
		} else if (c->in_len + 1 >= sizeof(c->in)) {
			c->discarding = true;
			c->in_len = 0;
		} else {
			c->in[c->in_len++] = buf[i];
		}
	}
	return 0;
}

static void on_conn(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct policy_conn *c = arg;
	char buf[4096];

	if (events & EV_READ) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0 || conn_input(c, buf, (size_t)n)) {
			conn_close(c);
			return;
		}
		c->last_ms = ev_now_ms();
		/* No idle timeout, no connection: Postfix reconnects. */
		if (ev_timer_start(loop, &c->idle, POLICY_IDLE_MS) < 0) {
			conn_close(c);
			return;
		}
	}
	if (conn_flush(c))
		conn_close(c);
}

static void peer_of(int fd, const struct sockaddr_storage *ss, struct policy_peer *p)
{
	struct mxg_ip ip;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	uint16_t port;

	memset(p, 0, sizeof(*p));
	if (ss->ss_family == AF_UNIX) {
		p->b[0] = AF_UNIX;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
			memcpy(p->b + 1, &uc.uid, sizeof(uc.uid));
	} else if (mxg_ip_from_sockaddr((const struct sockaddr *)ss, &ip, &port) == 0) {
		p->b[0] = (uint8_t)ip.family;
		memcpy(p->b + 1, &ip.v6, ip.family == AF_INET ? 4 : 16);
	}
}

/*
 * The cap is full: make room for a client that holds fewer connections
 * than the biggest holder by closing that holder's longest idle one. A
 * client holding the most gets no more: one local user (or one remote
 * host) that opens hundreds of connections cannot keep smtpd out.
 */
static bool make_room(struct policy_server *ps, const struct policy_peer *peer)
{
	struct policy_conn *c, *d, *big = NULL, *victim = NULL;
	unsigned mine = 0, most = 0;

	LIST_FOREACH(c, &ps->conns, link) {
		unsigned n = 0;

		mine += !memcmp(&c->peer, peer, sizeof(*peer));
		LIST_FOREACH(d, &ps->conns, link)
			n += !memcmp(&c->peer, &d->peer, sizeof(d->peer));
		if (n > most) {
			most = n;
			big = c;
		}
	}
	if (!big || most <= mine + 1)
		return false;
	/* Its longest idle connection, one between requests if it has one. */
	LIST_FOREACH(c, &ps->conns, link) {
		if (memcmp(&c->peer, &big->peer, sizeof(c->peer)))
			continue;
		if (!victim || (c->in_len == 0 && victim->in_len != 0) ||
		    ((c->in_len == 0) == (victim->in_len == 0) && c->last_ms < victim->last_ms))
			victim = c;
	}
	log_info("policy: %u connections already; closing the longest idle of the client "
		 "holding %u of them for a new client",
		 ps->n_conns, most);
	conn_close(victim);
	return true;
}

static void on_accept(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct policy_server *ps = arg;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct policy_peer peer;
	struct policy_conn *c;
	int cfd = accept4(fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	if (ps->unix_path[0])
		ss.ss_family = AF_UNIX; /* an unnamed peer has no address family */
	peer_of(cfd, &ss, &peer);
	if (ps->n_conns >= POLICY_CONN_MAX && !make_room(ps, &peer)) {
		/* Postfix applies smtpd_policy_service_default_action (DUNNO as
		 * docs/deployment.md recommends). */
		log_warn("policy: %u connections already; refusing one more (Postfix applies "
			 "smtpd_policy_service_default_action); lower smtpd's process limit in "
			 "master.cf if this repeats",
			 ps->n_conns);
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cfd);
		return;
	}
	c->ps = ps;
	c->fd = cfd;
	c->peer = peer;
	c->last_ms = ev_now_ms();
	ev_timer_init(&c->idle, on_idle, c);
	if (ev_io_add(loop, cfd, EV_READ, on_conn, c) ||
	    ev_timer_start(loop, &c->idle, POLICY_IDLE_MS)) {
		ev_io_del(loop, cfd);
		close(cfd);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&ps->conns, c, link);
	ps->n_conns++;
}

static int listen_on(struct policy_server *ps, const struct sockaddr_storage *ss, socklen_t sslen,
		     gid_t gid, char *err, size_t errlen, const char *what)
{
	int one = 1;

	ps->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ps->fd < 0)
		goto fail;
	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
		/* A stale socket of a previous run; never remove a live one
		 * (another mxgated's, or another policy service's). */
		int r = control_remove_stale_socket(sun);

		snprintf(ps->unix_path, sizeof(ps->unix_path), "%s", sun->sun_path);
		if (r) {
			snprintf(err, errlen,
				 "policy_listen %s: %s; stop the program that listens there or "
				 "choose another path",
				 what,
				 r == -EADDRINUSE ? "another program is listening on it"
				 : r == -EEXIST	  ? "exists and is not a socket"
						  : strerror(-r));
			close(ps->fd);
			ps->fd = -1;
			ps->unix_path[0] = '\0';
			return -1;
		}
	} else {
		setsockopt(ps->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (ss->ss_family == AF_UNIX) {
		/* Root's, group policy_group (smtpd runs as postfix), 0660:
		 * created so by the umask, with no moment in which another
		 * local user could connect, then given to the group. A local
		 * user who could ask could make any client an offender. */
		mode_t old = umask(0117);
		int r = bind(ps->fd, (const struct sockaddr *)ss, sslen);

		umask(old);
		if (r < 0)
			goto fail;
		if (chown(ps->unix_path, 0, gid) < 0 || chmod(ps->unix_path, 0660) < 0)
			goto fail;
	} else if (bind(ps->fd, (const struct sockaddr *)ss, sslen) < 0) {
		goto fail;
	}
	if (listen(ps->fd, 64) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen,
		 "policy_listen %s: %s; check that the address is local and free (ss -ltnpx)", what,
		 strerror(errno));
	if (ps->fd >= 0)
		close(ps->fd);
	ps->fd = -1;
	ps->unix_path[0] = '\0';
	return -1;
}

struct policy_server *policy_server_new(struct ev_loop *loop, const struct mxg_config *cfg,
					const struct policy_hooks *h, char *err, size_t errlen)
{
	struct policy_server *ps = calloc(1, sizeof(*ps));
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	uint32_t seed = 0;
	gid_t gid = 0;
	char why[256];

	if (!ps) {
		snprintf(err, errlen, "policy server: out of memory");
		return NULL;
	}
	ps->fd = -1;
	ps->loop = loop;
	LIST_INIT(&ps->conns);
	ps->h = *h;
	if (cv_policy_listen(cfg->policy_listen, &ss, &sslen, why, sizeof(why))) {
		snprintf(err, errlen, "policy_listen: %s", why);
		goto fail;
	}
	if (ss.ss_family == AF_UNIX) {
		struct group *gr = getgrnam(cfg->policy_group);

		if (!gr) {
			snprintf(err, errlen,
				 "policy_group: %s: no such group; set policy_group = the group "
				 "Postfix's smtpd runs as (postfix)",
				 cfg->policy_group);
			goto fail;
		}
		gid = gr->gr_gid;
	}
	if (listen_on(ps, &ss, sslen, gid, err, errlen, cfg->policy_listen))
		goto fail;
	if (cfg->offender_threshold) {
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) < 0)
			seed = (uint32_t)ev_now_ns();
		if (offender_init(&ps->offenders, cfg->offender_threshold, cfg->offender_window_ms,
				  0, seed)) {
			snprintf(err, errlen,
				 "policy server: out of memory for the offender table");
			goto fail;
		}
		ps->escalate = true;
	}
	if (ev_io_add(loop, ps->fd, EV_READ, on_accept, ps)) {
		snprintf(err, errlen, "policy server: cannot watch the listening socket");
		goto fail;
	}
	log_info("policy: listening on %s", cfg->policy_listen);
	return ps;
fail:
	policy_server_free(ps);
	return NULL;
}

void policy_offender_mark(struct policy_server *ps, const struct mxg_ip *ip, uint64_t until_ms)
{
	struct client_key k;

	if (!ps->escalate)
		return;
	client_key_from_ip(ip, &k);
	offender_mark(&ps->offenders, &k, until_ms, ev_now_ms());
}

void policy_server_free(struct policy_server *ps)
{
	if (!ps)
		return;
	while (!LIST_EMPTY(&ps->conns))
		conn_close(LIST_FIRST(&ps->conns));
	if (ps->fd >= 0) {
		ev_io_del(ps->loop, ps->fd);
		close(ps->fd);
	}
	if (ps->unix_path[0])
		unlink(ps->unix_path);
	if (ps->escalate)
		offender_free(&ps->offenders);
	free(ps);
}
