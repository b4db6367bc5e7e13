// SPDX-License-Identifier: GPL-2.0-only
/*
 * The domain table to the responder, every round and on changes, without
 * blocking the loop: the table is encoded into a buffer, 8,192 domains
 * an iteration (CTL_RESPONDER_ENCODE_STEP), and written as far as the
 * socket takes it; the rest goes when the socket is writable
 * again (the watcher of ctl_resp_msg.c). One table at a time, so the
 * buffer is bounded by the largest table: a push while one is in flight
 * only asks for the newest table after it (a table replaces the previous
 * one whole). A child that has not read a table within
 * CTL_RESPONDER_SEND_MS is stuck, and is killed like one that does not
 * acknowledge (a half-written table cannot be taken back).
 *
 * Most rounds change nothing: when no domain's entry changed since the
 * last table written in full to this child (c->table_gen, ctl_changes.c),
 * or the table encodes to its very bytes, a SAME goes (16 octets),
 * which the child acknowledges like a table, so the heartbeat is the same
 * and a round costs the encoding, not the child's decode and sort of
 * every domain. The last table is forgotten whenever the child may not
 * hold it (a new child, one ended, a table cut off); then the full table
 * goes, which is always right.
 */
#include "ctl_responder_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

void ctl_responder_last_drop(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	free(cr->last);
	cr->last = NULL;
	cr->last_len = 0;
}

void ctl_responder_push_drop(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	/* Not written in full (flush takes a finished one off first): the
	 * stream is cut, and the child may hold neither table. */
	if (cr->out)
		ctl_responder_last_drop(c);
	ev_timer_stop(c->loop, &cr->send_timer);
	ev_timer_stop(c->loop, &cr->enc_timer);
	responder_wire_build_free(&cr->enc);
	cr->encoding = false;
	free(cr->out);
	cr->out = NULL;
	cr->out_len = cr->out_off = 0;
	cr->out_waits = 0;
	cr->push_again = false;
	cr->out_same = false;
}

/* Written in full: the heartbeat (ctl_resp_msg.c) waits for its ACK. */
static void sent(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	cr->pushed++;
	cr->push_ms[cr->pushed % CTL_RESPONDER_ACK_RING] = ev_now_ms();
	if (!ev_timer_armed(&cr->ack_timer))
		ctl_timer_start(c, &cr->ack_timer, CTL_RESPONDER_ACK_MS, "responder heartbeat");
}

void ctl_responder_flush(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	int fd = cr->proc.ctl_fd, r;
	bool again;

	while (cr->out && cr->out_off < cr->out_len) {
		ssize_t w = send(fd, cr->out + cr->out_off, cr->out_len - cr->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			cr->out_off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The rest when it has read some. */
			cr->out_waits++;
			r = ev_io_mod(c->loop, fd, EV_READ | EV_WRITE);
			if (r < 0)
				ctl_responder_kill(c,
						   ": cannot wait to send it the domain table: %s",
						   strerror(-r));
			return;
		}
		ctl_responder_kill(c, ": cannot send it the domain table: %s",
				   w < 0 ? strerror(errno) : "nothing written");
		return;
	}
	if (!cr->out)
		return;
	again = cr->push_again;
	if (cr->out_waits)
		log_debug("responder: %s of %zu octets sent; the socket was full %u time(s)",
			  cr->out_same ? "SAME" : "domain table", cr->out_len, cr->out_waits);
	if (cr->out_same) {
		c->cnt.responder_tables_same++;
		free(cr->out);
	} else {
		/* In full, in order: the child installs it, and a SAME
		 * after it means this table. */
		c->cnt.responder_tables_full++;
		ctl_responder_last_drop(c);
		cr->last = cr->out;
		cr->last_len = cr->out_tab_len; /* without the offenders after it */
		cr->last_gen = cr->out_gen;
	}
	cr->out = NULL;
	ctl_responder_push_drop(c); /* also stops send_timer */
	r = ev_io_mod(c->loop, fd, EV_READ);
	if (r < 0) {
		ctl_responder_kill(c, ": cannot watch its socket: %s", strerror(-r));
		return;
	}
	sent(c);
	if (again)
		ctl_responder_push(c); /* the newest table */
}

