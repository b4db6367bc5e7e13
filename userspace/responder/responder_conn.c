// SPDX-License-Identifier: GPL-2.0-only
/*
 * One client's connection in the responder child: the answers its
 * smtp_session asks for (the domain table, offenders, the pass decision,
 * the handoff), non-blocking I/O with bounded buffers, the command, idle
 * and session-lifetime limits, and the linger after the last reply so a
 * close does not destroy it. responder_accept.c starts it (rsp_conn_new),
 * responder_proc.c runs the loop it lives in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "config_pass.h"
#include "pass_decide.h"
#include "responder_child.h"
#include "responder_int.h"

#define CONN_LINGER_MS 2000 /* after the last reply: wait for the client's FIN */

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

static bool conn_offender(void *arg)
{
	struct conn *c = arg;

	if (rsp_client_is_local(c))
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

/* The greylist tuple of an RCPT (pass_decide.c): 451 with the defer text;
 * the controller keeps the tuple and passes the client if it comes back
 * in time. This side never knows whether it did. */
static bool conn_tuple(void *arg, const struct mxg_ip *client, uint64_t hash)
{
	struct conn *c = arg;
	struct rsp *r = c->rsp;

	r->rep.cnt.greylisted++;
	report_tuple(&r->rep, client, ev_now_ms(), hash);
	rsp_report_update_events(r, r->rep.out_len > 0);
	/* With a handoff the retry that earns its pass is delivered now: the
	 * responder keeps the tuples of its own sessions too (the controller
	 * still passes the client). A responder restarted since the first
	 * try does not know the tuple: that retry gets 451, as without. */
	return r->connector_fd >= 0 && greylist_seen(&r->gl, greylist_rekey(r->gl_seed, hash),
						     ev_now_ms()) == GREYLIST_PASS;
}

static bool conn_rcpt_pass(void *arg, const struct responder_domain *d, const char *local,
			   const char *domain, const char *from)
{
	struct conn *c = arg;
	struct rsp *r = c->rsp;
	const struct pass_ask ask = {.cfg = r->cfg,
				     .client = &c->peer,
				     .from = from,
				     .local = local,
				     .domain = domain,
				     /* a bare <postmaster> has no domain */
				     .reply = d ? d->reply : MXG_REPLY_DEFER,
				     .behind_gate = true,
				     .tuple = conn_tuple,
				     .arg = c};

	/* With a handoff an allowlisted recipient is delivered in this
	 * session, and the client gets no pass for anything else. */
	if (r->connector_fd >= 0 && cfg_pass_recipient(r->cfg, local, domain)) {
		r->rep.cnt.passed_recipient++;
		return true;
	}
	/* Without a handoff only a pass at the gate can let anyone through. */
	if (r->connector_fd < 0 && !pass_gate_can_pass(r->cfg))
		return false;
	switch (pass_decide(&ask)) {
	case PASS_RECIPIENT:
		r->rep.cnt.passed_recipient++;
		report_pass(&r->rep, &c->peer, ev_now_ms(), MXG_PASS_RECIPIENT);
		rsp_report_update_events(r, r->rep.out_len > 0);
		return true;
	case PASS_NONE:
		return false;
	case PASS_GREYLIST:
		/* Only conn_tuple's own table says so, with a handoff. */
		return r->connector_fd >= 0;
	case PASS_CLIENT:
	case PASS_HELD:
		break; /* never behind the gate */
	}
	return false;
}

static bool conn_starttls(void *arg)
{
	return rsp_tls_slot_take(arg);
}

static const struct smtp_session_ops conn_ops = {.lookup = conn_lookup,
						 .offender_try = conn_offender,
						 .rcpt_pass = conn_rcpt_pass,
						 .rcpt_replied = conn_rcpt_replied,
						 .starttls = conn_starttls};

static bool conn_handoff_rcpt(void *arg, const char *helo, const char *mail, const char *rcpt)
{
	return rsp_ho_rcpt(arg, helo, mail, rcpt);
}

static bool conn_handoff_data(void *arg)
{
	return rsp_ho_data(arg);
}

static void conn_handoff_reset(void *arg)
{
	rsp_ho_reset(arg);
}

/* With a handoff: the recipients the decision lets through go to the MTA. */
static const struct smtp_session_ops conn_ops_handoff = {.lookup = conn_lookup,
							 .offender_try = conn_offender,
							 .rcpt_pass = conn_rcpt_pass,
							 .rcpt_replied = conn_rcpt_replied,
							 .starttls = conn_starttls,
							 .handoff_rcpt = conn_handoff_rcpt,
							 .handoff_data = conn_handoff_data,
							 .handoff_reset = conn_handoff_reset};

static const char *const tls_names[] = {"no", "handshake", "yes"};

void rsp_conn_free(struct conn *c)
{
	struct rsp *r = c->rsp;
	char peer[MXG_ADDRSTRLEN], dst[MXG_ADDRSTRLEN];

	log_info("responder: session client=%s port=%u dst=%s port=%u rcpt=%s reply=%d end=%s "
		 "commands=%u tls=%s%s",
		 mxg_ip_str(&c->peer, peer, sizeof(peer)), (unsigned)c->peer_port,
		 mxg_ip_str(&c->dst, dst, sizeof(dst)), (unsigned)c->dst_port,
		 c->smtp.summary_len ? c->smtp.summary : "-", c->smtp.last_rcpt_code,
		 c->end ? c->end : "closed", c->smtp.commands, tls_names[c->tls],
		 c->smtp.tls_dropped ? " dropped=plaintext-after-starttls" : "");
	if (c->smtp.last_code == 421)
		r->rep.cnt.replies[RESPONDER_CODE_421]++;
	rsp_ho_free(c);
	ev_io_del(r->loop, c->fd);
	ev_timer_stop(r->loop, &c->timer);
	rsp_tls_free(c);
	close(c->fd);
	LIST_REMOVE(c, link);
	r->n_conns--;
	rsp_count_dec(&r->counts, RSP_COUNT_CLIENT, &c->key);
	rsp_count_dec(&r->counts, RSP_COUNT_NET, &c->net);
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
int rsp_conn_arm(struct conn *c)
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
	 * there is room, and the session still wants input: not after its
	 * STARTTLS, when the next octets are the client's TLS handshake. */
	if (c->lingering || (!smtp_session_done(&c->smtp) && !smtp_session_tls_wanted(&c->smtp) &&
			     c->in_len < sizeof(c->in)))
		ev = EV_READ;
	if (!c->lingering && conn_out_len(c))
		ev |= EV_WRITE;
	/* The TLS layer may need the other direction (a key update). */
	if (!c->lingering && c->tls == CONN_TLS_ACTIVE)
		ev |= c->tls_want;
	ev_io_mod(c->rsp->loop, c->fd, ev);
}

/* Send what the session has queued. false on a fatal error. */
bool rsp_conn_send(struct conn *c, bool *progress)
{
	size_t out;
	const char *o = smtp_session_output(&c->smtp, &out);
	ssize_t w;

	if (!out)
		return true;
	w = rsp_conn_write(c, o, out);
	if (w > 0) {
		smtp_session_consume(&c->smtp, (size_t)w);
		*progress = true;
		return true;
	}
	return w == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Feed what we have, send what we can, until neither makes progress.
 * Returns false when the connection was freed. */
bool rsp_conn_pump(struct conn *c)
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
				if (rsp_conn_arm(c) < 0) {
					c->end = "out of memory (timer)";
					rsp_conn_free(c);
					return false;
				}
			}
		}
		if (!rsp_conn_send(c, &progress)) {
			c->end = "write error";
			rsp_conn_free(c);
			return false;
		}
		/* Decrypted input the TLS layer holds: no event will come. */
		if (!c->lingering && c->in_len < sizeof(c->in) && !smtp_session_done(&c->smtp) &&
		    rsp_tls_pending(c)) {
			ssize_t n = rsp_conn_recv(c, c->in + c->in_len, sizeof(c->in) - c->in_len);

			if (n > 0) {
				c->in_len += (size_t)n;
				progress = true;
			}
		}
	} while (progress);

	/* Our 220 to STARTTLS is out: the handshake. */
	if (smtp_session_tls_wanted(&c->smtp) && !smtp_session_done(&c->smtp) &&
	    c->tls == CONN_TLS_NONE && !conn_out_len(c))
		return rsp_tls_begin(c);
	if (c->tls == CONN_TLS_HANDSHAKE)
		return true;

	if (smtp_session_done(&c->smtp) && !c->lingering && !conn_out_len(c)) {
		/* Half-close and wait for the client's FIN: closing with unread
		 * input would send a RST that can destroy our last reply before
		 * the client reads it. */
		if (!c->end)
			c->end = c->smtp.last_code == 221 ? "quit" : "421";
		rsp_tls_close(c);
		shutdown(c->fd, SHUT_WR);
		c->lingering = true;
		c->in_len = 0;
		if (ev_timer_start(r->loop, &c->timer, CONN_LINGER_MS) < 0) {
			rsp_conn_free(c); /* no linger then: the reply is sent */
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

	if (c->tls == CONN_TLS_HANDSHAKE) {
		rsp_tls_step(c);
		return;
	}
	if (rsp_ho_copying(c)) {
		rsp_ho_copy(c);
		return;
	}
	if (!(events & (EV_READ | EV_ERROR))) {
		rsp_conn_pump(c);
		return;
	}
	if (c->lingering) {
		n = read(fd, junk, sizeof(junk));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			rsp_conn_free(c);
		return;
	}
	if (c->in_len < sizeof(c->in)) {
		n = rsp_conn_recv(c, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			bool ignored = false;

			/* Answer what was pipelined before the EOF, once. */
			if (!c->end)
				c->end = n == 0 ? "client closed" : "read error";
			smtp_session_feed(&c->smtp, c->in, c->in_len);
			c->in_len = 0;
			if (n == 0)
				rsp_conn_send(c, &ignored);
			rsp_conn_free(c);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
	}
	rsp_conn_pump(c);
}

static void conn_timer(struct ev_loop *loop, void *arg)
{
	struct conn *c = arg;

	if (rsp_ho_copying(c)) {
		c->end = "handoff idle";
		rsp_conn_free(c);
		return;
	}
	if (c->lingering || smtp_session_done(&c->smtp)) {
		/* linger over, or a 421 the client would not read */
		rsp_conn_free(c);
		return;
	}
	if (c->tls == CONN_TLS_HANDSHAKE) {
		/* Nothing can be said in the middle of a handshake. */
		c->end = "TLS handshake timeout";
		rsp_conn_free(c);
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
		rsp_conn_send(c, &ignored);
		rsp_conn_free(c);
		return;
	}
	rsp_conn_pump(c);
}

bool rsp_conn_new(struct rsp *r, int fd, const struct mxg_ip *peer, uint16_t peer_port,
		  const struct client_key *key, const struct client_key *net,
		  const struct mxg_ip *dst, uint16_t dst_port)
{
	struct smtp_session_params p = {r->helo, r->cfg->max_commands, 0, r->tls_ctx != NULL};
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return false;
	if (rsp_count_inc(&r->counts, RSP_COUNT_CLIENT, key) < 0) {
		free(c);
		return false;
	}
	if (rsp_count_inc(&r->counts, RSP_COUNT_NET, net) < 0) {
		rsp_count_dec(&r->counts, RSP_COUNT_CLIENT, key);
		free(c);
		return false;
	}
	c->rsp = r;
	c->fd = fd;
	c->peer = *peer;
	c->peer_port = peer_port;
	c->key = *key;
	c->net = *net;
	c->serial = ++r->sessions_seen;
	c->started_ms = c->active_ms = ev_now_ms();
	c->dst = *dst;
	c->dst_port = dst_port;
	ev_timer_init(&c->timer, conn_timer, c);
	smtp_session_init(&c->smtp, &p, r->connector_fd >= 0 ? &conn_ops_handoff : &conn_ops, c);
	if (ev_io_add(r->loop, fd, EV_READ | EV_WRITE, conn_io, c) < 0 || rsp_conn_arm(c) < 0) {
		ev_io_del(r->loop, fd);
		ev_timer_stop(r->loop, &c->timer);
		rsp_count_dec(&r->counts, RSP_COUNT_CLIENT, key);
		rsp_count_dec(&r->counts, RSP_COUNT_NET, net);
		free(c);
		return false;
	}
	LIST_INSERT_HEAD(&r->conns, c, link);
	r->n_conns++;
	r->rep.cnt.sessions++;
	smtp_session_start(&c->smtp);
	rsp_conn_pump(c);
	return true;
}
