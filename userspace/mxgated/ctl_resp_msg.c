// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder's reports to mxgated (responder_wire.h: COUNTS, OFFENDERS
 * and ACK), read from the socketpair without blocking, and the heartbeat:
 * a child that does not acknowledge a domain table within
 * CTL_RESPONDER_ACK_MS is stuck (alive, holding its listening sockets, so
 * the kernel keeps steering senders to a loop that never greets them) and
 * is killed like one that sent garbage. The responder
 * parses the internet and runs without privileges, so nothing it says is
 * trusted: every header and field is checked, counters may only grow, and
 * on a malformed message it is killed (the gate opens with its sockets)
 * and restarted by the supervisor.
 */
#include "ctl_responder_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

static void add_counts(struct responder_counts *to, const struct responder_counts *c)
{
	to->sessions += c->sessions;
	to->refused += c->refused;
	for (unsigned i = 0; i < RESPONDER_CODES; i++)
		to->replies[i] += c->replies[i];
	to->offenders += c->offenders;
	to->passed_recipient += c->passed_recipient;
	to->passed_greylist += c->passed_greylist;
	to->greylisted += c->greylisted;
	to->handoffs += c->handoffs;
	to->handoffs_done += c->handoffs_done;
	for (unsigned i = 0; i < RESPONDER_HO_FAILS; i++)
		to->handoff_failed[i] += c->handoff_failed[i];
	to->handoff_bytes_to_mta += c->handoff_bytes_to_mta;
	to->handoff_bytes_to_client += c->handoff_bytes_to_client;
}

void ctl_responder_counts(const struct controller *c, struct responder_counts *out)
{
	*out = c->resp->base;
	add_counts(out, &c->resp->cur);
}

/* Totals since the child started: none may shrink. */
static bool counts_grew(const struct responder_counts *old, const struct responder_counts *new)
{
	if (new->sessions < old->sessions || new->refused < old->refused ||
	    new->offenders < old->offenders || new->passed_recipient < old->passed_recipient ||
	    new->passed_greylist < old->passed_greylist || new->greylisted < old->greylisted ||
	    new->handoffs < old->handoffs || new->handoffs_done < old->handoffs_done ||
	    new->handoff_bytes_to_mta < old->handoff_bytes_to_mta ||
	    new->handoff_bytes_to_client < old->handoff_bytes_to_client)
		return false;
	for (unsigned i = 0; i < RESPONDER_CODES; i++)
		if (new->replies[i] < old->replies[i])
			return false;
	for (unsigned i = 0; i < RESPONDER_HO_FAILS; i++)
		if (new->handoff_failed[i] < old->handoff_failed[i])
			return false;
	return true;
}

static void bad_message(struct controller *c, const char *why)
{
	ctl_responder_kill(c, ": %s", why);
}

/* Wait for the oldest table still unacknowledged, or for none. */
static void ack_arm(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	uint64_t sent, now = ev_now_ms();

	if (cr->acked == cr->pushed) {
		ev_timer_stop(c->loop, &cr->ack_timer);
		return;
	}
	/* With more than the ring outstanding this is a later send time:
	 * the child gets a little longer, never less. */
	sent = cr->push_ms[(cr->acked + 1) % CTL_RESPONDER_ACK_RING];
	ctl_timer_start(c, &cr->ack_timer,
			sent + CTL_RESPONDER_ACK_MS > now ? sent + CTL_RESPONDER_ACK_MS - now : 0,
			"responder heartbeat");
}

static void handle_ack(struct controller *c, uint32_t seq)
{
	/* Tables are installed in order, each acknowledged once. */
	if (seq <= c->resp->acked || seq > c->resp->pushed) {
		bad_message(c, "acknowledged a domain table it was not sent");
		return;
	}
	c->resp->acked = seq;
	ack_arm(c);
}

