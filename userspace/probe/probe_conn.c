// SPDX-License-Identifier: GPL-2.0-only
/*
 * One probe's connection and SMTP dialogue. Without a recipient domain the
 * verdict is decided at the 250 to EHLO; with one, at the reply to RCPT
 * TO:<postmaster@DOMAIN> after MAIL FROM:<> (the null sender: nothing is
 * ever delivered, no bounce can result), then RSET. QUIT is then sent as a
 * courtesy and the socket lingers a short while for the 221 so the server
 * sees an orderly goodbye, never longer than PROBE_LINGER_MS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_int.h"

static const char cmd_mail[] = "MAIL FROM:<>\r\n";
static const char cmd_rset[] = "RSET\r\n";
static const char cmd_starttls[] = "STARTTLS\r\n";

/*
 * Did the connection reach this host? Loopback, or our own address: the
 * kernel then picks that same address as the source. A "primary" there is
 * our own MTA (a DNS mistake, a migration): gating on its 220 would send
 * every sender a 551 naming ourselves, so it must never count as up.
 */
static bool reached_self(int fd)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	struct mxg_ip local, peer;
	uint16_t port;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) < 0 ||
	    mxg_ip_from_sockaddr((struct sockaddr *)&l, &local, &port) < 0 ||
	    mxg_ip_from_sockaddr((struct sockaddr *)&r, &peer, &port) < 0)
		return false;
	return mxg_ip_is_loopback(&peer) || mxg_ip_equal(&local, &peer);
}

static ssize_t io_recv(struct probe *pr, void *buf, size_t n, unsigned *want);
static ssize_t io_send(struct probe *pr, const void *buf, size_t n, unsigned *want);

/*
 * Report the result. Whatever follows (linger or close) is set up first and
 * the callback runs last, so the callback may cancel or free anything,
 * this probe included.
 */
static void probe_report(struct probe *pr, enum probe_result result, const char *why)
{
	struct prober *p = pr->p;
	struct probe_report rep = {.result = result, .code = pr->last_code};
	probe_cb cb = pr->cb;
	void *arg = pr->arg;

	rep.elapsed_ms = ev_now_ms() - pr->start_ms;
	if (why)
		snprintf(rep.text, sizeof(rep.text), "%s", why);
	else
		memcpy(rep.text, pr->rr.text, sizeof(rep.text));
	rep.text[sizeof(rep.text) - 1] = '\0';
	pr->cb = NULL;

	if (result == PROBE_OK || result == PROBE_BAD_EHLO || result == PROBE_NO_MAIL) {
		/* The server is talking SMTP: say goodbye properly. */
		static const char quit[] = "QUIT\r\n";

		unsigned want;

		if (io_send(pr, quit, sizeof(quit) - 1, &want) == (ssize_t)(sizeof(quit) - 1) &&
		    ev_io_mod(p->loop, pr->fd, EV_READ) == 0 &&
		    ev_timer_start(p->loop, &pr->timer, PROBE_LINGER_MS) == 0) {
			shutdown(pr->fd, SHUT_WR);
			pr->state = PS_LINGER;
		} else {
			probe_close(pr);
		}
	} else {
		probe_close(pr);
	}
	cb(arg, &rep);
}

static void probe_fail_errno(struct probe *pr, enum probe_result result, const char *what, int err)
{
	char why[96];

	snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
	probe_report(pr, result, why);
}

/* recv/send, through TLS after STARTTLS. *want: what to wait for on
 * EAGAIN. */
static ssize_t io_recv(struct probe *pr, void *buf, size_t n, unsigned *want)
{
	*want = EV_READ;
	if (pr->tls)
		return probe_tls_read(pr->tls, buf, n, want);
	return recv(pr->fd, buf, n, MSG_DONTWAIT);
}

