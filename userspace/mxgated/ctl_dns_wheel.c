// SPDX-License-Identifier: GPL-2.0-only
/*
 * When each domain's next MX lookup is due: a wheel of one-second slots
 * (ctl_dns_wheel.h) instead of a timer per domain. 100,000 domains
 * refreshed on a 300 s TTL are 340 lookups a second; as timers of their
 * own they were 340 wake-ups a second, each a pop and a push on a heap of
 * 100,000, and the lookups went out one at a time. Here one timer ticks
 * once a second and starts every lookup whose second has passed, so they
 * go out together (their answers then come back in few wake-ups), and a
 * domain is put on or taken off its slot's array in O(1). Arrays, not
 * linked lists: unlinking wrote into the neighbours, domains the loop had
 * not touched for a TTL, and that store was 9% of the steady profile
 * (cache misses, and a write fault on each page after a fork). A lookup is never
 * early: it starts within the second after it is due (the refresh is
 * already jittered over the last tenth of the TTL), except one due now (a
 * new domain, a reload, start-up), which starts in the next iteration.
 */
#include "ctl_dns_wheel.h"

#include "controller.h"

#include <errno.h>
#include <stdlib.h>
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
	w->cur = ev_now_ms() / 1000;
	ev_timer_init(&w->timer, wheel_tick, w);
}

void ctl_dns_wheel_free(struct ctl_dns_wheel *w)
{
	ev_timer_stop(w->loop, &w->timer);
	for (size_t i = 0; i < CTL_DNS_WHEEL_SLOTS; i++) {
		free(w->slot[i].e);
		w->slot[i] = (struct ctl_dns_slot){0};
	}
}

static struct ctl_dns_slot *slot_of(struct ctl_dns_wheel *w, uint64_t s)
{
	return &w->slot[s % CTL_DNS_WHEEL_SLOTS];
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
	while (slot_of(w, s)->len <= (s == w->cur ? w->pos : 0))
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
	struct ctl_dns_slot *sl;

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
	sl = slot_of(w, s);
	if (sl->len == sl->cap) {
		uint32_t cap = sl->cap ? sl->cap * 2 : 64;
		struct ctl_dns_entry **a = realloc(sl->e, cap * sizeof(*a));

		if (!a) {
			log_err("dns: cannot schedule a lookup: out of memory; it starts now");
			w->due(w->arg, e);
			return;
		}
		sl->e = a;
		sl->cap = cap;
	}
	e->slot = s;
	e->idx = sl->len;
	e->queued = true;
	sl->e[sl->len++] = e;
	w->n++;
	arm(w);
}

void ctl_dns_wheel_del(struct ctl_dns_wheel *w, struct ctl_dns_entry *e)
{
	struct ctl_dns_slot *sl = slot_of(w, e->slot);

	if (!e->queued)
		return;
	if (e->idx < sl->len && sl->e[e->idx] == e)
		sl->e[e->idx] = NULL;
	e->queued = false;
	w->n--;
}

/* Every slot whose second has passed, at most CTL_DNS_WHEEL_BATCH
 * lookups an iteration and fewer once its budget is spent (start-up's
 * 100,000 due at once are spread). */
static void wheel_tick(struct ev_loop *loop, void *arg)
{
	struct ctl_dns_wheel *w = arg;
	uint64_t now_s = ev_now_ms() / 1000;
	unsigned started = 0;

	while (w->cur <= now_s) {
		struct ctl_dns_slot *sl = slot_of(w, w->cur);

		/* An entry put on this slot by a callback (due now) is
		 * appended, and reached by this same walk. */
		while (w->pos < sl->len) {
			struct ctl_dns_entry *e = sl->e[w->pos];

			if (!e) {
				w->pos++;
				continue;
			}
			/* At most a batch, less once the iteration's budget
			 * is spent (checked every 256: a clock read). */
			if (started == CTL_DNS_WHEEL_BATCH ||
			    (started >= 256 && started % 256 == 0 && ev_over_budget(loop))) {
				/* 1 ms: the next iteration (a timer due at
				 * once would run again in this one). */
				if (ev_timer_start(loop, &w->timer, 1) < 0)
					arm(w);
				return;
			}
			started++;
			w->pos++;
			ctl_dns_wheel_del(w, e);
			w->due(w->arg, e);
		}
		sl->len = 0;
		w->pos = 0;
		if (sl->cap > 4 * CTL_DNS_WHEEL_BATCH) {
			/* Start-up's slot of every domain: not kept. */
			free(sl->e);
			*sl = (struct ctl_dns_slot){0};
		}
		if (w->cur == now_s)
			break; /* what is put on it now is due now */
		w->cur++;
	}
	arm(w);
}
