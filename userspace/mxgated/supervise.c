// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child: created, handed to the gate, fed the domain table,
 * and restarted with a backoff when it dies. The parent closes its copies
 * of the listening sockets once the child has them: when the child dies
 * the sockets close, the kernel drops them from the SOCKMAP, and the gate
 * stops steering by itself, before we even notice.
 */
#include "controller.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int ctl_responder_start(struct controller *c)
{
	char err[512] = "";
	int r;

	memset(&c->resp, 0, sizeof(c->resp));
	c->resp.ctl_fd = c->resp.listen_fd_v4 = c->resp.listen_fd_v6 = -1;
	r = responder_listen(&c->resp, err, sizeof(err));
	if (r < 0) {
		log_err("responder: %s", err[0] ? err : strerror(-r));
		return r;
	}
	/* Into the SOCKMAP before the fork: responder_spawn() closes our
	 * copies, after which only the child holds the sockets. */
	if (c->gate) {
		r = c->gops->set_responder(c->gate, c->resp.listen_fd_v4, c->resp.listen_fd_v6);
		if (r < 0)
			log_err(
			    "responder: the %s gate refused its sockets: %s; nothing is steered "
			    "(fail open)",
			    c->gops->name, strerror(-r));
	}
	r = responder_spawn(&c->resp, c->cfg, err, sizeof(err));
	if (r < 0) {
		log_err("responder: %s", err[0] ? err : strerror(-r));
		/* Its sockets are gone: nothing may name them (nft elements
		 * carry the port). */
		if (c->gate)
			c->gops->set_responder(c->gate, -1, -1);
		close_fd(&c->resp.listen_fd_v4);
		close_fd(&c->resp.listen_fd_v6);
		close_fd(&c->resp.ctl_fd);
		return r;
	}
	c->resp_alive = true;
	c->resp_started_ms = ev_now_ms();
	c->resp_pushed = c->resp_acked = 0;
	ctl_responder_watch(c);
	ctl_responder_push(c);
	/* Normally closed by responder_spawn() already. */
	close_fd(&c->resp.listen_fd_v4);
	close_fd(&c->resp.listen_fd_v6);
	log_info("responder started, pid %d", (int)c->resp.pid);
	return 0;
}

void ctl_responder_restart_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;

	if (c->stopping || c->resp_alive)
		return;
	c->cnt.responder_restarts++;
	if (ctl_responder_start(c) < 0) {
		log_err("responder restart failed; next try in %llums",
			(unsigned long long)c->resp_backoff_ms);
		ctl_timer_start(c, &c->resp_timer, c->resp_backoff_ms, "responder restart");
		if (c->resp_backoff_ms < CTL_RESPONDER_BACKOFF_MAX_MS)
			c->resp_backoff_ms *= 2;
	}
}

/* SIGCHLD: reap every child; if the responder died, plan its restart. */
void ctl_responder_reap(struct controller *c)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		uint64_t lived;

		if (!c->resp_alive || pid != c->resp.pid) {
			log_debug("reaped child %d", (int)pid);
			continue;
		}
		ctl_responder_unwatch(c);
		c->resp_alive = false;
		c->resp.pid = 0;
		close_fd(&c->resp.ctl_fd);
		lived = ev_now_ms() - c->resp_started_ms;
		if (lived >= CTL_RESPONDER_STABLE_MS || !c->resp_backoff_ms)
			c->resp_backoff_ms = CTL_RESPONDER_BACKOFF_MS;
		if (WIFSIGNALED(status))
			log_err("responder (pid %d) killed by signal %d%s; the gate steers nothing "
				"until it is back; restarting in %llums",
				(int)pid, WTERMSIG(status),
				WTERMSIG(status) == SIGSYS
				    ? " (SIGSYS: a system call outside its seccomp allowlist; "
				      "report it with the mxgate version)"
				    : "",
				(unsigned long long)c->resp_backoff_ms);
		else
			log_err("responder (pid %d) exited with status %d; the gate steers nothing "
				"until it is back; restarting in %llums",
				(int)pid, WEXITSTATUS(status),
				(unsigned long long)c->resp_backoff_ms);
		/* Never steer to a dead responder: tc's SOCKMAP entries went
		 * with its sockets already; nft's elements go here. */
		if (c->gate)
			c->gops->set_responder(c->gate, -1, -1);
		if (c->stopping)
			continue;
		ctl_timer_start(c, &c->resp_timer, c->resp_backoff_ms, "responder restart");
		if (c->resp_backoff_ms < CTL_RESPONDER_BACKOFF_MAX_MS)
			c->resp_backoff_ms *= 2;
	}
}

void ctl_responder_stop(struct controller *c)
{
	ev_timer_stop(c->loop, &c->resp_timer);
	ctl_responder_unwatch(c);
	if (c->resp_alive) {
		responder_stop(&c->resp);
		c->resp_alive = false;
	}
	close_fd(&c->resp.ctl_fd);
}

void ctl_responder_push(struct controller *c)
{
	struct responder_domain *t;
	int r;

	if (!c->resp_alive)
		return;
	t = calloc(c->n_domains ? c->n_domains : 1, sizeof(*t));
	if (!t) {
		log_err("responder: out of memory building the domain table");
		return;
	}
	for (size_t i = 0; i < c->n_domains; i++) {
		const struct ctl_domain *cd = c->domains[i];

		/* Pointers only: the encoder copies the strings once. */
		t[i].name = cd->ds.name;
		t[i].state = (uint8_t)cd->ds.state;
		t[i].reply = (uint8_t)config_domain_reply(c->cfg, cd->dcfg);
		t[i].primary = cd->ds.primary;
		t[i].reply_text = config_domain_reply_text(c->cfg, cd->dcfg);
	}
	r = responder_push_domains(&c->resp, t, c->n_domains);
	free(t);
	if (!r && c->rr.watching) {
		/* The heartbeat (ctl_resp_msg.c): the child acknowledges it. */
		c->resp_pushed++;
		c->resp_push_ms[c->resp_pushed % CTL_RESPONDER_ACK_RING] = ev_now_ms();
		if (!ev_timer_armed(&c->resp_ack_timer))
			ctl_timer_start(c, &c->resp_ack_timer, CTL_RESPONDER_ACK_MS,
					"responder heartbeat");
	}
	if (r < 0 && r != -ENOTCONN) {
		/* A child that does not read for a second is stuck, and a
		 * half-sent table cannot be resumed: a stuck child would keep
		 * its listening sockets, and steered senders would hang. Kill
		 * it; its sockets close, the gate stops steering, and SIGCHLD
		 * restarts it. */
		log_err("responder (pid %d): cannot send it the domain table: %s; killing it "
			"(mail passes to the MTA until it is restarted)",
			(int)c->resp.pid, strerror(-r));
		ctl_responder_unwatch(c);
		close_fd(&c->resp.ctl_fd);
		if (c->resp.pid > 0)
			kill(c->resp.pid, SIGKILL);
	}
}
