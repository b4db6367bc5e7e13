/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small event loop over epoll: enable read/write on a file descriptor,
 * one-shot timers on the monotonic clock, run until stopped. Every module
 * that talks to a peer (DNS, probes, responder, control socket) uses it, so
 * the daemon is one thread and one loop.
 */
#ifndef MXG_EVENT_H
#define MXG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define EV_READ 0x1u
#define EV_WRITE 0x2u
#define EV_ERROR 0x4u /* EPOLLERR/EPOLLHUP; reported together with READ */

typedef void (*ev_io_cb)(struct ev_loop *loop, int fd, unsigned events, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, void *arg);

/* Embedded in the caller's struct; zero it (or ev_timer_init) before use. */
struct ev_timer {
	uint64_t when_ms;  /* absolute, ev_now_ms() clock */
	size_t heap_index; /* 0 = not armed */
	ev_timer_cb cb;
	void *arg;
	const char *name; /* the callback's, for the stall record (EV_CB_NAME) */
};

/* "file.c:callback", made where a watcher or timer is set up, so that the
 * loop can say which callback its longest iteration was spent in. */
#ifdef __FILE_NAME__
#define EV_CB_NAME(cb) (__FILE_NAME__ ":" #cb)
#else
#define EV_CB_NAME(cb) (__FILE__ ":" #cb)
#endif

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *loop);

/* Watch fd for the given EV_READ/EV_WRITE mask; one watcher per fd. */
int ev_io_add_named(struct ev_loop *loop, int fd, unsigned events, ev_io_cb cb, void *arg,
		    const char *name);
#define ev_io_add(loop, fd, events, cb, arg)                                                       \
	ev_io_add_named(loop, fd, events, cb, arg, EV_CB_NAME(cb))
int ev_io_mod(struct ev_loop *loop, int fd, unsigned events);
/* Safe to call from inside any callback, also for the fd being served. */
void ev_io_del(struct ev_loop *loop, int fd);

void ev_timer_init_named(struct ev_timer *t, ev_timer_cb cb, void *arg, const char *name);
#define ev_timer_init(t, cb, arg) ev_timer_init_named(t, cb, arg, EV_CB_NAME(cb))
/* (Re)arm t to fire once, delay_ms from now. Fails (-ENOMEM) only when
 * the timer heap must grow, so never when re-arming an armed timer; a
 * caller must still say what a timer that will not fire means for it. */
__attribute__((warn_unused_result)) int ev_timer_start(struct ev_loop *loop, struct ev_timer *t,
						       uint64_t delay_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->heap_index != 0;
}

/* How long the loop's work took between two waits: the longest, and how
 * many iterations took over EV_STALL_SLOW_NS (what `mxgate metrics`
 * reports as the loop's stalls). Each record names the callback that took
 * the most wall time of its iteration (one clock read per callback: the
 * CPU clock is a system call, too dear to read per callback), and how
 * long that callback took, so an operator sees where a stall came from. */
#define EV_STALL_SLOW_NS 100000000ull /* 100 ms */
#define EV_TIMERS_PER_RUN 4096	      /* due timers run per iteration, at most */
/* An iteration's work budget: ready descriptors are served and due
 * timers run until the iteration has been busy this long (the rest in the
 * next one; at least a few of each), and work done in slices asks
 * ev_over_budget() between parts. Wall time: on a loaded
 * host the slices get smaller and the loop stays responsive. */
#define EV_BUDGET_NS 20000000ull /* 20 ms */
/* Inside a callback: has this iteration been busy EV_BUDGET_NS yet? */
bool ev_over_budget(const struct ev_loop *loop);
struct ev_stall {
	uint64_t max_ns;     /* wall time */
	uint64_t max_cpu_ns; /* CPU time of the same kind of span */
	uint64_t slow;
	uint64_t iterations;
	const char *max_cb;	/* the longest (wall) iteration's biggest callback */
	uint64_t max_cb_ns;	/* and its own wall time */
	const char *max_cpu_cb; /* the same for the iteration that used most CPU */
	uint64_t max_cpu_cb_ns;
};
void ev_loop_stall(const struct ev_loop *loop, struct ev_stall *out);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t ev_now_ms(void);
/* Nanoseconds on CLOCK_MONOTONIC: the clock of bpf_ktime_get_ns(). */
uint64_t ev_now_ns(void);

/* Run until ev_stop(); returns 0, or negative errno if epoll fails. */
int ev_run(struct ev_loop *loop);
/* One iteration waiting at most max_wait_ms (-1: until a timer or event). */
int ev_run_once(struct ev_loop *loop, int max_wait_ms);
void ev_stop(struct ev_loop *loop);

#endif
