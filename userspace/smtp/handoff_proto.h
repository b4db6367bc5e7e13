/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The responder's side of a handoff to the MTA (docs/responder.md,
 * "Handoff"), as a pure state machine like smtp_session.c: bytes from the
 * MTA in, bytes for the MTA out into a bounded buffer, no sockets, no
 * clocks. The caller connects to the MTA's handoff listener, feeds what it
 * reads, sends what handoff_output() holds, and relays to the client the
 * replies that handoff_feed() hands back.
 *
 * The dialogue towards the MTA, for a session the responder lets through:
 *   proxy:   PROXY v2 header, 220, the client's EHLO/HELO, MAIL, RCPT...
 *   xclient: 220, EHLO <helo_name>, XCLIENT ADDR= PORT= HELO= PROTO=, 220,
 *            the client's EHLO/HELO, MAIL, RCPT...
 * so the MTA sees the original client's address and port, never loopback.
 * Only the RCPT replies (and the 354 to DATA) are relayed to the client,
 * verbatim: an unknown user gets the MTA's own 550. The MAIL is replayed
 * only once a recipient is let through, after the client had our 250 to
 * it: a 4xx or 5xx of the MTA to the MAIL (421 aside) is relayed as that
 * recipient's reply, the MTA's own words (it would have said them to the
 * sender directly: a 5xx bounces at once only when the MTA said so), and
 * the next let-through recipient replays the MAIL. The MAIL and each RCPT
 * carry only the parameters the MTA's reply to the client's EHLO offered
 * (handoff_ext.h: an unoffered one is left out when it is advice, else
 * the handoff fails, a 4xx). Anything else going
 * wrong (no 220, a refused EHLO or XCLIENT, a 421, a reply that is
 * not SMTP, more than HANDOFF_IN_MAX octets of one reply) fails the
 * handoff, and every recipient waiting on it gets HANDOFF_FAIL_LINE: a
 * 4xx, never a 5xx, so the sender retries (mail safety).
 */
#ifndef MXG_HANDOFF_PROTO_H
#define MXG_HANDOFF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "handoff_ext.h"

#define HANDOFF_LINE_MAX 512	/* a command line we send, CRLF included */
#define HANDOFF_OUT_MAX 1024	/* bytes queued for the MTA: the header and a few commands */
#define HANDOFF_IN_MAX 4096	/* one reply of the MTA, all its lines (an EHLO list) */
#define HANDOFF_REPLY_MAX 1024	/* a relayed RCPT or DATA reply, CRLFs included */
#define HANDOFF_PROXY_V2_MAX 52 /* 16 octets + two IPv6 addresses and ports */

/* What the client is told when the handoff cannot give the MTA's answer. */
#define HANDOFF_FAIL_LINE                                                                          \
	"451 4.4.1 the mail server behind this backup MX is not reachable now; please try "        \
	"again later"

enum handoff_protocol {
	HANDOFF_PROXY = 0,   /* HAProxy PROXY protocol v2, binary header */
	HANDOFF_XCLIENT = 1, /* Postfix XCLIENT (XCLIENT_README) */
};

enum handoff_state {
	HO_GREETING,	 /* waiting for the MTA's 220 */
	HO_XCLIENT_EHLO, /* xclient: our EHLO sent, waiting for its 250 */
	HO_XCLIENT,	 /* XCLIENT sent, waiting for the new 220 */
	HO_HELO,	 /* the client's EHLO/HELO replayed, waiting for 250 */
	HO_MAIL,	 /* the client's MAIL replayed, waiting for 250 */
	HO_NO_MAIL,	 /* the MTA refused the MAIL: the next RCPT replays it */
	HO_RCPT,	 /* a RCPT forwarded, waiting for its reply */
	HO_READY,	 /* the transaction is open at the MTA: RCPT or DATA */
	HO_DATA,	 /* DATA sent, waiting for 354 */
	HO_PIPE,	 /* 354 relayed: the caller copies both ways from now on */
	HO_FAILED,	 /* see why */
};

/* What handoff_feed() has for the caller. */
enum handoff_event {
	HO_EV_NONE,	  /* nothing yet: feed more */
	HO_EV_RCPT_REPLY, /* the MTA's reply to the RCPT: relay h->reply */
	HO_EV_DATA_REPLY, /* the MTA's reply to DATA: relay h->reply; 354 = HO_PIPE */
	HO_EV_FAILED,	  /* the handoff failed: HANDOFF_FAIL_LINE to what waits */
};

