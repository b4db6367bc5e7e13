// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMTP probes against scripted servers on the test's own loop (127.0.0.1):
 * a good server, a 421 greeting, a tarpit (timeout within the deadline),
 * a refused port, garbage, an early close, a 550 to EHLO, data before our
 * EHLO; many probes at once; cancellation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"

enum fake_mode {
	FAKE_OK,
	FAKE_421,
	FAKE_TARPIT,
	FAKE_GARBAGE,
	FAKE_CLOSE,
	FAKE_EHLO550,
	FAKE_PREGREET,
	FAKE_MAIL452,	  /* out of disk: 452 to MAIL */
	FAKE_RCPT450,	  /* greylisting: 450 to RCPT */
	FAKE_RCPT_SILENT, /* MAIL fine, RCPT never answered */
};

struct fake_conn {
	struct fake_smtp *srv;
	int fd;
	char buf[512];
	size_t len;
	struct fake_conn *next;
};

struct fake_smtp {
	struct ev_loop *loop;
	enum fake_mode mode;
	int lfd;
	uint16_t port;
	int ehlos, quits, conns, mails, rcpts, rsets;
	char last_rcpt[128];
	struct fake_conn *list;
};

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		fprintf(stderr, "fake_smtp: short write\n");
}

static void conn_close(struct fake_conn *c)
{
	if (c->fd < 0)
		return;
	ev_io_del(c->srv->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void conn_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct fake_conn *c = arg;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	char *nl;

	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = strchr(c->buf, '\n'))) {
		size_t line = (size_t)(nl - c->buf) + 1;

		if (!strncmp(c->buf, "EHLO ", 5)) {
			c->srv->ehlos++;
			if (c->srv->mode == FAKE_EHLO550)
				put(fd, "550 5.7.1 go away\r\n");
			else
				put(fd, "250-fake.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
		} else if (!strncmp(c->buf, "MAIL FROM:<>", 12)) {
			c->srv->mails++;
			put(fd, c->srv->mode == FAKE_MAIL452
				    ? "452 4.3.1 Insufficient system storage\r\n"
				    : "250 2.1.0 Ok\r\n");
		} else if (!strncmp(c->buf, "RCPT TO:", 8)) {
			c->srv->rcpts++;
			snprintf(c->srv->last_rcpt, sizeof(c->srv->last_rcpt), "%.*s",
				 (int)(line > 2 ? line - 2 : 0), c->buf);
			if (c->srv->mode == FAKE_RCPT450)
				put(fd, "450 4.7.1 Recipient address rejected: Greylisted\r\n");
			else if (c->srv->mode != FAKE_RCPT_SILENT)
				put(fd, "250 2.1.5 Ok\r\n");
		} else if (!strncmp(c->buf, "RSET", 4)) {
			c->srv->rsets++;
			put(fd, "250 2.0.0 Ok\r\n");
		} else if (!strncmp(c->buf, "QUIT", 4)) {
			c->srv->quits++;
			put(fd, "221 2.0.0 bye\r\n");
			conn_close(c);
			return;
		}
		memmove(c->buf, c->buf + line, c->len - line + 1);
		c->len -= line;
	}
}

static void fake_accept(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct fake_smtp *s = arg;
	struct fake_conn *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	s->conns++;
	c = calloc(1, sizeof(*c));
	c->srv = s;
	c->fd = cfd;
	c->next = s->list;
	s->list = c;
	switch (s->mode) {
	case FAKE_421:
		put(cfd, "421 4.3.2 busy, try later\r\n");
		conn_close(c);
		return;
	case FAKE_GARBAGE:
		put(cfd, "HTTP/1.0 400 Bad Request\r\n\r\n");
		break;
	case FAKE_CLOSE:
		conn_close(c);
		return;
	case FAKE_TARPIT:
		break;
	case FAKE_PREGREET:
		put(cfd, "220 fake.test ESMTP\r\n250 unasked\r\n");
		break;
	default:
		put(cfd, "220 fake.test ESMTP\r\n");
		break;
	}
	ev_io_add(loop, cfd, EV_READ, conn_io, c);
}

static void fake_start(struct fake_smtp *s, struct ev_loop *loop, enum fake_mode mode)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->mode = mode;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->lfd, 1024), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(ev_io_add(loop, s->lfd, EV_READ, fake_accept, s), 0);
}

