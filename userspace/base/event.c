// SPDX-License-Identifier: GPL-2.0-only
/*
 * Event loop: epoll for descriptors, a binary heap of embedded timers.
 * Watchers live in an array indexed by fd so lookup is O(1) and a callback
 * may delete any watcher (itself included): events of a batch for a deleted
 * fd are dropped by checking the slot is still in use. A descriptor number
 * reused within one batch may see one spurious event, so every callback
 * must treat readiness as a hint (non-blocking I/O, EAGAIN is normal).
 */
#include "event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EV_MAX_EVENTS 256 /* epoll_wait batch */
#define EV_TIMERS_MIN 64  /* due timers run per iteration, at least */
#define EV_EVENTS_MIN 32  /* ready descriptors served per iteration, at least */

struct ev_watcher {
	ev_io_cb cb;
	void *arg;
	const char *name;
	unsigned events;
	bool used;
};

struct ev_heap_slot {
	uint64_t when; /* t->when_ms, here so that sifting reads no timer */
	struct ev_timer *t;
};

struct ev_loop {
	int epfd;
	bool stop;
	struct ev_watcher *watchers;
	size_t n_watchers;
	struct ev_heap_slot *heap; /* 1-based; heap[0] unused */
	size_t heap_len;
	size_t heap_cap;
	struct ev_stall stall;
	uint64_t busy_from; /* ev_now_ns() when this iteration's work began */
};

uint64_t ev_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ev_now_ms(void)
{
	return ev_now_ns() / 1000000ull;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	for (size_t i = 1; i <= loop->heap_len; i++)
		loop->heap[i].t->heap_index = 0;
	close(loop->epfd);
	free(loop->watchers);
	free(loop->heap);
	free(loop);
}

static uint32_t to_epoll(unsigned events)
{
	uint32_t e = 0;

	if (events & EV_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

int ev_io_add_named(struct ev_loop *loop, int fd, unsigned events, ev_io_cb cb, void *arg,
		    const char *name)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= loop->n_watchers) {
		size_t n = loop->n_watchers ? loop->n_watchers : 64;
		struct ev_watcher *w;

		while (n <= (size_t)fd)
			n *= 2;
		w = realloc(loop->watchers, n * sizeof(*w));
		if (!w)
			return -ENOMEM;
		memset(w + loop->n_watchers, 0, (n - loop->n_watchers) * sizeof(*w));
		loop->watchers = w;
		loop->n_watchers = n;
	}
	if (loop->watchers[fd].used)
		return -EEXIST;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->watchers[fd] = (struct ev_watcher){cb, arg, name, events, true};
	return 0;
}

int ev_io_mod(struct ev_loop *loop, int fd, unsigned events)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};

	if (fd < 0 || (size_t)fd >= loop->n_watchers || !loop->watchers[fd].used)
		return -ENOENT;
	if (loop->watchers[fd].events == events)
		return 0;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	loop->watchers[fd].events = events;
	return 0;
}

void ev_io_del(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_watchers || !loop->watchers[fd].used)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->watchers[fd].used = false;
}

/* Timer heap, ordered by when_ms: 4-ary, each slot holding its timer's
 * due time beside the pointer. With 100,000 DNS refresh timers a pop
 * walks 9 levels instead of 17, and compares keys that sit together in
 * one cache line instead of following a pointer per child into timers
 * spread over the whole heap (the cost of the binary heap of pointers was
 * in the cache misses, and in the write faults on pages a fork had
 * shared). */
#define HEAP_D 4

static void heap_set(struct ev_loop *loop, size_t i, struct ev_heap_slot s)
{
	loop->heap[i] = s;
	s.t->heap_index = i;
}

/* Slots are 1-based; the children of i are D(i-1)+2 .. D(i-1)+D+1. */
static size_t heap_parent(size_t i)
{
	return (i - 2) / HEAP_D + 1;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_heap_slot s = loop->heap[i];

	while (i > 1 && loop->heap[heap_parent(i)].when > s.when) {
		heap_set(loop, i, loop->heap[heap_parent(i)]);
		i = heap_parent(i);
	}
	heap_set(loop, i, s);
}

static void heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_heap_slot s = loop->heap[i];

	for (;;) {
		size_t first = HEAP_D * (i - 1) + 2, best = first;

		if (first > loop->heap_len)
			break;
		for (size_t c = first + 1; c < first + HEAP_D && c <= loop->heap_len; c++)
			if (loop->heap[c].when < loop->heap[best].when)
				best = c;
		if (loop->heap[best].when >= s.when)
			break;
		heap_set(loop, i, loop->heap[best]);
		i = best;
	}
	heap_set(loop, i, s);
}

