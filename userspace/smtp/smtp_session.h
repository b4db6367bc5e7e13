/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One SMTP session of the responder as a pure state machine: bytes in,
 * replies out into a bounded buffer, no sockets, no clocks. The responder
 * (responder_proc.c) does the I/O and timers; tests drive it directly.
 *
 * Use: smtp_session_init(), smtp_session_start() (queues the greeting),
 * then repeatedly smtp_session_feed() with what the client sent and send
 * what smtp_session_output() holds, smtp_session_consume() what was sent.
 * When smtp_session_done() is true and the output is empty, close.
 *
 * Flow control: feed() processes a complete line only while the output
 * has room for its reply, and returns how many bytes it took; the caller
 * keeps the rest and stops reading until the output drains. A client that
 * pipelines without reading our replies therefore fills its own socket
 * buffers, not our memory.
 */
#ifndef MXG_SMTP_SESSION_H
#define MXG_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg_limits.h"
#include "reason.h" /* enum mxg_domain_state */

/* A command line, CRLF included (RFC 5321 4.5.3.1.4). */
#define SMTP_LINE_MAX 512
#define SMTP_OUT_MAX 2048    /* queued replies; small: 10,000 idle sessions must fit in 64 MiB */
#define SMTP_REPLY_ROOM 1024 /* free output needed to process one line */
#define SMTP_SUMMARY_MAX 256 /* "domain=code ..." for the session log line */
#define SMTP_LOCAL_MAX 128   /* a local part as kept (RFC 5321: 64), cut beyond */
#define SMTP_FROM_MAX (SMTP_LOCAL_MAX + MXG_NAME_MAX + 2) /* local@domain */
#define SMTP_DEFAULT_MAX_COMMANDS 50
#define SMTP_DEFAULT_MAX_ERRORS 10 /* 500/501/502/503 replies before 421 */
/* Commands in a row that move no dialogue forward (NOOP, RSET, HELP,
 * VRFY, a repeated EHLO/HELO) before 421: a refusal dialogue needs EHLO, MAIL,
 * a few RCPT and QUIT; a sender that RSETs between transactions of a
 * cached connection needs one per message. A session that only keeps
 * itself alive is not a sender and must not hold a slot. */
#define SMTP_MAX_STALLED 10

/* What the responder knows of one served domain. */
/* One served domain as the responder knows it. The strings belong to
 * whoever built the table (a decoded table keeps them in one block with
 * the records): 100,000 domains cost their names, not 100,000 x 900
 * octets of fixed buffers. */
struct responder_domain {
	const char *name;	/* lower case, no trailing dot */
	const char *primary;	/* NULL or "" when none */
	const char *reply_text; /* NULL or "" = reply.h's default */
	uint8_t state;		/* enum mxg_domain_state */
	uint8_t reply;		/* enum mxg_reply_mode */
};

enum smtp_lookup {
	SMTP_DOMAIN_NOT_SERVED, /* -> 451 4.7.1 not served now: try later */
	SMTP_DOMAIN_FOUND,	/* *d is set */
	SMTP_DOMAIN_NO_TABLE,	/* no table from the controller yet -> 451 */
};

struct smtp_session_ops {
	/* domain is lower case, without a trailing dot. */
	enum smtp_lookup (*lookup)(void *arg, const char *domain,
				   const struct responder_domain **d);
	/* One RCPT for a gated domain with reply = reject: count the session
	 * (once, offender.h); true = the client is past the offender
	 * threshold and gets 550 5.7.1. NULL: never. */
	bool (*offender_try)(void *arg);
	/* One RCPT for a gated domain: true = let this client through (an
	 * allowlisted recipient, a greylisted tuple retried in time); the
	 * session answers 451 4.7.1 and the client's next connection goes to
	 * the MTA. local and domain are lower case, local unquoted; from is
	 * the envelope sender ("" for <>). For a bare <postmaster> (RFC 5321
	 * 4.5.1) d is NULL and domain "". NULL: never. */
	bool (*rcpt_pass)(void *arg, const struct responder_domain *d, const char *local,
			  const char *domain, const char *from);
	/* Every RCPT reply that names a domain's fate (551, 451, 550), for
	 * the counters. NULL: not counted. */
	void (*rcpt_replied)(void *arg, int code);
	/* STARTTLS (offered when params.starttls): true = a handshake slot is
	 * the session's (the caller's bounds allow one more handshake) and it
	 * gets "220 Ready to start TLS"; false = 454, try later. NULL: always
	 * true. */
	bool (*starttls)(void *arg);
	/*
	 * Handoff to the MTA (docs/responder.md, "Handoff"); NULL: none, and
	 * every recipient is answered here as without. A recipient the
	 * decision lets through (allowlisted, a domain not served or not
	 * gated) goes to handoff_rcpt with the client's EHLO/HELO and MAIL
	 * lines (for the first one) and its own RCPT line, as sent: true = the
	 * session waits and reads no further command until
	 * smtp_session_handoff_reply() or _failed(); false = no handoff now
	 * (a bound): the recipient gets the 451 of HANDOFF_FAIL_LINE.
	 * handoff_data: DATA once the MTA accepted a recipient, true = waiting
	 * for its reply. handoff_reset: the transaction ended here (RSET,
	 * MAIL, EHLO/HELO, STARTTLS): close the MTA's connection.
	 */
	bool (*handoff_rcpt)(void *arg, const char *helo_line, const char *mail_line,
			     const char *rcpt_line);
	bool (*handoff_data)(void *arg);
	void (*handoff_reset)(void *arg);
};

