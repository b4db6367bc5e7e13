// SPDX-License-Identifier: GPL-2.0-only
/*
 * STARTTLS for the SMTP probe, with OpenSSL (Debian's libssl): one
 * SSL_CTX per prober, one non-blocking SSL per probe. In verify mode the
 * chain must lead to the system trust store (or probe_tls_ca) and the
 * certificate must name the MX host (SSL_set1_host, RFC 6125 rules), so a
 * probe that reached someone else's server because DNS lied does not
 * count the primary as up.
 */
#include "probe_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

struct probe_tls {
	SSL_CTX *ctx;
	enum probe_tls_mode mode;
};

struct probe_tls_conn {
	SSL *ssl;
	bool verify;
};

static void ssl_why(char *why, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, len, "%s: %s", what, buf);
	} else {
		snprintf(why, len, "%s", what);
	}
	ERR_clear_error();
}

struct probe_tls *probe_tls_new(enum probe_tls_mode mode, const char *ca_file, char *err,
				size_t errlen)
{
	struct probe_tls *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->mode = mode;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		ssl_why(err, errlen, "cannot create a TLS context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	/* Verification is read after the handshake (SSL_get_verify_result):
	 * never abort it, so opportunistic mode completes on any chain. */
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	if (ca_file && *ca_file) {
		if (SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1) {
			ssl_why(err, errlen, "probe_tls_ca: cannot load the CA file");
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		ssl_why(err, errlen, "cannot load the system trust store (ca-certificates)");
		goto fail;
	}
	return t;
fail:
	probe_tls_free(t);
	return NULL;
}

void probe_tls_free(struct probe_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

enum probe_tls_mode probe_tls_mode(const struct probe_tls *t)
{
	return t ? t->mode : PROBE_TLS_OFF;
}

struct probe_tls_conn *probe_tls_conn_new(struct probe_tls *t, int fd, const char *host)
{
	struct probe_tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ssl = SSL_new(t->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	if (host && *host) {
		/* SNI, and the name the certificate must carry. */
		if (SSL_set_tlsext_host_name(c->ssl, host) != 1 || SSL_set1_host(c->ssl, host) != 1)
			goto fail;
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		c->verify = true;
	}
	SSL_set_connect_state(c->ssl);
	return c;
fail:
	ERR_clear_error();
	probe_tls_conn_free(c);
	return NULL;
}

void probe_tls_conn_free(struct probe_tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c);
}

/* -1 with errno EAGAIN and *want, or -1 with EPROTO, or 0 on a clean EOF. */
static int io_result(struct probe_tls_conn *c, int r, unsigned *want)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = EV_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = EV_READ | EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

int probe_tls_handshake(struct probe_tls_conn *c, unsigned *want, char *why, size_t len)
{
	int r = SSL_do_handshake(c->ssl);

	if (r == 1)
		return 1;
	if (io_result(c, r, want) < 0 && errno == EAGAIN)
		return 0;
	ssl_why(why, len, "TLS handshake failed");
	return -1;
}

bool probe_tls_verified(struct probe_tls_conn *c, char *why, size_t len)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	long v = SSL_get_verify_result(c->ssl);

	if (!cert) {
		snprintf(why, len, "TLS: no server certificate");
		return false;
	}
	X509_free(cert);
	if (!c->verify) {
		snprintf(why, len, "TLS: no MX host name to check the certificate against");
		return false;
	}
	if (v != X509_V_OK) {
		snprintf(why, len, "TLS certificate: %s", X509_verify_cert_error_string(v));
		return false;
	}
	return true;
}

ssize_t probe_tls_read(struct probe_tls_conn *c, void *buf, size_t n, unsigned *want)
{
	int r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);

	return r > 0 ? r : io_result(c, r, want);
}

ssize_t probe_tls_write(struct probe_tls_conn *c, const void *buf, size_t n, unsigned *want)
{
	int r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);

	return r > 0 ? r : io_result(c, r, want);
}
