// SPDX-License-Identifier: GPL-2.0-only
/* STARTTLS in the responder's SMTP dialogue (RFC 3207), without sockets:
 * offered only when configured and not yet active, 220 then nothing more
 * read in plaintext (pipelined commands behind STARTTLS are dropped, the
 * injection of CVE-2011-0411), the dialogue starts over inside TLS, and
 * 454 when the responder's handshake bounds are full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "reply.h"
#include "smtp_session.h"

#define HELO_NAME "backup.example.net"
#define EHLO_TLS                                                                                   \
	"250-" HELO_NAME                                                                           \
	"\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"        \
	"250-STARTTLS\r\n250 SIZE\r\n"
#define EHLO_PLAIN                                                                                 \
	"250-" HELO_NAME                                                                           \
	"\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"        \
	"250 SIZE\r\n"

struct fx {
	struct smtp_session s;
	struct responder_domain dom;
	bool slots;	/* the starttls op's answer */
	unsigned asked; /* starttls op calls */
	unsigned rcpts; /* rcpt_pass calls */
	char got[8192];
};

static enum smtp_lookup fx_lookup(void *arg, const char *domain, const struct responder_domain **d)
{
	struct fx *f = arg;

	if (strcmp(domain, f->dom.name))
		return SMTP_DOMAIN_NOT_SERVED;
	*d = &f->dom;
	return SMTP_DOMAIN_FOUND;
}

static bool fx_starttls(void *arg)
{
	struct fx *f = arg;

	f->asked++;
	return f->slots;
}

static bool fx_rcpt_pass(void *arg, const struct responder_domain *d, const char *local,
			 const char *domain, const char *from)
{
	struct fx *f = arg;

	(void)d, (void)local, (void)domain, (void)from;
	f->rcpts++;
	return false;
}

static const struct smtp_session_ops fx_ops = {
    .lookup = fx_lookup, .rcpt_pass = fx_rcpt_pass, .starttls = fx_starttls};

static struct fx *fx_new(bool offer)
{
	static struct fx f;
	struct smtp_session_params p = {HELO_NAME, 0, 0, offer};

	memset(&f, 0, sizeof(f));
	f.dom = (struct responder_domain){"example.test", "mx1.example.test", "", MXG_DOMAIN_GATED,
					  MXG_REPLY_GREYLIST};
	f.slots = true;
	smtp_session_init(&f.s, &p, &fx_ops, &f);
	smtp_session_start(&f.s);
	smtp_session_consume(&f.s, f.s.out_len);
	return &f;
}

/* Feed all of text (it is never held back here: the output is drained
 * after every call) and return the replies. */
static const char *say(struct fx *f, const char *text)
{
	size_t len = strlen(text), off = 0, n, got = 0;
	const char *o;

	f->got[0] = '\0';
	while (off < len) {
		size_t used = smtp_session_feed(&f->s, text + off, len - off);

		assert_true(used > 0);
		off += used;
		o = smtp_session_output(&f->s, &n);
		assert_true(got + n < sizeof(f->got));
		memcpy(f->got + got, o, n);
		got += n;
		f->got[got] = '\0';
		smtp_session_consume(&f->s, n);
	}
	return f->got;
}

static void test_starttls_offered_only_when_configured(void **state)
{
	struct fx *f = fx_new(false);

	(void)state;
	assert_string_equal(say(f, "EHLO c\r\n"), EHLO_PLAIN);
	assert_string_equal(say(f, "STARTTLS\r\n"), "502 5.5.1 Error: command not implemented\r\n");
	assert_false(smtp_session_tls_wanted(&f->s));
	assert_int_equal(f->asked, 0);

	f = fx_new(true);
	assert_string_equal(say(f, "EHLO c\r\n"), EHLO_TLS);
}

static void test_starttls_220_then_session_starts_over(void **state)
{
	struct fx *f = fx_new(true);

	(void)state;
	say(f, "EHLO c\r\n");
	assert_string_equal(say(f, "STARTTLS x\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
	assert_string_equal(say(f, "STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
	assert_true(smtp_session_tls_wanted(&f->s));
	smtp_session_tls_started(&f->s);
	assert_false(smtp_session_tls_wanted(&f->s));
	/* Nothing said before TLS counts: EHLO again (RFC 3207 4.2). */
	assert_string_equal(say(f, "MAIL FROM:<a@sender.test>\r\n"),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	/* Inside TLS, STARTTLS is no longer offered nor accepted. */
	assert_string_equal(say(f, "EHLO c\r\n"), EHLO_PLAIN);
	assert_string_equal(say(f, "STARTTLS\r\n"), "554 5.5.1 Error: TLS already active\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@sender.test>\r\n"), "250 2.1.0 Ok\r\n");
	assert_true(strncmp(say(f, "RCPT TO:<u@example.test>\r\n"), "451 ", 4) == 0);
	assert_int_equal(f->rcpts, 1);
}

static void test_plaintext_pipelined_after_starttls_is_dropped(void **state)
{
	struct fx *f = fx_new(true);

	(void)state;
	/* One segment: STARTTLS and, behind it, a whole injected
	 * transaction and a partial line. */
	assert_string_equal(say(f, "EHLO c\r\nSTARTTLS\r\nEHLO evil\r\nMAIL FROM:<x@evil.test>\r\n"
				   "RCPT TO:<u@example.test>\r\nQUIT\r\nRSET"),
			    EHLO_TLS "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(f->s.tls_dropped, strlen("EHLO evil\r\nMAIL FROM:<x@evil.test>\r\n"
						  "RCPT TO:<u@example.test>\r\nQUIT\r\nRSET"));
	/* More plaintext before the handshake: dropped too. */
	assert_string_equal(say(f, "MAIL FROM:<y@evil.test>\r\n"), "");
	smtp_session_tls_started(&f->s);
	/* None of it took effect: no HELO, no transaction, no RCPT asked,
	 * not done, and no partial "RSET" glued to the next line. */
	assert_false(smtp_session_done(&f->s));
	assert_int_equal(f->rcpts, 0);
	assert_string_equal(say(f, "RCPT TO:<u@example.test>\r\n"),
			    "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.test>\r\n"),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	assert_string_equal(say(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

static void test_starttls_454_when_handshakes_are_full(void **state)
{
	struct fx *f = fx_new(true);

	(void)state;
	f->slots = false;
	say(f, "EHLO c\r\n");
	assert_string_equal(say(f, "STARTTLS\r\n"),
			    "454 4.7.0 TLS not available due to temporary reason\r\n");
	assert_false(smtp_session_tls_wanted(&f->s));
	/* The client may go on in plaintext. */
	assert_string_equal(say(f, "MAIL FROM:<a@b.test>\r\n"), "250 2.1.0 Ok\r\n");
	/* Not in the middle of a transaction. */
	f->slots = true;
	assert_string_equal(say(f, "STARTTLS\r\n"),
			    "503 5.5.1 Error: MAIL transaction in progress\r\n");
	assert_int_equal(f->asked, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starttls_offered_only_when_configured),
	    cmocka_unit_test(test_starttls_220_then_session_starts_over),
	    cmocka_unit_test(test_plaintext_pipelined_after_starttls_is_dropped),
	    cmocka_unit_test(test_starttls_454_when_handshakes_are_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
