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
 *   RESPONDER_MSG_SAME (controller -> responder): count 0, len 0: "the
 *     table you installed last is still current". The controller sends it
 *     instead of a DOMAINS table byte for byte the same as the last one
 *     it sent this child in full, so a round where nothing changed costs
 *     16 octets, not the whole table. The responder keeps its table and
 *     acknowledges it like a table; a SAME before its first table is a
 *     bad message (it exits).
 *   RESPONDER_MSG_READY (responder -> controller, once, after the
 *     privilege drop): count 0 = serving; otherwise a positive errno and
 *     a payload of at most 255 octets of text saying what failed.
 *   RESPONDER_MSG_COUNTS (responder -> controller, at most once a second,
 *     when something changed): count 0, payload one struct
 *     responder_counts, totals since this child started (so a lost or
 *     late message loses nothing; the controller adds up across restarts).
 *   RESPONDER_MSG_OFFENDERS (responder -> controller, with COUNTS): the
 *     clients answered 550 as offenders since the last message, count
 *     records of struct responder_offender (1..RESPONDER_OFFENDERS_MAX).
 *   RESPONDER_MSG_PASSES (responder -> controller, at once): clients to
 *     pass (an allowlisted recipient, a greylisted tuple retried in time),
 *     count records of struct responder_pass (1..RESPONDER_PASSES_MAX).
 *     The controller checks each and writes the kernel; the responder
 *     cannot pass anyone by itself.
 *   RESPONDER_MSG_TUPLES (responder -> controller, at once): greylist
 *     tuples seen (an RCPT for a gated reply = greylist domain), count
 *     records of struct responder_tuple (1..RESPONDER_PASSES_MAX). The
 *     controller keeps the table (greylist.h) and passes the client when
 *     a tuple comes back in time.
 *   RESPONDER_MSG_UNSERVED (responder -> controller, with COUNTS): recipient
 *     domains it does not serve that RCPTs named since the last message
 *     (answered 451: a domain the MTA may accept and mxgate does not
 *     list), count records (1..RESPONDER_UNSERVED_MAX) of u8 len (1..253)
 *     and that many printable octets, no spaces; len is their total.
 *   RESPONDER_MSG_FLEET_OFFENDERS (controller -> responder, after a table
 *     or a SAME): clients another edge of the fleet answered 550 as
 *     offenders (state_backend = redis), count records of struct
 *     responder_offender (1..RESPONDER_OFFENDERS_MAX) whose when_ms is
 *     when each stops counting here (CLOCK_MONOTONIC). Not acknowledged.
 *   RESPONDER_MSG_ACK (responder -> controller, after every DOMAINS table
 *     it installed and every SAME): count = how many tables and SAMEs this
 *     child has taken since it started (1, 2, ...), len 0. Cumulative, so
 *     an ACK skipped for a full buffer loses nothing. The controller
 *     pushes a table or a SAME every round: a child that stops
 *     acknowledging is stuck and is killed.
 *
 * The receiver validates every size before it allocates or copies. The
 * controller is trusted: a corrupt message from it is a bug, and the
 * responder exits on one (its sockets close, the gate opens, it is
 * restarted). The responder is not: it parses the internet, so the
 * controller checks every field of its messages, and kills and restarts it
 * on a malformed one.
 */
#ifndef MXG_RESPONDER_WIRE_H
#define MXG_RESPONDER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "responder.h"

#define RESPONDER_MAGIC 0x4d584752u /* "MXGR" */
#define RESPONDER_VERSION 1

enum responder_msg_type {
	RESPONDER_MSG_DOMAINS = 1,
	RESPONDER_MSG_READY = 2,
	RESPONDER_MSG_COUNTS = 3,
	RESPONDER_MSG_OFFENDERS = 4,
	RESPONDER_MSG_ACK = 5,
	RESPONDER_MSG_PASSES = 6,
	RESPONDER_MSG_TUPLES = 7,
	RESPONDER_MSG_UNSERVED = 8,
	RESPONDER_MSG_SAME = 9,
	RESPONDER_MSG_FLEET_OFFENDERS = 10,
};

/* Replies of the responder counted by code: every RCPT reply, and every
 * 421 (a session we end, a connection refused at the limits). */