void ev_timer_init_named(struct ev_timer *t, ev_timer_cb cb, void *arg, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->name = name;
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->heap_index;

	if (!i)
		return;
	t->heap_index = 0;
	if (i != loop->heap_len) {
		struct ev_heap_slot last = loop->heap[loop->heap_len];

		loop->heap_len--;
		heap_set(loop, i, last);
		heap_up(loop, i);
		heap_down(loop, last.t->heap_index);
	} else {
		loop->heap_len--;
	}
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t delay_ms)
{
	ev_timer_stop(loop, t);
	if (loop->heap_len + 1 >= loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct ev_heap_slot *h = realloc(loop->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	t->when_ms = ev_now_ms() + delay_ms;
	loop->heap_len++;
	heap_set(loop, loop->heap_len, (struct ev_heap_slot){t->when_ms, t});
	heap_up(loop, loop->heap_len);
	return 0;
}

/* The callback that took the most wall time in this iteration so far:
 * each callback's span runs from the end of the one before (or the
 * iteration's start) to its own end, and a run of calls of one callback
 * in a row counts as one (4,096 DNS refresh timers due at once are one
 * long span of many short calls). */
struct ev_top {
	const char *name;
	uint64_t ns;
	const char *run_name; /* the callback called last, and its run's time */
	uint64_t run_ns;
	uint64_t at;
};

static void top_note(struct ev_top *top, const char *name)
{
	uint64_t now = ev_now_ns();

	if (name != top->run_name) {
		top->run_name = name;
		top->run_ns = 0;
	}
	top->run_ns += now - top->at;
	if (top->run_ns > top->ns) {
		top->ns = top->run_ns;
		top->name = name;
	}
	top->at = now;
}

static void run_timers(struct ev_loop *loop, struct ev_top *top)
{
	uint64_t now = ev_now_ms();
	unsigned n = 0;

	/* Bounded per iteration, by count and by time (at least
	 * EV_TIMERS_MIN run, however long the I/O before them took): 100,000
	 * timers due at once (DNS refreshes at start-up) run over several
	 * iterations, with I/O in between; the next epoll_wait then does not
	 * sleep. */
	while (loop->heap_len && loop->heap[1].when <= now && !loop->stop &&
	       n++ < EV_TIMERS_PER_RUN &&
	       (n <= EV_TIMERS_MIN || top->at - loop->busy_from < EV_BUDGET_NS)) {
		struct ev_timer *t = loop->heap[1].t;
		const char *name = t->name; /* t may be freed by its callback */

		ev_timer_stop(loop, t);
		t->cb(loop, t->arg);
		top_note(top, name);
	}
}

/* CPU time of this thread: a stall's own work, without the time other
 * processes had the CPU (on a busy host the wall time says more about
 * them than about us). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ev_run_once(struct ev_loop *loop, int max_wait_ms)
{
	struct epoll_event evs[EV_MAX_EVENTS];
	int timeout = max_wait_ms;
	uint64_t busy_from, busy, cpu_from, cpu;
	struct ev_top top = {0};
	int n;

	if (loop->heap_len) {
		uint64_t now = ev_now_ms(), when = loop->heap[1].when;
		int until = when <= now ? 0 : (when - now > 60000 ? 60000 : (int)(when - now));

		if (timeout < 0 || until < timeout)
			timeout = until;
	}
	n = epoll_wait(loop->epfd, evs, EV_MAX_EVENTS, timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	busy_from = ev_now_ns();
	cpu_from = thread_cpu_ns();
	top.at = loop->busy_from = busy_from;
	for (int i = 0; i < n && !loop->stop; i++) {
		int fd = evs[i].data.fd;
		struct ev_watcher *w;
		const char *name;
		unsigned events = 0;

		/* Past the budget the rest of the batch waits: epoll is level
		 * triggered, so the next wait reports them again. */
		if (i >= EV_EVENTS_MIN && top.at - busy_from >= EV_BUDGET_NS)
			break;
		if ((size_t)fd >= loop->n_watchers || !loop->watchers[fd].used)
			continue; /* deleted by an earlier callback in this batch */
		w = &loop->watchers[fd];
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
			events |= EV_READ;
		if (evs[i].events & EPOLLOUT)
			events |= EV_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			events |= EV_ERROR | EV_READ;
		name = w->name; /* the callback may grow (move) the watchers */
		w->cb(loop, fd, events, w->arg);
		top_note(&top, name);
	}
	run_timers(loop, &top);
	busy = ev_now_ns() - busy_from;
	cpu = thread_cpu_ns() - cpu_from;
	if (cpu > loop->stall.max_cpu_ns) {
		loop->stall.max_cpu_ns = cpu;
		loop->stall.max_cpu_cb = top.name;
		loop->stall.max_cpu_cb_ns = top.ns;
	}
	if (busy > loop->stall.max_ns) {
		loop->stall.max_ns = busy;
		loop->stall.max_cb = top.name;
		loop->stall.max_cb_ns = top.ns;
	}
	if (busy > EV_STALL_SLOW_NS)
		loop->stall.slow++;
	loop->stall.iterations++;
	return 0;
}

bool ev_over_budget(const struct ev_loop *loop)
{
	return ev_now_ns() - loop->busy_from >= EV_BUDGET_NS;
}

void ev_loop_stall(const struct ev_loop *loop, struct ev_stall *out)
{
	*out = loop->stall;
}

int ev_run(struct ev_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int err = ev_run_once(loop, -1);

		if (err < 0)
			return err;
	}
	return 0;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
