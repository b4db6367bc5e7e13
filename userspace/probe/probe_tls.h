/* SPDX-License-Identifier: GPL-2.0-only */
/* Between probe.c and probe_tls.c (OpenSSL): not a public interface. */
#ifndef MXG_PROBE_TLS_H
#define MXG_PROBE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "probe.h"

struct probe_tls;      /* the prober's SSL_CTX and mode */
struct probe_tls_conn; /* one probe's SSL */

struct probe_tls *probe_tls_new(enum probe_tls_mode mode, const char *ca_file, char *err,
				size_t errlen);
void probe_tls_free(struct probe_tls *t);
enum probe_tls_mode probe_tls_mode(const struct probe_tls *t);

/* Start TLS on fd, checking the certificate against host (verify mode). */
struct probe_tls_conn *probe_tls_conn_new(struct probe_tls *t, int fd, const char *host);
void probe_tls_conn_free(struct probe_tls_conn *c);
/* Drive the handshake: 1 done, 0 in progress (*want: EV_READ and/or
 * EV_WRITE), -1 failed (why filled). */
int probe_tls_handshake(struct probe_tls_conn *c, unsigned *want, char *why, size_t len);
/* After the handshake: true when the chain and the name verified; why
 * says what failed otherwise. */
bool probe_tls_verified(struct probe_tls_conn *c, char *why, size_t len);
/* Like recv/send: > 0 octets, 0 EOF (read), -1 with errno (EAGAIN when
 * the TLS layer must wait; *want then says for what). */
ssize_t probe_tls_read(struct probe_tls_conn *c, void *buf, size_t n, unsigned *want);
ssize_t probe_tls_write(struct probe_tls_conn *c, const void *buf, size_t n, unsigned *want);

#endif