enum responder_code {
	RESPONDER_CODE_551,
	RESPONDER_CODE_451,
	RESPONDER_CODE_550,
	RESPONDER_CODE_421,
	RESPONDER_CODE_OTHER,
	RESPONDER_CODES
};

/* Why a handoff to the MTA failed (every one answered 451 4.4.1, or,
 * during the message, the session closed without a 250). */
enum responder_ho_fail {
	RESPONDER_HO_CONNECT,  /* the handoff listener could not be connected to */
	RESPONDER_HO_TIMEOUT,  /* the MTA did not answer a step within 30 s */
	RESPONDER_HO_PROTOCOL, /* it refused a step, answered 421 or not in SMTP */
	RESPONDER_HO_CLOSED,   /* it closed the connection, or a read or write failed */
	RESPONDER_HO_LIMIT,    /* handoffs at their bound, out of memory */
	RESPONDER_HO_COPY,     /* the MTA's side broke while the message was copied */
	RESPONDER_HO_FAILS
};

struct responder_counts {
	uint64_t sessions;		   /* connections that got an SMTP session */
	uint64_t refused;		   /* connections refused with 421 at once */
	uint64_t replies[RESPONDER_CODES]; /* by enum responder_code */
	uint64_t offenders;		   /* RCPTs answered 550 as an offender */
	uint64_t passed_recipient;	   /* RCPTs for pass_recipients: client passed */
	uint64_t passed_greylist;	   /* greylisted tuples retried in time: passed */
	uint64_t greylisted;		   /* RCPTs of new (or early) greylist tuples */
	uint64_t handoffs;		   /* connections to the MTA's handoff listener asked */
	uint64_t handoffs_done;		   /* handoffs whose copy after the 354 ran to its end */
	uint64_t handoff_failed[RESPONDER_HO_FAILS]; /* by enum responder_ho_fail */
	uint64_t handoff_bytes_to_mta;		     /* after the 354, each way */
	uint64_t handoff_bytes_to_client;
};

/* One client answered 550 as an offender: its own address (for IPv6 the
 * responder counts the /64, but the set gets the address it saw). */
struct responder_offender {
	uint64_t when_ms; /* CLOCK_MONOTONIC, ev_now_ms(): the same on both ends */
	uint8_t family;	  /* 4 or 6 */
	uint8_t pad[7];	  /* zero */
	uint8_t addr[16]; /* IPv4 in the first 4 octets, the rest zero */
};

#define RESPONDER_OFFENDERS_MAX 64 /* per message; more in a second are dropped */
#define RESPONDER_UNSERVED_MAX 16  /* unserved domains per message; more are dropped */

/* One client to pass: the address the responder saw, and why. */
struct responder_pass {
	uint64_t when_ms; /* CLOCK_MONOTONIC, ev_now_ms() */
	uint8_t family;	  /* 4 or 6 */
	uint8_t reason;	  /* enum mxg_pass_reason */
	uint8_t pad[6];	  /* zero */
	uint8_t addr[16]; /* IPv4 in the first 4 octets, the rest zero */
};

#define RESPONDER_PASSES_MAX 64 /* per message */

/* One greylist tuple seen: its hash (greylist_tuple_hash, seed 0) and
 * the client's own address (the one to pass). */