static void fake_stop(struct fake_smtp *s)
{
	while (s->list) {
		struct fake_conn *c = s->list;

		s->list = c->next;
		conn_close(c);
		free(c);
	}
	ev_io_del(s->loop, s->lfd);
	close(s->lfd);
}

/*
 * The fake servers listen on 127.0.0.1, this host, which the prober
 * refuses as its own MTA (PROBE_SELF) after connect. The tests present
 * the servers as a remote primary instead: this getpeername(), linked
 * into the test binary ahead of libc's, answers a loopback peer as
 * 192.0.2.1 (TEST-NET-1) while loopback_is_remote is set. The shipped
 * prober has no switch for it.
 */
static bool loopback_is_remote;

int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	if (syscall(SYS_getpeername, fd, sa, len) < 0)
		return -1;
	if (loopback_is_remote && *len >= sizeof(*in) && sa->sa_family == AF_INET &&
	    (ntohl(in->sin_addr.s_addr) >> 24) == 127)
		in->sin_addr.s_addr = htonl(0xc0000201);
	return 0;
}

static struct prober *test_prober(struct ev_loop *loop, unsigned timeout_ms)
{
	loopback_is_remote = true;
	return prober_new(loop, "edge.example.test", timeout_ms);
}

struct outcome {
	struct ev_loop *loop;
	int calls, want;
	struct probe_report rep;
	int ok;
};

static void on_report(void *arg, const struct probe_report *rep)
{
	struct outcome *o = arg;

	o->calls++;
	o->rep = *rep;
	if (rep->result == PROBE_OK)
		o->ok++;
	if (o->calls == o->want)
		ev_stop(o->loop);
}

static void stop_loop(struct ev_loop *loop, void *arg)
{
	ev_stop(loop);
}

/* Let lingering QUITs and closes play out for a moment. */
static void settle(struct ev_loop *loop, unsigned ms)
{
	struct ev_timer t;

	ev_timer_init(&t, stop_loop, NULL);
	assert_int_equal(ev_timer_start(loop, &t, ms), 0);
	ev_run(loop);
	ev_timer_stop(loop, &t);
}

static struct probe_report probe_deep(enum fake_mode mode, unsigned timeout_ms,
				      const char *rcpt_domain, struct fake_smtp *out_srv)
{
	struct ev_loop *loop = ev_loop_new();
	struct fake_smtp s;
	struct prober *p;
	struct outcome o = {.loop = loop, .want = 1};
	struct mxg_ip ip;

	fake_start(&s, loop, mode);
	p = test_prober(loop, timeout_ms);
	assert_non_null(p);
	assert_int_equal(mxg_ip_parse("127.0.0.1", &ip), 0);
	assert_int_equal(
	    probe_start(
		p, &(struct probe_target){.addr = ip, .port = s.port, .rcpt_domain = rcpt_domain},
		on_report, &o),
	    0);
	assert_int_equal(o.calls, 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(o.calls, 1);
	settle(loop, 50);
	assert_int_equal(o.calls, 1); /* exactly once */
	prober_free(p);
	fake_stop(&s);
	if (out_srv)
		*out_srv = s;
	ev_loop_free(loop);
	return o.rep;
}

static struct probe_report probe_once(enum fake_mode mode, unsigned timeout_ms,
				      struct fake_smtp *out_srv)
{
	return probe_deep(mode, timeout_ms, NULL, out_srv);
}

/* With a domain: MAIL FROM:<>, RCPT TO:<postmaster@DOMAIN>, RSET, QUIT. */
static void test_deep_probe_takes_mail(void **state)
{
	struct fake_smtp s;
	struct probe_report r = probe_deep(FAKE_OK, 2000, "example.test", &s);

	assert_int_equal(r.result, PROBE_OK);
	assert_int_equal(r.code, 250);
	assert_int_equal(s.mails, 1);
	assert_int_equal(s.rcpts, 1);
	assert_string_equal(s.last_rcpt, "RCPT TO:<postmaster@example.test>");
	assert_int_equal(s.rsets, 1);
	assert_int_equal(s.quits, 1);
}

/* A primary out of disk (452 at MAIL) or greylisting (450 at RCPT) does
 * not take mail now: no-mail, with its reply, never ok. */
static void test_deep_probe_4xx_is_no_mail(void **state)
{
	struct fake_smtp s;
	struct probe_report r = probe_deep(FAKE_MAIL452, 2000, "example.test", &s);

	assert_int_equal(r.result, PROBE_NO_MAIL);
	assert_int_equal(r.code, 452);
	assert_non_null(strstr(r.text, "Insufficient"));
	assert_int_equal(s.rcpts, 0);
	assert_int_equal(s.quits, 1);
	assert_string_equal(probe_result_str(r.result), "no-mail");

	r = probe_deep(FAKE_RCPT450, 2000, "example.test", &s);
	assert_int_equal(r.result, PROBE_NO_MAIL);
	assert_int_equal(r.code, 450);
	assert_non_null(strstr(r.text, "Greylisted"));
	assert_int_equal(s.rsets, 1);
	assert_int_equal(s.quits, 1);

	r = probe_deep(FAKE_RCPT_SILENT, 200, "example.test", &s);
	assert_int_equal(r.result, PROBE_TIMEOUT);
	assert_non_null(strstr(r.text, "RCPT"));
}

static void test_deep_probe_refuses_odd_domains(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct prober *p = test_prober(loop, 100);
	struct outcome o = {.loop = loop, .want = 1};
	struct probe_target t = {.port = 25, .rcpt_domain = "a>\r\nDATA"};

	assert_int_equal(mxg_ip_parse("127.0.0.1", &t.addr), 0);
	assert_int_equal(probe_start(p, &t, on_report, &o), -EINVAL);
	prober_free(p);
	ev_loop_free(loop);
}

static void test_good_server_is_ok_and_gets_quit(void **state)
{
	struct fake_smtp s;
	struct probe_report r = probe_once(FAKE_OK, 2000, &s);

	assert_int_equal(r.result, PROBE_OK);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.text, "fake.test");
	assert_int_equal(s.ehlos, 1);
	assert_int_equal(s.quits, 1);
	assert_string_equal(probe_result_str(r.result), "ok");
}

