// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child's event loop (it runs without privileges, see
 * responder_priv.c): run one smtp_session per connection that
 * responder_accept.c took, with non-blocking I/O and bounded buffers,
 * enforce the command, idle and session-lifetime limits, track offenders,
 * take domain tables from the controller and report counters and
 * offenders back to it (responder_report.c). It exits when the controller's end of the
 * socketpair closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
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

static void report_update_events(struct rsp *r, bool pending);

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
	report_update_events(r, r->rep.out_len > 0);
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
		report_update_events(r, r->rep.out_len > 0);
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

void rsp_fatal(struct rsp *r, const char *what)
{
	log_err("responder: %s; exiting (the gate opens, mxgated restarts the responder)", what);
	r->exit_code = 1;
	ev_stop(r->loop);
}

static void report_update_events(struct rsp *r, bool pending);

static void table_install(struct rsp *r)
{
	struct responder_domain *t;
	size_t gated = 0;

	if (responder_wire_decode(r->rd.payload, r->rd.hdr.len, r->rd.hdr.count, &t) < 0) {
		rsp_fatal(r, "bad domain table from the controller");
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

/* SAME: the table installed last is still current. Acknowledged like a
 * table (the heartbeat); without a table there is nothing it could mean,
 * and the controller never sends one then: a bug, so exit. */
static void table_same(struct rsp *r)
{
	if (!r->have_table) {
		rsp_fatal(r, "SAME before any domain table from the controller");
		return;
	}
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
		rsp_fatal(r, "cannot arm the report timer: out of memory");
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
	if (rc == 1 && r->rd.hdr.type == RESPONDER_MSG_SAME) {
		table_same(r);
	} else if (rc == 1 && r->rd.hdr.type == RESPONDER_MSG_FLEET_OFFENDERS) {
		if (responder_fleet_offenders(&r->off, &r->rd, ev_now_ms()) < 0)
			rsp_fatal(r, "bad offender record from the controller");
	} else if (rc == 1) {
		table_install(r);
		responder_wire_reader_free(&r->rd); /* a table can be large */
	} else if (rc == -EBADMSG)
		rsp_fatal(r, "bad message header from the controller");
	else if (rc == -ENOMEM)
		rsp_fatal(r, "out of memory for a domain table");
	else if (rc < 0 && rc != -EAGAIN) {
		log_info("responder: controller gone (%s); exiting",
			 rc == -EPIPE ? "end of file" : strerror(-rc));
		ev_stop(loop);
	}
}

int responder_child_run(const struct mxg_config *cfg, int fd_v4, int fd_v6, uint16_t steered_port,
			int ctl, SSL_CTX *tls, int connector)
{
	struct rsp r = {.cfg = cfg,
			.listen_fd = {fd_v4, fd_v6},
			.steered_port = steered_port,
			.ctl = ctl,
			.tls_ctx = tls,
			.connector_fd = connector};
	uint32_t seed = 0;
	int rc = 1;

	/* Used as they are: config.c sets the defaults and refuses 0, and
	 * responder_spawn() checked them (responder_cfg_check). */
	snprintf(r.helo, sizeof(r.helo), "%s", cfg->helo_name);
	r.max_conn = cfg->max_connections;
	r.max_per_client = cfg->max_connections_per_client;
	r.max_per_net = cfg->max_connections_per_network;
	r.idle_ms = cfg->idle_timeout_ms;
	r.session_ms = cfg->session_timeout_ms;
	r.max_handoffs = r.max_conn / 4 ? r.max_conn / 4 : 1;
	r.tls_max = r.max_conn / RSP_TLS_HANDSHAKE_SHARE ? r.max_conn / RSP_TLS_HANDSHAKE_SHARE : 1;
	r.tls_max_per_net =
	    r.max_per_net / RSP_TLS_HANDSHAKE_SHARE ? r.max_per_net / RSP_TLS_HANDSHAKE_SHARE : 1;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) < 0)
		seed = (uint32_t)getpid() ^ (uint32_t)ev_now_ns();
	r.gl_seed = ((uint64_t)seed << 32) ^ (uint64_t)ev_now_ns();
	LIST_INIT(&r.conns);
	ev_timer_init(&r.accept_pause, rsp_accept_resume, &r);
	ev_timer_init(&r.report_timer, on_report_timer, &r);
	report_init(&r.rep, ctl);
	responder_wire_reader_init(&r.rd,
				   RESPONDER_WIRE_TYPE(RESPONDER_MSG_DOMAINS) |
				       RESPONDER_WIRE_TYPE(RESPONDER_MSG_SAME) |
				       RESPONDER_WIRE_TYPE(RESPONDER_MSG_FLEET_OFFENDERS),
				   RESPONDER_PAYLOAD_MAX);
	r.loop = ev_loop_new();
	if (!r.loop || rsp_counts_init(&r.counts, r.gl_seed) < 0 ||
	    offender_init(&r.off, cfg->offender_threshold, cfg->offender_window_ms, 0, seed) < 0) {
		log_err("responder: out of memory at start");
		goto out;
	}
	if (fcntl(ctl, F_SETFL, fcntl(ctl, F_GETFL) | O_NONBLOCK) < 0 ||
	    ev_io_add(r.loop, ctl, EV_READ, on_ctl, &r) < 0 ||
	    ev_timer_start(r.loop, &r.report_timer, REPORT_INTERVAL_MS) < 0)
		goto out;
	if (connector >= 0 &&
	    (greylist_init(&r.gl, cfg->greylist_delay_ms, cfg->greylist_window_ms, 0) < 0 ||
	     ev_io_add(r.loop, connector, EV_READ, rsp_on_connector, &r) < 0))
		goto out;
	for (int i = 0; i < 2; i++)
		if (r.listen_fd[i] >= 0 &&
		    ev_io_add(r.loop, r.listen_fd[i], EV_READ, rsp_on_accept, &r) < 0)
			goto out;
	if (ev_run(r.loop) < 0) {
		log_err("responder: event loop failed: %s", strerror(errno));
		r.exit_code = 1;
	}
	rc = r.exit_code;
	while (!LIST_EMPTY(&r.conns)) {
		LIST_FIRST(&r.conns)->end = "responder exit";
		rsp_conn_free(LIST_FIRST(&r.conns));
	}
out:
	if (r.loop) {
		ev_timer_stop(r.loop, &r.accept_pause);
		ev_timer_stop(r.loop, &r.report_timer);
	}
	greylist_free(&r.gl);
	offender_free(&r.off);
	rsp_counts_free(&r.counts);
	responder_wire_reader_free(&r.rd);
	free(r.dom);
	ev_loop_free(r.loop);
	return rc;
}
