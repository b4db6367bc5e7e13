// SPDX-License-Identifier: GPL-2.0-only
/* The handoff's dialogue with the MTA: the PROXY v2 header octet by octet,
 * the XCLIENT line, the replay of EHLO and MAIL, the MTA's RCPT replies
 * relayed as they are, and every way it can fail ending in a 4xx. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "handoff_proto.h"

static struct mxg_ip ip(const char *s)
{
	struct mxg_ip a;

	assert_int_equal(mxg_ip_parse(s, &a), 0);
	return a;
}

static void test_proxy_v2_ipv4(void **state)
{
	struct mxg_ip src = ip("192.0.2.7"), dst = ip("198.51.100.20");
	uint8_t b[HANDOFF_PROXY_V2_MAX];
	static const uint8_t want[28] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
					 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 192,  0,	 2,    7,
					 198,  51,   100,  20,	 0xC3, 0x50, 0x00, 0x19};

	assert_int_equal(handoff_proxy_v2(b, sizeof(b), &src, 50000, &dst, 25), 28);
	assert_memory_equal(b, want, 28);
	assert_int_equal(handoff_proxy_v2(b, 27, &src, 50000, &dst, 25), 0);
}

static void test_proxy_v2_ipv6(void **state)
{
	struct mxg_ip src = ip("2001:db8::7"), dst = ip("2001:db8::20"), v4 = ip("192.0.2.7");
	static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
	uint8_t b[HANDOFF_PROXY_V2_MAX];

	assert_int_equal(handoff_proxy_v2(b, sizeof(b), &src, 1, &dst, 25), 52);
	assert_int_equal(b[13], 0x21); /* TCP over IPv6 */
	assert_int_equal(b[15], 36);
	assert_memory_equal(b + 16, &src.v6, 16);
	assert_memory_equal(b + 32, &dst.v6, 16);
	assert_int_equal(b[48] << 8 | b[49], 1);
	assert_int_equal(b[50] << 8 | b[51], 25);
	/* An IPv4 client beside an IPv6 end: IPv4-mapped. */
	assert_int_equal(handoff_proxy_v2(b, sizeof(b), &v4, 1, &dst, 25), 52);
	assert_memory_equal(b + 16, mapped, 16);
}

static void test_xclient_line(void **state)
{
	struct mxg_ip v6 = ip("2001:db8::7"), v4 = ip("192.0.2.7");
	char b[HANDOFF_LINE_MAX];

	assert_true(handoff_xclient_line(b, sizeof(b), &v4, 40000, "mail.sender.test", true));
	assert_string_equal(b, "XCLIENT ADDR=192.0.2.7 PORT=40000 NAME=[TEMPUNAVAIL] "
			       "HELO=mail.sender.test PROTO=ESMTP");
	assert_true(handoff_xclient_line(b, sizeof(b), &v6, 1, "a+b=c d", false));
	assert_string_equal(b, "XCLIENT ADDR=IPV6:2001:db8::7 PORT=1 NAME=[TEMPUNAVAIL] "
			       "HELO=a+2Bb+3Dc+20d PROTO=SMTP");
	assert_int_equal(handoff_xclient_line(b, 20, &v4, 1, "x", true), 0);
}

static struct handoff h;

static struct handoff_params params(enum handoff_protocol proto)
{
	return (struct handoff_params){.protocol = proto,
				       .client = ip("192.0.2.7"),
				       .local = ip("198.51.100.20"),
				       .client_port = 50000,
				       .local_port = 25,
				       .helo_line = "EHLO mail.sender.test",
				       .helo_name = "mail.sender.test",
				       .our_name = "mx2.example.test",
				       .mail_line = "MAIL FROM:<a@sender.test> SIZE=100"};
}

/* What we sent the MTA since the last call, as text (after the header). */
static const char *sent(void)
{
	static char b[HANDOFF_OUT_MAX + 1];
	size_t n;
	const char *o = handoff_output(&h, &n);

	memcpy(b, o, n);
	b[n] = '\0';
	handoff_consume(&h, n);
	return b;
}

