/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The responder child's loop state, shared by the child's files only:
 * responder_proc.c (the loop, the controller's tables and the reports),
 * responder_conn.c (the SMTP sessions) and responder_accept.c (accept,
 * limits, refusals), and the TLS and handoff parts of a session.
 */
#ifndef MXG_RESPONDER_CHILD_H
#define MXG_RESPONDER_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/types.h>

#include "addr.h"
#include "config.h"
#include "event.h"
#include "greylist.h"
#include "offender.h"
#include "responder_count.h"
#include "responder_report.h"
#include "responder_wire.h"
#include "smtp_session.h"

#define CONN_IN_MAX 1024 /* unprocessed client bytes per session: two full lines */

/* STARTTLS (responder_tls.c). A handshake must finish within this; a
 * sender on a slow link needs a second or two. */
#define RSP_TLS_HANDSHAKE_MS 10000
/* Handshakes in progress at once: max_connections / 8 in all and
 * max_connections_per_network / 8 per network (IPv4 /24, IPv6 /48), at
 * least 1. A handshake costs a private-key operation and a few tens of
 * KiB: a flood of them must leave room for plaintext sessions. */
#define RSP_TLS_HANDSHAKE_SHARE 8

enum conn_tls {
	CONN_TLS_NONE,	    /* plaintext */
	CONN_TLS_HANDSHAKE, /* after our 220 to STARTTLS: handshake in progress */
	CONN_TLS_ACTIVE,    /* the dialogue runs inside TLS */
};

struct rsp;

struct conn {
	LIST_ENTRY(conn) link; /* in rsp.conns */
	struct rsp *rsp;
	int fd;
	struct mxg_ip peer, dst;
	uint16_t peer_port, dst_port;
	struct client_key key, net;
	uint64_t serial;       /* this session, for the offender count (never 0) */
	uint64_t started_ms;   /* accepted: session_timeout counts from here */
	uint64_t active_ms;    /* accepted, or the last complete command */
	struct ev_timer timer; /* idle or lifetime, then linger */
	bool lingering;	       /* replies sent, write side shut: wait for EOF */
	const char *end;       /* why it ended, for the log line */
	SSL *ssl;	       /* NULL before STARTTLS */
	enum conn_tls tls;
	bool tls_slot;	   /* holds one of the handshake slots */
	unsigned tls_want; /* EV_READ / EV_WRITE the TLS layer waits for */
	size_t in_len;
	char in[CONN_IN_MAX];
	struct conn_ho *ho; /* the handoff to the MTA, NULL: none (responder_handoff.c) */
	struct smtp_session smtp;
};

struct rsp {
	struct ev_loop *loop;
	const struct mxg_config *cfg;
	int listen_fd[2];
	int ctl;
	char helo[MXG_NAME_MAX];
	unsigned max_conn, max_per_client, max_per_net;
	uint64_t idle_ms, session_ms;
	SSL_CTX *tls_ctx; /* NULL: no STARTTLS */
	unsigned tls_handshakes, tls_max, tls_max_per_net;
	struct ev_timer accept_pause;

	struct responder_domain *dom;
	size_t n_dom;
	bool have_table;
	uint32_t tables; /* tables installed and SAMEs taken: the ACK sequence */

	struct responder_wire_reader rd; /* tables from the controller */

	LIST_HEAD(, conn) conns;
	unsigned n_conns;
	struct rsp_counts counts; /* of conns, per client and network */
	struct offender_table off;
	uint64_t sessions_seen;	     /* serial of the last session accepted */
	struct responder_report rep; /* counters and offenders to the controller */
	struct ev_timer report_timer;

	uint64_t refuse_log_ms;
	unsigned refused_quiet; /* refusals not logged since the last line */
	uint16_t steered_port;	/* struct responder's: 25 under mxgated */
	uint64_t unsteered;	/* connections closed: not steered from port 25 */
	int exit_code;

	/* Handoff (responder_handoff.c): the connector's end, -1 = none. */
	int connector_fd;
	unsigned n_handoffs, max_handoffs;
	struct greylist_table gl; /* this responder's own tuples (only with a handoff) */
	uint64_t gl_seed;
};

/* responder_conn.c */
/* Start the session of an accepted connection (the accept side has
 * checked the limits). false when out of memory: the caller refuses it. */
bool rsp_conn_new(struct rsp *r, int fd, const struct mxg_ip *peer, uint16_t peer_port,
		  const struct client_key *key, const struct client_key *net,
		  const struct mxg_ip *dst, uint16_t dst_port);
/* Log the session's line, close it and free it. */
void rsp_conn_free(struct conn *c);
/* Send what the session has queued; false on a fatal error. */
bool rsp_conn_send(struct conn *c, bool *progress);
/* Arm the idle timer (never past the session's lifetime); < 0 on error. */
int rsp_conn_arm(struct conn *c);
/* Feed, send and set the events; false when the connection was freed. */
bool rsp_conn_pump(struct conn *c);

/* responder_proc.c */
/* Log what and end the loop with exit code 1 (the gate opens). */
void rsp_fatal(struct rsp *r, const char *what);
/* Wait for the controller's socket to take what is queued for it when
 * pending (a report), else only for what it sends. */
void rsp_report_update_events(struct rsp *r, bool pending);

/* responder_tls.c */
/* The session's STARTTLS: take a handshake slot if the bounds allow. */
bool rsp_tls_slot_take(struct conn *c);
/* The 220 is sent: drop the plaintext held, start the handshake. false
 * when the connection was freed. */
bool rsp_tls_begin(struct conn *c);
/* Drive the handshake on an event; false when the connection was freed. */
bool rsp_tls_step(struct conn *c);
/* Like read() and send() on the connection, through TLS once it runs:
 * > 0 octets, 0 end of file, -1 with errno (EAGAIN: c->tls_want says
 * what to wait for). */
ssize_t rsp_conn_recv(struct conn *c, void *buf, size_t n);
ssize_t rsp_conn_write(struct conn *c, const void *buf, size_t n);
/* Decrypted octets held by the TLS layer that no event will announce. */
bool rsp_tls_pending(const struct conn *c);
/* Before the write side is shut: our close_notify, best effort. */
void rsp_tls_close(struct conn *c);
/* Free the TLS state and give back the handshake slot. */
void rsp_tls_free(struct conn *c);

/* responder_handoff.c: the session's handoff ops, the connector's
 * answers, the copy phase after the MTA's 354. */
bool rsp_ho_rcpt(struct conn *c, const char *helo_line, const char *mail_line,
		 const char *rcpt_line);
bool rsp_ho_data(struct conn *c);
void rsp_ho_reset(struct conn *c);
void rsp_ho_free(struct conn *c);
void rsp_ho_copy(struct conn *c);
bool rsp_ho_copying(const struct conn *c);
void rsp_on_connector(struct ev_loop *loop, int fd, unsigned events, void *arg);

/* responder_accept.c */
void rsp_on_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg);
/* accept_pause: listen again. */
void rsp_accept_resume(struct ev_loop *loop, void *arg);
/* Loopback, the dialled address or one of this host's: never an
 * offender. */
bool rsp_client_is_local(const struct conn *c);

#endif
