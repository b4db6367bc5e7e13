/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The schedule of the domains' MX lookups: a wheel of one-second slots
 * and one timer (ctl_dns_wheel.c says why). An entry is embedded in what
 * it schedules; due() gets it back when its time has come.
 */
#ifndef MXG_CTL_DNS_WHEEL_H
#define MXG_CTL_DNS_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

/* Over the longest delay asked for (a TTL is clamped to 3,600 s, a retry
 * to 300 s); a longer one is cut to a turn of the wheel. */
#define CTL_DNS_WHEEL_SLOTS 4096
#define CTL_DNS_WHEEL_BATCH 4096 /* lookups started per iteration */

struct ctl_dns_entry {
	uint64_t slot; /* the second it is due in (absolute, monotonic) */
	uint32_t idx;  /* its place in that slot's array */
	bool queued;
};

/* The entries due in one second, in the order they were put there; a
 * removed one leaves a NULL behind (nothing else is written: no
 * neighbour's link, in memory the loop may not have touched for 300 s). */
struct ctl_dns_slot {
	struct ctl_dns_entry **e;
	uint32_t len, cap;
};

struct ctl_dns_wheel;
typedef void (*ctl_dns_due_cb)(void *arg, struct ctl_dns_entry *e);

struct ctl_dns_wheel {
	struct ev_loop *loop;
	ctl_dns_due_cb due;
	void *arg;
	struct ev_timer timer;
	uint64_t cur; /* the next second to work through */
	uint32_t pos; /* how far into cur's slot (a tick cut short) */
	size_t n;     /* entries on the wheel */
	struct ctl_dns_slot slot[CTL_DNS_WHEEL_SLOTS];
};

void ctl_dns_wheel_init(struct ctl_dns_wheel *w, struct ev_loop *loop, ctl_dns_due_cb due,
			void *arg);
void ctl_dns_wheel_free(struct ctl_dns_wheel *w);
/* (Re)schedule e for due_ms (ev_now_ms clock); out of memory, e is due
 * now instead (an early lookup, never a lost one). */
void ctl_dns_wheel_put(struct ctl_dns_wheel *w, struct ctl_dns_entry *e, uint64_t due_ms);
/* Off the wheel, if on it. O(1). */
void ctl_dns_wheel_del(struct ctl_dns_wheel *w, struct ctl_dns_entry *e);

#endif
