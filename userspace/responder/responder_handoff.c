// SPDX-License-Identifier: GPL-2.0-only
/*
 * The handoff in the responder child (docs/responder.md, "Handoff"): the
 * session's handoff ops (smtp_session.h) on one connection to the MTA's
 * handoff listener, which the connector (responder_connector.c) makes;
 * the dialogue is smtp/handoff_proto.c; after the MTA's 354 the bytes of
 * both directions are copied as they are. A plaintext session's bytes go
 * socket to pipe to socket with splice(2), never through this process's
 * memory; a session under STARTTLS must go through OpenSSL on the client's
 * side (rsp_conn_recv / rsp_conn_write) and is copied through two fixed
 * buffers, as is a plaintext one when no pipe can be had (EMFILE).
 * Bounded: handoffs at once, the time of each step, the copy's idle time,
 * two fixed buffers and two pipes (their kernel capacity) per handoff.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handoff_proto.h"
#include "log.h"
#include "responder_child.h"
#include "responder_connector.h"

#define HO_STEP_MS 30000       /* the connect, and each reply of the MTA */
#define HO_COPY_IDLE_MS 300000 /* the copy phase: Postfix's smtpd_timeout */
#define HO_BUF 16384

/* One direction of the spliced copy: the pipe, what it holds, and whether
 * the kernel refused more although the count says room (a pipe holds a
 * number of buffers, not of octets: a socket's small segments can fill it
 * early; until it drains, its source is not watched). */
struct ho_pipe {
	int rd, wr; /* -1: not spliced */
	size_t held;
	bool full;
};

struct conn_ho {
	int fd; /* -1 until the connector's answer */
	bool connected, copying, client_eof, mta_eof;
	struct ev_timer timer;
	struct handoff h;
	size_t c2m_len, m2c_len;
	struct ho_pipe c2m_p, m2c_p; /* plaintext sessions: the spliced copy */
	size_t pipe_cap;
	char c2m[HO_BUF], m2c[HO_BUF];
};

static void ho_pipe_close(struct ho_pipe *p)
{
	if (p->rd >= 0)
		close(p->rd);
	if (p->wr >= 0)
		close(p->wr);
	p->rd = p->wr = -1;
}

static void ho_close(struct conn *c)
{
	struct conn_ho *ho = c->ho;

	if (!ho)
		return;
	ev_timer_stop(c->rsp->loop, &ho->timer);
	if (ho->fd >= 0) {
		ev_io_del(c->rsp->loop, ho->fd);
		close(ho->fd);
	}
	ho_pipe_close(&ho->c2m_p);
	ho_pipe_close(&ho->m2c_p);
	c->rsp->n_handoffs--;
	free(ho);
	c->ho = NULL;
}

void rsp_ho_free(struct conn *c)
{
	ho_close(c);
}

bool rsp_ho_copying(const struct conn *c)
{
	return c->ho && c->ho->copying;
}

/* The MTA's side failed: what waits gets 451 4.4.1. Counted by reason
 * (during the message: copy). */
static void ho_fail(struct conn *c, enum responder_ho_fail reason, const char *why)
{
	char peer[MXG_ADDRSTRLEN];

	log_warn("responder: handoff for client %s to %s failed: %s; the client is answered 451",
		 mxg_ip_str(&c->peer, peer, sizeof(peer)), c->rsp->cfg->handoff, why);
	if (c->ho && c->ho->copying)
		reason = RESPONDER_HO_COPY;
	c->rsp->rep.cnt.handoff_failed[reason]++;
	if (c->ho && c->ho->copying) {
		c->end = "handoff broken during the message";
		rsp_conn_free(c);
		return;
	}
	ho_close(c);
	smtp_session_handoff_failed(&c->smtp);
	rsp_conn_pump(c);
}

static void ho_events(struct conn *c);

static bool ho_pipe_room(const struct conn_ho *ho, const struct ho_pipe *p)
{
	return !p->full && p->held < ho->pipe_cap;
}

/* A plaintext session after the 354: the two pipes of the spliced copy.
 * false: none (the copy goes through the buffers, as under TLS). */
static bool ho_pipes_open(struct conn *c)
{
	struct conn_ho *ho = c->ho;
	int a[2], b[2], cap;

	if (c->ssl || c->tls != CONN_TLS_NONE)
		return false; /* OpenSSL must see the client's bytes */
	if (pipe2(a, O_NONBLOCK | O_CLOEXEC) < 0)
		return false;
	if (pipe2(b, O_NONBLOCK | O_CLOEXEC) < 0) {
		close(a[0]);
		close(a[1]);
		return false;
	}
	ho->c2m_p = (struct ho_pipe){a[0], a[1], 0, false};
	ho->m2c_p = (struct ho_pipe){b[0], b[1], 0, false};
	/* Both have the default size; a user past pipe-user-pages-soft gets
	 * smaller ones: the count is only a hint (see struct ho_pipe). */
	cap = fcntl(a[1], F_GETPIPE_SZ);
	ho->pipe_cap = cap > 0 ? (size_t)cap : 4096;
	return true;
}