void ctl_responder_send_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_responder *cr = c->resp;
	size_t was = cr->out_off;

	if (cr->phase != CTL_RESP_READY || !cr->out)
		return;
	/* Our own loop may have been the slow one (a loaded host): the
	 * socket may have room we did not hear about. Write first; if that
	 * moved, the child is reading: once per table, give it another
	 * CTL_RESPONDER_SEND_MS (only once, so a child that reads a trickle
	 * cannot keep an old table for long). */
	ctl_responder_flush(c);
	if (cr->phase != CTL_RESP_READY || !cr->out)
		return;
	if (cr->out_off > was && !cr->send_extended) {
		cr->send_extended = true;
		ctl_timer_start(c, &cr->send_timer, CTL_RESPONDER_SEND_MS, "responder send");
		return;
	}
	ctl_responder_kill(c, " is stuck: it has read %zu of the %zu octets of the %s in %ums",
			   cr->out_off, cr->out_len, cr->out_same ? "SAME message" : "domain table",
			   (unsigned)CTL_RESPONDER_SEND_MS * (cr->send_extended ? 2 : 1));
}

/* The next CTL_RESPONDER_ENCODE_STEP domains of the table (fewer once the
 * iteration's budget is spent, EV_BUDGET_NS): 1 while more
 * are left, 0 when cr->out holds the table, or negative errno. 100,000
 * domains are 3 MB to encode: in one go, with the pages faulting in, it
 * took most of a loop iteration's budget, and start-up, where domains
 * change all the time, encoded one table after another. A reload that
 * replaces the domain array meanwhile starts it again. */
static int encode_step(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	size_t end;
	int r;

	if (cr->enc_domains != c->domains) {
		responder_wire_build_free(&cr->enc);
		cr->enc_next = 0;
		cr->enc_domains = c->domains;
		cr->out_gen = c->table_gen;
	}
	end = cr->enc_next + CTL_RESPONDER_ENCODE_STEP;
	if (end > c->n_domains)
		end = c->n_domains;
	for (size_t n = 0; cr->enc_next < end; cr->enc_next++, n++) {
		const struct ctl_domain *cd = c->domains[cr->enc_next];
		/* Pointers only: the builder copies the strings. */
		struct responder_domain t = {
		    .name = cd->ds.name,
		    .state = (uint8_t)cd->ds.state,
		    .reply = (uint8_t)ctl_domain_reply(c, cd),
		    .primary = cd->ds.primary,
		    .reply_text = config_domain_reply_text(c->cfg, cd->dcfg),
		};

		if (n >= CTL_RESPONDER_ENCODE_MIN && n % CTL_RESPONDER_ENCODE_MIN == 0 &&
		    ev_over_budget(c->loop))
			break;
		r = responder_wire_build_add(&cr->enc, &t);
		if (r < 0)
			return r;
	}
	if (cr->enc_next < c->n_domains)
		return 1;
	cr->out_off = 0;
	return responder_wire_build_end(&cr->enc, &cr->out, &cr->out_len);
}

/* out holds the same bytes as last: send a SAME instead. Out of memory
 * for 16 octets, the full table goes (never wrong). */
static void use_same(struct ctl_responder *cr)
{
	uint8_t *b = malloc(sizeof(struct responder_wire_hdr));

	if (!b)
		return;
	free(cr->out);
	cr->out = b;
	cr->out_len = (size_t)responder_wire_encode_same(b, sizeof(struct responder_wire_hdr));
	cr->out_same = true;
}

/* Other edges' offenders after the table or SAME in out, one message of
 * at most RESPONDER_OFFENDERS_MAX; the rest with the next push. */
static void append_fleet_offenders(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	size_t n =
	    cr->n_fleet_off < RESPONDER_OFFENDERS_MAX ? cr->n_fleet_off : RESPONDER_OFFENDERS_MAX;
	size_t add = sizeof(struct responder_wire_hdr) + n * sizeof(struct responder_offender);
	uint8_t *b;
	int len;

	cr->out_tab_len = cr->out_len;
	if (!n)
		return;
	b = realloc(cr->out, cr->out_len + add);
	if (!b)
		return; /* the next push tries again */
	cr->out = b;
	len = responder_wire_encode_fleet_offenders(cr->fleet_off, n, b + cr->out_len, add);
	if (len < 0)
		return;
	cr->out_len += (size_t)len;
	cr->n_fleet_off -= n;
	memmove(cr->fleet_off, cr->fleet_off + n, cr->n_fleet_off * sizeof(cr->fleet_off[0]));
	if (cr->n_fleet_off)
		cr->push_again = true;
}

