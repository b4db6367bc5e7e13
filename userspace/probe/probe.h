/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SMTP probes of primary MX addresses: connect, read the 220 greeting,
 * EHLO, read 250; then, when a recipient domain is given, MAIL FROM:<> and
 * RCPT TO:<postmaster@DOMAIN> (a primary that greylists, rate-limits or is
 * out of disk answers 4xx there: it does not take mail now), RSET, QUIT.
 * Non-blocking on the event loop, every probe under one deadline, so
 * thousands run concurrently in one round.
 */
#ifndef MXG_PROBE_H
#define MXG_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "event.h"

enum probe_result {
	PROBE_OK,	    /* 220 then 250 to EHLO: accepting mail */
	PROBE_REFUSED,	    /* connect failed (RST, unreachable) */
	PROBE_TIMEOUT,	    /* deadline passed (tarpit, filtered, slow) */
	PROBE_BAD_GREETING, /* greeting other than 220 (e.g. 421, 554) */
	PROBE_BAD_EHLO,	    /* EHLO answered other than 250 */
	PROBE_PROTOCOL,	    /* garbage, overlong line, connection closed */
	PROBE_SELF,	    /* this host's own address (or loopback): our own MTA
			     * would answer, so never a primary that is up */
	PROBE_TLS,	    /* STARTTLS failed, or (probe_tls = verify) not offered
			     * or the certificate does not verify for the MX name */
	PROBE_NO_MAIL,	    /* EHLO fine, but MAIL FROM:<> or RCPT TO:<postmaster@>
			     * not accepted (4xx or 5xx): not taking mail now */
};
#define PROBE_RESULTS (PROBE_NO_MAIL + 1)

/* probe_tls: what the probe does when the primary offers STARTTLS. */
enum probe_tls_mode {
	PROBE_TLS_OFF,		 /* never: plaintext dialogue */
	PROBE_TLS_OPPORTUNISTIC, /* TLS when offered; the certificate is not checked */
	PROBE_TLS_VERIFY,	 /* TLS required, the certificate must verify for the
				  * MX host name (system store, or ca_file) */
};

struct probe_report {
	enum probe_result result;
	int code;	/* last SMTP reply code seen, 0 if none */
	char text[128]; /* last reply text, printable and truncated */
	uint64_t elapsed_ms;
};

const char *probe_result_str(enum probe_result r); /* "ok", "refused", ... */

struct prober;

/* timeout_ms: per probe, not 0 (EINVAL). */
struct prober *prober_new(struct ev_loop *loop, const char *helo_name, unsigned timeout_ms);
void prober_free(struct prober *p);
/* TLS for every probe of p: mode, and a CA file (PEM) instead of the
 * system trust store (NULL or ""). 0, or -errno with err saying why. */
int prober_set_tls(struct prober *p, enum probe_tls_mode mode, const char *ca_file, char *err,
		   size_t errlen);

struct probe_target {
	struct mxg_ip addr;
	uint16_t port;		 /* 25 */
	const char *rcpt_domain; /* RCPT TO:<postmaster@this>; NULL: stop at EHLO */
	const char *mx_name;	 /* the MX host name the certificate must match */
};

typedef void (*probe_cb)(void *arg, const struct probe_report *report);
/* Probe t (copied; rcpt_domain too). The callback comes exactly once,
 * from the loop. */
int probe_start(struct prober *p, const struct probe_target *t, probe_cb cb, void *arg);
/* Cancel every outstanding probe whose arg is arg (no callback). One
 * pass over the probes: to cancel many, use probe_cancel_matching. */
void probe_cancel(struct prober *p, void *arg);
/* Cancel, in one pass, every outstanding probe for which match(arg, ctx)
 * says true (no callback). */
void probe_cancel_matching(struct prober *p, bool (*match)(void *arg, void *ctx), void *ctx);

/*
 * Pure SMTP reply reader (RFC 5321 4.2, multi-line "250-"): feed bytes as
 * they arrive. Returns 1 when a complete reply is read (code set, text is
 * the first line's text made printable), 0 when more is needed, -EPROTO on
 * malformed or overlong input. *consumed says how many bytes of buf belong
 * to this reply. Feeding after a complete reply starts the next one.
 * Streaming: no line buffer, so a probe's state stays small (10,000 at once).
 * CRLF and bare LF both end a line.
 */
#define SMTP_REPLY_LINE_MAX 1000 /* octets per line incl. CRLF (RFC 5321 4.5.3.1.6) */
#define SMTP_REPLY_LINES_MAX 64	 /* lines per reply: an EHLO reply has ~15 */
struct smtp_reply_reader {
	char head[4];	/* "250-" of the current line */
	size_t len;	/* octets of the current line so far */
	int code;	/* set when the reply is complete */
	int first_code; /* every line of a reply carries the same code */
	unsigned lines; /* complete lines of this reply */
	bool starttls;	/* a line said STARTTLS (an EHLO reply offering it) */
	char kw[9];	/* the current line's first text octets */
	size_t text_len;
	char text[128];
};
void smtp_reply_reader_init(struct smtp_reply_reader *rr);
int smtp_reply_reader_feed(struct smtp_reply_reader *rr, const char *buf, size_t n,
			   size_t *consumed);

#endif
