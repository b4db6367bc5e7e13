/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Work that may wait (postconf, NSS, a slow domains_file, fsync) runs in
 * a forked child, never in the controller's loop: the child writes its
 * answer to a pipe and exits; the loop reads the pipe when it is
 * readable and hears the whole answer at EOF. One job per struct, with a
 * deadline after which the child (and its process group: postconf) is
 * killed. SIGCHLD's reaper (supervise.c) reaps it like any other child.
 */
#ifndef MXG_CTL_JOB_H
#define MXG_CTL_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"

struct controller;
struct ctl_job;

/* The child's work: write the answer to fd; the exit status is unused
 * (the answer says everything). */
typedef void (*ctl_job_run)(struct controller *c, int fd, void *arg);
/* In the loop: the whole answer (buf, len) when ok, else why it failed
 * (killed at the deadline, too long, the child died without a word).
 * buf is freed after done() returns unless done() set the job's taken to
 * it (to read it over several loop iterations). */
typedef void (*ctl_job_done)(struct controller *c, bool ok, const char *buf, size_t len,
			     const char *why);

struct ctl_job {
	const char *name; /* for the log: "reload", "state save" */
	size_t max;	  /* the longest answer taken, octets */
	ctl_job_done done;
	struct controller *c;
	pid_t pid; /* 0: none running */
	int fd;
	char *buf;
	size_t len, cap;
	char *taken; /* done() set it to its buf: the answer is done()'s to free */
	uint64_t deadline_ms;
	struct ev_timer deadline;
};

static inline bool ctl_job_running(const struct ctl_job *j)
{
	return j->pid > 0;
}

/* Fork a child that runs run(c, fd, arg) and exits. 0, or negative errno
 * (logged by the caller). */
int ctl_job_start(struct controller *c, struct ctl_job *j, uint64_t deadline_ms, ctl_job_run run,
		  void *arg);
/* Only on the way out (the loop has ended): kill a running child and
 * wait for its end (the pipe's EOF), so that nothing it does comes after
 * what the caller does next. done is not called. */
void ctl_job_cancel(struct ctl_job *j);

#endif
