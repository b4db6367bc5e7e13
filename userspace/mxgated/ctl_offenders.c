// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's view of offenders: the clients the responder reported
 * (ctl_resp_msg.c) while they count, for `mxgate offenders`, and, with
 * offender_set = yes, their addresses in an nft set (offender_nft.c). The
 * list is bounded: when full, the entry that expires first makes room.
 * An entry lives offender_window after the last report, like the set
 * element's timeout. A report finds its entry through a hash index and a
 * full list finds the entry that expires first at the top of a heap: a
 * Redis catch-up of thousands of records costs a few steps each, not a
 * walk of the whole list.
 */
#include "controller.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctl_responder.h"
#include "hash.h"
#include "htab.h"
#include "log.h"
#include "offender_nft.h"
#include "responder_wire.h"

#define OFFENDERS_MAX 4096 /* clients listed; the nft set has its own limit */

struct ctl_offender {
	struct mxg_ip ip;
	uint64_t first_ms, last_ms, expires_ms;
	uint64_t reports;
	bool shared;	       /* another edge's (ctl_offender_shared): a new responder is told */
	struct htab_node node; /* in by_ip */
	uint32_t at;	       /* its place in heap */
};

struct ctl_offenders {
	struct ctl_offender e[OFFENDERS_MAX]; /* never moves: by_ip links into it */
	size_t n;
	struct htab by_ip;
	uint64_t seed; /* clients choose their addresses: not one chain */
	/* indexes into e, by expires_ms, the earliest first */
	uint32_t heap[OFFENDERS_MAX];
	uint64_t window_ms;
	bool nft_on;
	struct offender_nft nft;
	/* addresses of the current report, written in one batch */
	struct mxg_ip batch[RESPONDER_OFFENDERS_MAX];
	uint64_t batch_ms[RESPONDER_OFFENDERS_MAX]; /* nft timeout, 0: the window */
	size_t n_batch;
	struct ev_timer flush;
};

/* The kernel's answers to the batches flush_cb sent (and, at each flush,
 * the giving up of those unanswered for NFT_REPLY_TIMEOUT_MS). */
static void nft_answers(struct controller *c)
{
	c->cnt.gate_errors += offender_nft_poll(&c->offenders->nft, ev_now_ms());
}

static void nft_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	nft_answers(arg);
}

/* Sent, not awaited: the answer comes to nft_readable. */
static void flush_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_offenders *o = c->offenders;

	if (o->nft_on)
		nft_answers(c);
	if (o->nft_on && o->n_batch &&
	    offender_nft_add(&o->nft, o->batch, o->batch_ms, o->n_batch) < 0)
		c->cnt.gate_errors++;
	o->n_batch = 0;
}

int ctl_offenders_start(struct controller *c)
{
	struct ctl_offenders *o = calloc(1, sizeof(*o));
	char err[512] = "";
	int r;

	if (!o)
		return -ENOMEM;
	if (htab_init(&o->by_ip) < 0) {
		free(o);
		return -ENOMEM;
	}
	if (getrandom(&o->seed, sizeof(o->seed), GRND_NONBLOCK) != sizeof(o->seed))
		o->seed = (uint64_t)(uintptr_t)o ^ ev_now_ms();
	o->window_ms = c->cfg->offender_window_ms; /* config_keys.c: at least 1s */
	ev_timer_init(&o->flush, flush_cb, c);
	if (c->cfg->offender_set) {
		r = offender_nft_open(&o->nft, c->cfg, err, sizeof(err));
		if (r < 0) {
			log_err("%s", err[0] ? err : strerror(-r));
			htab_fini(&o->by_ip);
			free(o);
			return r;
		}
		r = ev_io_add(c->loop, offender_nft_fd(&o->nft), EV_READ, nft_readable, c);
		if (r < 0) {
			log_err("offenders: cannot watch the netlink socket: %s", strerror(-r));
			offender_nft_close(&o->nft, false);
			htab_fini(&o->by_ip);
			free(o);
			return r;
		}
		o->nft_on = true;
	}
	c->offenders = o;
	return 0;
}

void ctl_offenders_stop(struct controller *c, bool clean)
{
	struct ctl_offenders *o = c->offenders;

	if (!o)
		return;
	if (c->loop)
		ev_timer_stop(c->loop, &o->flush);
	if (o->nft_on && c->loop)
		ev_io_del(c->loop, offender_nft_fd(&o->nft));
	if (o->nft_on)
		offender_nft_close(&o->nft, clean);
	htab_fini(&o->by_ip);
	free(o);
	c->offenders = NULL;
}