static ssize_t io_send(struct probe *pr, const void *buf, size_t n, unsigned *want)
{
	*want = EV_READ | EV_WRITE;
	if (pr->tls)
		return probe_tls_write(pr->tls, buf, n, want);
	return send(pr->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Send what is left of the current command; EV_WRITE while some is. */
static int send_out(struct probe *pr)
{
	struct prober *p = pr->p;

	while (pr->out_off < pr->out_len) {
		unsigned want;
		ssize_t n = io_send(pr, pr->out + pr->out_off, pr->out_len - pr->out_off, &want);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return ev_io_mod(p->loop, pr->fd, want | EV_READ);
			return -errno;
		}
		pr->out_off += (uint16_t)n;
	}
	return ev_io_mod(p->loop, pr->fd, EV_READ);
}

static void send_cmd(struct probe *pr, enum probe_state next, const char *cmd, size_t len)
{
	int ret;

	pr->state = next;
	pr->out = cmd;
	pr->out_len = (uint16_t)len;
	pr->out_off = 0;
	ret = send_out(pr);
	if (ret < 0)
		probe_fail_errno(pr, PROBE_PROTOCOL, "send", -ret);
}

/* Drive the TLS handshake; when done, check the certificate (verify
 * mode) and say EHLO again, over TLS (RFC 3207: the server forgets what
 * it knew). */
static void tls_step(struct probe *pr)
{
	char why[128];
	unsigned want = EV_READ;
	int r = probe_tls_handshake(pr->tls, &want, why, sizeof(why));

	if (r == 0) {
		if (ev_io_mod(pr->p->loop, pr->fd, want) < 0)
			probe_report(pr, PROBE_PROTOCOL, "event loop failure");
		return;
	}
	if (r < 0) {
		probe_report(pr, PROBE_TLS, why);
		return;
	}
	if (!probe_tls_verified(pr->tls, why, sizeof(why)) &&
	    probe_tls_mode(pr->p->tls) == PROBE_TLS_VERIFY) {
		probe_report(pr, PROBE_TLS, why);
		return;
	}
	smtp_reply_reader_init(&pr->rr);
	send_cmd(pr, PS_EHLO, pr->p->ehlo, pr->p->ehlo_len);
}

/* The verdict reached at RCPT, reported with the RCPT reply once RSET is
 * answered or its deadline passed. */
static void report_verdict(struct probe *pr)
{
	pr->last_code = pr->verdict_code;
	memcpy(pr->rr.text, pr->verdict_text, sizeof(pr->rr.text));
	probe_report(pr, (enum probe_result)pr->verdict, NULL);
}

/* A complete reply after EHLO: the next step of the dialogue. */
static void probe_step(struct probe *pr)
{
	int code = pr->rr.code;

	switch (pr->state) {
	case PS_EHLO:
		if (code != 250) {
			probe_report(pr, PROBE_BAD_EHLO, NULL);
			return;
		}
		if (pr->p->tls && !pr->tls) {
			if (pr->rr.starttls) {
				send_cmd(pr, PS_STARTTLS, cmd_starttls, sizeof(cmd_starttls) - 1);
				return;
			}
			if (probe_tls_mode(pr->p->tls) == PROBE_TLS_VERIFY) {
				probe_report(pr, PROBE_TLS,
					     "STARTTLS not offered: the server cannot be verified");
				return;
			}
		}
		if (!pr->rcpt)
			probe_report(pr, PROBE_OK, NULL);
		else
			send_cmd(pr, PS_MAIL, cmd_mail, sizeof(cmd_mail) - 1);
		return;
	case PS_STARTTLS:
		if (code != 220) {
			probe_report(pr, PROBE_TLS, NULL);
			return;
		}
		pr->tls = probe_tls_conn_new(pr->p->tls, pr->fd, pr->mx_name);
		if (!pr->tls) {
			probe_report(pr, PROBE_TLS, "cannot start TLS (out of memory?)");
			return;
		}
		pr->state = PS_TLS_HS;
		tls_step(pr);
		return;
	case PS_MAIL:
		if (code != 250) {
			probe_report(pr, PROBE_NO_MAIL, NULL);
			return;
		}
		send_cmd(pr, PS_RCPT, pr->rcpt, strlen(pr->rcpt));
		return;
	case PS_RCPT:
		/* 250, or 251 (will forward): takes mail for the domain. A 4xx
		 * (greylisting, rate limit, full disk) defers senders too: not
		 * taking mail now. A 5xx refuses this one domain for good: the
		 * primary bounces that domain's mail itself whatever the backup
		 * does, and the host is up for the other domains that share
		 * it (the RCPT domain rotates over them), so it stays ok. */
		pr->verdict = code >= 400 && code < 500 ? PROBE_NO_MAIL : PROBE_OK;
		pr->verdict_code = (uint16_t)code;
		memcpy(pr->verdict_text, pr->rr.text, sizeof(pr->verdict_text));
		send_cmd(pr, PS_RSET, cmd_rset, sizeof(cmd_rset) - 1);
		return;
	case PS_RSET:
		/* Whatever RSET got: the verdict stands. */
		report_verdict(pr);
		return;
	default:
		return;
	}
}

/* Feed what the server sent; acts when a reply is complete. Lingering
 * after QUIT, only drain until EOF. */
static void probe_read(struct probe *pr)
{
	char buf[PROBE_READ_CHUNK];

	for (;;) {
		unsigned want;
		ssize_t n = io_recv(pr, buf, sizeof(buf), &want);
		size_t used = 0;
		int ret;

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (want & EV_WRITE)
				ev_io_mod(pr->p->loop, pr->fd, EV_READ | EV_WRITE);
			return;
		}
		if (pr->state == PS_LINGER) {
			if (n > 0)
				continue; /* the 221, or whatever: not read */
			probe_close(pr);  /* EOF after the 221, or an error: done */
			return;
		}
		if (n < 0) {
			probe_fail_errno(pr, PROBE_PROTOCOL, "read", errno);
			return;
		}
		if (n == 0) {
			probe_report(pr, PROBE_PROTOCOL,
				     pr->state == PS_GREETING
					 ? "connection closed before the greeting"
					 : "connection closed during the dialogue");
			return;
		}
		ret = smtp_reply_reader_feed(&pr->rr, buf, (size_t)n, &used);
		if (ret < 0) {
			probe_report(pr, PROBE_PROTOCOL, "malformed or overlong SMTP reply");
			return;
		}
		if (ret == 0)
			continue;
		pr->last_code = (uint16_t)pr->rr.code;
		if (pr->state == PS_GREETING) {
			if (pr->rr.code != 220) {
				probe_report(pr, PROBE_BAD_GREETING, NULL);
				return;
			}
			if (used != (size_t)n) {
				/* RFC 5321 4.3.1: nothing may follow the greeting
				 * before our EHLO. */
				probe_report(pr, PROBE_PROTOCOL,
					     "data after the greeting before EHLO");
				return;
			}
			send_cmd(pr, PS_EHLO, pr->p->ehlo, pr->p->ehlo_len);
			return;
		}
		if (pr->state == PS_STARTTLS && used != (size_t)n) {
			/* RFC 3207 5: nothing may precede the handshake; bytes
			 * here would be read as if they came over TLS. */
			probe_report(pr, PROBE_TLS, "data after the 220 to STARTTLS");
			return;
		}
		/* Anything after the reply is ignored: we never pipeline. */
		probe_step(pr);
		return;
	}
}

