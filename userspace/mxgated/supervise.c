// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder child: created, handed to the gate, waited for (READY),
 * and restarted with a backoff when it dies. The parent closes its copies
 * of the listening sockets once the child has them: when the child dies
 * the sockets close, the kernel drops them from the SOCKMAP, and the gate
 * stops steering by itself, before we even notice.
 *
 * Nothing here waits on the loop: READY is an event on the socketpair
 * with a deadline (ready_timer); a child that fails or misses it is ended
 * with SIGTERM and, after a grace (stop_timer), SIGKILL; SIGCHLD reaps it
 * and plans the restart. Until READY the controller sends it nothing and
 * counts it as down; its sockets are in the gate from before the fork (as
 * they must be, responder.h), and it accepts nothing before READY, so a
 * steered client waits in the backlog and gets a session once it serves,
 * or its connection is reset with the sockets if it never does, and the
 * gate then steers nothing (fail open).
 */
#include "ctl_responder_int.h"

#include <errno.h>
#include <inttypes.h>
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
	cr->phase = CTL_RESP_STARTING;
	cr->started_ms = ev_now_ms();
	cr->oom_known = ctl_oom_kills(&cr->oom_kills);
	cr->pushed = cr->acked = 0;
	ctl_responder_last_drop(c); /* a new child holds no table */
	/* Normally closed by responder_spawn() already. */
	close_fd(&cr->proc.listen_fd_v4);
	close_fd(&cr->proc.listen_fd_v6);
	r = ctl_responder_watch(c);
	if (r < 0) {
		ctl_responder_end(c, "cannot be watched for READY");
		return 0; /* SIGCHLD plans the restart */
	}
	ctl_timer_start(c, &cr->ready_timer, CTL_RESPONDER_READY_MS, "responder READY");
	log_info("responder started, pid %d; waiting for it to be ready", (int)cr->proc.pid);
	return 0;
}

void ctl_responder_ready(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	char err[512] = "";

	ev_timer_stop(c->loop, &cr->ready_timer);
	if (responder_ready_result(&cr->rr.rd, err, sizeof(err)) < 0) {
		ctl_responder_end(c, err);
		return;
	}
	cr->phase = CTL_RESP_READY;
	ctl_responder_read_reports(c);
	log_info("responder started, pid %d", (int)cr->proc.pid);
	ctl_responder_last_drop(c);    /* its first message must be a table */
	ctl_offenders_to_responder(c); /* after it: other edges' offenders */
	ctl_responder_push(c);
}

static void ready_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;

	if (c->resp->phase != CTL_RESP_STARTING)
		return;
	/* The READY may be waiting behind our own stall (a reload that ran
	 * postconf): read before blaming the child. */
	ctl_responder_drain(c);
	if (c->resp->phase != CTL_RESP_STARTING)
		return;
	ctl_responder_end(c, "not ready within 5 s (no READY from the child)");
}

/* The grace is over: a child that has not exited (stopped, or ignoring
 * SIGTERM) gets SIGKILL, which nothing ignores; SIGCHLD reaps it. */
static void stop_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_responder *cr = c->resp;

	if (cr->phase != CTL_RESP_ENDING || cr->proc.pid <= 0)
		return;
	log_warn("responder (pid %d) did not exit %dms after SIGTERM; SIGKILL", (int)cr->proc.pid,
		 CTL_RESPONDER_STOP_GRACE_MS);
	if (kill(cr->proc.pid, SIGKILL) < 0 && errno != ESRCH)
		log_err("responder (pid %d): SIGKILL: %s", (int)cr->proc.pid, strerror(errno));
}

static void end_child(struct controller *c, int sig);

void ctl_responder_end(struct controller *c, const char *why)
{
	log_err("responder (pid %d): %s; ending it (the gate steers nothing until a responder "
		"is ready)",
		(int)c->resp->proc.pid, why);
	end_child(c, SIGTERM);
}

void ctl_responder_renew(struct controller *c, const char *why)
{
	struct ctl_responder *cr = c->resp;

	/* Down: its next start reads the new settings anyway. Ending: the
	 * restart after it does too. */
	if (cr->phase != CTL_RESP_READY && cr->phase != CTL_RESP_STARTING)
		return;
	log_notice("responder (pid %d): %s; restarting it with them (the gate steers nothing "
		   "until the new one is ready, about a second)",
		   (int)cr->proc.pid, why);
	cr->renewing = true;
	end_child(c, SIGTERM);
}

static void plan_restart(struct controller *c);

/* Stop talking to the child and signal it: SIGTERM (then SIGKILL after
 * the grace, stop_cb) or SIGKILL at once. Nothing is steered to it from
 * here on: a stopped or stuck child would hold steered connections until
 * it dies; they go to the MTA instead (fail open). */