/* Move what the pipe's source has into it. 1 progress, 0 nothing now,
 * -1 end of file or error (errno 0 at end of file). */
static int ho_fill(struct conn_ho *ho, struct ho_pipe *p, int from)
{
	ssize_t n;

	if (p->full || p->held >= ho->pipe_cap)
		return 0;
	n = splice(from, NULL, p->wr, NULL, ho->pipe_cap - p->held,
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		p->held += (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		/* Nothing to read, or the pipe has no free buffer. */
		p->full = p->held > 0;
		return 0;
	}
	if (!n)
		errno = 0;
	return -1;
}

/* Move what the pipe holds to its sink. 1 progress, 0 nothing now, -1
 * error. *moved adds what went. */
static int ho_drain(struct ho_pipe *p, int to, uint64_t *moved)
{
	ssize_t n;

	if (!p->held)
		return 0;
	n = splice(p->rd, NULL, to, NULL, p->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		p->held -= (size_t)n;
		p->full = false;
		*moved += (uint64_t)n;
		return 1;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

static bool ho_arm(struct conn *c, uint64_t ms)
{
	if (ev_timer_start(c->rsp->loop, &c->ho->timer, ms) < 0) {
		ho_fail(c, RESPONDER_HO_LIMIT, "out of memory (timer)");
		return false;
	}
	return true;
}

/* Write what the dialogue has for the MTA. false: failed (handled). */
static bool ho_flush(struct conn *c)
{
	struct conn_ho *ho = c->ho;
	size_t n;
	const char *o = handoff_output(&ho->h, &n);
	ssize_t w;

	if (!n || !ho->connected)
		return true;
	w = send(ho->fd, o, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		ho_fail(c, RESPONDER_HO_CLOSED, strerror(errno));
		return false;
	}
	if (w > 0)
		handoff_consume(&ho->h, (size_t)w);
	return true;
}

static void ho_timer(struct ev_loop *loop, void *arg)
{
	struct conn *c = arg;

	ho_fail(c, RESPONDER_HO_TIMEOUT, "the MTA did not answer in time");
}

/* The dialogue's events, until it wants more from the MTA. */
static void ho_feed(struct conn *c, const char *buf, size_t len)
{
	size_t off = 0, used;

	for (;;) {
		enum handoff_event ev = handoff_feed(&c->ho->h, buf + off, len - off, &used);

		off += used;
		if (ev == HO_EV_FAILED) {
			ho_fail(c, RESPONDER_HO_PROTOCOL, c->ho->h.why);
			return;
		}
		if (ev == HO_EV_NONE) {
			if (off < len && c->ho->h.state != HO_PIPE)
				continue;
			break;
		}
		smtp_session_handoff_reply(&c->smtp, c->ho->h.reply, c->ho->h.reply_len);
		if (c->ho->h.state == HO_PIPE) {
			/* The MTA's 354: from here bytes as they are; what the
			 * client pipelined behind DATA is the message. */
			c->ho->copying = true;
			memcpy(c->ho->c2m, c->in, c->in_len);
			c->ho->c2m_len = c->in_len;
			c->in_len = 0;
			if (!ho_pipes_open(c) && !c->ssl)
				log_debug("responder: handoff copy without splice: %s",
					  strerror(errno));
			ev_timer_stop(c->rsp->loop, &c->ho->timer);
			if (ev_timer_start(c->rsp->loop, &c->timer, HO_COPY_IDLE_MS) < 0) {
				ho_fail(c, RESPONDER_HO_LIMIT, "out of memory (timer)");
				return;
			}
			rsp_ho_copy(c);
			return;
		}
		ev_timer_stop(c->rsp->loop, &c->ho->timer);
		/* The client's next commands: they may end the handoff. */
		if (!rsp_conn_pump(c) || !c->ho)
			return;
	}
	if (c->ho && ho_flush(c))
		ho_events(c);
}

static void ho_events(struct conn *c)
{
	struct conn_ho *ho = c->ho;
	size_t n;
	unsigned ev = EV_READ;

	if (!ho || ho->fd < 0)
		return;
	handoff_output(&ho->h, &n);
	if (!ho->connected || n || (ho->copying && (ho->c2m_len || ho->c2m_p.held)))
		ev |= EV_WRITE;
	if (ho->copying && (ho->mta_eof || (ho->m2c_p.rd >= 0 ? !ho_pipe_room(ho, &ho->m2c_p)
							      : ho->m2c_len == sizeof(ho->m2c))))
		ev &= ~(unsigned)EV_READ;
	ev_io_mod(c->rsp->loop, ho->fd, ev);
}

static void ho_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct conn *c = arg;
	struct conn_ho *ho = c->ho;
	char buf[2048];
	ssize_t n;

	if (!ho->connected) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			ho_fail(c, RESPONDER_HO_CONNECT, strerror(err));
			return;
		}
		ho->connected = true;
	}
	if (ho->copying) {
		rsp_ho_copy(c);
		return;
	}
	if (!ho_flush(c))
		return;
	if (events & (EV_READ | EV_ERROR)) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			ho_fail(c, RESPONDER_HO_CLOSED,
				n ? strerror(errno) : "the MTA closed the connection");
			return;
		}
		if (n > 0) {
			ho_feed(c, buf, (size_t)n);
			return;
		}
	}
	ho_events(c);
}