static void handle(struct controller *c)
{
	struct responder_wire_reader *rr = &c->resp->rr.rd;
	uint64_t now = ev_now_ms();

	if (rr->hdr.type == RESPONDER_MSG_ACK) {
		handle_ack(c, rr->hdr.count);
		return;
	}
	if (rr->hdr.type == RESPONDER_MSG_UNSERVED) {
		const uint8_t *p = rr->payload;
		size_t left = rr->hdr.len;
		char name[254];
		uint32_t seen = 0;
		int used;

		while ((used = responder_wire_unserved_next(p, left, name)) > 0) {
			ctl_unserved_add(c, name, now);
			p += used;
			left -= (size_t)used;
			seen++;
		}
		if (used < 0 || seen != rr->hdr.count)
			bad_message(c, "malformed unserved-domain record");
		return;
	}
	if (rr->hdr.type == RESPONDER_MSG_COUNTS) {
		struct responder_counts n;

		memcpy(&n, rr->payload, sizeof(n));
		if (!counts_grew(&c->resp->cur, &n)) {
			bad_message(c, "counters went backwards");
			return;
		}
		c->resp->cur = n;
		return;
	}
	if (rr->hdr.type == RESPONDER_MSG_TUPLES) {
		for (uint32_t i = 0; i < rr->hdr.count; i++) {
			struct responder_tuple t;
			struct mxg_ip ip;

			memcpy(&t, rr->payload + i * sizeof(t), sizeof(t));
			if (responder_wire_tuple(&t, now, &ip) < 0) {
				bad_message(c, "malformed greylist tuple record");
				return;
			}
			ctl_greylist_seen(c, &ip, t.hash);
		}
		return;
	}
	if (rr->hdr.type == RESPONDER_MSG_PASSES) {
		for (uint32_t i = 0; i < rr->hdr.count; i++) {
			struct responder_pass ps;
			struct mxg_ip ip;

			memcpy(&ps, rr->payload + i * sizeof(ps), sizeof(ps));
			if (responder_wire_pass(&ps, now, &ip) < 0) {
				bad_message(c, "malformed pass record");
				return;
			}
			ctl_pass_add(c, &ip, ps.reason);
		}
		return;
	}
	for (uint32_t i = 0; i < rr->hdr.count; i++) {
		struct responder_offender o;
		struct mxg_ip ip;

		memcpy(&o, rr->payload + i * sizeof(o), sizeof(o));
		if (responder_wire_offender(&o, now, &ip) < 0) {
			bad_message(c, "malformed offender record");
			return;
		}
		ctl_offender_add(c, &ip, o.when_ms);
	}
}

/* The reports the controller takes, and room for the largest of them:
 * PASSES/TUPLES or UNSERVED. */
#define REPORT_TYPES                                                                               \
	(RESPONDER_WIRE_TYPE(RESPONDER_MSG_COUNTS) |                                               \
	 RESPONDER_WIRE_TYPE(RESPONDER_MSG_OFFENDERS) |                                            \
	 RESPONDER_WIRE_TYPE(RESPONDER_MSG_PASSES) | RESPONDER_WIRE_TYPE(RESPONDER_MSG_TUPLES) |   \
	 RESPONDER_WIRE_TYPE(RESPONDER_MSG_ACK) | RESPONDER_WIRE_TYPE(RESPONDER_MSG_UNSERVED))
#define REPORT_MAX                                                                                 \
	(RESPONDER_PASSES_MAX * sizeof(struct responder_tuple) + RESPONDER_UNSERVED_MAX * 254)