void probe_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct probe *pr = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	switch (pr->state) {
	case PS_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == EINPROGRESS || (!err && !(events & (EV_WRITE | EV_ERROR))))
			return; /* a spurious wake-up */
		if (err) {
			probe_fail_errno(pr, PROBE_REFUSED, "connect", err);
			return;
		}
		if (reached_self(fd)) {
			probe_report(pr, PROBE_SELF,
				     "this host's own address: our own MTA, not a primary");
			return;
		}
		pr->state = PS_GREETING;
		if (ev_io_mod(loop, fd, EV_READ) < 0) {
			probe_report(pr, PROBE_PROTOCOL, "event loop failure");
			return;
		}
		return;
	case PS_GREETING:
		if (events & EV_READ)
			probe_read(pr);
		return;
	case PS_TLS_HS:
		tls_step(pr);
		return;
	case PS_EHLO:
	case PS_MAIL:
	case PS_RCPT:
	case PS_RSET:
	case PS_STARTTLS:
		if (events & EV_WRITE) {
			int ret = send_out(pr);

			if (ret < 0) {
				probe_fail_errno(pr, PROBE_PROTOCOL, "send", -ret);
				return;
			}
		}
		if (events & EV_READ)
			probe_read(pr);
		return;
	case PS_LINGER:
		probe_read(pr);
		return;
	default:
		return;
	}
}

/* What a probe still waited for when its deadline passed, by state. */
static const char *const waited_for[] = {
    [PS_CONNECTING] = "no connection", [PS_GREETING] = "no greeting",
    [PS_EHLO] = "no EHLO reply",       [PS_MAIL] = "no reply to MAIL",
    [PS_RCPT] = "no reply to RCPT",    [PS_STARTTLS] = "STARTTLS not done",
    [PS_TLS_HS] = "STARTTLS not done",
};

void probe_timer(struct ev_loop *loop, void *arg)
{
	struct probe *pr = arg;
	const char *what = NULL;
	char why[96];

	switch (pr->state) {
	case PS_FAILED_EARLY:
		probe_fail_errno(pr, PROBE_REFUSED, "connect", pr->early_errno);
		return;
	case PS_LINGER:
		probe_close(pr);
		return;
	case PS_RSET:
		/* The verdict is known; a silent RSET does not change it. */
		report_verdict(pr);
		return;
	default:
		break;
	}
	if (pr->state < sizeof(waited_for) / sizeof(waited_for[0]))
		what = waited_for[pr->state];
	snprintf(why, sizeof(why), "%s within %u ms", what ? what : "no EHLO reply",
		 pr->p->timeout_ms);
	probe_report(pr, PROBE_TIMEOUT, why);
}
