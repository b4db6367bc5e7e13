// SPDX-License-Identifier: GPL-2.0-only
/* The responder child's reports to the controller; see responder_report.h. */
#include "responder_report.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void report_init(struct responder_report *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

static void wire_addr(const struct mxg_ip *ip, uint8_t *family, uint8_t addr[16])
{
	if (ip->family == AF_INET) {
		*family = 4;
		memcpy(addr, &ip->v4, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&ip->v6)) {
		*family = 4; /* IPv4 seen on a dual-stack socket */
		memcpy(addr, &ip->v6.s6_addr[12], 4);
	} else {
		*family = 6;
		memcpy(addr, &ip->v6, 16);
	}
}

void report_pass(struct responder_report *r, const struct mxg_ip *ip, uint64_t now_ms,
		 unsigned reason)
{
	struct responder_pass p = {.when_ms = now_ms, .reason = (uint8_t)reason};
	int n;

	wire_addr(ip, &p.family, p.addr);
	n = responder_wire_encode_passes(&p, 1, r->out + r->out_len, sizeof(r->out) - r->out_len);
	if (n > 0)
		r->out_len += (size_t)n;
	else
		r->dropped++;
	report_flush(r);
}

void report_tuple(struct responder_report *r, const struct mxg_ip *ip, uint64_t now_ms,
		  uint64_t hash)
{
	struct responder_tuple t = {.when_ms = now_ms, .hash = hash};
	int n;

	wire_addr(ip, &t.family, t.addr);
	n = responder_wire_encode_tuples(&t, 1, r->out + r->out_len, sizeof(r->out) - r->out_len);
	if (n > 0)
		r->out_len += (size_t)n;
	else
		r->dropped++;
	report_flush(r);
}

void report_offender(struct responder_report *r, const struct mxg_ip *ip, uint64_t now_ms)
{
	struct responder_offender o = {.when_ms = now_ms};

	if (ip->family == AF_INET) {
		o.family = 4;
		memcpy(o.addr, &ip->v4, 4);
	} else if (IN6_IS_ADDR_V4MAPPED(&ip->v6)) {
		o.family = 4; /* IPv4 seen on a dual-stack socket */
		memcpy(o.addr, &ip->v6.s6_addr[12], 4);
	} else {
		o.family = 6;
		memcpy(o.addr, &ip->v6, 16);
	}
	for (size_t i = 0; i < r->n_pend; i++) {
		if (r->pend[i].family == o.family && !memcmp(r->pend[i].addr, o.addr, 16)) {
			r->pend[i].when_ms = now_ms;
			return;
		}
	}
	if (r->n_pend >= RESPONDER_OFFENDERS_MAX) {
		r->dropped++;
		return;
	}
	r->pend[r->n_pend++] = o;
}

void report_unserved(struct responder_report *r, const char *domain)
{
	size_t l = strnlen(domain, 254);

	if (!l || l > 253)
		return;
	for (size_t i = 0; i < r->n_unserved; i++)
		if (!strcmp(r->unserved[i], domain))
			return;
	if (r->n_unserved >= RESPONDER_UNSERVED_MAX)
		return;
	memcpy(r->unserved[r->n_unserved], domain, l);
	r->unserved[r->n_unserved][l] = '\0';
	r->n_unserved++;
}

void report_tick(struct responder_report *r)
{
	int n;

	if (memcmp(&r->cnt, &r->sent, sizeof(r->cnt))) {
		n = responder_wire_encode_counts(&r->cnt, r->out + r->out_len,
						 sizeof(r->out) - r->out_len);
		if (n > 0) {
			r->out_len += (size_t)n;
			r->sent = r->cnt;
		}
	}
	if (r->n_pend) {
		n = responder_wire_encode_offenders(r->pend, r->n_pend, r->out + r->out_len,
						    sizeof(r->out) - r->out_len);
		if (n > 0) {
			r->out_len += (size_t)n;
			r->n_pend = 0;
		}
	}
	if (r->n_unserved) {
		n = responder_wire_encode_unserved((const char(*)[254])r->unserved, r->n_unserved,
						   r->out + r->out_len,
						   sizeof(r->out) - r->out_len);
		if (n > 0)
			r->out_len += (size_t)n;
		r->n_unserved = 0; /* a sample: dropped when it does not fit */
	}
	report_flush(r);
}

/* The waiting ACK into the buffer when it fits (cumulative: the newest
 * seq stands for every earlier table). */
static void queue_ack(struct responder_report *r)
{
	int n;

	if (!r->ack_seq)
		return;
	n = responder_wire_encode_ack(r->ack_seq, r->out + r->out_len, sizeof(r->out) - r->out_len);
	if (n > 0) {
		r->out_len += (size_t)n;
		r->ack_seq = 0;
	}
}

void report_ack(struct responder_report *r, uint32_t seq)
{
	r->ack_seq = seq;
	report_flush(r);
}

bool report_flush(struct responder_report *r)
{
	for (;;) {
		ssize_t w;

		queue_ack(r);
		if (!r->out_len)
			return false;
		w = send(r->fd, r->out, r->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return true;
		memmove(r->out, r->out + w, r->out_len - (size_t)w);
		r->out_len -= (size_t)w;
	}
}
