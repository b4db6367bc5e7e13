// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMTP probes on the event loop: one socket and one timer per probe, a few
 * hundred bytes of state, so a round of 10,000 probes fits in one thread
 * and a few megabytes. Without a recipient domain the verdict is decided
 * at the 250 to EHLO; with one, at the reply to RCPT TO:<postmaster@DOMAIN>
 * after MAIL FROM:<> (the null sender: nothing is ever delivered, no
 * bounce can result), then RSET. QUIT is then sent as a courtesy and the
 * socket lingers a short while for the 221 so the server sees an orderly
 * goodbye, never longer than PROBE_LINGER_MS.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
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

static const char cmd_mail[] = "MAIL FROM:<>\r\n";
static const char cmd_rset[] = "RSET\r\n";
static const char cmd_starttls[] = "STARTTLS\r\n";

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
	bool allow_self;
	struct probe_tls *tls; /* NULL: probe_tls = off */
	size_t ehlo_len;
	char ehlo[PROBE_EHLO_MAX];
};

static const char *const result_names[] = {
    [PROBE_OK] = "ok",
    [PROBE_REFUSED] = "refused",
    [PROBE_TIMEOUT] = "timeout",
    [PROBE_BAD_GREETING] = "bad-greeting",
    [PROBE_BAD_EHLO] = "bad-ehlo",
    [PROBE_PROTOCOL] = "protocol-error",
    [PROBE_SELF] = "self",
    [PROBE_TLS] = "tls-failed",
    [PROBE_NO_MAIL] = "no-mail",
};

const char *probe_result_str(enum probe_result r)
{
	if ((unsigned)r < sizeof(result_names) / sizeof(result_names[0]))
		return result_names[r];
	return "?";
}

struct prober *prober_new(struct ev_loop *loop, const char *helo_name, unsigned timeout_ms)
{
	struct prober *p;
	int n;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	LIST_INIT(&p->probes);
	p->timeout_ms = timeout_ms ? timeout_ms : 5000;
	n = snprintf(p->ehlo, sizeof(p->ehlo), "EHLO %s\r\n",
		     helo_name && *helo_name ? helo_name : "localhost");
	if (n < 0 || (size_t)n >= sizeof(p->ehlo)) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	p->ehlo_len = (size_t)n;
	return p;
}

void prober_allow_self(struct prober *p, bool allow)
{
	p->allow_self = allow;
}

int prober_set_tls(struct prober *p, enum probe_tls_mode mode, const char *ca_file, char *err,
		   size_t errlen)
{
	struct probe_tls *t = NULL;

	if (mode != PROBE_TLS_OFF) {
		t = probe_tls_new(mode, ca_file, err, errlen);
		if (!t)
			return -EINVAL;
	}
	probe_tls_free(p->tls);
	p->tls = t;
	return 0;
}

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
	if (peer.family == AF_INET)
		return (ntohl(peer.v4.s_addr) >> 24) == 127 || mxg_ip_equal(&local, &peer);
	return IN6_IS_ADDR_LOOPBACK(&peer.v6) || mxg_ip_equal(&local, &peer);
}

static void probe_close(struct probe *pr)
{
	struct prober *p = pr->p;

	ev_timer_stop(p->loop, &pr->timer);
	if (pr->fd >= 0) {
		ev_io_del(p->loop, pr->fd);
		close(pr->fd);
	}
	LIST_REMOVE(pr, link);
	probe_tls_conn_free(pr->tls);
	free(pr->rcpt);
	free(pr->mx_name);
	free(pr);
}

void prober_free(struct prober *p)
{
	if (!p)
		return;
	while (!LIST_EMPTY(&p->probes))
		probe_close(LIST_FIRST(&p->probes));
	probe_tls_free(p->tls);
	free(p);
}

void probe_cancel(struct prober *p, void *arg)
{
	struct probe *pr, *next;

	for (pr = LIST_FIRST(&p->probes); pr; pr = next) {
		next = LIST_NEXT(pr, link);
		if (pr->arg == arg)
			probe_close(pr);
	}
}

void probe_cancel_matching(struct prober *p, bool (*match)(void *arg, void *ctx), void *ctx)
{
	struct probe *pr, *next;

	for (pr = LIST_FIRST(&p->probes); pr; pr = next) {
		next = LIST_NEXT(pr, link);
		if (match(pr->arg, ctx))
			probe_close(pr);
	}
}

static ssize_t io_recv(struct probe *pr, void *buf, size_t n, unsigned *want);
static ssize_t io_send(struct probe *pr, const void *buf, size_t n, unsigned *want);
static void tls_step(struct probe *pr);

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
		/* Whatever RSET got: the verdict stands, with the RCPT reply. */
		pr->last_code = pr->verdict_code;
		memcpy(pr->rr.text, pr->verdict_text, sizeof(pr->rr.text));
		probe_report(pr, (enum probe_result)pr->verdict, NULL);
		return;
	default:
		return;
	}
}

