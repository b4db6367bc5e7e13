/* SPDX-License-Identifier: GPL-2.0-only */
/* Between probe.c (the prober: probes started, cancelled, closed) and
 * probe_conn.c (one probe's connection and SMTP dialogue): not a public
 * interface. */
#ifndef MXG_PROBE_INT_H
#define MXG_PROBE_INT_H

#include <sys/queue.h>

#include "probe.h"
#include "probe_tls.h"

#define PROBE_LINGER_MS 1000 /* wait for the 221 after QUIT at most this long */
#define PROBE_READ_CHUNK 512 /* bytes per recv(); replies are fed piecewise */
#define PROBE_EHLO_MAX 272   /* "EHLO " + a 253-octet name + CRLF */
#define PROBE_RCPT_MAX 288   /* "RCPT TO:<postmaster@" + 253 + ">" CRLF */

enum probe_state {
	PS_FAILED_EARLY, /* connect() failed at once; reported from a 0 ms timer */
	PS_CONNECTING,
	PS_GREETING,
	PS_EHLO,
	PS_MAIL,
	PS_RCPT,
	PS_RSET,     /* verdict known; waiting for the RSET reply */
	PS_STARTTLS, /* STARTTLS sent, waiting for 220 */
	PS_TLS_HS,   /* TLS handshake */
	PS_LINGER,   /* reported; QUIT sent, draining until EOF or the timer */
};

struct probe {
	LIST_ENTRY(probe) link; /* in prober.probes */
	struct prober *p;
	probe_cb cb; /* NULL once reported */
	void *arg;
	struct ev_timer timer;
	uint64_t start_ms;
	int fd;
	int early_errno;
	uint8_t state;
	uint8_t verdict;       /* PS_RSET: the result to report after RSET, */
	uint16_t verdict_code; /* with the RCPT reply's code */
	uint16_t out_off;      /* bytes of the current command already sent */
	uint16_t out_len;
	uint16_t last_code;	    /* of the last complete reply */
	const char *out;	    /* the command being sent */
	char *rcpt;		    /* "RCPT TO:<postmaster@DOMAIN>\r\n", or NULL */
	char *mx_name;		    /* for the certificate check, or NULL */
	struct probe_tls_conn *tls; /* after STARTTLS */
	struct smtp_reply_reader rr;
	char verdict_text[sizeof(((struct probe_report *)0)->text)];
};

struct prober {
	struct ev_loop *loop;
	unsigned timeout_ms;
	LIST_HEAD(, probe) probes; /* in flight or lingering */
	struct probe_tls *tls;	   /* NULL: probe_tls = off */
	size_t ehlo_len;
	char ehlo[PROBE_EHLO_MAX];
};

/* Stop its timer, close its socket, unlink and free it (probe.c). */
void probe_close(struct probe *pr);

/* The probe's socket and timer callbacks: the dialogue (probe_conn.c). */
void probe_io(struct ev_loop *loop, int fd, unsigned events, void *arg);
void probe_timer(struct ev_loop *loop, void *arg);

#endif