struct responder_tuple {
	uint64_t when_ms;
	uint64_t hash;	  /* never 0 */
	uint8_t family;	  /* 4 or 6 */
	uint8_t pad[7];	  /* zero */
	uint8_t addr[16]; /* IPv4 in the first 4 octets, the rest zero */
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

/* Reads one message at a time from a non-blocking stream socket
 * (responder_wire_read.c): the one reader of both ends. */
struct responder_wire_reader {
	uint32_t types; /* 1u << type for each type this end takes */
	size_t max_len; /* the largest payload this end takes */
	struct responder_wire_hdr hdr;
	size_t hdr_got;
	uint8_t *payload; /* hdr.len octets (NULL when 0), malloc'd */
	size_t payload_got;
	bool complete; /* hdr and payload hold a whole message */
};

#define RESPONDER_WIRE_TYPE(t) (1u << (t))

void responder_wire_reader_init(struct responder_wire_reader *rd, uint32_t types, size_t max_len);
/* One recv(). 1: a whole message is in rd->hdr and rd->payload, valid
 * until the next call; 0: part of one came; -EAGAIN: nothing to read now;
 * -EPIPE: end of file; -EBADMSG: a header that fails
 * responder_wire_check_hdr, of a type not in types or longer than
 * max_len (the stream is out of step: close it); -ENOMEM; other -errno. */
int responder_wire_read(struct responder_wire_reader *rd, int fd);
/* Free the payload and start over (the stream must start a message). */
void responder_wire_reader_free(struct responder_wire_reader *rd);

/* Header check: 0 or -EBADMSG (magic, version, type, sizes). */
int responder_wire_check_hdr(const struct responder_wire_hdr *h);
/* Encode a DOMAINS message (header + payload) into *buf (malloc'd). */
int responder_wire_encode(const struct responder_domain *d, size_t n, uint8_t **buf, size_t *len);
/* The same message built a record at a time (the controller encodes
 * 100,000 domains over several loop iterations): begin (zero it first),
 * add each record (-EINVAL as encode, -E2BIG past MXG_MAX_DOMAINS,
 * -ENOMEM), end hands over the finished message (0 or -ENOMEM); free
 * drops one not
 * ended. The bytes are encode's for the same records. */
struct responder_wire_builder {
	uint8_t *p;
	size_t len, cap;
	uint32_t n;
};
int responder_wire_build_add(struct responder_wire_builder *b, const struct responder_domain *d);
int responder_wire_build_end(struct responder_wire_builder *b, uint8_t **buf, size_t *len);
void responder_wire_build_free(struct responder_wire_builder *b);
/* Decode a DOMAINS payload into *out (malloc'd, sorted by name, lower
 * case, no trailing dot). 0, -EBADMSG or -ENOMEM. */
int responder_wire_decode(const uint8_t *p, size_t len, uint32_t count,
			  struct responder_domain **out);

/* The label of a code in metrics and status: "551", ..., "other". */
const char *responder_code_str(enum responder_code c);
/* "connect", "timeout", "protocol", "closed", "limit", "copy". */
const char *responder_ho_fail_str(enum responder_ho_fail f);
enum responder_code responder_code_of(int smtp_code);
/* Encode COUNTS / OFFENDERS (header + payload) into buf; returns the
 * length, or -E2BIG when it does not fit / n is out of range. */
int responder_wire_encode_counts(const struct responder_counts *c, uint8_t *buf, size_t len);
int responder_wire_encode_offenders(const struct responder_offender *o, size_t n, uint8_t *buf,
				    size_t len);
int responder_wire_encode_passes(const struct responder_pass *p, size_t n, uint8_t *buf,
				 size_t len);
int responder_wire_encode_tuples(const struct responder_tuple *t, size_t n, uint8_t *buf,
				 size_t len);
/* Check one TUPLES record like an offender record, and its hash. */
int responder_wire_tuple(const struct responder_tuple *t, uint64_t now_ms, struct mxg_ip *ip);
/* Check one PASSES record like an offender record, and its reason. */
int responder_wire_pass(const struct responder_pass *p, uint64_t now_ms, struct mxg_ip *ip);
/* Encode UNSERVED: n (1..RESPONDER_UNSERVED_MAX) domain names. */
int responder_wire_encode_unserved(const char (*names)[254], size_t n, uint8_t *buf, size_t len);
/* Walk an UNSERVED payload: the next name into out (254 octets); returns
 * the octets used, 0 at the end, -EBADMSG on a malformed record. */
int responder_wire_unserved_next(const uint8_t *p, size_t len, char out[254]);
/* Encode an ACK of the seq-th table installed (seq >= 1). */
int responder_wire_encode_ack(uint32_t seq, uint8_t *buf, size_t len);
/* Encode a SAME (the header alone): its length, or -E2BIG. */
int responder_wire_encode_same(uint8_t *buf, size_t len);
/* Check one OFFENDERS record (family, padding, unused address octets,
 * not from the future beyond now_ms + 5 s) and turn it into an address. */
int responder_wire_offender(const struct responder_offender *o, uint64_t now_ms, struct mxg_ip *ip);
/* FLEET_OFFENDERS: encode n records (header + payload) into buf, like
 * OFFENDERS; check one record (its when_ms is an end, any time). */
int responder_wire_encode_fleet_offenders(const struct responder_offender *o, size_t n,
					  uint8_t *buf, size_t len);
int responder_wire_fleet_offender(const struct responder_offender *o, struct mxg_ip *ip);

#endif
