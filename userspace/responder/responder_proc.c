// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child's event loop (it runs without privileges, see
 * responder_priv.c): the listening sockets (responder_accept.c), the
 * sessions on them (responder_conn.c), domain tables and offender records
 * from the controller, and the counters and offenders reported back to it
 * (responder_report.c). It exits when the controller's end of the
 * socketpair closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "responder_child.h"
#include "responder_int.h"

void rsp_fatal(struct rsp *r, const char *what)
{
	log_err("responder: %s; exiting (the gate opens, mxgated restarts the responder)", what);
	r->exit_code = 1;
	ev_stop(r->loop);
}

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
	rsp_report_update_events(r, r->rep.out_len > 0);
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
	rsp_report_update_events(r, r->rep.out_len > 0);
}

void rsp_report_update_events(struct rsp *r, bool pending)
{
	ev_io_mod(r->loop, r->ctl, EV_READ | (pending ? EV_WRITE : 0));
}

static void on_report_timer(struct ev_loop *loop, void *arg)
{
	struct rsp *r = arg;

	report_tick(&r->rep);
	rsp_report_update_events(r, r->rep.out_len > 0);
	if (ev_timer_start(loop, &r->report_timer, REPORT_INTERVAL_MS) < 0)
		rsp_fatal(r, "cannot arm the report timer: out of memory");
}

static void on_ctl(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct rsp *r = arg;
	int rc;

	if (events & EV_WRITE)
		rsp_report_update_events(r, report_flush(&r->rep));
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

	/* Used as they are: config.c sets the defaults, config_keys.c refuses 0, and
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