/* Feed what the server sent; acts when a reply is complete. */
static void probe_read(struct probe *pr)
{
	char buf[PROBE_READ_CHUNK];

	for (;;) {
		unsigned want;
		ssize_t n = io_recv(pr, buf, sizeof(buf), &want);
		size_t used = 0;
		int ret;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (want & EV_WRITE)
					ev_io_mod(pr->p->loop, pr->fd, EV_READ | EV_WRITE);
				return;
			}
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

static void probe_drain(struct probe *pr)
{
	char buf[PROBE_READ_CHUNK];

	for (;;) {
		unsigned want;
		ssize_t n = io_recv(pr, buf, sizeof(buf), &want);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		probe_close(pr); /* EOF after the 221, or an error: done */
		return;
	}
}

static void probe_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
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
		if (!pr->p->allow_self && reached_self(fd)) {
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
		probe_drain(pr);
		return;
	default:
		return;
	}
}

static void probe_timer(struct ev_loop *loop, void *arg)
{
	struct probe *pr = arg;
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
		pr->last_code = pr->verdict_code;
		memcpy(pr->rr.text, pr->verdict_text, sizeof(pr->rr.text));
		probe_report(pr, (enum probe_result)pr->verdict, NULL);
		return;
	case PS_CONNECTING:
		snprintf(why, sizeof(why), "no connection within %u ms", pr->p->timeout_ms);
		break;
	case PS_GREETING:
		snprintf(why, sizeof(why), "no greeting within %u ms", pr->p->timeout_ms);
		break;
	case PS_MAIL:
		snprintf(why, sizeof(why), "no reply to MAIL within %u ms", pr->p->timeout_ms);
		break;
	case PS_RCPT:
		snprintf(why, sizeof(why), "no reply to RCPT within %u ms", pr->p->timeout_ms);
		break;
	case PS_STARTTLS:
	case PS_TLS_HS:
		snprintf(why, sizeof(why), "STARTTLS not done within %u ms", pr->p->timeout_ms);
		break;
	default:
		snprintf(why, sizeof(why), "no EHLO reply within %u ms", pr->p->timeout_ms);
		break;
	}
	probe_report(pr, PROBE_TIMEOUT, why);
}

int probe_start(struct prober *p, const struct probe_target *t, probe_cb cb, void *arg)
{
	const struct mxg_ip *addr = &t->addr;
	uint16_t port = t->port;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct probe *pr;
	int ret;

	if (!cb || (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->p = p;
	pr->cb = cb;
	pr->arg = arg;
	pr->start_ms = ev_now_ms();
	ev_timer_init(&pr->timer, probe_timer, pr);
	smtp_reply_reader_init(&pr->rr);
	if (t->mx_name && *t->mx_name && !(pr->mx_name = strdup(t->mx_name))) {
		free(pr);
		return -ENOMEM;
	}
	if (t->rcpt_domain && *t->rcpt_domain) {
		pr->rcpt = malloc(PROBE_RCPT_MAX);
		if (!pr->rcpt) {
			free(pr->mx_name);
			free(pr);
			return -ENOMEM;
		}
		/* The domain comes from our config or DNS: printable, bounded. */
		ret = snprintf(pr->rcpt, PROBE_RCPT_MAX, "RCPT TO:<postmaster@%s>\r\n",
			       t->rcpt_domain);
		if (ret < 0 || ret >= PROBE_RCPT_MAX || strpbrk(t->rcpt_domain, "\r\n<> ")) {
			free(pr->rcpt);
			free(pr->mx_name);
			free(pr);
			return -EINVAL;
		}
	}

	pr->fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pr->fd < 0) {
		ret = -errno; /* EMFILE: the caller raises RLIMIT_NOFILE */
		free(pr->rcpt);
		free(pr->mx_name);
		free(pr);
		return ret;
	}
	sslen = mxg_ip_to_sockaddr(addr, port, &ss);
	pr->state = PS_CONNECTING;
	if (connect(pr->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		/* Unreachable at once: still report from the loop, as promised. */
		pr->early_errno = errno;
		pr->state = PS_FAILED_EARLY;
		close(pr->fd);
		pr->fd = -1;
	} else if ((ret = ev_io_add(p->loop, pr->fd, EV_WRITE, probe_io, pr)) < 0) {
		close(pr->fd);
		free(pr->rcpt);
		free(pr->mx_name);
		free(pr);
		return ret;
	}
	ret = ev_timer_start(p->loop, &pr->timer, pr->state == PS_FAILED_EARLY ? 0 : p->timeout_ms);
	if (ret < 0) {
		if (pr->fd >= 0) {
			ev_io_del(p->loop, pr->fd);
			close(pr->fd);
		}
		free(pr->rcpt);
		free(pr->mx_name);
		free(pr);
		return ret;
	}
	LIST_INSERT_HEAD(&p->probes, pr, link);
	return 0;
}
