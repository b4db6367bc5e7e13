// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's wiring: start-up in an order that never gates without a
 * responder, the signal handling (signalfd: SIGHUP reloads, SIGTERM and
 * SIGINT stop, SIGCHLD reaps the responder), and a clean stop that
 * detaches the gate and leaves the host open.
 */
#include "controller.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ctl_responder.h"
#include "dircheck.h"
#include "log.h"

static sigset_t ctl_sigs;
static sigset_t orig_mask;

/* The responder and the helpers are forked from inside the loop: give
 * the child the signal mask we had before signalfd, or SIGTERM would not
 * stop it (an exec keeps the mask). */
static void restore_mask_in_child(void)
{
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
}

static void on_signal(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct controller *c = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_notice("SIGHUP: reloading %s", c->config_path);
			ctl_reload(c);
			break;
		case SIGTERM:
		case SIGINT:
			log_notice("%s: detaching and exiting; the host is left open",
				   si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			c->stopping = true;
			ev_stop(loop);
			break;
		case SIGCHLD:
			ctl_responder_reap(c);
			break;
		default:
			break;
		}
	}
}

static int setup_signals(struct controller *c)
{
	static bool atfork_done;

	sigemptyset(&ctl_sigs);
	sigaddset(&ctl_sigs, SIGHUP);
	sigaddset(&ctl_sigs, SIGTERM);
	sigaddset(&ctl_sigs, SIGINT);
	sigaddset(&ctl_sigs, SIGCHLD);
	/* A responder that closed its end must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &ctl_sigs, &orig_mask) < 0)
		return -errno;
	if (!atfork_done && pthread_atfork(NULL, NULL, restore_mask_in_child) == 0)
		atfork_done = true;
	c->sigfd = signalfd(-1, &ctl_sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sigfd < 0)
		return -errno;
	return ev_io_add(c->loop, c->sigfd, EV_READ, on_signal, c);
}

/* The directory a socket of ours is made in (control_socket, a unix
 * policy_listen) is checked as pin_dir and state_dir are: whoever could
 * rename entries there could put their own socket in place of ours (and
 * answer Postfix's policy requests, or mxgate status). */
int ctl_socket_dir_check(const char *key, const char *sock, bool missing_ok, char *err,
			 size_t errlen)
{
	const struct mxg_dir_rule rule = {
	    .key = key,
	    .guards = "the socket",
	    .chmod = "go-w",
	    .missing_ok = missing_ok,
	    .sticky_parents = true,
	};

	return mxg_dir_check_parent(&rule, sock, err, errlen);
}

int controller_start(struct controller *c, const char *config_path, struct mxg_config *cfg)
{
	char err[1024] = "";
	int r;

	memset(c, 0, sizeof(*c));
	c->sigfd = -1;
	c->config_path = config_path;
	c->cfg = cfg;
	c->started_ms = ev_now_ms();
	/* Jitter of DNS refreshes (domains.c): differs per start. */
	srandom((unsigned)(getpid() ^ ev_now_ns()));
	ctl_set_params(c);
	if (!c->params.store) {
		log_err("cannot set up the MX set store: out of memory");
		return -ENOMEM;
	}
	ev_timer_init(&c->round.timer, ctl_round_timer, c);
	ev_timer_init(&c->round.start_timer, ctl_round_start_cb, c);
	ev_timer_init(&c->publish_timer, ctl_publish_timer_cb, c);
	ev_timer_init(&c->dirty_timer, ctl_dirty_timer_cb, c);
	ev_timer_init(&c->refresh_timer, ctl_refresh_timer_cb, c);
	TAILQ_INIT(&c->dirty);
	c->gate_async_fd = -1;
	c->trim_fd = -1;
	ev_timer_init(&c->gate_async_timer, ctl_gate_async_timer_cb, c);
	TAILQ_INIT(&c->feed);
	TAILQ_INIT(&c->unsettled);
	ev_timer_init(&c->round.feed_timer, ctl_round_feed_cb, c);
	ev_timer_init(&c->eval_timer, ctl_eval_timer_cb, c);
	ctl_reload_init(c);

	c->loop = ev_loop_new();
	if (!c->loop) {
		log_err("cannot create the event loop: %s", strerror(errno));
		return -ENOMEM;
	}
	r = setup_signals(c);
	if (r < 0) {
		log_err("signal handling: %s", strerror(-r));
		return r;
	}
	c->dns = ctl_resolver_new(c, cfg);
	c->dnsc = c->dns ? dns_cache_new(c->dns, 0) : NULL;
	ctl_dns_wheel_init(&c->dnsw, c->loop, ctl_dns_due, c);
	c->prober = prober_new(c->loop, cfg->helo_name, (unsigned)cfg->probe_timeout_ms);
	c->resp = ctl_responder_new(c);
	if (!c->dns || !c->dnsc || !c->prober || !c->resp) {
		log_err("cannot set up DNS, probes and the responder: out of memory");
		return -ENOMEM;
	}
	if (prober_set_tls(c->prober, (enum probe_tls_mode)cfg->probe_tls, cfg->probe_tls_ca, err,
			   sizeof(err)) < 0) {
		log_err("probe_tls: %s; fix probe_tls_ca or set probe_tls = off", err);
		return -EINVAL;
	}

	/* The control socket first: it also finds another running mxgated
	 * before we touch its gate. Its directory is checked before it is
	 * made (the parents) and after (the directory itself). */
	r = ctl_socket_dir_check("control_socket", cfg->control_socket, true, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return r;
	}
	r = control_open(&c->control, c->loop, cfg->control_socket, ctl_status, c, err,
			 sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return r;
	}
	r = ctl_socket_dir_check("control_socket", cfg->control_socket, false, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return r;
	}
	ctl_status_start(c);

	r = ctl_policy_start(c);
	if (r < 0)
		return r;

	c->gops = gate_ops_for(cfg->gate);
	if (!c->gops) {
		log_err("gate = %s is not available in this build of mxgated; use gate = tc, or "
			"gate = none for probing and status only",
			cfg->gate == MXG_GATE_NFT ? "nft" : "?");
		return -ENOTSUP;
	}
	r = c->gops->open(&c->gate, cfg, err, sizeof(err));
	if (r < 0) {
		log_err("gate %s: %s", c->gops->name, err[0] ? err : strerror(-r));
		c->gate = NULL;
		return r;
	}

	if (c->gops->set_pass_clients && c->gops->set_pass_clients(c->gate, cfg) < 0)
		c->cnt.gate_errors++;
	r = ctl_gate_async_start(c);
	if (r < 0) {
		log_err("gate %s: cannot watch its netlink socket: %s", c->gops->name,
			strerror(-r));
		return r;
	}
	ctl_links_start(c);

	/* After the gate: an nft gate in own mode has just (re)created
	 * table inet mxgate, where our offender sets go. */
	r = ctl_offenders_start(c);
	if (r < 0)
		return r;
	r = ctl_passes_start(c);
	if (r < 0)
		return r;
	ctl_state_start(c);
	/* After the saved state: what is written back to Redis at connection
	 * includes it. */
	r = ctl_fleet_start(c);
	if (r < 0)
		return r;

	c->domains = calloc(cfg->n_domains ? cfg->n_domains : 1, sizeof(*c->domains));
	if (!c->domains)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_domains; i++) {
		struct ctl_domain *cd = ctl_domain_new(c, &cfg->domains[i]);

		if (!cd)
			return -ENOMEM;
		c->domains[c->n_domains++] = cd;
		ctl_dns_schedule(cd, 0);
	}

	/* Without a responder nothing is steered, so failing to start one is
	 * not fatal: the gate stays open and the supervisor retries. */
	if (ctl_responder_begin(c) < 0) {
		log_err("cannot arm the responder restart timer: out of memory");
		return -ENOMEM;
	}

	ctl_publish_start(c);
	ctl_trim_start(c);
	/* The first round as soon as the first MX sets may be in. */
	if (ev_timer_start(c->loop, &c->round.timer, 0) < 0) {
		log_err("cannot arm the round timer: out of memory");
		return -ENOMEM;
	}
	/* A ctl_fatal on the way (a timer that could not be armed) asked the
	 * loop to stop before it ran: ev_run would start it anyway, and a
	 * daemon that is stopping never restarts its responder. */
	if (c->failed)
		return -ENOMEM;
	log_notice("started: %zu domain(s), gate %s, probe every %llums, state_ttl %llums",
		   c->n_domains, c->gops->name, (unsigned long long)cfg->probe_interval_ms,
		   (unsigned long long)cfg->state_ttl_ms);
	return 0;
}