static void test_421_greeting_is_bad_greeting(void **state)
{
	struct fake_smtp s;
	struct probe_report r = probe_once(FAKE_421, 2000, &s);

	assert_int_equal(r.result, PROBE_BAD_GREETING);
	assert_int_equal(r.code, 421);
	assert_non_null(strstr(r.text, "busy"));
	assert_int_equal(s.ehlos, 0);
}

static void test_tarpit_times_out_within_deadline(void **state)
{
	struct probe_report r = probe_once(FAKE_TARPIT, 200, NULL);

	assert_int_equal(r.result, PROBE_TIMEOUT);
	assert_int_equal(r.code, 0);
	/* Upper bound loose: a loaded CI machine may run the timer late. */
	assert_true(r.elapsed_ms >= 200 && r.elapsed_ms < 200 + 1000);
	assert_non_null(strstr(r.text, "greeting"));
}

static void test_garbage_is_protocol_error(void **state)
{
	assert_int_equal(probe_once(FAKE_GARBAGE, 2000, NULL).result, PROBE_PROTOCOL);
}

static void test_early_close_is_protocol_error(void **state)
{
	struct probe_report r = probe_once(FAKE_CLOSE, 2000, NULL);

	assert_int_equal(r.result, PROBE_PROTOCOL);
	assert_non_null(strstr(r.text, "closed"));
}

static void test_ehlo_550_is_bad_ehlo(void **state)
{
	struct probe_report r = probe_once(FAKE_EHLO550, 2000, NULL);

	assert_int_equal(r.result, PROBE_BAD_EHLO);
	assert_int_equal(r.code, 550);
}

static void test_data_before_ehlo_is_protocol_error(void **state)
{
	assert_int_equal(probe_once(FAKE_PREGREET, 2000, NULL).result, PROBE_PROTOCOL);
}

