// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child: created, handed to the gate, fed the domain table,
 * and restarted with a backoff when it dies. The parent closes its copies
 * of the listening sockets once the child has them: when the child dies
 * the sockets close, the kernel drops them from the SOCKMAP, and the gate
 * stops steering by itself, before we even notice.
 */
#include "ctl_responder_int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
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

static int start(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	char err[512] = "";
	int r;

	r = responder_listen(&cr->proc, err, sizeof(err));
	if (r < 0) {
		log_err("responder: %s", err[0] ? err : strerror(-r));
		return r;
	}
	/* Into the SOCKMAP before the fork: responder_spawn() closes our
	 * copies, after which only the child holds the sockets. */
	if (c->gate) {
		r = c->gops->set_responder(c->gate, cr->proc.listen_fd_v4, cr->proc.listen_fd_v6);
		if (r < 0)
			log_err(
			    "responder: the %s gate refused its sockets: %s; nothing is steered "
			    "(fail open)",
			    c->gops->name, strerror(-r));
	}
	r = responder_spawn(&cr->proc, c->cfg, err, sizeof(err));
	if (r < 0) {
		log_err("responder: %s", err[0] ? err : strerror(-r));
		/* Its sockets are gone: nothing may name them (nft elements
		 * carry the port). */
		if (c->gate)
			c->gops->set_responder(c->gate, -1, -1);
		close_fd(&cr->proc.listen_fd_v4);
		close_fd(&cr->proc.listen_fd_v6);
		close_fd(&cr->proc.ctl_fd);
		return r;
	}
	cr->alive = true;
	cr->started_ms = ev_now_ms();
	cr->pushed = cr->acked = 0;
	ctl_responder_watch(c);
	ctl_responder_push(c);
	/* Normally closed by responder_spawn() already. */
	close_fd(&cr->proc.listen_fd_v4);
	close_fd(&cr->proc.listen_fd_v6);
	log_info("responder started, pid %d", (int)cr->proc.pid);
	return 0;
}

/* Try again in backoff_ms, doubling it up to its maximum. */
static void plan_restart(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	ctl_timer_start(c, &cr->restart_timer, cr->backoff_ms, "responder restart");
	if (cr->backoff_ms < CTL_RESPONDER_BACKOFF_MAX_MS)
		cr->backoff_ms *= 2;
}

static void restart_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;

	if (c->stopping || c->resp->alive)
		return;
	c->cnt.responder_restarts++;
	if (start(c) < 0) {
		log_err("responder restart failed; next try in %llums",
			(unsigned long long)c->resp->backoff_ms);
		plan_restart(c);
	}
}

struct ctl_responder *ctl_responder_new(struct controller *c)
{
	struct ctl_responder *cr = calloc(1, sizeof(*cr));

	if (!cr)
		return NULL;
	cr->proc.ctl_fd = cr->proc.listen_fd_v4 = cr->proc.listen_fd_v6 = -1;
	cr->backoff_ms = CTL_RESPONDER_BACKOFF_MS;
	ev_timer_init(&cr->restart_timer, restart_cb, c);
	ev_timer_init(&cr->ack_timer, ctl_responder_ack_cb, c);
	return cr;
}

void ctl_responder_free(struct controller *c)
{
	if (!c->resp)
		return;
	if (c->loop)
		ctl_responder_stop(c);
	free(c->resp);
	c->resp = NULL;
}

int ctl_responder_begin(struct controller *c)
{
	/* Without a responder nothing is steered, so failing to start one is
	 * not fatal: the gate stays open and the supervisor retries. */
	c->resp->backoff_ms = CTL_RESPONDER_BACKOFF_MS;
	if (start(c) < 0 &&
	    ev_timer_start(c->loop, &c->resp->restart_timer, c->resp->backoff_ms) < 0)
		return -ENOMEM;
	return 0;
}

bool ctl_responder_alive(const struct controller *c)
{
	return c->resp && c->resp->alive;
}

pid_t ctl_responder_pid(const struct controller *c)
{
	return ctl_responder_alive(c) ? c->resp->proc.pid : 0;
}

void ctl_responder_kill(struct controller *c, const char *fmt, ...)
{
	struct ctl_responder *cr = c->resp;
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_err("responder (pid %d)%s; killing it (mail passes to the MTA until it is "
		"restarted)",
		(int)cr->proc.pid, why);
	ctl_responder_unwatch(c);
	close_fd(&cr->proc.ctl_fd);
	if (cr->proc.pid > 0)
		kill(cr->proc.pid, SIGKILL); /* a stopped one too; SIGCHLD restarts */
}

/* SIGCHLD: reap every child; if the responder died, plan its restart. */
void ctl_responder_reap(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		uint64_t lived;

		if (!cr->alive || pid != cr->proc.pid) {
			log_debug("reaped child %d", (int)pid);
			continue;
		}
		ctl_responder_unwatch(c);
		cr->alive = false;
		cr->proc.pid = 0;
		close_fd(&cr->proc.ctl_fd);
		lived = ev_now_ms() - cr->started_ms;
		if (lived >= CTL_RESPONDER_STABLE_MS || !cr->backoff_ms)
			cr->backoff_ms = CTL_RESPONDER_BACKOFF_MS;
		if (WIFSIGNALED(status))
			log_err("responder (pid %d) killed by signal %d%s; the gate steers nothing "
				"until it is back; restarting in %llums",
				(int)pid, WTERMSIG(status),
				WTERMSIG(status) == SIGSYS
				    ? " (SIGSYS: a system call outside its seccomp allowlist; "
				      "report it with the mxgate version)"
				    : "",
				(unsigned long long)cr->backoff_ms);
		else
			log_err("responder (pid %d) exited with status %d; the gate steers nothing "
				"until it is back; restarting in %llums",
				(int)pid, WEXITSTATUS(status), (unsigned long long)cr->backoff_ms);
		/* Never steer to a dead responder: tc's SOCKMAP entries went
		 * with its sockets already; nft's elements go here. */
		if (c->gate)
			c->gops->set_responder(c->gate, -1, -1);
		if (c->stopping)
			continue;
		plan_restart(c);
	}
}

void ctl_responder_stop(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	ev_timer_stop(c->loop, &cr->restart_timer);
	ctl_responder_unwatch(c);
	if (cr->alive) {
		responder_stop(&cr->proc);
		cr->alive = false;
	}
	close_fd(&cr->proc.ctl_fd);
}

void ctl_responder_push(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	struct responder_domain *t;
	int r;

	if (!cr->alive)
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
	r = responder_push_domains(&cr->proc, t, c->n_domains);
	free(t);
	if (!r && cr->rr.watching) {
		/* The heartbeat (ctl_resp_msg.c): the child acknowledges it. */
		cr->pushed++;
		cr->push_ms[cr->pushed % CTL_RESPONDER_ACK_RING] = ev_now_ms();
		if (!ev_timer_armed(&cr->ack_timer))
			ctl_timer_start(c, &cr->ack_timer, CTL_RESPONDER_ACK_MS,
					"responder heartbeat");
	}
	/* A child that does not read for a second is stuck, and a half-sent
	 * table cannot be resumed: a stuck child would keep its listening
	 * sockets, and steered senders would hang. */
	if (r < 0 && r != -ENOTCONN)
		ctl_responder_kill(c, ": cannot send it the domain table: %s", strerror(-r));
}