int controller_run(struct controller *c)
{
	int r = ev_run(c->loop);

	if (r < 0)
		log_err("event loop: %s", strerror(-r));
	return r < 0 ? r : c->failed ? -ENOMEM : 0;
}

/* The daemon cannot go on (a timer that must fire cannot be armed): log
 * why, and stop the loop; main detaches the gate (the host is open) and
 * exits non-zero, so systemd restarts mxgated. */
static void ctl_fatal(struct controller *c, const char *what)
{
	log_err("%s; exiting: the gate is detached and mail passes to the MTA until mxgated "
		"is restarted (systemd does that)",
		what);
	c->failed = true;
	c->stopping = true;
	ev_stop(c->loop);
}

void ctl_timer_start(struct controller *c, struct ev_timer *t, uint64_t delay_ms, const char *name)
{
	char what[128];

	if (ev_timer_start(c->loop, t, delay_ms) == 0)
		return;
	snprintf(what, sizeof(what), "cannot arm the %s timer: out of memory", name);
	ctl_fatal(c, what);
}

void controller_stop(struct controller *c, bool detach)
{
	c->stopping = true;
	if (c->loop) {
		ctl_round_abort(c);
		ev_timer_stop(c->loop, &c->publish_timer);
		ev_timer_stop(c->loop, &c->dirty_timer);
		ev_timer_stop(c->loop, &c->refresh_timer);
		ctl_trim_stop(c);
		ctl_reload_stop(c);
	}
	ctl_links_stop(c);
	ctl_fleet_stop(c);
	ctl_responder_free(c);
	if (c->passes)
		ctl_state_stop(c); /* before the tables it saves go */
	ctl_offenders_stop(c, detach);
	ctl_unserved_free(c);
	ctl_gate_async_stop(c);
	if (c->gate)
		c->gops->close(c->gate, detach);
	c->gate = NULL;
	ctl_passes_stop(c);
	ctl_policy_stop(c);
	control_close(c->control);
	c->control = NULL;
	for (size_t i = 0; i < c->n_domains; i++)
		ctl_domain_free(c->domains[i]);
	free(c->domains);
	c->domains = NULL;
	c->n_domains = 0;
	ctl_changes_free(c);
	ctl_paddr_free(c);
	mxs_store_free(c->params.store);
	c->params.store = NULL;
	prober_free(c->prober);
	if (c->loop)
		ctl_dns_wheel_free(&c->dnsw);
	dns_cache_free(c->dnsc);
	c->dnsc = NULL;
	dns_resolver_free(c->dns);
	c->prober = NULL;
	c->dns = NULL;
	if (c->sigfd >= 0) {
		if (c->loop)
			ev_io_del(c->loop, c->sigfd);
		close(c->sigfd);
		c->sigfd = -1;
	}
	ev_loop_free(c->loop);
	c->loop = NULL;
	if (c->cfg) {
		config_free(c->cfg);
		free(c->cfg);
		c->cfg = NULL;
	}
}
