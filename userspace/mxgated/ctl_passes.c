// SPDX-License-Identifier: GPL-2.0-only
/*
 * Passed clients: the controller's side of greylisting and
 * pass_recipients. The unprivileged responder reports a client to pass
 * (ctl_resp_msg.c, RESPONDER_MSG_PASSES); the controller checks it, keeps
 * it here and writes it to the gate backend with an expiry, so the kernel
 * lets the client's new connections through to the real MTA on its own
 * until then. A pass lasts pass_ttl; each renewal (the policy service
 * seeing the client deliver, the responder reporting it again) extends it
 * to now + pass_ttl, never beyond pass_max after it was first given.
 *
 * The table is bounded (MXG_MAX_PASSES, the size of the kernel map): when
 * full, the pass that expires first makes room. Passing only ever opens
 * the gate; an expired pass means steered again, and only while the
 * primary is up.
 */
#include "controller.h"
#include "ctl_responder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"

#define NS_PER_MS 1000000ULL
/* An expired pass stays in the kernel map (which ignores it) this long
 * before the controller deletes it: `mxgate dump` shows it expired, and
 * the kernel's own expiry, not the controller, is what ends a pass. */
#define CTL_PASS_KEEP_EXPIRED_MS 60000

static const char *reason_str(unsigned r)
{
	return r == MXG_PASS_GREYLIST ? "greylist" : r == MXG_PASS_RECIPIENT ? "recipient" : "?";
}

int ctl_passes_start(struct controller *c)
{
	struct ctl_passes *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (greylist_init(&p->gl, c->cfg->greylist_delay_ms, c->cfg->greylist_window_ms, 0) < 0) {
		free(p);
		return -ENOMEM;
	}
	if (getrandom(&p->gl_seed, sizeof(p->gl_seed), GRND_NONBLOCK) < 0)
		p->gl_seed = ev_now_ns() ^ ((uint64_t)getpid() << 32);
	c->passes = p;
	return 0;
}

void ctl_passes_stop(struct controller *c)
{
	if (c->passes)
		greylist_free(&c->passes->gl);
	free(c->passes);
	c->passes = NULL;
}

void ctl_greylist_seen(struct controller *c, const struct mxg_ip *ip, uint64_t hash)
{
	struct ctl_passes *p = c->passes;

	if (!p)
		return;
	/* A reload may have changed them. */
	p->gl.delay_ms = c->cfg->greylist_delay_ms;
	p->gl.window_ms = c->cfg->greylist_window_ms;
	p->gl_seen++;
	switch (greylist_seen(&p->gl, greylist_rekey(p->gl_seed, hash), ev_now_ms())) {
	case GREYLIST_PASS:
		ctl_pass_add(c, ip, MXG_PASS_GREYLIST);
		break;
	case GREYLIST_EARLY:
		p->gl_early++;
		break;
	case GREYLIST_NEW:
		break;
	}
}

static struct ctl_pass *find(struct ctl_passes *p, const struct mxg_ip *ip)
{
	for (size_t i = 0; i < p->n; i++)
		if (mxg_ip_equal(&p->e[i].ip, ip))
			return &p->e[i];
	return NULL;
}

static void write_kernel(struct controller *c, const struct ctl_pass *e, bool remove)
{
	int r;

	if (!c->gate || !c->gops->set_pass)
		return;
	r = c->gops->set_pass(c->gate, &e->ip, remove ? 0 : e->expires_ms * NS_PER_MS,
			      e->since_ms * NS_PER_MS, e->reason);
	if (r < 0) {
		char a[MXG_ADDRSTRLEN];

		c->cnt.gate_errors++;
		log_err("pass %s: cannot write the gate: %s; the client stays steered",
			mxg_ip_str(&e->ip, a, sizeof(a)), strerror(-r));
	}
}

/* Drop passes expired a while ago (and their kernel entries, which the
 * tc program already ignores) so the table and the map never fill. */
