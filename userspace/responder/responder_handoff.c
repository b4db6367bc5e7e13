// SPDX-License-Identifier: GPL-2.0-only
/*
 * The handoff in the responder child (docs/responder.md, "Handoff"): the
 * session's handoff ops (smtp_session.h) on one connection to the MTA's
 * handoff listener, which the connector (responder_connector.c) makes;
 * the dialogue is smtp/handoff_proto.c; after the MTA's 354 the bytes of
 * both directions are copied as they are, through TLS on the client's side
 * when the session runs under STARTTLS (rsp_conn_recv / rsp_conn_write).
 * Bounded: handoffs at once, the time of each step, the copy's idle time,
 * two fixed buffers per handoff.
 */
#include <errno.h>
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

struct conn_ho {
	int fd; /* -1 until the connector's answer */
	bool connected, copying, client_eof, mta_eof;
	struct ev_timer timer;
	struct handoff h;
	size_t c2m_len, m2c_len;
	char c2m[HO_BUF], m2c[HO_BUF];
};

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

/* The MTA's side failed: what waits gets 451 4.4.1. */
static void ho_fail(struct conn *c, const char *why)
{
	char peer[MXG_ADDRSTRLEN];

	log_warn("responder: handoff for client %s to %s failed: %s; the client is answered 451",
		 mxg_ip_str(&c->peer, peer, sizeof(peer)), c->rsp->cfg->handoff, why);
	c->rsp->handoffs_failed++;
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

static bool ho_arm(struct conn *c, uint64_t ms)
{
	if (ev_timer_start(c->rsp->loop, &c->ho->timer, ms) < 0) {
		ho_fail(c, "out of memory (timer)");
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
		ho_fail(c, strerror(errno));
		return false;
	}
	if (w > 0)
		handoff_consume(&ho->h, (size_t)w);
	return true;
}

static void ho_timer(struct ev_loop *loop, void *arg)
{
	struct conn *c = arg;

	ho_fail(c, "the MTA did not answer in time");
}

/* The dialogue's events, until it wants more from the MTA. */
static void ho_feed(struct conn *c, const char *buf, size_t len)
{
	size_t off = 0, used;

	for (;;) {
		enum handoff_event ev = handoff_feed(&c->ho->h, buf + off, len - off, &used);

		off += used;
		if (ev == HO_EV_FAILED) {
			ho_fail(c, c->ho->h.why);
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
			ev_timer_stop(c->rsp->loop, &c->ho->timer);
			if (ev_timer_start(c->rsp->loop, &c->timer, HO_COPY_IDLE_MS) < 0) {
				ho_fail(c, "out of memory (timer)");
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
	if (!ho->connected || n || (ho->copying && ho->c2m_len))
		ev |= EV_WRITE;
	if (ho->copying && (ho->m2c_len == sizeof(ho->m2c) || ho->mta_eof))
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
			ho_fail(c, strerror(err));
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
			ho_fail(c, n ? strerror(errno) : "the MTA closed the connection");
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
			ho_fail(c, strerror(error));
			continue;
		}
		c->ho->fd = conn;
		if (ev_io_add(loop, conn, EV_WRITE, ho_io, c) < 0) {
			close(conn);
			c->ho->fd = -1;
			ho_fail(c, "out of memory (watcher)");
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
			r->handoffs_failed++;
			return false;
		}
		ho = calloc(1, sizeof(*ho));
		if (!ho)
			return false;
		ho->fd = -1;
		ev_timer_init(&ho->timer, ho_timer, c);
		c->ho = ho;
		r->n_handoffs++;
		if (!handoff_init(&ho->h, &p) ||
		    rsp_connector_ask(r->connector_fd, c->serial) < 0 ||
		    ev_timer_start(r->loop, &ho->timer, HO_STEP_MS) < 0) {
			ho_close(c);
			return false;
		}
		r->handoffs++;
	}
	if (!handoff_rcpt(&c->ho->h, rcpt_line))
		return false;
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

/* The copy phase, both directions, on an event of either side. */
void rsp_ho_copy(struct conn *c)
{
	struct conn_ho *ho = c->ho;
	size_t out;
	ssize_t n;
	bool progress;

	do {
		progress = false;
		/* The session's last replies (the 354) first, then the MTA's. */
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
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				c->end = "write error";
				rsp_conn_free(c);
				return;
			}
		}
		if (ho->c2m_len) {
			n = send(ho->fd, ho->c2m, ho->c2m_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				memmove(ho->c2m, ho->c2m + n, ho->c2m_len - (size_t)n);
				ho->c2m_len -= (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				ho_fail(c, strerror(errno));
				return;
			}
		}
		if (!ho->client_eof && ho->c2m_len < sizeof(ho->c2m)) {
			n = rsp_conn_recv(c, ho->c2m + ho->c2m_len, sizeof(ho->c2m) - ho->c2m_len);
			if (n > 0) {
				ho->c2m_len += (size_t)n;
				progress = true;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				ho->client_eof = true;
			}
		}
		if (!ho->mta_eof && ho->m2c_len < sizeof(ho->m2c)) {
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
	if (ho->client_eof && !ho->c2m_len)
		shutdown(ho->fd, SHUT_WR);
	smtp_session_output(&c->smtp, &out);
	/* The MTA is done (221 or closed) and all of it reached the client. */
	if (ho->mta_eof && !ho->m2c_len && !out) {
		c->end = "handed off";
		rsp_conn_free(c);
		return;
	}
	if (ho->client_eof && ho->mta_eof) {
		c->end = "handed off";
		rsp_conn_free(c);
		return;
	}
	if (ev_timer_start(c->rsp->loop, &c->timer, HO_COPY_IDLE_MS) < 0) {
		c->end = "out of memory (timer)";
		rsp_conn_free(c);
		return;
	}
	ev_io_mod(c->rsp->loop, c->fd,
		  (ho->client_eof || ho->c2m_len == sizeof(ho->c2m) ? 0 : EV_READ) |
		      (out || ho->m2c_len || (c->tls_want & EV_WRITE) ? EV_WRITE : 0));
	ho_events(c);
}