static uint64_t heap_key(const struct ctl_offenders *o, size_t at)
{
	return o->e[o->heap[at]].expires_ms;
}

static void heap_swap(struct ctl_offenders *o, size_t a, size_t b)
{
	uint32_t t = o->heap[a];

	o->heap[a] = o->heap[b];
	o->heap[b] = t;
	o->e[o->heap[a]].at = (uint32_t)a;
	o->e[o->heap[b]].at = (uint32_t)b;
}

/* e's expiry becomes ms: e moves up or down to its place in the heap. */
static void set_expiry(struct ctl_offenders *o, struct ctl_offender *e, uint64_t ms)
{
	size_t i = e->at;

	e->expires_ms = ms;
	while (i && heap_key(o, (i - 1) / 2) > ms) {
		heap_swap(o, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < o->n && heap_key(o, l) < heap_key(o, m))
			m = l;
		if (l + 1 < o->n && heap_key(o, l + 1) < heap_key(o, m))
			m = l + 1;
		if (m == i)
			break;
		heap_swap(o, i, m);
		i = m;
	}
}

static struct ctl_offender *find(const struct ctl_offenders *o, const struct mxg_ip *ip)
{
	uint64_t h = mxg_ip_hash(ip, o->seed);

	for (struct htab_node *n = htab_first(&o->by_ip, h); n; n = n->next) {
		struct ctl_offender *e = htab_entry(n, struct ctl_offender, node);

		if (n->hash == h && mxg_ip_equal(&e->ip, ip))
			return e;
	}
	return NULL;
}

/* ip's entry, or a new one (no reports, expiring at 0: the caller sets
 * its expiry with set_expiry). */
static struct ctl_offender *find_or_make(struct ctl_offenders *o, const struct mxg_ip *ip,
					 uint64_t now)
{
	struct ctl_offender *e = find(o, ip);
	uint32_t at;

	if (e)
		return e;
	if (o->n < OFFENDERS_MAX) {
		at = (uint32_t)o->n;
		o->heap[at] = at;
		e = &o->e[o->n++];
	} else {
		at = 0;
		e = &o->e[o->heap[0]];
		if (e->expires_ms > now)
			log_debug("offenders: list full, forgetting the one that expires first");
		htab_del(&o->by_ip, &e->node);
	}
	memset(e, 0, sizeof(*e));
	e->ip = *ip;
	e->at = at; /* expires_ms 0: at the top, or at the end of a heap in order */
	htab_add(&o->by_ip, &e->node, mxg_ip_hash(ip, o->seed));
	return e;
}

void ctl_offender_add(struct controller *c, const struct mxg_ip *ip, uint64_t when_ms)
{
	struct ctl_offenders *o = c->offenders;
	uint64_t now = ev_now_ms();
	struct ctl_offender *e;
	char a[MXG_ADDRSTRLEN];

	if (!o)
		return;
	/* The responder does not count this host, but it is not trusted: a
	 * report naming loopback or an address of this host would put local
	 * submission into the administrator's drop rule. */
	if (ctl_ip_is_host(c, ip)) {
		log_warn("offender %s: this host's own address, reported by the responder; "
			 "ignored",
			 mxg_ip_str(ip, a, sizeof(a)));
		return;
	}
	if (when_ms > now)
		when_ms = now;
	e = find_or_make(o, ip, now);
	if (!e->reports || e->expires_ms <= now) {
		e->first_ms = when_ms;
		e->reports = 0;
		log_notice("offender %s: answered 550 past offender_threshold%s%s",
			   mxg_ip_str(ip, a, sizeof(a)), o->nft_on ? "; added to nft set " : "",
			   o->nft_on ? offender_nft_set_for(&o->nft, ip->family) : "");
	}
	e->reports++;
	e->last_ms = when_ms;
	set_expiry(o, e, now + o->window_ms);
	ctl_fleet_offender(c, ip, e->first_ms, e->last_ms, e->expires_ms, e->reports);
	if (!o->nft_on || !offender_nft_set_for(&o->nft, ip->family)[0])
		return;
	for (size_t i = 0; i < o->n_batch; i++)
		if (mxg_ip_equal(&o->batch[i], ip)) {
			o->batch_ms[i] = 0; /* a new report: the whole window */
			return;
		}
	if (o->n_batch < RESPONDER_OFFENDERS_MAX) {
		o->batch_ms[o->n_batch] = 0;
		o->batch[o->n_batch++] = *ip;
	}
	/* One nft batch for all the records of one report. */
	if (!ev_timer_armed(&o->flush) && ev_timer_start(c->loop, &o->flush, 0) < 0)
		flush_cb(c->loop, c); /* this record's own batch, then */
}