static enum handoff_event mta(const char *text)
{
	size_t used;
	enum handoff_event ev = handoff_feed(&h, text, strlen(text), &used);

	assert_int_equal(used, strlen(text));
	return ev;
}

static void test_proxy_dialogue(void **state)
{
	struct handoff_params p = params(HANDOFF_PROXY);
	size_t n;
	const char *o;

	assert_true(handoff_init(&h, &p));
	o = handoff_output(&h, &n);
	assert_int_equal(n, 28);
	assert_int_equal((uint8_t)o[12], 0x21);
	handoff_consume(&h, n);
	/* The RCPT waits until the transaction is open. */
	assert_true(handoff_rcpt(&h, "RCPT TO:<nobody@hosted.test>"));
	assert_false(handoff_rcpt(&h, "RCPT TO:<other@hosted.test>"));
	assert_int_equal(mta("220 mx2.example.test ESMTP Postfix\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "EHLO mail.sender.test\r\n");
	/* The MTA offers SIZE: the client's SIZE goes with the MAIL. */
	assert_int_equal(
	    mta("250-mx2.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n"),
	    HO_EV_NONE);
	assert_string_equal(sent(), "MAIL FROM:<a@sender.test> SIZE=100\r\n");
	assert_int_equal(mta("250 2.1.0 Ok\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "RCPT TO:<nobody@hosted.test>\r\n");
	/* An unknown user: the MTA's own 550, as it is. */
	assert_int_equal(mta("550 5.1.1 <nobody@hosted.test>: Recipient address rejected\r\n"),
			 HO_EV_RCPT_REPLY);
	assert_int_equal(h.reply_code, 550);
	assert_memory_equal(
	    h.reply, "550 5.1.1 <nobody@hosted.test>: Recipient address rejected\r\n", h.reply_len);
	assert_false(handoff_data(&h)); /* nothing accepted yet */
	assert_true(handoff_rcpt(&h, "RCPT TO:<u@hosted.test>"));
	assert_string_equal(sent(), "RCPT TO:<u@hosted.test>\r\n");
	assert_false(handoff_rcpt(&h, "RCPT TO:<v@hosted.test>")); /* one at a time */
	assert_int_equal(mta("250 2.1.5 Ok\r\n"), HO_EV_RCPT_REPLY);
	assert_int_equal(h.accepted, 1);
	assert_true(handoff_data(&h));
	assert_string_equal(sent(), "DATA\r\n");
	assert_int_equal(mta("354 End data with <CR><LF>.<CR><LF>\r\n"), HO_EV_DATA_REPLY);
	assert_int_equal(h.state, HO_PIPE);
	assert_int_equal(h.reply_code, 354);
}

static void test_xclient_dialogue(void **state)
{
	struct handoff_params p = params(HANDOFF_XCLIENT);
	size_t n;

	assert_true(handoff_init(&h, &p));
	handoff_output(&h, &n);
	assert_int_equal(n, 0); /* no header: the MTA speaks first */
	assert_true(handoff_rcpt(&h, "RCPT TO:<u@hosted.test>"));
	assert_int_equal(mta("220 mx ESMTP\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "EHLO mx2.example.test\r\n");
	assert_int_equal(mta("250-mx\r\n250-XCLIENT ADDR PORT HELO PROTO NAME\r\n250 8BITMIME\r\n"),
			 HO_EV_NONE);
	assert_string_equal(
	    sent(), "XCLIENT ADDR=192.0.2.7 PORT=50000 NAME=[TEMPUNAVAIL] HELO=mail.sender.test "
		    "PROTO=ESMTP\r\n");
	assert_int_equal(mta("220 mx ESMTP\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "EHLO mail.sender.test\r\n");
	/* Two replies in one read: the second is taken on the next call. */
	assert_int_equal(mta("250 mx\r\n250 2.1.0 Ok\r\n"), HO_EV_NONE);
	/* No extension offered: SIZE, a declaration, is left out. */
	assert_string_equal(sent(), "MAIL FROM:<a@sender.test>\r\n");
	assert_int_equal(handoff_feed(&h, NULL, 0, &n), HO_EV_NONE);
	assert_string_equal(sent(), "RCPT TO:<u@hosted.test>\r\n");
	assert_int_equal(mta("250 2.1.5 Ok\r\n"), HO_EV_RCPT_REPLY);
}

/* Every failure is HO_EV_FAILED, so the client gets HANDOFF_FAIL_LINE, a
 * 4xx: nothing the MTA did not say about a recipient becomes a 5xx. */
static void test_failures(void **state)
{
	struct handoff_params p = params(HANDOFF_PROXY);
	char big[HANDOFF_IN_MAX + 16];
	size_t n;

	assert_memory_equal(HANDOFF_FAIL_LINE, "451 4.4.1 ", 10);

	handoff_init(&h, &p);
	assert_int_equal(mta("554 5.7.1 go away\r\n"), HO_EV_FAILED);
	assert_non_null(strstr(h.why, "greeting: the MTA answered 554"));
	assert_false(handoff_rcpt(&h, "RCPT TO:<u@d.test>"));

	handoff_init(&h, &p);
	assert_int_equal(mta("HTTP/1.0 400 Bad request\r\n"), HO_EV_FAILED);

	/* A 421 to the MAIL (the MTA is closing): our 4xx. */
	handoff_init(&h, &p);
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	assert_int_equal(mta("421 4.3.2 shutting down\r\n"), HO_EV_FAILED);
	assert_non_null(strstr(h.why, "MAIL: the MTA answered 421"));

	/* A 421 to the RCPT (the MTA is closing): our 4xx, not its reply. */
	handoff_init(&h, &p);
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	mta("250 ok\r\n");
	assert_int_equal(mta("421 4.4.2 timeout\r\n"), HO_EV_FAILED);

	/* The MTA does not take a parameter of the replayed MAIL or RCPT
	 * (555) or a command of ours (502): our 451, never its 5xx. */
	handoff_init(&h, &p);
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	assert_int_equal(mta("555 5.5.4 Unsupported option: SIZE=100\r\n"), HO_EV_FAILED);
	assert_non_null(strstr(h.why, "MAIL: the MTA answered 555"));
	handoff_init(&h, &p);
	handoff_rcpt(&h, "RCPT TO:<u@d.test> NOTIFY=NEVER");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	mta("250 ok\r\n");
	assert_int_equal(mta("555 5.5.4 Unsupported option: NOTIFY=NEVER\r\n"), HO_EV_FAILED);
	handoff_init(&h, &p);
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	assert_int_equal(mta("502 5.5.2 Error: command not recognized\r\n"), HO_EV_FAILED);

	/* Mixed codes in one reply, an endless reply. */
	handoff_init(&h, &p);
	assert_int_equal(mta("220-a\r\n250 b\r\n"), HO_EV_FAILED);
	handoff_init(&h, &p);
	memset(big, 'x', sizeof(big));
	memcpy(big, "220-", 4);
	assert_int_equal(handoff_feed(&h, big, sizeof(big), &n), HO_EV_FAILED);

	/* XCLIENT not offered to us. */
	p = params(HANDOFF_XCLIENT);
	handoff_init(&h, &p);
	mta("220 mx\r\n");
	assert_int_equal(mta("250-mx\r\n250 PIPELINING\r\n"), HO_EV_FAILED);
	assert_non_null(strstr(h.why, "smtpd_authorized_xclient_hosts"));

	/* No EHLO or MAIL line: no handoff. */
	p = params(HANDOFF_PROXY);
	p.mail_line = NULL;
	assert_false(handoff_init(&h, &p));
}

/* The MTA refuses the replayed MAIL: the sender gets the MTA's own reply
 * to the recipient that caused the replay (a 5xx bounces at once only when
 * the MTA said so; a 4xx stays a 4xx), and the next recipient replays the
 * MAIL, so it gets the MTA's own verdict too. */
static void test_mail_refusal_relayed(void **state)
{
	struct handoff_params p = params(HANDOFF_PROXY);

	handoff_init(&h, &p);
	sent();
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	assert_string_equal(sent(), "EHLO mail.sender.test\r\nMAIL FROM:<a@sender.test>\r\n");
	assert_int_equal(mta("553 5.1.8 <a@sender.test>: Sender address rejected\r\n"),
			 HO_EV_RCPT_REPLY);
	assert_int_equal(h.reply_code, 553);
	assert_memory_equal(h.reply, "553 5.1.8 <a@sender.test>: Sender address rejected\r\n",
			    h.reply_len);
	assert_int_equal(h.accepted, 0);
	assert_false(handoff_data(&h));
	assert_true(handoff_rcpt(&h, "RCPT TO:<v@d.test>"));
	assert_string_equal(sent(), "MAIL FROM:<a@sender.test>\r\n");
	assert_int_equal(mta("452 4.3.1 Insufficient system storage\r\n"), HO_EV_RCPT_REPLY);
	assert_int_equal(h.reply_code, 452);
	assert_true(handoff_rcpt(&h, "RCPT TO:<w@d.test>"));
	assert_string_equal(sent(), "MAIL FROM:<a@sender.test>\r\n");
	assert_int_equal(mta("250 2.1.0 Ok\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "RCPT TO:<w@d.test>\r\n");
	assert_int_equal(mta("250 2.1.5 Ok\r\n"), HO_EV_RCPT_REPLY);
	assert_true(handoff_data(&h));
}

/* A relayed reply cannot break the client's SMTP: controls become '?',
 * it is cut at whole lines and its last line is final. */
static void test_reply_relayed_safely(void **state)
{
	struct handoff_params p = params(HANDOFF_PROXY);
	char many[HANDOFF_IN_MAX];
	size_t n = 0;

	handoff_init(&h, &p);
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	mta("250 mx\r\n");
	mta("250 ok\r\n");
	assert_int_equal(mta("450 4.2.0 <u@d.test>: busy\x01 now\r\n"), HO_EV_RCPT_REPLY);
	assert_memory_equal(h.reply, "450 4.2.0 <u@d.test>: busy? now\r\n", h.reply_len);

	handoff_rcpt(&h, "RCPT TO:<v@d.test>");
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "550-5.1.1 line %02d %040d\r\n",
				      i, 0);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "550 5.1.1 last\r\n");
	assert_int_equal(mta(many), HO_EV_RCPT_REPLY);
	assert_true(h.reply_len <= HANDOFF_REPLY_MAX);
	assert_memory_equal(h.reply + h.reply_len - 2, "\r\n", 2);
	/* The last kept line is "550 ...", every other one "550-...". */
	{
		const char *last = h.reply + h.reply_len - 2;

		while (last > h.reply && last[-1] != '\n')
			last--;
		assert_memory_equal(last, "550 ", 4);
		assert_memory_equal(h.reply, "550-", 4);
	}
}

/* The MTA's extensions, from its EHLO reply: keywords only, upper case,
 * the first line (its name) not one; an old AUTH=LOGIN offers AUTH. */
static void test_mta_extensions_listed(void **state)
{
	const char *r = "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			"250-AUTH=LOGIN PLAIN\r\n250-x-Foo\r\n250 8bitmime\r\n";
	char list[HANDOFF_EXT_MAX], small[16];

	handoff_ext_list(r, strlen(r), list, sizeof(list));
	assert_string_equal(list, " PIPELINING SIZE AUTH X-FOO 8BITMIME ");
	handoff_ext_list(r, 0, list, sizeof(list)); /* a HELO: none */
	assert_string_equal(list, "");
	handoff_ext_list("250 mx.test\r\n", 13, list, sizeof(list));
	assert_string_equal(list, "");
	/* Those that do not fit are not listed (not offered: a 451 at worst). */
	handoff_ext_list(r, strlen(r), small, sizeof(small));
	assert_string_equal(small, " PIPELINING ");
}

/* A parameter the MTA offers is replayed; one it does not is left out
 * when it is advice (SIZE, BODY=8BITMIME, DSN's, AUTH=), and fails the
 * handoff (a 451) when the message depends on it (SMTPUTF8, BINARYMIME,
 * REQUIRETLS, unknown keywords). The path is replayed as it came. */
static void test_only_offered_parameters_replayed(void **state)
{
	char out[HANDOFF_LINE_MAX], why[160];
	const char *mail = "MAIL FROM:<a@sender.test> SIZE=100 BODY=8BITMIME";

	assert_int_equal(
	    handoff_ext_filter(mail, " SIZE 8BITMIME ", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, mail);
	assert_int_equal(handoff_ext_filter(mail, " SIZE ", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "MAIL FROM:<a@sender.test> SIZE=100");
	assert_int_equal(handoff_ext_filter(mail, "", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "MAIL FROM:<a@sender.test>");
	assert_int_equal(handoff_ext_filter("MAIL FROM:<> RET=HDRS ENVID=x+2By AUTH=<>",
					    " PIPELINING ", out, sizeof(out), why, sizeof(why)),
			 0);
	assert_string_equal(out, "MAIL FROM:<>");
	assert_int_equal(handoff_ext_filter("RCPT TO:<u@d.test> NOTIFY=NEVER ORCPT=rfc822;u@d.test",
					    " SIZE ", out, sizeof(out), why, sizeof(why)),
			 0);
	assert_string_equal(out, "RCPT TO:<u@d.test>");
	assert_int_equal(handoff_ext_filter("RCPT TO:<u@d.test> NOTIFY=NEVER", " DSN ", out,
					    sizeof(out), why, sizeof(why)),
			 0);
	assert_string_equal(out, "RCPT TO:<u@d.test> NOTIFY=NEVER");
	/* A quoted local part may hold '>' and spaces; no angle brackets. */
	assert_int_equal(handoff_ext_filter("MAIL FROM:<\"a> b\\\"\"@s.test>  SIZE=1", "", out,
					    sizeof(out), why, sizeof(why)),
			 0);
	assert_string_equal(out, "MAIL FROM:<\"a> b\\\"\"@s.test>");
	assert_int_equal(
	    handoff_ext_filter("MAIL FROM:a@s.test SIZE=1", "", out, sizeof(out), why, sizeof(why)),
	    0);
	assert_string_equal(out, "MAIL FROM:a@s.test");

	/* What the message depends on. */
	assert_int_equal(handoff_ext_filter("MAIL FROM:<a@s.test> SMTPUTF8", " SIZE 8BITMIME ", out,
					    sizeof(out), why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "the MTA does not offer SMTPUTF8"));
	assert_int_equal(handoff_ext_filter("MAIL FROM:<a@s.test> SMTPUTF8", " SMTPUTF8 ", out,
					    sizeof(out), why, sizeof(why)),
			 0);
	assert_string_equal(out, "MAIL FROM:<a@s.test> SMTPUTF8");
	assert_int_equal(handoff_ext_filter("MAIL FROM:<a@s.test> BODY=BINARYMIME", " 8BITMIME ",
					    out, sizeof(out), why, sizeof(why)),
			 -1);
	assert_int_equal(handoff_ext_filter("MAIL FROM:<a@s.test> REQUIRETLS", "", out, sizeof(out),
					    why, sizeof(why)),
			 -1);
	assert_int_equal(handoff_ext_filter("MAIL FROM:<a@s.test> XFOO=1", " SIZE ", out,
					    sizeof(out), why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "XFOO"));
	assert_int_equal(handoff_ext_filter("MAIL FROM:<a@s.test> xfoo=1", " XFOO ", out,
					    sizeof(out), why, sizeof(why)),
			 0);
	assert_string_equal(out, "MAIL FROM:<a@s.test> xfoo=1");
	assert_int_equal(
	    handoff_ext_filter("MAIL FROM:<\"a@s.test", "", out, sizeof(out), why, sizeof(why)),
	    -1);
}

/* In the dialogue: the MTA's reply to the client's EHLO decides what the
 * MAIL and the RCPTs carry; after HELO none; a parameter it cannot go
 * without fails the handoff (HO_EV_FAILED: the client's 451, not the
 * MTA's 555). */
static void test_replay_follows_the_mta_ehlo(void **state)
{
	struct handoff_params p = params(HANDOFF_PROXY);

	p.mail_line = "MAIL FROM:<a@sender.test> SIZE=100 BODY=8BITMIME RET=HDRS";
	handoff_init(&h, &p);
	sent();
	handoff_rcpt(&h, "RCPT TO:<u@d.test> NOTIFY=SUCCESS,FAILURE");
	mta("220 mx\r\n");
	assert_int_equal(mta("250-mx\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "EHLO mail.sender.test\r\n"
				    "MAIL FROM:<a@sender.test> SIZE=100 BODY=8BITMIME\r\n");
	assert_int_equal(mta("250 2.1.0 Ok\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "RCPT TO:<u@d.test>\r\n");
	assert_int_equal(mta("250 2.1.5 Ok\r\n"), HO_EV_RCPT_REPLY);
	assert_true(handoff_rcpt(&h, "RCPT TO:<v@d.test> NOTIFY=NEVER"));
	assert_string_equal(sent(), "RCPT TO:<v@d.test>\r\n");
	assert_int_equal(mta("250 2.1.5 Ok\r\n"), HO_EV_RCPT_REPLY);
	/* A RCPT asking for what the MTA lacks: that handoff fails. */
	assert_false(handoff_rcpt(&h, "RCPT TO:<w@d.test> XFOO"));
	assert_int_equal(h.state, HO_FAILED);
	assert_non_null(strstr(h.why, "XFOO"));

	/* The client said HELO: nothing is offered, nothing replayed. */
	p.helo_line = "HELO mail.sender.test";
	handoff_init(&h, &p);
	sent();
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	assert_int_equal(mta("250 mx\r\n"), HO_EV_NONE);
	assert_string_equal(sent(), "HELO mail.sender.test\r\nMAIL FROM:<a@sender.test>\r\n");

	/* SMTPUTF8 the MTA does not offer: failed before the MAIL is sent. */
	p = params(HANDOFF_PROXY);
	p.mail_line = "MAIL FROM:<a@sender.test> SMTPUTF8";
	handoff_init(&h, &p);
	sent();
	handoff_rcpt(&h, "RCPT TO:<u@d.test>");
	mta("220 mx\r\n");
	assert_int_equal(mta("250-mx\r\n250 8BITMIME\r\n"), HO_EV_FAILED);
	assert_non_null(strstr(h.why, "SMTPUTF8"));
	assert_string_equal(sent(), "EHLO mail.sender.test\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proxy_v2_ipv4),
	    cmocka_unit_test(test_proxy_v2_ipv6),
	    cmocka_unit_test(test_xclient_line),
	    cmocka_unit_test(test_proxy_dialogue),
	    cmocka_unit_test(test_xclient_dialogue),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_reply_relayed_safely),
	    cmocka_unit_test(test_mail_refusal_relayed),
	    cmocka_unit_test(test_mta_extensions_listed),
	    cmocka_unit_test(test_only_offered_parameters_replayed),
	    cmocka_unit_test(test_replay_follows_the_mta_ehlo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