static void test_refused_port(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct fake_smtp s;
	struct prober *p = test_prober(loop, 2000);
	struct outcome o = {.loop = loop, .want = 1};
	struct mxg_ip ip;
	uint16_t port;

	fake_start(&s, loop, FAKE_OK);
	port = s.port;
	fake_stop(&s); /* the port is now closed */
	mxg_ip_parse("127.0.0.1", &ip);
	assert_int_equal(
	    probe_start(p, &(struct probe_target){.addr = ip, .port = port}, on_report, &o), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(o.rep.result, PROBE_REFUSED);
	assert_non_null(strstr(o.rep.text, "refused"));
	prober_free(p);
	ev_loop_free(loop);
}

/* The timeout is the caller's (config or --timeout): 0 is refused, not
 * replaced by a default of the prober's own. */
static void test_zero_timeout_refused(void **state)
{
	struct ev_loop *loop = ev_loop_new();

	(void)state;
	errno = 0;
	assert_null(prober_new(loop, "edge.example.test", 0));
	assert_int_equal(errno, EINVAL);
	ev_loop_free(loop);
}

/* A "primary" on this host is our own MTA: never up, whatever it says. */
static void test_own_address_is_self(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct fake_smtp s;
	struct prober *p = prober_new(loop, "edge.example.test", 2000);
	struct outcome o = {.loop = loop, .want = 1};
	struct mxg_ip ip;

	loopback_is_remote = false;
	fake_start(&s, loop, FAKE_OK);
	mxg_ip_parse("127.0.0.1", &ip);
	assert_int_equal(
	    probe_start(p, &(struct probe_target){.addr = ip, .port = s.port}, on_report, &o), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.rep.result, PROBE_SELF);
	assert_string_equal(probe_result_str(o.rep.result), "self");
	assert_int_equal(s.ehlos, 0);
	prober_free(p);
	fake_stop(&s);
	ev_loop_free(loop);
}

static void test_many_probes_at_once(void **state)
{
	enum { N = 300 };
	struct ev_loop *loop = ev_loop_new();
	struct fake_smtp s;
	struct prober *p = test_prober(loop, 10000); /* a bound: done in ms */
	struct outcome o = {.loop = loop, .want = N};
	struct mxg_ip ip;

	fake_start(&s, loop, FAKE_OK);
	mxg_ip_parse("127.0.0.1", &ip);
	for (int i = 0; i < N; i++)
		assert_int_equal(probe_start(p, &(struct probe_target){.addr = ip, .port = s.port},
					     on_report, &o),
				 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(o.calls, N);
	assert_int_equal(o.ok, N);
	prober_free(p);
	fake_stop(&s);
	ev_loop_free(loop);
}

static void test_cancel_and_free_with_probes_running(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct fake_smtp s;
	struct prober *p = test_prober(loop, 100);
	struct outcome a = {.loop = loop, .want = 1}, b = {.loop = loop, .want = 1};
	struct mxg_ip ip;

	fake_start(&s, loop, FAKE_TARPIT);
	mxg_ip_parse("127.0.0.1", &ip);
	assert_int_equal(
	    probe_start(p, &(struct probe_target){.addr = ip, .port = s.port}, on_report, &a), 0);
	assert_int_equal(
	    probe_start(p, &(struct probe_target){.addr = ip, .port = s.port}, on_report, &b), 0);
	probe_cancel(p, &a);
	assert_int_equal(ev_run(loop), 0); /* b's timeout stops the loop */
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.rep.result, PROBE_TIMEOUT);
	assert_int_equal(
	    probe_start(p, &(struct probe_target){.addr = ip, .port = s.port}, on_report, &a), 0);
	prober_free(p); /* with one running: no callback, no leak */
	assert_int_equal(a.calls, 0);
	fake_stop(&s);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zero_timeout_refused),
	    cmocka_unit_test(test_deep_probe_takes_mail),
	    cmocka_unit_test(test_deep_probe_4xx_is_no_mail),
	    cmocka_unit_test(test_deep_probe_refuses_odd_domains),
	    cmocka_unit_test(test_good_server_is_ok_and_gets_quit),
	    cmocka_unit_test(test_421_greeting_is_bad_greeting),
	    cmocka_unit_test(test_tarpit_times_out_within_deadline),
	    cmocka_unit_test(test_garbage_is_protocol_error),
	    cmocka_unit_test(test_early_close_is_protocol_error),
	    cmocka_unit_test(test_ehlo_550_is_bad_ehlo),
	    cmocka_unit_test(test_data_before_ehlo_is_protocol_error),
	    cmocka_unit_test(test_refused_port),
	    cmocka_unit_test(test_own_address_is_self),
	    cmocka_unit_test(test_many_probes_at_once),
	    cmocka_unit_test(test_cancel_and_free_with_probes_running),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