/* The connector's answers: each names the session by its serial. */
void rsp_on_connector(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct rsp *r = arg;
	uint64_t id;
	int conn, error, rc;

	while ((rc = rsp_connector_take(fd, &id, &conn, &error)) == 1) {
		struct conn *c;

		LIST_FOREACH(c, &r->conns, link)
			if (c->serial == id && c->ho && c->ho->fd < 0)
				break;
		if (!c) { /* the session is gone */
			if (conn >= 0)
				close(conn);
			continue;
		}
		if (conn < 0) {
			ho_fail(c, RESPONDER_HO_CONNECT, strerror(error));
			continue;
		}
		c->ho->fd = conn;
		if (ev_io_add(loop, conn, EV_WRITE, ho_io, c) < 0) {
			close(conn);
			c->ho->fd = -1;
			ho_fail(c, RESPONDER_HO_LIMIT, "out of memory (watcher)");
		}
	}
	if (rc < 0)
		rsp_fatal(r, "the handoff connector is gone");
}

bool rsp_ho_rcpt(struct conn *c, const char *helo_line, const char *mail_line,
		 const char *rcpt_line)
{
	struct rsp *r = c->rsp;

	if (!c->ho) {
		struct handoff_params p = {
		    .protocol = (enum handoff_protocol)r->cfg->handoff_protocol,
		    .client = c->peer,
		    .local = c->dst,
		    .client_port = c->peer_port,
		    .local_port = c->dst_port,
		    .helo_line = helo_line,
		    .helo_name =
			helo_line && strchr(helo_line, ' ') ? strchr(helo_line, ' ') + 1 : "",
		    .our_name = r->helo,
		    .mail_line = mail_line};
		struct conn_ho *ho;

		if (r->n_handoffs >= r->max_handoffs) {
			r->rep.cnt.handoff_failed[RESPONDER_HO_LIMIT]++;
			return false;
		}
		ho = calloc(1, sizeof(*ho));
		if (!ho) {
			r->rep.cnt.handoff_failed[RESPONDER_HO_LIMIT]++;
			return false;
		}
		ho->fd = -1;
		ho->c2m_p.rd = ho->c2m_p.wr = ho->m2c_p.rd = ho->m2c_p.wr = -1;
		ev_timer_init(&ho->timer, ho_timer, c);
		c->ho = ho;
		r->n_handoffs++;
		if (!handoff_init(&ho->h, &p) ||
		    rsp_connector_ask(r->connector_fd, c->serial) < 0 ||
		    ev_timer_start(r->loop, &ho->timer, HO_STEP_MS) < 0) {
			ho_close(c);
			r->rep.cnt.handoff_failed[RESPONDER_HO_LIMIT]++;
			return false;
		}
		r->rep.cnt.handoffs++;
	}
	if (!handoff_rcpt(&c->ho->h, rcpt_line)) {
		/* Failed, not only busy (a parameter the MTA cannot take): the
		 * caller answers 451; the next recipient starts afresh. */
		if (c->ho->h.state == HO_FAILED) {
			char peer[MXG_ADDRSTRLEN];

			log_warn("responder: handoff for client %s to %s failed: %s; the client "
				 "is answered 451",
				 mxg_ip_str(&c->peer, peer, sizeof(peer)), r->cfg->handoff,
				 c->ho->h.why);
			r->rep.cnt.handoff_failed[RESPONDER_HO_PROTOCOL]++;
			ho_close(c);
		}
		return false;
	}
	if (!ho_arm(c, HO_STEP_MS))
		return true; /* failed and answered */
	if (ho_flush(c))
		ho_events(c);
	return true;
}

bool rsp_ho_data(struct conn *c)
{
	if (!c->ho || !handoff_data(&c->ho->h))
		return false;
	if (!ho_arm(c, HO_STEP_MS))
		return true;
	if (ho_flush(c))
		ho_events(c);
	return true;
}

