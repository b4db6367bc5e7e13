/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The messages on the socketpair between mxgated and its responder.
 * Both ends are the same program on the same host (fork, no exec), so
 * integers are in host byte order. Every message is a fixed header and a
 * payload of header.len octets:
 *
 *   header (16 octets): u32 magic "MXGR", u16 version 1, u16 type,
 *                       u32 count, u32 len
 *   RESPONDER_MSG_DOMAINS (controller -> responder): the full domain table,
 *     replacing the previous one; count records, each
 *       u8 state (enum mxg_domain_state), u8 reply (enum mxg_reply_mode),
 *       u8 name_len (1..253), u8 primary_len (0..253), u16 text_len
 *       (0..MXG_REPLY_TEXT_MAX-1), then name, primary and reply_text
 *       without NULs; printable ASCII only. count <= MXG_MAX_DOMAINS and
 *       the records fill len exactly.
 *   RESPONDER_MSG_READY (responder -> controller, once, after the
 *     privilege drop): count 0 = serving; otherwise a positive errno and
 *     a payload of at most 255 octets of text saying what failed.
 *
 * The receiver validates every size before it allocates or copies: the
 * controller is trusted, a corrupt message is a bug, and the responder
 * exits on one (its sockets close, the gate opens, it is restarted).
 */
#ifndef MXG_RESPONDER_WIRE_H
#define MXG_RESPONDER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "responder.h"

#define RESPONDER_MAGIC 0x4d584752u /* "MXGR" */
#define RESPONDER_VERSION 1

enum responder_msg_type {
	RESPONDER_MSG_DOMAINS = 1,
	RESPONDER_MSG_READY = 2,
};

struct responder_wire_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t count;
	uint32_t len;
};

#define RESPONDER_REC_FIXED 6 /* state, reply, name_len, primary_len, text_len */
#define RESPONDER_REC_MAX (RESPONDER_REC_FIXED + 253 + 253 + MXG_REPLY_TEXT_MAX - 1)
#define RESPONDER_PAYLOAD_MAX ((size_t)MXG_MAX_DOMAINS * RESPONDER_REC_MAX)
#define RESPONDER_READY_TEXT_MAX 255

/* Header check: 0 or -EBADMSG (magic, version, type, sizes). */
int responder_wire_check_hdr(const struct responder_wire_hdr *h);
/* Encode a DOMAINS message (header + payload) into *buf (malloc'd). */
int responder_wire_encode(const struct responder_domain *d, size_t n, uint8_t **buf, size_t *len);
/* Decode a DOMAINS payload into *out (malloc'd, sorted by name, lower
 * case, no trailing dot). 0, -EBADMSG or -ENOMEM. */
int responder_wire_decode(const uint8_t *p, size_t len, uint32_t count,
			  struct responder_domain **out);

#endif