static void end_child(struct controller *c, int sig)
{
	struct ctl_responder *cr = c->resp;

	ev_timer_stop(c->loop, &cr->ready_timer);
	ctl_responder_unwatch(c);
	close_fd(&cr->proc.ctl_fd); /* it exits on EOF by itself */
	if (c->gate)
		c->gops->set_responder(c->gate, -1, -1);
	if (cr->proc.pid <= 0) {
		/* No child, so no SIGCHLD to plan the restart. */
		cr->phase = CTL_RESP_DOWN;
		if (!c->stopping)
			plan_restart(c);
		return;
	}
	/* SIGCHLD ends ENDING. */
	cr->phase = CTL_RESP_ENDING;
	if (kill(cr->proc.pid, sig) < 0 && errno != ESRCH)
		log_err("responder (pid %d): %s: %s", (int)cr->proc.pid, strsignal(sig),
			strerror(errno));
	if (sig == SIGTERM)
		ctl_timer_start(c, &cr->stop_timer, CTL_RESPONDER_STOP_GRACE_MS, "responder stop");
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

	if (c->stopping || c->resp->phase != CTL_RESP_DOWN)
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
	ev_timer_init(&cr->ready_timer, ready_cb, c);
	ev_timer_init(&cr->stop_timer, stop_cb, c);
	ev_timer_init(&cr->ack_timer, ctl_responder_ack_cb, c);
	ev_timer_init(&cr->send_timer, ctl_responder_send_cb, c);
	ev_timer_init(&cr->enc_timer, ctl_responder_encode_cb, c);
	return cr;
}

/* Kill the child and reap it, stop every timer; no restart follows.
 * Blocks (up to a second): only after the loop ended, on the way out. */
static void ctl_responder_stop(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	ev_timer_stop(c->loop, &cr->restart_timer);
	ev_timer_stop(c->loop, &cr->ready_timer);
	ev_timer_stop(c->loop, &cr->stop_timer);
	ctl_responder_unwatch(c);
	if (cr->proc.pid > 0)
		responder_stop(&cr->proc);
	cr->phase = CTL_RESP_DOWN;
	close_fd(&cr->proc.ctl_fd);
}

void ctl_responder_free(struct controller *c)
{
	if (!c->resp)
		return;
	if (c->loop)
		ctl_responder_stop(c);
	ctl_responder_last_drop(c);
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
	return c->resp && c->resp->phase == CTL_RESP_READY;
}

const char *ctl_responder_phase(const struct controller *c)
{
	static const char *const names[] = {[CTL_RESP_DOWN] = "down",
					    [CTL_RESP_STARTING] = "starting",
					    [CTL_RESP_READY] = "running",
					    [CTL_RESP_ENDING] = "stopping"};

	return c->resp ? names[c->resp->phase] : "down";
}

pid_t ctl_responder_child(const struct controller *c)
{
	return c->resp && c->resp->phase != CTL_RESP_DOWN ? c->resp->proc.pid : 0;
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
	end_child(c, SIGKILL); /* a stopped one too; SIGCHLD restarts it */
}

/* SIGCHLD: reap every child; if the responder died, plan its restart. */
void ctl_responder_reap(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool ours = cr->phase == CTL_RESP_ENDING; /* we sent TERM or KILL */
		char why[200] = "";
		uint64_t lived, ooms;

		if (cr->phase == CTL_RESP_DOWN || pid != cr->proc.pid) {
			log_debug("reaped child %d", (int)pid);
			continue;
		}
		ctl_responder_unwatch(c);
		ev_timer_stop(c->loop, &cr->ready_timer);
		ev_timer_stop(c->loop, &cr->stop_timer);
		cr->phase = CTL_RESP_DOWN;
		cr->proc.pid = 0;
		close_fd(&cr->proc.ctl_fd);
		lived = ev_now_ms() - cr->started_ms;
		if (lived >= CTL_RESPONDER_STABLE_MS || !cr->backoff_ms || cr->renewing)
			cr->backoff_ms = CTL_RESPONDER_BACKOFF_MS;
		/* A SIGKILL we did not send: the kernel's OOM killer (its
		 * count in our cgroup went up) or someone's kill -9. */
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !ours) {
			if (!cr->oom_known && !ctl_oom_kills(&ooms) && ooms > cr->oom_kills)
				snprintf(why, sizeof(why),
					 " (the kernel's out-of-memory killer: oom_kill %" PRIu64
					 " -> %" PRIu64 " in our cgroup; raise its memory limit, "
					 "MemoryMax, or lower max_connections)",
					 cr->oom_kills, ooms);
			else
				snprintf(why, sizeof(why),
					 " (not sent by mxgated: the kernel's out-of-memory killer "
					 "or someone's kill -9; see dmesg)");
		}
		if (cr->renewing)
			log_notice(
			    "responder (pid %d) ended for the new settings; starting the new "
			    "one in %llums",
			    (int)pid, (unsigned long long)cr->backoff_ms);
		else if (WIFSIGNALED(status))
			log_err(
			    "responder (pid %d) killed by signal %d%s%s; the gate steers nothing "
			    "until it is back; restarting in %llums",
			    (int)pid, WTERMSIG(status),
			    WTERMSIG(status) == SIGSYS
				? " (SIGSYS: a system call outside its seccomp allowlist; "
				  "report it with the mxgate version)"
				: "",
			    why, (unsigned long long)cr->backoff_ms);
		else
			log_err("responder (pid %d) exited with status %d; the gate steers nothing "
				"until it is back; restarting in %llums",
				(int)pid, WEXITSTATUS(status), (unsigned long long)cr->backoff_ms);
		cr->renewing = false;
		/* Never steer to a dead responder: tc's SOCKMAP entries went
		 * with its sockets already; nft's elements go here. */
		if (c->gate)
			c->gops->set_responder(c->gate, -1, -1);
		if (c->stopping)
			continue;
		plan_restart(c);
	}
}

/* Only on the way out, after the loop ended (controller_stop): the one
 * place that may wait for the child synchronously (responder_stop: up to
 * a second, then SIGKILL), so that mxgated leaves no child behind. */