/* One read; true when it got something (there may be more). */
static bool read_once(struct controller *c)
{
	struct ctl_resp_reader *rr = &c->resp->rr;
	bool starting = c->resp->phase == CTL_RESP_STARTING;
	int rc = responder_wire_read(&rr->rd, c->resp->proc.ctl_fd);

	if (rc == -EAGAIN)
		return false;
	if (rc == -EPIPE || rc == -ECONNRESET) {
		/* The child is gone: SIGCHLD does the rest. */
		ctl_responder_unwatch(c);
		return false;
	}
	if (rc < 0) {
		/* Out of step (-EBADMSG), out of memory or a read error: the
		 * child may well be alive, serving from a table we can no
		 * longer update and sending reports we no longer read. End it
		 * (the gate opens; SIGCHLD restarts it), never just stop
		 * listening. */
		char why[128];

		snprintf(why, sizeof(why), "%s%s",
			 rc == -EBADMSG ? "malformed message header" : "cannot read its messages: ",
			 rc == -EBADMSG ? "" : strerror(-rc));
		if (starting)
			ctl_responder_end(c, why);
		else
			bad_message(c, why);
		return false;
	}
	if (rc == 1 && starting)
		ctl_responder_ready(c);
	else if (rc == 1)
		handle(c);
	return rr->watching;
}

static void on_resp_msg(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct controller *c = arg;

	if (events & EV_WRITE)
		ctl_responder_flush(c);
	if ((events & (EV_READ | EV_ERROR)) && c->resp->rr.watching)
		read_once(c);
}

#define ACK_DRAIN_READS 1024 /* bounded: ACKs queued behind a backlog */

void ctl_responder_drain(struct controller *c)
{
	for (int i = 0; i < ACK_DRAIN_READS && c->resp->rr.watching && read_once(c); i++)
		;
}

void ctl_responder_ack_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_responder *cr = c->resp;
	uint64_t sent, age;

	/* Our own loop may have been the slow one: read what the child has
	 * sent before blaming it. */
	ctl_responder_drain(c);
	if (cr->phase != CTL_RESP_READY || !cr->rr.watching || cr->acked == cr->pushed)
		return;
	sent = cr->push_ms[(cr->acked + 1) % CTL_RESPONDER_ACK_RING];
	age = ev_now_ms() - sent;
	if (age < CTL_RESPONDER_ACK_MS) {
		ack_arm(c);
		return;
	}
	ctl_responder_kill(c,
			   " is stuck: it has not acknowledged the domain table sent %llums ago "
			   "(%u of %u acknowledged)",
			   (unsigned long long)age, cr->acked, cr->pushed);
}

int ctl_responder_watch(struct controller *c)
{
	struct ctl_responder *cr = c->resp;
	int rc;

	cr->rr.watching = false;
	/* First READY (its text on a failed drop), then the reports. */
	responder_wire_reader_init(&cr->rr.rd, RESPONDER_WIRE_TYPE(RESPONDER_MSG_READY),
				   RESPONDER_READY_TEXT_MAX);
	memset(&cr->cur, 0, sizeof(cr->cur));
	rc = cr->proc.ctl_fd < 0 ? -EBADF
				 : ev_io_add(c->loop, cr->proc.ctl_fd, EV_READ, on_resp_msg, c);
	if (rc < 0)
		return rc;
	cr->rr.watching = true;
	return 0;
}

void ctl_responder_read_reports(struct controller *c)
{
	struct ctl_resp_reader *rr = &c->resp->rr;

	responder_wire_reader_free(&rr->rd);
	responder_wire_reader_init(&rr->rd, REPORT_TYPES, REPORT_MAX);
}

void ctl_responder_unwatch(struct controller *c)
{
	struct ctl_responder *cr = c->resp;

	ev_timer_stop(c->loop, &cr->ack_timer);
	ctl_responder_push_drop(c);
	/* Every way a child ends comes here: the next one starts empty. */
	ctl_responder_last_drop(c);
	if (!cr->rr.watching)
		return;
	ev_io_del(c->loop, cr->proc.ctl_fd);
	cr->rr.watching = false;
	responder_wire_reader_free(&cr->rr.rd);
	add_counts(&cr->base, &cr->cur);
	memset(&cr->cur, 0, sizeof(cr->cur));
}
