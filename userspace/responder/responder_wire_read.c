// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one reader of responder_wire.h messages, for both ends of the
 * socketpair: the responder reads DOMAINS tables, the controller READY and
 * the reports. Non-blocking: each call reads once, so an event callback
 * never waits, and a message may arrive in any number of pieces.
 */
#include "responder_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void responder_wire_reader_init(struct responder_wire_reader *rd, uint32_t types, size_t max_len)
{
	memset(rd, 0, sizeof(*rd));
	rd->types = types;
	rd->max_len = max_len;
}

void responder_wire_reader_free(struct responder_wire_reader *rd)
{
	free(rd->payload);
	rd->payload = NULL;
	rd->hdr_got = rd->payload_got = 0;
	rd->complete = false;
}

/* The header is in: is it one this end takes, of a size it takes? */
static int accept_hdr(struct responder_wire_reader *rd)
{
	const struct responder_wire_hdr *h = &rd->hdr;

	if (responder_wire_check_hdr(h) < 0 || h->type >= 32 || !(rd->types & (1u << h->type)) ||
	    h->len > rd->max_len)
		return -EBADMSG;
	rd->payload_got = 0;
	if (!h->len)
		return 0;
	rd->payload = malloc(h->len);
	return rd->payload ? 0 : -ENOMEM;
}

int responder_wire_read(struct responder_wire_reader *rd, int fd)
{
	bool in_hdr;
	ssize_t n;
	int rc;

	if (rd->complete)
		responder_wire_reader_free(rd); /* the last message was handled */
	in_hdr = rd->hdr_got < sizeof(rd->hdr);
	if (in_hdr)
		n = recv(fd, (char *)&rd->hdr + rd->hdr_got, sizeof(rd->hdr) - rd->hdr_got,
			 MSG_DONTWAIT);
	else
		n = recv(fd, rd->payload + rd->payload_got, rd->hdr.len - rd->payload_got,
			 MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	if (in_hdr) {
		rd->hdr_got += (size_t)n;
		if (rd->hdr_got < sizeof(rd->hdr))
			return 0;
		rc = accept_hdr(rd);
		if (rc < 0)
			return rc;
	} else {
		rd->payload_got += (size_t)n;
	}
	if (rd->payload_got < rd->hdr.len)
		return 0;
	rd->complete = true;
	return 1;
}
