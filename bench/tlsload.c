// SPDX-License-Identifier: GPL-2.0-only
/*
 * The STARTTLS load generator of bench/run's tls section: W worker
 * processes, each running its share of TOTAL sessions one after another
 * over blocking sockets: connect, 220, EHLO, STARTTLS, 220, a full TLS
 * handshake (no session resumption: each session is a new sender), EHLO,
 * MAIL, RCPT TO user@DOMAIN expecting CODE (default 551), QUIT, 221.
 * The figure is the server's CPU per session, read from /proc by
 * bench/run around the run; this only has to drive it and count.
 *
 *   tlsload [-w WORKERS] [-n TOTAL] [-e CODE] [-d DOMAIN] [-S A.B.0.0] ADDR PORT
 *
 * -S: worker w binds its sessions to A.B.w.1 to A.B.w.8 in turn (an AnyIP
 * range of the client's namespace), as senders come from many hosts: from
 * one address, sessions whose end the server has not yet seen would count
 * against its per-client limit (421).
 *
 * Prints one line "done=N errors=E refused421=A conn_err=C other_err=O
 * rate=R" (sessions per second); exit status 3 when a session failed (a
 * 421, a connect error, a wrong reply, a failed handshake, a timeout of
 * 30 s on any step).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TLSLOAD_TIMEOUT_S 30
#define TLSLOAD_WORKERS_MAX 64

struct conn {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t len;
};

static int conn_write(struct conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->ssl)
		return SSL_write(c->ssl, s, (int)n) == (int)n ? 0 : -1;
	return send(c->fd, s, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* One whole reply (its last line "NNN "); its code, or -1. */
static int conn_reply(struct conn *c)
{
	for (;;) {
		char *line = c->buf, *nl;

		while ((nl = memchr(line, '\n', c->len - (size_t)(line - c->buf)))) {
			if (nl - line >= 4 && line[3] == ' ') {
				int code = atoi(line);

				c->len -= (size_t)(nl + 1 - c->buf);
				memmove(c->buf, nl + 1, c->len);
				return code;
			}
			line = nl + 1;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t n = c->ssl
				? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len))
				: recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

static bool step(struct conn *c, const char *cmd, int want)
{
	return (!cmd || conn_write(c, cmd) == 0) && conn_reply(c) == want;
}

enum result { TL_OK, TL_421, TL_CONN, TL_OTHER, TL_KINDS };

static enum result session(SSL_CTX *ctx, const struct addrinfo *ai, const struct in_addr *src,
			   const char *rcpt_cmd, int code)
{
	struct timeval tv = {TLSLOAD_TIMEOUT_S, 0};
	struct conn c = {.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
	enum result res = TL_OTHER;
	int greeting;

	if (c.fd < 0)
		return TL_CONN;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (src) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = *src};
		int one = 1;

		setsockopt(c.fd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
		if (bind(c.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			res = TL_CONN;
			goto out;
		}
	}
	if (connect(c.fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		res = TL_CONN;
		goto out;
	}
	greeting = conn_reply(&c);
	if (greeting != 220) {
		res = greeting == 421 ? TL_421 : greeting < 0 ? TL_CONN : TL_OTHER;
		goto out;
	}
	if (!step(&c, "EHLO load.test\r\n", 250) || !step(&c, "STARTTLS\r\n", 220) || c.len)
		goto out;
	c.ssl = SSL_new(ctx);
	if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1 || SSL_connect(c.ssl) != 1)
		goto out;
	if (step(&c, "EHLO load.test\r\n", 250) &&
	    step(&c, "MAIL FROM:<load@load.test>\r\n", 250) && step(&c, rcpt_cmd, code) &&
	    step(&c, "QUIT\r\n", 221)) {
		SSL_shutdown(c.ssl);
		res = TL_OK;
	}
out:
	ERR_clear_error();
	SSL_free(c.ssl);
	close(c.fd);
	return res;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned workers = 8, total = 1000, code = 551, kinds[TL_KINDS] = {0}, errors;
	struct in_addr src_base = {0};
	const char *domain = "gated.test";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	char rcpt_cmd[300];
	int pipes[2], opt;
	double t0;

	while ((opt = getopt(argc, argv, "w:n:e:d:S:")) != -1) {
		switch (opt) {
		case 'w':
			workers = (unsigned)atoi(optarg);
			break;
		case 'n':
			total = (unsigned)atoi(optarg);
			break;
		case 'e':
			code = (unsigned)atoi(optarg);
			break;
		case 'd':
			domain = optarg;
			break;
		case 'S':
			if (inet_pton(AF_INET, optarg, &src_base) != 1)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || !workers || workers > TLSLOAD_WORKERS_MAX || !total)
		goto usage;
	if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai)) {
		fprintf(stderr, "tlsload: cannot resolve %s %s\n", argv[optind], argv[optind + 1]);
		return 1;
	}
	snprintf(rcpt_cmd, sizeof(rcpt_cmd), "RCPT TO:<user@%.200s>\r\n", domain);
	if (pipe(pipes) < 0)
		return 1;
	t0 = now_s();
	for (unsigned w = 0; w < workers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
			unsigned mine = total / workers + (w < total % workers), r[TL_KINDS] = {0};

			close(pipes[0]);
			if (!ctx)
				_exit(1);
			SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
			for (unsigned i = 0; i < mine; i++) {
				struct in_addr src = {
				    htonl(ntohl(src_base.s_addr) + (w << 8) + 1 + (i % 8))};

				r[session(ctx, ai, src_base.s_addr ? &src : NULL, rcpt_cmd,
					  (int)code)]++;
			}
			if (write(pipes[1], r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
	}
	close(pipes[1]);
	for (unsigned w = 0; w < workers; w++) {
		unsigned r[TL_KINDS];

		if (read(pipes[0], r, sizeof(r)) == sizeof(r))
			for (int k = 0; k < TL_KINDS; k++)
				kinds[k] += r[k];
		wait(NULL);
	}
	errors = total - kinds[TL_OK]; /* a worker that died counts as other */
	printf("done=%u errors=%u refused421=%u conn_err=%u other_err=%u rate=%.1f\n", kinds[TL_OK],
	       errors, kinds[TL_421], kinds[TL_CONN], errors - kinds[TL_421] - kinds[TL_CONN],
	       (double)kinds[TL_OK] / (now_s() - t0));
	freeaddrinfo(ai);
	return errors ? 3 : 0;
usage:
	fprintf(stderr, "usage: tlsload [-w WORKERS] [-n TOTAL] [-e CODE] [-d DOMAIN] [-S A.B.0.0] "
			"ADDR PORT\n");
	return 2;
}