struct smtp_session_params {
	const char *helo_name; /* kept by pointer: must outlive the session */
	unsigned max_commands; /* 0 = SMTP_DEFAULT_MAX_COMMANDS */
	unsigned max_errors;   /* 0 = SMTP_DEFAULT_MAX_ERRORS */
	bool starttls;	       /* offer STARTTLS (RFC 3207) */
};

struct smtp_session {
	struct smtp_session_params p;
	const struct smtp_session_ops *ops;
	void *arg;

	bool helo;		  /* HELO/EHLO seen */
	bool mail;		  /* MAIL accepted, transaction open */
	char from[SMTP_FROM_MAX]; /* its envelope sender, lower case; "" = <> */
	bool done;		  /* QUIT or 421 queued: close once output is sent */
	bool discarding;	  /* inside an overlong line: drop up to the next LF */
	bool tls_wanted;	  /* "220 Ready to start TLS" queued: handshake next */
	bool tls;		  /* the dialogue runs inside TLS */
	size_t tls_dropped;	  /* plaintext pipelined after STARTTLS, dropped */

	/* Handoff: the lines the MTA gets replayed, what waits for it. */
	char helo_line[SMTP_LINE_MAX];
	char mail_line[SMTP_LINE_MAX];
	char wait_domain[64]; /* the RCPT waiting, for the summary */
	enum { SMTP_WAIT_NONE, SMTP_WAIT_RCPT, SMTP_WAIT_DATA } waiting;
	bool handoff_open;  /* a handoff belongs to this transaction */
	unsigned handed_ok; /* recipients the MTA accepted in it */
	bool handoff_lost;  /* accepted ones lost with a failed handoff: DATA is 451 */
	bool piped;	    /* the MTA said 354: the caller copies both ways */

	char line[SMTP_LINE_MAX];
	size_t line_len;

	char out[SMTP_OUT_MAX];
	size_t out_len;

	unsigned commands; /* complete lines processed */
	unsigned errors;
	unsigned stalled;     /* commands that moved nothing forward, in all (for tests, logs) */
	unsigned stalled_run; /* of them since the last one that did (MAIL, RCPT, DATA) */
	unsigned rcpts;
	int last_rcpt_code; /* 0 = no RCPT yet */
	int last_code;	    /* of the last reply queued */

	char summary[SMTP_SUMMARY_MAX]; /* RCPT domains and codes, bounded */
	size_t summary_len;
	bool summary_full; /* ",..." appended */
};

void smtp_session_init(struct smtp_session *s, const struct smtp_session_params *p,
		       const struct smtp_session_ops *ops, void *arg);
/* Queue the greeting "220 <helo_name> ESMTP". */
void smtp_session_start(struct smtp_session *s);
/* Take client bytes; returns how many were consumed (<= len). After done,
 * every byte is consumed and ignored. */
size_t smtp_session_feed(struct smtp_session *s, const void *buf, size_t len);

/* Replies waiting to be sent. */
static inline const char *smtp_session_output(const struct smtp_session *s, size_t *len)
{
	*len = s->out_len;
	return s->out;
}
void smtp_session_consume(struct smtp_session *s, size_t n);

static inline bool smtp_session_done(const struct smtp_session *s)
{
	return s->done;
}

/*
 * STARTTLS (RFC 3207). After "220 2.0.0 Ready to start TLS" is queued,
 * tls_wanted() is true and feed() drops every byte: plaintext pipelined
 * behind STARTTLS must never be read as a command inside TLS (the
 * command injection of CVE-2011-0411). The caller sends the 220, stops
 * reading plaintext, discards what it holds, and does the handshake; when
 * it completes it calls tls_started(), which forgets everything the
 * client said before (it must EHLO again). A failed handshake ends the
 * connection.
 */
static inline bool smtp_session_tls_wanted(const struct smtp_session *s)
{
	return s->tls_wanted;
}
void smtp_session_tls_started(struct smtp_session *s);

/*
 * The MTA's reply (whole CRLF-terminated lines, at most SMTP_REPLY_ROOM
 * octets, as handoff_proto.c keeps it) to what the session waits for: it
 * is queued for the client as it is, and the session reads on. A 354 to
 * DATA makes it piped: no more commands, the caller copies the message
 * and everything after it between client and MTA.
 */
void smtp_session_handoff_reply(struct smtp_session *s, const char *reply, size_t len);
/* The handoff failed: what waits gets 451 4.4.1 (never a 5xx); the
 * transaction's later let-through recipients try a new handoff. */
void smtp_session_handoff_failed(struct smtp_session *s);
static inline bool smtp_session_piped(const struct smtp_session *s)
{
	return s->piped;
}

/* The client's last commands moved nothing forward (NOOP, RSET, ...
 * since its last MAIL, RCPT or DATA): when the responder is full, such a
 * session gives its slot to a new client before anyone is refused. */
static inline bool smtp_session_holding(const struct smtp_session *s)
{
	return s->stalled_run > 0 && !s->done;
}

/* The responder's own reasons to end a session: each queues "421 4.7.0
 * <why>" (if there is room) and marks the session done. */
void smtp_session_close_421(struct smtp_session *s, const char *why);
#define SMTP_WHY_IDLE "idle timeout"
#define SMTP_WHY_TOO_MANY "too many connections"
#define SMTP_WHY_LIFETIME "session time limit"
#define SMTP_WHY_BUSY "too busy, closing idle session"
#define SMTP_WHY_HOLDING "too busy, closing session without progress"
#define SMTP_WHY_STALLED "too many commands without progress"

#endif
