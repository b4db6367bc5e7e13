// SPDX-License-Identifier: GPL-2.0-only
/*
 * Giving free heap pages back to the system, on a timer of its own whose
 * interval follows what the last trim gave back. The start-up lookups (an
 * MX answer, an ldns packet and a set per domain) free most of what they
 * allocate, in holes below live memory that glibc keeps because they are
 * not at the heap's top; malloc_trim returns every whole free page
 * wherever it is (without it mxgated held 234 MiB at 100,000 domains,
 * with it 130). Its cost grows with what was freed since the last one
 * (a madvise per run of free pages, a few microseconds a page on a
 * virtual machine, and the faults when they are used again): once a
 * round, at start-up, that was 200-230 ms in one loop iteration, and a
 * trim only when the resident size had grown 8 MiB gave back 30 MB at
 * once (330-480 ms). So: every TRIM_MIN_MS while trims give back much (a
 * burst: start-up, a reload), each giving back a little, and up to every
 * TRIM_MAX_MS while they give back little (steady state, where the walk
 * over the free chunks, 8-12 ms at 100,000 domains, is all they cost).
 */
#include "controller.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define TRIM_MIN_MS 250ull	   /* the interval while trims give back much */
#define TRIM_MAX_MS 32000ull	   /* and while they give back little */
#define TRIM_USEFUL_KIB (2 * 1024) /* given back by one trim: much */

/* Resident KiB, or 0 when it cannot be read. */
static uint64_t rss_kib(struct controller *c)
{
	char buf[128];
	unsigned long long size, res;
	ssize_t n;

	if (c->trim_fd < 0)
		return 0;
	n = pread(c->trim_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &res) != 2)
		return 0;
	return res * ((uint64_t)sysconf(_SC_PAGESIZE) / 1024);
}

static void trim_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	uint64_t before = rss_kib(c), after, t0 = ev_now_ns();

	malloc_trim(0);
	after = rss_kib(c);
	/* Without a size to compare (no /proc), as if it gave back much. */
	if (!before || before >= after + TRIM_USEFUL_KIB)
		c->trim_every_ms =
		    c->trim_every_ms / 2 > TRIM_MIN_MS ? c->trim_every_ms / 2 : TRIM_MIN_MS;
	else
		c->trim_every_ms =
		    c->trim_every_ms * 2 < TRIM_MAX_MS ? c->trim_every_ms * 2 : TRIM_MAX_MS;
	log_debug("heap trim: resident %llu -> %llu KiB in %lluus; next in %llums",
		  (unsigned long long)before, (unsigned long long)after,
		  (unsigned long long)((ev_now_ns() - t0) / 1000),
		  (unsigned long long)c->trim_every_ms);
	ctl_timer_start(c, &c->trim_timer, c->trim_every_ms, "heap trim");
}

void ctl_trim_start(struct controller *c)
{
	ev_timer_init(&c->trim_timer, trim_cb, c);
	c->trim_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (c->trim_fd < 0)
		log_info("cannot read /proc/self/statm (%s): the heap is trimmed every %llums",
			 strerror(errno), (unsigned long long)TRIM_MIN_MS);
	c->trim_every_ms = TRIM_MIN_MS;
	ctl_timer_start(c, &c->trim_timer, c->trim_every_ms, "heap trim");
}

void ctl_trim_soon(struct controller *c)
{
	if (c->stopping || c->trim_every_ms == TRIM_MIN_MS)
		return;
	c->trim_every_ms = TRIM_MIN_MS;
	ctl_timer_start(c, &c->trim_timer, c->trim_every_ms, "heap trim");
}

void ctl_trim_stop(struct controller *c)
{
	ev_timer_stop(c->loop, &c->trim_timer);
	if (c->trim_fd >= 0)
		close(c->trim_fd);
	c->trim_fd = -1;
}