void ctl_offenders_list(const struct controller *c, struct sbuf *out)
{
	const struct ctl_offenders *o = c->offenders;
	uint64_t now = ev_now_ms();
	char a[MXG_ADDRSTRLEN];
	size_t live = 0;

	if (!o) {
		sbuf_printf(out, "error: offender list not available\n");
		return;
	}
	for (size_t i = 0; i < o->n; i++) {
		const struct ctl_offender *e = &o->e[i];

		if (e->expires_ms <= now)
			continue;
		live++;
		sbuf_printf(out,
			    "%s: %" PRIu64 " report(s), first %" PRIu64 "s ago, last %" PRIu64
			    "s ago, expires in %" PRIu64 "s",
			    mxg_ip_str(&e->ip, a, sizeof(a)), e->reports,
			    (now - e->first_ms) / 1000, (now - e->last_ms) / 1000,
			    (e->expires_ms - now + 999) / 1000);
		if (o->nft_on && offender_nft_set_for(&o->nft, e->ip.family)[0])
			sbuf_printf(out, ", nft set %s %s %s", nft_family_name(o->nft.family),
				    o->nft.table, offender_nft_set_for(&o->nft, e->ip.family));
		sbuf_printf(out, "\n");
	}
	if (!live)
		sbuf_printf(out, "no offenders\n");
}

void ctl_offenders_each(const struct controller *c,
			void (*fn)(void *arg, const struct mxg_ip *ip, uint64_t first_ms,
				   uint64_t last_ms, uint64_t expires_ms, uint64_t reports),
			void *arg)
{
	const struct ctl_offenders *o = c->offenders;
	uint64_t now = ev_now_ms();

	for (size_t i = 0; o && i < o->n; i++)
		if (o->e[i].expires_ms > now)
			fn(arg, &o->e[i].ip, o->e[i].first_ms, o->e[i].last_ms, o->e[i].expires_ms,
			   o->e[i].reports);
}

uint64_t ctl_offender_restore(struct controller *c, const struct mxg_ip *ip, uint64_t first_ms,
			      uint64_t last_ms, uint64_t expires_ms, uint64_t reports)
{
	struct ctl_offenders *o = c->offenders;
	uint64_t now = ev_now_ms();
	struct ctl_offender *e;

	if (!o || !reports || ctl_ip_is_host(c, ip))
		return 0;
	/* Loaded from a file: never longer than offender_window from now
	 * (the nft element gets the same rest, so both end together), never
	 * reported in the future. */
	if (expires_ms > now + o->window_ms)
		expires_ms = now + o->window_ms;
	if (expires_ms <= now)
		return 0;
	/* A whole second, as the nft element gets it: the list and the set
	 * end together. */
	expires_ms = now + (expires_ms - now + 999) / 1000 * 1000;
	if (last_ms > now)
		last_ms = now;
	if (first_ms > last_ms)
		first_ms = last_ms;
	e = find_or_make(o, ip, now);
	e->first_ms = first_ms;
	e->last_ms = last_ms;
	set_expiry(o, e, expires_ms);
	e->reports = reports;
	/* Back into the nft set too, with the rest of its time (one batch; a
	 * full batch is written at once). */
	if (o->nft_on && offender_nft_set_for(&o->nft, ip->family)[0]) {
		if (o->n_batch == RESPONDER_OFFENDERS_MAX)
			flush_cb(c->loop, c);
		o->batch_ms[o->n_batch] = expires_ms - now;
		o->batch[o->n_batch++] = *ip;
		if (!ev_timer_armed(&o->flush) && ev_timer_start(c->loop, &o->flush, 0) < 0)
			flush_cb(c->loop, c);
	}
	return expires_ms;
}

void ctl_offender_shared(struct controller *c, const struct mxg_ip *ip)
{
	struct ctl_offender *e = c->offenders ? find(c->offenders, ip) : NULL;

	if (e)
		e->shared = true;
}

void ctl_offenders_to_responder(struct controller *c)
{
	const struct ctl_offenders *o = c->offenders;
	uint64_t now = ev_now_ms();

	for (size_t i = 0; o && i < o->n; i++)
		if (o->e[i].shared && o->e[i].expires_ms > now &&
		    ctl_responder_fleet_offender_queue(c, &o->e[i].ip, o->e[i].expires_ms) ==
			-ENOSPC)
			break;
}
