/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SMTP probes of primary MX addresses: connect, read the 220 greeting,
 * EHLO, read 250, QUIT. Non-blocking on the event loop, every probe under
 * one deadline, so thousands run concurrently in one round.
 */
#ifndef MXG_PROBE_H
#define MXG_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "event.h"

enum probe_result {
	PROBE_OK,           /* 220 then 250 to EHLO: accepting mail */
	PROBE_REFUSED,      /* connect failed (RST, unreachable) */
	PROBE_TIMEOUT,      /* deadline passed (tarpit, filtered, slow) */
	PROBE_BAD_GREETING, /* greeting other than 220 (e.g. 421, 554) */
	PROBE_BAD_EHLO,     /* EHLO answered other than 250 */
	PROBE_PROTOCOL,     /* garbage, overlong line, connection closed */
};

struct probe_report {
	enum probe_result result;
	int code;         /* last SMTP reply code seen, 0 if none */
	char text[128];   /* last reply text, printable and truncated */
	uint64_t elapsed_ms;
};

const char *probe_result_str(enum probe_result r); /* "ok", "refused", ... */

struct prober;

struct prober *prober_new(struct ev_loop *loop, const char *helo_name, unsigned timeout_ms);
void prober_free(struct prober *p);

typedef void (*probe_cb)(void *arg, const struct probe_report *report);
/* Probe addr on port (25). The callback comes exactly once, from the loop. */
int probe_start(struct prober *p, const struct mxg_ip *addr, uint16_t port, probe_cb cb, void *arg);
/* Cancel every outstanding probe whose arg is arg (no callback). */
void probe_cancel(struct prober *p, void *arg);

/*
 * Pure SMTP reply reader (RFC 5321 4.2, multi-line "250-"): feed bytes as
 * they arrive. Returns 1 when a complete reply is read (code set), 0 when
 * more is needed, -EPROTO on malformed or overlong input.
 */
struct smtp_reply_reader {
	char line[1024];
	size_t len;
	int code;
	char text[128];
};
void smtp_reply_reader_init(struct smtp_reply_reader *rr);
int smtp_reply_reader_feed(struct smtp_reply_reader *rr, const char *buf, size_t n, size_t *consumed);

#endif