void ctl_passes_sweep(struct controller *c)
{
	struct ctl_passes *p = c->passes;
	uint64_t now = ev_now_ms();
	unsigned epoch;

	if (!p)
		return;
	for (size_t i = 0; i < p->n;) {
		if (p->e[i].expires_ms + CTL_PASS_KEEP_EXPIRED_MS > now) {
			i++;
			continue;
		}
		write_kernel(c, &p->e[i], true);
		p->e[i] = p->e[--p->n];
	}
	/* A gate opened anew (start, reload, re-created maps) or one that
	 * made its kernel objects anew (nft after `nft flush ruleset`): give
	 * it every live pass. */
	epoch = c->gate && c->gops->epoch ? c->gops->epoch(c->gate) : 0;
	if (p->written_gate != c->gate || p->written_epoch != epoch) {
		p->written_gate = c->gate;
		p->written_epoch = epoch;
		for (size_t i = 0; i < p->n; i++)
			if (p->e[i].expires_ms > now)
				write_kernel(c, &p->e[i], false);
	}
}

void ctl_pass_add(struct controller *c, const struct mxg_ip *ip, unsigned reason)
{
	struct ctl_passes *p = c->passes;
	const struct mxg_config *cfg = c->cfg;
	uint64_t now = ev_now_ms(), until;
	char a[MXG_ADDRSTRLEN];
	struct ctl_pass *e;

	if (!p)
		return;
	mxg_ip_str(ip, a, sizeof(a));
	e = find(p, ip);
	if (e && e->expires_ms > now) {
		until = now + cfg->pass_ttl_ms;
		if (until > e->since_ms + cfg->pass_max_ms)
			until = e->since_ms + cfg->pass_max_ms;
		if (until > e->expires_ms)
			e->expires_ms = until;
		e->renewals++;
		p->renewed++;
		log_info("pass: client %s renewed (%s) for %" PRIu64 "s", a, reason_str(reason),
			 (e->expires_ms - now) / 1000);
		write_kernel(c, e, false);
		return;
	}
	if (!e) {
		if (p->n == MXG_MAX_PASSES) {
			size_t first = 0;

			for (size_t i = 1; i < p->n; i++)
				if (p->e[i].expires_ms < p->e[first].expires_ms)
					first = i;
			write_kernel(c, &p->e[first], true);
			p->e[first] = p->e[--p->n];
			p->evicted++;
		}
		e = &p->e[p->n++];
	}
	*e = (struct ctl_pass){.ip = *ip, .since_ms = now, .reason = reason};
	/* config_check.c refuses a pass_max shorter than pass_ttl. */
	e->expires_ms = now + cfg->pass_ttl_ms;
	p->added[reason == MXG_PASS_GREYLIST ? 0 : 1]++;
	log_notice("pass: client %s passed for %" PRIu64 "s: %s; its new connections go to the "
		   "MTA",
		   a, (e->expires_ms - now) / 1000,
		   reason == MXG_PASS_GREYLIST
		       ? "it retried a greylisted message after greylist_delay"
		       : "it asked for a pass_recipients address (postmaster, abuse, ...)");
	write_kernel(c, e, false);
}

bool ctl_pass_live(const struct controller *c, const struct mxg_ip *ip)
{
	const struct ctl_passes *p = c->passes;

	if (!p)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (mxg_ip_equal(&p->e[i].ip, ip))
			return p->e[i].expires_ms > ev_now_ms();
	return false;
}

size_t ctl_passes_live(const struct controller *c)
{
	const struct ctl_passes *p = c->passes;
	uint64_t now = ev_now_ms();
	size_t n = 0;

	for (size_t i = 0; p && i < p->n; i++)
		n += p->e[i].expires_ms > now;
	return n;
}

void ctl_passes_stats(const struct controller *c, struct ctl_pass_stats *st)
{
	const struct ctl_passes *p = c->passes;
	struct responder_counts rc;

	memset(st, 0, sizeof(*st));
	ctl_responder_counts(c, &rc);
	st->greylisted = rc.greylisted;
	st->hits_clients = c->cnt.pass_hits[0];
	st->hits_recipients = c->cnt.pass_hits[1] + rc.passed_recipient;
	st->hits_passed = c->cnt.pass_hits[2];
	if (!p)
		return;
	st->tuples = greylist_count(&p->gl, ev_now_ms());
	st->tuples_seen = p->gl_seen;
	st->early = p->gl_early;
	st->passes = ctl_passes_live(c);
	st->passed[0] = p->added[0];
	st->passed[1] = p->added[1];
	st->renewed = p->renewed;
	st->evicted = p->evicted;
}
