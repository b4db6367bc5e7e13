// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_cert_file and tls_key_file: checked when the config is loaded
 * (mxgated -n, start-up, SIGHUP), so that a responder never starts with
 * a certificate it cannot use: the files are readable, the key matches
 * the certificate, and no other user can read the key.
 */
#include "config_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_parse.h"
#include "hash.h"

static void ssl_why(char *why, size_t len, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(why, len, "%.300s: %s%s%s", path, what, e ? ": " : "", buf);
	ERR_clear_error();
}

SSL_CTX *config_tls_server_ctx(const char *cert, const char *key, bool *key_failed, char *why,
			       size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	*key_failed = false;
	if (!ctx) {
		ssl_why(why, len, "cannot create a TLS context", cert);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* The responder keeps no state per client beyond the session:
	 * neither a session cache nor tickets (whose keys and CPU a flood
	 * would otherwise cost); senders do a full handshake each time, as
	 * they do with most MXs. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* Partial writes from a moving buffer: the session's output buffer
	 * shifts as it is sent (smtp_session_consume). */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				  SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_why(why, len, "cannot load a PEM certificate chain", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		*key_failed = true;
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(why, len,
				 "%.300s: the key does not match the certificate in %.300s", key,
				 cert);
		} else {
			ssl_why(why, len, "cannot load a PEM private key", key);
		}
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*key_failed = true;
		ERR_clear_error();
		snprintf(why, len, "%.300s: the key does not match the certificate in %.300s", key,
			 cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Readable by us (root) and a regular file; why says what is wrong. */
static int check_readable(const char *path, struct stat *st, char *why, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, st) < 0) {
		snprintf(why, len, "%.300s: cannot read it: %s%s", path, strerror(errno),
			 errno == EACCES && geteuid() ? " (run mxgated -n as root)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, len, "%.300s: not a regular file", path);
		return -1;
	}
	return 0;
}

/* A hash of what changes when a file is replaced or rewritten. */
static uint64_t stamp(const struct stat *st, uint64_t h)
{
	const uint64_t v[] = {(uint64_t)st->st_ino, (uint64_t)st->st_size,
			      (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec};

	return mxg_hash(h ? h : MXG_HASH_INIT, v, sizeof(v));
}

int cfg_check_tls(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;
	const char *ckey = c->tls_from[0] ? "domains_from" : "tls_cert_file";
	const char *kkey = c->tls_from[0] ? "domains_from" : "tls_key_file";
	int cline = c->tls_from[0] ? p->key_line_domains_from : cfg_key_line(p, "tls_cert_file");
	int kline = c->tls_from[0] ? p->key_line_domains_from : cfg_key_line(p, "tls_key_file");
	char why[800], from[96] = "";
	struct stat st;
	bool key_failed;
	SSL_CTX *ctx;

	if (!c->tls_cert_file[0] && !c->tls_key_file[0])
		return 0;
	if (!c->tls_cert_file[0])
		return cfg_fail(p, p->name, kline,
				"tls_key_file: set without tls_cert_file; set tls_cert_file to "
				"the certificate chain of this key");
	/* A chain file that holds the key too. */
	if (!c->tls_key_file[0])
		memcpy(c->tls_key_file, c->tls_cert_file, sizeof(c->tls_key_file));
	if (c->tls_from[0])
		snprintf(from, sizeof(from), "Postfix's %s: ", c->tls_from);
	if (check_readable(c->tls_cert_file, &st, why, sizeof(why)))
		return cfg_fail(p, p->name, cline, "%s: %s%s", ckey, from, why);
	c->tls_stamp = stamp(&st, 0);
	if (check_readable(c->tls_key_file, &st, why, sizeof(why)))
		return cfg_fail(p, p->name, kline, "%s: %s%s", kkey, from, why);
	c->tls_stamp = stamp(&st, c->tls_stamp);
	/* An error, not a warning, as ssh refuses such a key: any local user
	 * can copy it and pose as this MX. Refusing to start is safe for
	 * mail: without mxgated the host's MTA answers port 25 itself. Group
	 * read is allowed (Debian's ssl-cert group, mode 0640). */
	if (st.st_mode & (S_IROTH | S_IWOTH))
		return cfg_fail(p, p->name, kline,
				"%s: %s%.300s: the private key is %s by every user on this host "
				"(mode %04o), who could copy it and pose as this MX; chmod o-rwx "
				"%.300s (mxgated reads it as root)",
				kkey, from, c->tls_key_file,
				st.st_mode & S_IWOTH ? "writable" : "readable",
				(unsigned)(st.st_mode & 07777), c->tls_key_file);
	ctx =
	    config_tls_server_ctx(c->tls_cert_file, c->tls_key_file, &key_failed, why, sizeof(why));
	if (!ctx)
		return cfg_fail(p, p->name, key_failed ? kline : cline, "%s: %s%s",
				key_failed ? kkey : ckey, from, why);
	SSL_CTX_free(ctx);
	return 0;
}
