// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the messages on the responder's socketpair, read as
 * both ends read them (responder_wire_read.c, in pieces whose sizes come
 * from the input) and checked as they check them: DOMAINS decoded, READY
 * interpreted, SAME bare, every report record checked. It must never crash; a table
 * it accepts holds only the names and texts the encoder allows, sorted.
 * fuzz-needs: userspace/responder/responder_wire_read.c
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "responder.h"
#include "responder_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_domains(const struct responder_wire_reader *rd)
{
	struct responder_domain *t;

	if (responder_wire_decode(rd->payload, rd->hdr.len, rd->hdr.count, &t) < 0)
		return;
	for (uint32_t i = 0; i < rd->hdr.count; i++) {
		size_t nl = strlen(t[i].name);

		if (!nl || nl > 253 || strlen(t[i].primary) > 253 ||
		    strlen(t[i].reply_text) >= MXG_REPLY_TEXT_MAX)
			abort();
		if (i && strcmp(t[i - 1].name, t[i].name) > 0)
			abort();
	}
	free(t);
}

static void check_message(const struct responder_wire_reader *rd)
{
	const uint8_t *p = rd->payload;
	struct mxg_ip ip;
	char err[512], name[254];
	size_t left = rd->hdr.len;
	int used;

	switch (rd->hdr.type) {
	case RESPONDER_MSG_DOMAINS:
		check_domains(rd);
		break;
	case RESPONDER_MSG_SAME:
		/* The header alone: the reader took nothing else. */
		if (rd->hdr.count || rd->hdr.len || rd->payload)
			abort();
		break;
	case RESPONDER_MSG_READY:
		if (responder_ready_result(rd, err, sizeof(err)) > 0)
			abort();
		break;
	case RESPONDER_MSG_UNSERVED:
		while ((used = responder_wire_unserved_next(p, left, name)) > 0) {
			if ((size_t)used > left || strlen(name) != (size_t)used - 1)
				abort();
			p += used;
			left -= (size_t)used;
		}
		break;
	case RESPONDER_MSG_OFFENDERS:
		for (uint32_t i = 0; i < rd->hdr.count; i++) {
			struct responder_offender o;

			memcpy(&o, p + i * sizeof(o), sizeof(o));
			responder_wire_offender(&o, 0, &ip);
		}
		break;
	case RESPONDER_MSG_PASSES:
		for (uint32_t i = 0; i < rd->hdr.count; i++) {
			struct responder_pass ps;

			memcpy(&ps, p + i * sizeof(ps), sizeof(ps));
			responder_wire_pass(&ps, 0, &ip);
		}
		break;
	case RESPONDER_MSG_TUPLES:
		for (uint32_t i = 0; i < rd->hdr.count; i++) {
			struct responder_tuple tu;

			memcpy(&tu, p + i * sizeof(tu), sizeof(tu));
			responder_wire_tuple(&tu, 0, &ip);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct responder_wire_reader rd;
	size_t chunk, off = 1;
	int sv[2], rc;

	/* The first octet: the size of the pieces the stream comes in. */
	if (size < 1 || size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	chunk = data[0] ? data[0] : 1;
	responder_wire_reader_init(&rd, ~0u, RESPONDER_PAYLOAD_MAX);
	for (;;) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (n && send(sv[1], data + off, n, MSG_DONTWAIT) != (ssize_t)n)
			break;
		off += n;
		if (off == size)
			shutdown(sv[1], SHUT_WR);
		while ((rc = responder_wire_read(&rd, sv[0])) >= 0) {
			if (rc == 1) {
				if (!rd.complete || rd.hdr_got != sizeof(rd.hdr) ||
				    rd.payload_got != rd.hdr.len || (rd.hdr.len && !rd.payload))
					abort();
				check_message(&rd);
			}
		}
		/* Out of step or at the end: the stream is closed then. */
		if (rc != -EAGAIN || off == size)
			break;
	}
	if (rc == -EAGAIN)
		abort(); /* everything was written and the write side shut */
	responder_wire_reader_free(&rd);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