struct handoff_params {
	enum handoff_protocol protocol;
	struct mxg_ip client, local; /* the steered connection's two ends */
	uint16_t client_port, local_port;
	const char *helo_line; /* the client's "EHLO name" or "HELO name", no CRLF */
	const char *helo_name; /* the name in it (XCLIENT HELO=) */
	const char *our_name;  /* xclient: our own EHLO before XCLIENT */
	const char *mail_line; /* the client's "MAIL FROM:<...> params", no CRLF */
};

struct handoff {
	enum handoff_state state;
	enum handoff_protocol protocol;
	char helo_line[HANDOFF_LINE_MAX];
	char mail_line[HANDOFF_LINE_MAX];
	char xclient_line[HANDOFF_LINE_MAX];
	char our_ehlo[HANDOFF_LINE_MAX];  /* xclient: our EHLO before XCLIENT */
	char rcpt_line[HANDOFF_LINE_MAX]; /* waiting until the transaction is open */
	bool rcpt_pending;
	bool extended;		   /* EHLO (not HELO): the ESMTP greeting */
	char ext[HANDOFF_EXT_MAX]; /* the MTA's extensions (handoff_ext_list) */

	char out[HANDOFF_OUT_MAX];
	size_t out_len;
	char in[HANDOFF_IN_MAX];
	size_t in_len;

	char reply[HANDOFF_REPLY_MAX]; /* the last relayed reply, CRLF-terminated lines */
	size_t reply_len;
	int reply_code;
	unsigned accepted; /* RCPTs the MTA accepted (2xx) */
	char why[160];	   /* HO_FAILED: what went wrong, for the log */
};

/*
 * The PROXY v2 header for a TCP connection from src:sport to dst:dport
 * (HAProxy's proxy-protocol.txt, 2.2: signature, version 2 command PROXY,
 * TCP over IPv4 or IPv6). An IPv4 end beside an IPv6 one is written
 * IPv4-mapped. Returns its length (28 or 52), 0 when len is too small.
 */
size_t handoff_proxy_v2(uint8_t *buf, size_t len, const struct mxg_ip *src, uint16_t sport,
			const struct mxg_ip *dst, uint16_t dport);

/*
 * "XCLIENT ADDR=... PORT=... HELO=... PROTO=..." (no CRLF) into buf:
 * ADDR as Postfix wants it (IPv6 with the "IPV6:" prefix), NAME
 * [TEMPUNAVAIL] (the responder looks up no names; a temporary failure keeps
 * Postfix's name checks at 450, and the client is not left "localhost"),
 * HELO xtext encoded (RFC 3461 4), PROTO SMTP or ESMTP. Returns the length, 0 when
 * it does not fit.
 */
size_t handoff_xclient_line(char *buf, size_t len, const struct mxg_ip *client, uint16_t port,
			    const char *helo_name, bool extended);

/* Start: queue the PROXY header (proxy), wait for the greeting. false
 * when a line does not fit (the caller answers HANDOFF_FAIL_LINE). */
bool handoff_init(struct handoff *h, const struct handoff_params *p);

/* Forward one RCPT line (no CRLF): sent now if the transaction is open,
 * else once it is. One at a time: false while another waits for its
 * reply, after a failure, or past DATA; false, and the handoff failed
 * (why), when it asks for an extension the MTA does not offer and cannot
 * go without (handoff_ext.h). */
bool handoff_rcpt(struct handoff *h, const char *rcpt_line);

/* Send DATA: only in HO_READY with a recipient accepted. */
bool handoff_data(struct handoff *h);

/* Take MTA bytes; *consumed says how many (the rest waits for the event
 * to be handled). In HO_PIPE nothing is consumed: the caller copies. */
enum handoff_event handoff_feed(struct handoff *h, const void *buf, size_t len, size_t *consumed);

/* The connection failed or timed out: HO_FAILED with why. */
void handoff_fail(struct handoff *h, const char *why);

static inline const char *handoff_output(const struct handoff *h, size_t *len)
{
	*len = h->out_len;
	return h->out;
}
void handoff_consume(struct handoff *h, size_t n);

#endif