void rsp_ho_reset(struct conn *c)
{
	ho_close(c);
}

/* The copy phase, both directions, on an event of either side: the
 * session's last replies (the 354) first, then the MTA's bytes; what the
 * client pipelined behind DATA (c2m) before what it sends later. Each
 * direction goes through its pipe (splice) or, under TLS, its buffer. */
void rsp_ho_copy(struct conn *c)
{
	struct conn_ho *ho = c->ho;
	struct rsp *r = c->rsp;
	bool spliced = ho->c2m_p.rd >= 0, progress, c2m_room;
	size_t out;
	ssize_t n;
	int rc;

	do {
		progress = false;
		smtp_session_output(&c->smtp, &out);
		if (out) {
			if (!rsp_conn_send(c, &progress)) {
				c->end = "write error";
				rsp_conn_free(c);
				return;
			}
		} else if (ho->m2c_len) {
			n = rsp_conn_write(c, ho->m2c, ho->m2c_len);
			if (n > 0) {
				memmove(ho->m2c, ho->m2c + n, ho->m2c_len - (size_t)n);
				ho->m2c_len -= (size_t)n;
				r->rep.cnt.handoff_bytes_to_client += (uint64_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				c->end = "write error";
				rsp_conn_free(c);
				return;
			}
		} else if (spliced) {
			rc = ho_drain(&ho->m2c_p, c->fd, &r->rep.cnt.handoff_bytes_to_client);
			if (rc < 0) {
				c->end = "write error";
				rsp_conn_free(c);
				return;
			}
			progress |= rc > 0;
		}
		if (ho->c2m_len) {
			n = send(ho->fd, ho->c2m, ho->c2m_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				memmove(ho->c2m, ho->c2m + n, ho->c2m_len - (size_t)n);
				ho->c2m_len -= (size_t)n;
				r->rep.cnt.handoff_bytes_to_mta += (uint64_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				ho_fail(c, RESPONDER_HO_COPY, strerror(errno));
				return;
			}
		} else if (spliced) {
			rc = ho_drain(&ho->c2m_p, ho->fd, &r->rep.cnt.handoff_bytes_to_mta);
			if (rc < 0) {
				ho_fail(c, RESPONDER_HO_COPY, strerror(errno));
				return;
			}
			progress |= rc > 0;
		}
		if (!ho->client_eof && spliced) {
			rc = ho_fill(ho, &ho->c2m_p, c->fd);
			ho->client_eof = rc < 0;
			progress |= rc > 0;
		} else if (!ho->client_eof && ho->c2m_len < sizeof(ho->c2m)) {
			n = rsp_conn_recv(c, ho->c2m + ho->c2m_len, sizeof(ho->c2m) - ho->c2m_len);
			if (n > 0) {
				ho->c2m_len += (size_t)n;
				progress = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				ho->client_eof = true;
			}
		}
		if (!ho->mta_eof && spliced) {
			rc = ho_fill(ho, &ho->m2c_p, ho->fd);
			ho->mta_eof = rc < 0;
			progress |= rc > 0;
		} else if (!ho->mta_eof && ho->m2c_len < sizeof(ho->m2c)) {
			n = recv(ho->fd, ho->m2c + ho->m2c_len, sizeof(ho->m2c) - ho->m2c_len,
				 MSG_DONTWAIT);
			if (n > 0) {
				ho->m2c_len += (size_t)n;
				progress = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				ho->mta_eof = true;
			}
		}
	} while (progress);
	if (ho->client_eof && !ho->c2m_len && !ho->c2m_p.held)
		shutdown(ho->fd, SHUT_WR);
	smtp_session_output(&c->smtp, &out);
	/* The MTA is done (221 or closed) and all of it reached the client. */
	if ((ho->mta_eof && !ho->m2c_len && !ho->m2c_p.held && !out) ||
	    (ho->client_eof && ho->mta_eof)) {
		r->rep.cnt.handoffs_done++;
		c->end = spliced ? "handed off (splice)" : "handed off (copied)";
		rsp_conn_free(c);
		return;
	}
	if (ev_timer_start(r->loop, &c->timer, HO_COPY_IDLE_MS) < 0) {
		c->end = "out of memory (timer)";
		rsp_conn_free(c);
		return;
	}
	c2m_room = spliced ? ho_pipe_room(ho, &ho->c2m_p) : ho->c2m_len < sizeof(ho->c2m);
	ev_io_mod(
	    r->loop, c->fd,
	    (ho->client_eof || !c2m_room ? 0 : EV_READ) |
		(out || ho->m2c_len || ho->m2c_p.held || (c->tls_want & EV_WRITE) ? EV_WRITE : 0));
	ho_events(c);
}