void ctl_responder_fleet_offender(struct controller *c, const struct mxg_ip *ip, uint64_t until_ms)
{
	if (c->resp && !ctl_responder_fleet_offender_queue(c, ip, until_ms))
		ctl_responder_push(c);
}

int ctl_responder_fleet_offender_queue(struct controller *c, const struct mxg_ip *ip,
				       uint64_t until_ms)
{
	struct ctl_responder *cr = c->resp;
	struct responder_offender *o;

	if (!cr)
		return -ENOENT;
	for (size_t i = 0; i < cr->n_fleet_off; i++) {
		o = &cr->fleet_off[i];
		if (o->family == (ip->family == AF_INET ? 4 : 6) &&
		    !memcmp(o->addr, ip->family == AF_INET ? (const void *)&ip->v4 : &ip->v6,
			    ip->family == AF_INET ? 4 : 16)) {
			if (until_ms > o->when_ms)
				o->when_ms = until_ms;
			return 0;
		}
	}
	if (cr->n_fleet_off == CTL_RESPONDER_FLEET_OFF_MAX) {
		cr->fleet_off_dropped++;
		return -ENOSPC;
	}
	o = &cr->fleet_off[cr->n_fleet_off++];
	*o = (struct responder_offender){.when_ms = until_ms,
					 .family = ip->family == AF_INET ? 4 : 6};
	if (ip->family == AF_INET)
		memcpy(o->addr, &ip->v4, 4);
	else
		memcpy(o->addr, &ip->v6, 16);
	return 0;
}

void ctl_responder_push(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	/* Before READY the child takes no table: the first one follows its
	 * READY (supervise.c). */
	if (cr->phase != CTL_RESP_READY || !cr->rr.watching)
		return;
	if (cr->out || cr->encoding) {
		cr->push_again = true;
		return;
	}
	if (cr->last && cr->last_gen == c->table_gen) {
		/* Nothing changed: no encoding, no comparison. */
		cr->out_gen = c->table_gen;
		cr->out_off = 0;
		use_same(cr);
		if (cr->out_same)
			goto send;
	}
	cr->out_gen = c->table_gen;
	cr->encoding = true;
	cr->enc_next = 0;
	cr->enc_domains = c->domains;
	ctl_responder_encode_cb(c->loop, c);
	return;
send:
	append_fleet_offenders(c);
	cr->send_extended = false;
	ctl_timer_start(c, &cr->send_timer, CTL_RESPONDER_SEND_MS, "responder send");
	ctl_responder_flush(c);
}

void ctl_responder_encode_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_responder *cr = c->resp;
	int r;

	if (!cr->encoding)
		return;
	r = encode_step(c);
	if (r == 1) {
		ctl_timer_start(c, &cr->enc_timer, 0, "responder table");
		return;
	}
	cr->encoding = false;
	if (r < 0) {
		/* Not "keep the previous table": that table may say reject
		 * where the config now says defer, for as long as this
		 * failure lasts (E2BIG and EINVAL do not pass). A child we
		 * cannot update is ended: the gate opens, it is restarted
		 * with the usual backoff. */
		responder_wire_build_free(&cr->enc);
		ctl_responder_kill(c, ": cannot build its domain table (%s)", strerror(-r));
		return;
	}
	if (cr->last && cr->out_len == cr->last_len && !memcmp(cr->out, cr->last, cr->last_len)) {
		use_same(cr);
		if (cr->out_same)
			cr->last_gen = cr->out_gen; /* the same bytes: this generation too */
	}
	append_fleet_offenders(c);
	cr->send_extended = false;
	ctl_timer_start(c, &cr->send_timer, CTL_RESPONDER_SEND_MS, "responder send");
	ctl_responder_flush(c);
}
