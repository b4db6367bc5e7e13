// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forked jobs with a pipe back to the loop (ctl_job.h): the loop never
 * waits for them, it reads their answer as it comes and kills them at a
 * deadline.
 */
#include "ctl_job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"
#include "log.h"
#include "tc_claim.h"

/* The pipe is made this big (best effort: pipe-max-size is 1 MiB by
 * default), and this much is read per wake-up: a reload's answer at
 * 100,000 domains is 29 MB, which through a pipe of 64 KiB took 450 loop
 * iterations to arrive, seconds on a busy host. A wake-up's read is a
 * copy of 1 MiB, well under a millisecond. */
#define JOB_PIPE_SIZE (1 << 20)
#define JOB_READ_MAX JOB_PIPE_SIZE /* octets read per wake-up */

static void finish(struct ctl_job *j, bool ok, const char *why)
{
	struct controller *c = j->c;
	char *buf = j->buf;
	size_t len = j->len;

	ev_io_del(c->loop, j->fd);
	close(j->fd);
	j->fd = -1;
	ev_timer_stop(c->loop, &j->deadline);
	if (!ok && j->pid > 0) {
		kill(-j->pid, SIGKILL);
		kill(j->pid, SIGKILL);
	}
	/* done may start the next job on j (a reload asked for meanwhile). */
	j->pid = 0;
	j->buf = NULL;
	j->len = j->cap = 0;
	j->taken = NULL;
	j->done(c, ok, buf, len, why);
	if (j->taken != buf)
		free(buf);
}

static bool grow(struct ctl_job *j)
{
	size_t cap = j->cap ? j->cap * 2 : JOB_READ_MAX;
	char *b;

	if (cap > j->max + 1)
		cap = j->max + 1;
	if (cap <= j->cap)
		return false;
	b = realloc(j->buf, cap);
	if (!b)
		return false;
	j->buf = b;
	j->cap = cap;
	return true;
}

static void on_answer(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct ctl_job *j = arg;
	char why[128];

	for (size_t got = 0; got < JOB_READ_MAX;) {
		ssize_t k;

		if (j->len == j->cap && !grow(j)) {
			snprintf(why, sizeof(why), "its answer is over %zu octets or out of memory",
				 j->max);
			finish(j, false, why);
			return;
		}
		k = read(fd, j->buf + j->len, j->cap - j->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		if (k < 0) {
			snprintf(why, sizeof(why), "reading its answer: %s", strerror(errno));
			finish(j, false, why);
			return;
		}
		if (k == 0) {
			finish(j, true, NULL);
			return;
		}
		j->len += (size_t)k;
		got += (size_t)k;
	}
}

static void on_deadline(struct ev_loop *loop, void *arg)
{
	struct ctl_job *j = arg;
	char why[96];

	snprintf(why, sizeof(why), "it did not finish within %llu s; killed it",
		 (unsigned long long)j->deadline_ms / 1000);
	finish(j, false, why);
}

int ctl_job_start(struct controller *c, struct ctl_job *j, uint64_t deadline_ms, ctl_job_run run,
		  void *arg)
{
	int p[2], r;
	pid_t pid;

	if (ctl_job_running(j))
		return -EBUSY;
	j->c = c;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	(void)fcntl(p[0], F_SETPIPE_SZ, JOB_PIPE_SIZE); /* else the default: slower, works */
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		/* Its own process group: the deadline kills what it ran too. */
		setpgid(0, 0);
		close(p[0]);
		tc_claims_close_inherited(); /* the interfaces are the daemon's */
		run(c, p[1], arg);
		_exit(0);
	}
	setpgid(pid, pid); /* either side may be first */
	close(p[1]);
	r = fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (!r)
		r = ev_io_add(c->loop, p[0], EV_READ, on_answer, j);
	if (r < 0) {
		kill(pid, SIGKILL);
		close(p[0]);
		return r;
	}
	j->pid = pid;
	j->fd = p[0];
	j->deadline_ms = deadline_ms;
	ev_timer_init(&j->deadline, on_deadline, j);
	ctl_timer_start(c, &j->deadline, deadline_ms, j->name);
	log_debug("%s: helper pid %d started", j->name, (int)pid);
	return 0;
}

void ctl_job_cancel(struct ctl_job *j)
{
	char b[4096];

	if (!ctl_job_running(j))
		return;
	kill(-j->pid, SIGKILL);
	kill(j->pid, SIGKILL);
	ev_io_del(j->c->loop, j->fd);
	ev_timer_stop(j->c->loop, &j->deadline);
	fcntl(j->fd, F_SETFL, 0);
	for (;;) {
		ssize_t k = read(j->fd, b, sizeof(b));

		if (k > 0 || (k < 0 && errno == EINTR))
			continue;
		break; /* EOF: the child is gone */
	}
	close(j->fd);
	j->fd = -1;
	j->pid = 0;
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}
