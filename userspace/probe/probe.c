// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMTP probes on the event loop: one socket and one timer per probe, a few
 * hundred bytes of state, so a round of 10,000 probes fits in one thread
 * and a few megabytes. This file keeps the prober: its settings, the
 * probes in flight (started, cancelled, closed). One probe's connection
 * and SMTP dialogue: probe_conn.c.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_int.h"

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

	/* The caller's timeout as it is (config's probe_timeout, the CLI's
	 * --timeout, both defaulted there): no second default here. */
	if (!timeout_ms) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->loop = loop;
	LIST_INIT(&p->probes);
	p->timeout_ms = timeout_ms;
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

void probe_close(struct probe *pr)
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

int probe_start(struct prober *p, const struct probe_target *t, probe_cb cb, void *arg)
{
	const struct mxg_ip *addr = &t->addr;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct probe *pr;
	int ret = -ENOMEM;

	if (!cb || (addr->family != AF_INET && addr->family != AF_INET6))
		return -EINVAL;
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->p = p;
	pr->cb = cb;
	pr->arg = arg;
	pr->fd = -1;
	pr->start_ms = ev_now_ms();
	ev_timer_init(&pr->timer, probe_timer, pr);
	smtp_reply_reader_init(&pr->rr);
	if (t->mx_name && *t->mx_name && !(pr->mx_name = strdup(t->mx_name)))
		goto fail;
	if (t->rcpt_domain && *t->rcpt_domain) {
		pr->rcpt = malloc(PROBE_RCPT_MAX);
		if (!pr->rcpt)
			goto fail;
		/* The domain comes from our config or DNS: printable, bounded. */
		ret = snprintf(pr->rcpt, PROBE_RCPT_MAX, "RCPT TO:<postmaster@%s>\r\n",
			       t->rcpt_domain);
		if (ret < 0 || ret >= PROBE_RCPT_MAX || strpbrk(t->rcpt_domain, "\r\n<> ")) {
			ret = -EINVAL;
			goto fail;
		}
	}

	pr->fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pr->fd < 0) {
		ret = -errno; /* EMFILE: the caller raises RLIMIT_NOFILE */
		goto fail;
	}
	sslen = mxg_ip_to_sockaddr(addr, t->port, &ss);
	pr->state = PS_CONNECTING;
	if (connect(pr->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		/* Unreachable at once: still report from the loop, as promised. */
		pr->early_errno = errno;
		pr->state = PS_FAILED_EARLY;
		close(pr->fd);
		pr->fd = -1;
	} else if ((ret = ev_io_add(p->loop, pr->fd, EV_WRITE, probe_io, pr)) < 0) {
		goto fail;
	}
	ret = ev_timer_start(p->loop, &pr->timer, pr->state == PS_FAILED_EARLY ? 0 : p->timeout_ms);
	if (ret < 0) {
		if (pr->fd >= 0)
			ev_io_del(p->loop, pr->fd);
		goto fail;
	}
	LIST_INSERT_HEAD(&p->probes, pr, link);
	return 0;
fail:
	if (pr->fd >= 0)
		close(pr->fd);
	free(pr->rcpt);
	free(pr->mx_name);
	free(pr);
	return ret;
}
