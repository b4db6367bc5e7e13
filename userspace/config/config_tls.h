/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The responder's TLS server context, built from tls_cert_file and
 * tls_key_file: by the config check (mxgated -n, start, SIGHUP) to prove
 * the files, and by the responder child before its privilege drop.
 */
#ifndef MXG_CONFIG_TLS_H
#define MXG_CONFIG_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

/* A TLS server context (TLS 1.2 and later, no session cache or tickets:
 * nothing grows per client) with the chain of cert and the key of key
 * loaded and matched. NULL with why ("FILE: what: OpenSSL's words") and
 * *key_failed true when the key (or the match) failed, false for the
 * certificate. */
SSL_CTX *config_tls_server_ctx(const char *cert, const char *key, bool *key_failed, char *why,
			       size_t len);

#endif
