// SPDX-License-Identifier: GPL-2.0-only
/*
 * STARTTLS in the responder child (RFC 3207), with OpenSSL: the server
 * context was built before the privilege drop (responder_tls_prepare,
 * from tls_cert_file and tls_key_file), so that the confined child reads
 * no file. Handshakes are non-blocking on the child's event loop, bounded
 * in time (RSP_TLS_HANDSHAKE_MS) and in number, in all and per network
 * (RSP_TLS_HANDSHAKE_SHARE): a handshake flood gets 454 and leaves the
 * plaintext sessions and the other networks their share.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config_tls.h"
#include "log.h"
#include "responder_child.h"
#include "responder_int.h"

int responder_tls_prepare(const struct mxg_config *cfg, SSL_CTX **ctx, char *err, size_t errlen)
{
	unsigned char seed[32];
	bool key_failed;
	char why[700];

	*ctx = NULL;
	if (!cfg->tls_cert_file[0])
		return 0;
	*ctx = config_tls_server_ctx(cfg->tls_cert_file,
				     cfg->tls_key_file[0] ? cfg->tls_key_file : cfg->tls_cert_file,
				     &key_failed, why, sizeof(why));
	if (!*ctx) {
		snprintf(err, errlen, "STARTTLS: %s", why);
		return -EINVAL;
	}
	/* Instantiate OpenSSL's random generators now: their first seeding
	 * may read /dev/urandom when getrandom() is missing, and the empty
	 * root has none. Later reseeds use getrandom (allowlisted). */
	if (RAND_bytes(seed, sizeof(seed)) != 1 || RAND_priv_bytes(seed, sizeof(seed)) != 1) {
		ERR_clear_error();
		SSL_CTX_free(*ctx);
		*ctx = NULL;
		snprintf(err, errlen, "STARTTLS: OpenSSL's random generator cannot be seeded");
		return -EIO;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	return 0;
}

bool rsp_tls_slot_take(struct conn *c)
{
	struct rsp *r = c->rsp;

	if (!r->tls_ctx || c->tls_slot)
		return false;
	if (r->tls_handshakes >= r->tls_max)
		return false;
	if (rsp_count(&r->counts, RSP_COUNT_TLS, &c->net) >= r->tls_max_per_net ||
	    rsp_count_inc(&r->counts, RSP_COUNT_TLS, &c->net) < 0)
		return false;
	c->tls_slot = true;
	r->tls_handshakes++;
	return true;
}

static void slot_give(struct conn *c)
{
	if (!c->tls_slot)
		return;
	c->tls_slot = false;
	c->rsp->tls_handshakes--;
	rsp_count_dec(&c->rsp->counts, RSP_COUNT_TLS, &c->net);
}

/* SSL_get_error of r: -1 with errno EAGAIN (c->tls_want set) or EPROTO,
 * or 0 for an end of file (close_notify, or the peer just closed). */
static int tls_result(struct conn *c, int r)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->tls_want = EV_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->tls_want = EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (!errno || errno == EPIPE || errno == ECONNRESET)
			return 0;
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

ssize_t rsp_conn_recv(struct conn *c, void *buf, size_t n)
{
	int r;

	if (c->tls == CONN_TLS_NONE)
		return read(c->fd, buf, n);
	if (c->tls == CONN_TLS_HANDSHAKE) {
		errno = EAGAIN;
		return -1;
	}
	errno = 0;
	c->tls_want = 0;
	r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	return r > 0 ? r : tls_result(c, r);
}

ssize_t rsp_conn_write(struct conn *c, const void *buf, size_t n)
{
	int r;

	if (c->tls == CONN_TLS_NONE)
		return send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (c->tls == CONN_TLS_HANDSHAKE) {
		errno = EAGAIN; /* a 421 during the handshake cannot be sent */
		return -1;
	}
	errno = 0;
	c->tls_want = 0;
	r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	r = tls_result(c, r);
	if (r == 0) {
		errno = EPIPE;
		return -1;
	}
	return r;
}

bool rsp_tls_pending(const struct conn *c)
{
	return c->tls == CONN_TLS_ACTIVE && SSL_pending(c->ssl) > 0;
}

void rsp_tls_close(struct conn *c)
{
	if (c->tls == CONN_TLS_ACTIVE) {
		(void)SSL_shutdown(c->ssl); /* close_notify; no wait for the peer's */
		ERR_clear_error();
	}
}

void rsp_tls_free(struct conn *c)
{
	slot_give(c);
	SSL_free(c->ssl);
	c->ssl = NULL;
}

static bool tls_fail(struct conn *c, const char *end)
{
	c->end = end;
	rsp_conn_free(c);
	return false;
}

bool rsp_tls_begin(struct conn *c)
{
	struct rsp *r = c->rsp;
	uint64_t now = ev_now_ms(), end = c->started_ms + r->session_ms;
	uint64_t left = end > now ? end - now : 0;

	/* Sent before the client could see our 220, so never a command
	 * inside TLS (CVE-2011-0411): dropped with the session's own. */
	c->smtp.tls_dropped += c->in_len;
	c->in_len = 0;
	c->ssl = SSL_new(r->tls_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		ERR_clear_error();
		return tls_fail(c, "TLS: out of memory");
	}
	SSL_set_accept_state(c->ssl);
	c->tls = CONN_TLS_HANDSHAKE;
	if (ev_timer_start(r->loop, &c->timer,
			   left < RSP_TLS_HANDSHAKE_MS ? left : RSP_TLS_HANDSHAKE_MS) < 0)
		return tls_fail(c, "out of memory (timer)");
	return rsp_tls_step(c);
}

bool rsp_tls_step(struct conn *c)
{
	int r;

	errno = 0;
	r = SSL_do_handshake(c->ssl);
	if (r != 1) {
		int res = tls_result(c, r);

		if (res < 0 && errno == EAGAIN)
			return ev_io_mod(c->rsp->loop, c->fd, c->tls_want) == 0 ||
			       tls_fail(c, "TLS: event loop error");
		/* OpenSSL's reason (a client that speaks no TLS, no shared
		 * cipher) is peer-driven: the log gets a fixed phrase. */
		return tls_fail(c,
				res < 0 ? "TLS handshake failed" : "TLS handshake: client closed");
	}
	c->tls = CONN_TLS_ACTIVE;
	c->tls_want = 0;
	slot_give(c);
	smtp_session_tls_started(&c->smtp);
	c->active_ms = ev_now_ms();
	if (rsp_conn_arm(c) < 0)
		return tls_fail(c, "out of memory (timer)");
	return rsp_conn_pump(c);
}
