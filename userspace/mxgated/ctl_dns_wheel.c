// SPDX-License-Identifier: GPL-2.0-only
/*
 * When each domain's next MX lookup is due: a wheel of one-second slots
 * (ctl_dns_wheel.h) instead of a timer per domain. 100,000 domains
 * refreshed on a 300 s TTL are 340 lookups a second; as timers of their
 * own they were 340 wake-ups a second, each a pop and a push on a heap of
 * 100,000, and the lookups went out one at a time. Here one timer ticks
 * once a second and starts every lookup whose second has passed, so they
 * go out together (their answers then come back in few wake-ups), and a
 * domain is put on or taken off its slot's list in O(1). A lookup is never
 * early: it starts within the second after it is due (the refresh is
 * already jittered over the last tenth of the TTL), except one due now (a
 * new domain, a reload, start-up), which starts in the next iteration.
 */
#include "ctl_dns_wheel.h"

#include "controller.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static void wheel_tick(struct ev_loop *loop, void *arg);

void ctl_dns_wheel_init(struct ctl_dns_wheel *w, struct ev_loop *loop, ctl_dns_due_cb due,
			void *arg)
{
	memset(w, 0, sizeof(*w));
	w->loop = loop;
	w->due = due;
	w->arg = arg;
	for (size_t i = 0; i < CTL_DNS_WHEEL_SLOTS; i++)
		LIST_INIT(&w->slot[i]);
	w->cur = ev_now_ms() / 1000;
	ev_timer_init(&w->timer, wheel_tick, w);
}

void ctl_dns_wheel_free(struct ctl_dns_wheel *w)
{
	ev_timer_stop(w->loop, &w->timer);
}

/* The next tick: at once for a slot that has passed, else when the next
 * slot with a domain on it has passed (its second is over). */
static void arm(struct ctl_dns_wheel *w)
{
	uint64_t now = ev_now_ms(), s = w->cur, when;

	if (!w->n) {
		ev_timer_stop(w->loop, &w->timer);
		return;
	}
	while (LIST_EMPTY(&w->slot[s % CTL_DNS_WHEEL_SLOTS]))
		s++; /* w->n says one is there, within a turn of the wheel */
	when = s * 1000 <= now ? 0 : s * 1000 - now;
	if (ev_timer_armed(&w->timer) && w->timer.when_ms <= now + when)
		return;
	if (ev_timer_start(w->loop, &w->timer, when) < 0)
		log_err("dns: cannot arm the refresh timer: out of memory; lookups wait for the "
			"next one scheduled");
}

void ctl_dns_wheel_put(struct ctl_dns_wheel *w, struct ctl_dns_entry *e, uint64_t due_ms)
{
	uint64_t now = ev_now_ms(), s;

	ctl_dns_wheel_del(w, e);
	/* Never beyond a turn of the wheel (a slot holds one second). */
	if (due_ms > now + (CTL_DNS_WHEEL_SLOTS - 2) * 1000ull)
		due_ms = now + (CTL_DNS_WHEEL_SLOTS - 2) * 1000ull;
	/* Due now: the slot being worked through; else the second boundary
	 * at or after due (never early). */
	s = due_ms <= now ? w->cur : (due_ms + 999) / 1000;
	if (s < w->cur)
		s = w->cur;
	if (s > w->cur + CTL_DNS_WHEEL_SLOTS - 1) /* a tick late: not a turn early */
		s = w->cur + CTL_DNS_WHEEL_SLOTS - 1;
	e->slot = s;
	e->queued = true;
	LIST_INSERT_HEAD(&w->slot[s % CTL_DNS_WHEEL_SLOTS], e, link);
	w->n++;
	arm(w);
}

void ctl_dns_wheel_del(struct ctl_dns_wheel *w, struct ctl_dns_entry *e)
{
	if (!e->queued)
		return;
	LIST_REMOVE(e, link);
	e->queued = false;
	w->n--;
}

/* Every slot whose second has passed, at most CTL_DNS_WHEEL_BATCH
 * lookups an iteration (start-up's 100,000 due at once are spread). */
static void wheel_tick(struct ev_loop *loop, void *arg)
{
	struct ctl_dns_wheel *w = arg;
	uint64_t now_s = ev_now_ms() / 1000;
	unsigned started = 0;

	while (w->cur <= now_s) {
		struct ctl_dns_entry *e;

		while ((e = LIST_FIRST(&w->slot[w->cur % CTL_DNS_WHEEL_SLOTS]))) {
			if (started++ == CTL_DNS_WHEEL_BATCH) {
				/* 1 ms: the next iteration (a timer due at
				 * once would run again in this one). */
				if (ev_timer_start(loop, &w->timer, 1) < 0)
					arm(w);
				return;
			}
			ctl_dns_wheel_del(w, e);
			w->due(w->arg, e);
		}
		if (w->cur == now_s)
			break; /* what is put on it now is due now */
		w->cur++;
	}
	arm(w);
}
