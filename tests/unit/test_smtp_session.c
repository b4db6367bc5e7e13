// SPDX-License-Identifier: GPL-2.0-only
/* The responder's SMTP dialogue, driven without sockets: every row of
 * docs/responder.md's reply table, pipelining, split and overlong lines, binary
 * input, abuse limits, reply templates, offender escalation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offender.h"
#include "handoff_proto.h"
#include "reply.h"
#include "smtp_session.h"

#define HELO_NAME "backup.example.net"
#define GATED_551                                                                                  \
	"551 5.7.1 example.test: this is a backup MX and the primary MX "                          \
	"mx1.example.test is online; please try mx1.example.test\r\n"
#define OFFENDER_550                                                                               \
	"550 5.7.1 You tried me, a backup MX, too often while the primary MX is online\r\n"

struct fx {
	struct smtp_session s;
	struct responder_domain dom[4];
	size_t n_dom;
	bool no_table;
	struct offender_table off;
	struct client_key client;
	uint64_t session; /* 0: every RCPT counts, as a session of its own */
	uint64_t now_ms;
	char got[16384];
	size_t got_len;
	unsigned rcpt_codes[600]; /* rcpt_replied calls by code */
};

static enum smtp_lookup fx_lookup(void *arg, const char *domain, const struct responder_domain **d)
{
	struct fx *f = arg;

	if (f->no_table)
		return SMTP_DOMAIN_NO_TABLE;
	for (size_t i = 0; i < f->n_dom; i++) {
		if (strcmp(f->dom[i].name, domain) == 0) {
			*d = &f->dom[i];
			return SMTP_DOMAIN_FOUND;
		}
	}
	return SMTP_DOMAIN_NOT_SERVED;
}

static bool fx_offender(void *arg)
{
	struct fx *f = arg;

	return offender_try(&f->off, &f->client, f->now_ms, f->session);
}

static void fx_rcpt_replied(void *arg, int code)
{
	struct fx *f = arg;

	assert_true(code > 0 && code < 600);
	f->rcpt_codes[code]++;
}

static const struct smtp_session_ops fx_ops = {
    .lookup = fx_lookup, .offender_try = fx_offender, .rcpt_replied = fx_rcpt_replied};

/* pass_recipients as the responder does it: postmaster, by local part;
 * a bare <postmaster> comes without a domain (d NULL, domain ""). */
static char fx_passed_from[SMTP_FROM_MAX];
static bool fx_rcpt_pass(void *arg, const struct responder_domain *d, const char *local,
			 const char *domain, const char *from)
{
	snprintf(fx_passed_from, sizeof(fx_passed_from), "%s", from);
	return !strcmp(local, "postmaster") && (d ? !strcmp(domain, d->name) : !domain[0]);
}

static const struct smtp_session_ops fx_pass_ops = {.lookup = fx_lookup,
						    .offender_try = fx_offender,
						    .rcpt_pass = fx_rcpt_pass,
						    .rcpt_replied = fx_rcpt_replied};

static void add_domain(struct fx *f, const char *name, int state, int reply, const char *primary,
		       const char *text)
{
	struct responder_domain *d = &f->dom[f->n_dom++];

	d->name = name;
	d->state = (uint8_t)state;
	d->reply = (uint8_t)reply;
	d->primary = primary;
	d->reply_text = text;
}

static void fx_start(struct fx *f, unsigned max_commands, unsigned threshold)
{
	struct smtp_session_params p = {HELO_NAME, max_commands, 0, false};
	struct mxg_ip ip;

	assert_int_equal(offender_init(&f->off, threshold, 60000, 64, 1), 0);
	mxg_ip_parse("192.0.2.30", &ip);
	client_key_from_ip(&ip, &f->client);
	smtp_session_init(&f->s, &p, &fx_ops, f);
	smtp_session_start(&f->s);
}

static int setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));

	add_domain(f, "example.test", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1.example.test", "");
	add_domain(f, "other.test", MXG_DOMAIN_OPEN, MXG_REPLY_REJECT, "", "");
	add_domain(f, "defer.test", MXG_DOMAIN_GATED, MXG_REPLY_DEFER, "mx9.defer.test", "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	offender_free(&f->off);
	test_free(f);
	return 0;
}

/* Drain the output into f->got, as a client reading everything would. */
static void drain(struct fx *f)
{
	size_t n;
	const char *o = smtp_session_output(&f->s, &n);

	assert_true(f->got_len + n < sizeof(f->got));
	memcpy(f->got + f->got_len, o, n);
	f->got_len += n;
	f->got[f->got_len] = '\0';
	smtp_session_consume(&f->s, n);
}

/* Send bytes (all of them, draining as needed); returns what came back
 * since the last call. */
static const char *send_bytes(struct fx *f, const void *buf, size_t len)
{
	size_t off = 0;
	static char last[16384];
	size_t mark;

	drain(f);
	mark = f->got_len;
	while (off < len) {
		size_t n = smtp_session_feed(&f->s, (const char *)buf + off, len - off);

		off += n;
		if (!n)
			assert_true(f->s.out_len > 0); /* stalls only on full output */
		drain(f);
	}
	snprintf(last, sizeof(last), "%s", f->got + mark);
	return last;
}

static const char *say(struct fx *f, const char *text)
{
	return send_bytes(f, text, strlen(text));
}

static void test_greeting_and_ehlo(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	drain(f);
	assert_string_equal(f->got, "220 " HELO_NAME " ESMTP\r\n");
	assert_string_equal(say(f, "EHLO client.example\r\n"),
			    "250-" HELO_NAME "\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
			    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n");
	assert_string_equal(say(f, "HELO client.example\r\n"), "250 " HELO_NAME "\r\n");
	assert_string_equal(say(f, "EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
}

static void test_gated_domain_551_names_primary(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	say(f, "EHLO c\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@sender.example>\r\n"), "250 2.1.0 Ok\r\n");
	assert_string_equal(say(f, "RCPT TO:<user@example.test>\r\n"), GATED_551);
	assert_int_equal(f->s.last_rcpt_code, 551);
	/* Case and a trailing dot do not matter. */
	assert_string_equal(say(f, "rcpt to:<User@EXAMPLE.Test.>\r\n"), GATED_551);
	assert_string_equal(say(f, "DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
	assert_string_equal(f->s.summary, "example.test=551,example.test=551");
	assert_string_equal(say(f, "QUIT\r\n"), "221 2.0.0 Bye\r\n");
	assert_true(smtp_session_done(&f->s));
}

static void test_summary_is_bounded(void **state)
{
	struct fx *f = *state;
	size_t len;

	fx_start(f, 100, 0);
	say(f, "EHLO c\r\nMAIL FROM:<>\r\n");
	for (int i = 0; i < 60; i++)
		say(f, "RCPT TO:<x@a-rather-long-domain-name-that-is-not-served.test>\r\n");
	len = strlen(f->s.summary);
	assert_true(len < SMTP_SUMMARY_MAX);
	assert_int_equal(len, f->s.summary_len);
	assert_string_equal(f->s.summary + len - 4, ",...");
	assert_int_equal(f->s.last_rcpt_code, 451);
}

static void test_defer_mode_451(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	say(f, "EHLO c\r\nMAIL FROM:<>\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@defer.test>\r\n"),
			    "451 4.7.1 defer.test: this is a backup MX and the primary MX "
			    "mx9.defer.test is online; please try mx9.defer.test\r\n");
}

static void test_not_gated_race_and_not_served_451(void **state)
{
	struct fx *f = *state;
	const char *r;

	fx_start(f, 0, 0);
	say(f, "EHLO c\r\nMAIL FROM:<a@b.c>\r\n");
	r = say(f, "RCPT TO:<x@other.test>\r\n");
	assert_non_null(strstr(r, "451 4.7.1 <other.test>:"));
	assert_non_null(strstr(r, "try again later"));
	r = say(f, "RCPT TO:<x@elsewhere.test>\r\n");
	assert_string_equal(r, "451 4.7.1 <elsewhere.test>: not served by this backup MX now; "
			       "please try again later\r\n");
	/* A bare <postmaster> is the served domains' (RFC 5321 4.5.1): with
	 * no pass hook here, a 451 to retry, not "not served". */
	assert_string_equal(
	    say(f, "RCPT TO:<postmaster>\r\n"),
	    "451 4.7.1 service for this domain is changing; please try again later\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@[192.0.2.20]>\r\n"),
			    "451 4.7.1 <[192.0.2.20]>: not served by this backup MX now; please "
			    "try again later\r\n");
	/* Gated without a primary name: never refuse without naming one. */
	add_domain(f, "noprimary.test", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "", "");
	assert_non_null(strstr(say(f, "RCPT TO:<x@noprimary.test>\r\n"), "451 4.7.1"));
	/* Before the controller sent a table: defer, never refuse. */
	f->no_table = true;
	assert_non_null(strstr(say(f, "RCPT TO:<x@example.test>\r\n"), "451 4.7.1 <example.test>"));
}

static void test_other_commands(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	assert_string_equal(say(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(say(f, "noop anything\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(say(f, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	assert_string_equal(say(f, "RSET x\r\n"), "501 5.5.4 Syntax: RSET\r\n");
	assert_non_null(strstr(say(f, "HELP\r\n"), "214 2.0.0 "));
	assert_string_equal(say(f, "VRFY root\r\n"), "252 2.5.2 Cannot VRFY user\r\n");
	assert_string_equal(say(f, "VRFY\r\n"), "501 5.5.4 Syntax: VRFY address\r\n");
	assert_string_equal(say(f, "EXPN list\r\n"),
			    "502 5.5.1 Error: command not implemented\r\n");
	assert_string_equal(say(f, "STARTTLS\r\n"), "502 5.5.1 Error: command not implemented\r\n");
	assert_string_equal(say(f, "FOO bar\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(say(f, "\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(say(f, "DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
	assert_false(smtp_session_done(&f->s));
}

static void test_sequence_and_syntax_errors(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	assert_string_equal(say(f, "MAIL FROM:<a@b.c>\r\n"),
			    "503 5.5.1 Error: send HELO/EHLO first\r\n");
	say(f, "EHLO c\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@example.test>\r\n"),
			    "503 5.5.1 Error: need MAIL command\r\n");
	assert_string_equal(say(f, "MAIL TO:<a@b.c>\r\n"),
			    "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.c\r\n"),
			    "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b..c>\r\n"),
			    "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.c> SIZE=100 BODY=8BITMIME\r\n"),
			    "250 2.1.0 Ok\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.c>\r\n"),
			    "503 5.5.1 Error: nested MAIL command\r\n");
	assert_string_equal(say(f, "RCPT TO:<>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	assert_string_equal(say(f, "RCPT TO:x@example.test\r\n"), GATED_551); /* lenient */
	assert_string_equal(say(f, "RCPT TO: <x@example.test>\r\n"), GATED_551);
	/* Source route ignored; quoted local part with @ and escapes. */
	assert_string_equal(say(f, "RCPT TO:<@relay.test,@r2.test:x@example.test>\r\n"), GATED_551);
	assert_string_equal(say(f, "RCPT TO:<\"a@b \\\" c\"@example.test>\r\n"), GATED_551);
	assert_string_equal(say(f, "RCPT TO:<\"unterminated@example.test>\r\n"),
			    "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@example.test> junk=\r\n"), GATED_551);
	assert_string_equal(say(f, "RCPT TO:<x@example.test>junk\r\n"),
			    "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	/* RSET ends the transaction. */
	say(f, "RSET\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@example.test>\r\n"),
			    "503 5.5.1 Error: need MAIL command\r\n");
}

static void test_pipelined_in_one_buffer(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	drain(f);
	assert_string_equal(
	    say(f, "EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@example.test>\r\n"
		   "RCPT TO:<y@nowhere.test>\r\nDATA\r\nQUIT\r\nNOOP\r\n"),
	    "250-" HELO_NAME "\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n250 2.1.0 Ok\r\n" GATED_551
	    "451 4.7.1 <nowhere.test>: not served by this backup MX now; please try again later\r\n"
	    "554 5.5.1 Error: no valid recipients\r\n221 2.0.0 Bye\r\n");
}

static void test_lines_split_across_reads_and_bare_lf(void **state)
{
	struct fx *f = *state;
	const char *all = "EHLO c\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@example.test>\r\n";

	fx_start(f, 0, 0);
	drain(f);
	for (size_t i = 0; all[i]; i++)
		send_bytes(f, &all[i], 1);
	assert_non_null(strstr(f->got, "250 SIZE\r\n250 2.1.0 Ok\r\n" GATED_551));
}

static void test_overlong_lines(void **state)
{
	struct fx *f = *state;
	char buf[2048];

	fx_start(f, 0, 0);
	/* 510 octets + CRLF = 512: allowed. */
	memset(buf, 'a', 510);
	memcpy(buf, "NOOP ", 5);
	memcpy(buf + 510, "\r\n", 2);
	assert_string_equal(send_bytes(f, buf, 512), "250 2.0.0 Ok\r\n");
	/* 511 + CRLF = 513: too long, one reply, the rest of the line dropped. */
	memset(buf, 'a', 511);
	memcpy(buf, "NOOP ", 5);
	memcpy(buf + 511, "\r\nNOOP\r\n", 8);
	assert_string_equal(send_bytes(f, buf, 519),
			    "500 5.5.6 Error: line too long\r\n250 2.0.0 Ok\r\n");
	/* A partial line is checked before its LF arrives. */
	memset(buf, 'b', sizeof(buf));
	assert_string_equal(send_bytes(f, buf, 600), "500 5.5.6 Error: line too long\r\n");
	assert_true(f->s.discarding);
	assert_string_equal(send_bytes(f, buf, sizeof(buf)), "");
	assert_string_equal(say(f, "tail\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
	assert_false(smtp_session_done(&f->s));
}

static void test_nul_and_binary_bytes(void **state)
{
	struct fx *f = *state;
	static const char nul[] = "NOOP\0x\r\n";
	static const char bin[] = "\xff\xfe\x01\x02\r\n";

	fx_start(f, 0, 0);
	drain(f);
	assert_string_equal(send_bytes(f, nul, sizeof(nul) - 1),
			    "501 5.5.4 Syntax error: invalid characters\r\n");
	assert_string_equal(send_bytes(f, bin, sizeof(bin) - 1),
			    "501 5.5.4 Syntax error: invalid characters\r\n");
	assert_string_equal(
	    say(f, "EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<x@exa\x80mple.test>\r\n"),
	    "250-" HELO_NAME "\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE\r\n250 2.1.0 Ok\r\n"
	    "501 5.5.4 Syntax error: invalid characters\r\n");
}

/* UTF-8 addresses (RFC 6531, SMTPUTF8 offered): a local part in UTF-8 at
 * a served domain gets that domain's reply, never a 501 (a bounce where
 * the backup's MTA would have taken it); a domain in UTF-8 is served by no
 * entry (the table holds A-labels); octets that are not UTF-8 still 501. */
static void test_utf8_addresses(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	say(f, "EHLO c\r\n");
	assert_string_equal(say(f, "MAIL FROM:<j\xc3\xb6rg@sender.example> SMTPUTF8\r\n"),
			    "250 2.1.0 Ok\r\n");
	assert_string_equal(f->s.from, "j\xc3\xb6rg@sender.example");
	assert_string_equal(say(f, "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.test>\r\n"),
			    GATED_551);
	/* The reply's text stays ASCII: what it quotes of the domain is '?'. */
	assert_non_null(strstr(say(f, "RCPT TO:<x@b\xc3\xbc"
				      "cher.test>\r\n"),
			       "451 4.7.1 <b??cher.test>: not served"));
	/* A U-label of 66 octets (22 three-octet characters) is not too long. */
	assert_non_null(strstr(say(f, "RCPT TO:<x@\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b"
				      "\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b"
				      "\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b"
				      "\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b"
				      "\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b\xe4\xbe\x8b.test>\r\n"),
			       "not served"));
	/* Overlong, surrogate, truncated, past U+10FFFF, a lone continuation. */
	static const char *const bad[] = {
	    "RCPT TO:<\xc0\xafx@example.test>\r\n", "RCPT TO:<\xed\xa0\x80x@example.test>\r\n",
	    "RCPT TO:<\xe7\x94@example.test>\r\n", "RCPT TO:<\xf4\x90\x80\x80@example.test>\r\n",
	    "RCPT TO:<\xbfx@example.test>\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(say(f, bad[i]),
				    "501 5.5.4 Syntax error: invalid characters\r\n");
}

static void test_garbage_flood_gets_421(void **state)
{
	struct fx *f = *state;
	const char *r;

	fx_start(f, 1000, 0);
	drain(f);
	for (int i = 0; i < SMTP_DEFAULT_MAX_ERRORS; i++)
		assert_string_equal(say(f, "garbage\r\n"),
				    "500 5.5.2 Error: command not recognized\r\n");
	r = say(f, "garbage\r\ngarbage\r\nNOOP\r\n");
	assert_string_equal(r, "421 4.7.0 too many errors\r\n");
	assert_true(smtp_session_done(&f->s));
	/* After 421 everything is consumed and ignored. */
	assert_int_equal(smtp_session_feed(&f->s, "NOOP\r\n", 6), 6);
	assert_int_equal(f->s.out_len, 0);
}

static void test_max_commands_gets_421(void **state)
{
	struct fx *f = *state;

	fx_start(f, 3, 0);
	drain(f);
	assert_string_equal(
	    say(f, "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"),
	    "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n421 4.7.0 too many commands\r\n");
	assert_true(smtp_session_done(&f->s));
}

static void test_keepalive_only_session_gets_421_after_budget(void **state)
{
	struct fx *f = *state;
	const char *r;

	fx_start(f, 0, 0);
	drain(f);
	say(f, "EHLO client.test\r\n");
	assert_false(smtp_session_holding(&f->s));
	/* NOOP, RSET, HELP, VRFY and a repeated EHLO all spend the budget. */
	for (unsigned i = 0; i < SMTP_MAX_STALLED; i++) {
		static const char *const keep[] = {"NOOP\r\n", "RSET\r\n", "HELP\r\n", "VRFY x\r\n",
						   "EHLO again.test\r\n"};

		say(f, keep[i % 5]);
		assert_false(smtp_session_done(&f->s));
		assert_true(smtp_session_holding(&f->s));
	}
	r = say(f, "NOOP\r\n");
	assert_string_equal(r, "421 4.7.0 " SMTP_WHY_STALLED "\r\n");
	assert_true(smtp_session_done(&f->s));
	assert_false(smtp_session_holding(&f->s));
}

static void test_refusal_dialogue_spends_no_budget(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	drain(f);
	/* A sender's whole dialogue, several times over a cached connection
	 * with an RSET per message: never near the budget, never holding. */
	for (int i = 0; i < 3; i++) {
		if (i == 0)
			say(f, "EHLO client.test\r\n");
		else
			say(f, "RSET\r\n");
		say(f, "MAIL FROM:<a@client.test>\r\n");
		assert_non_null(strstr(say(f, "RCPT TO:<u@defer.test>\r\n"), "451 4.7.1 "));
		say(f, "RCPT TO:<v@defer.test>\r\n");
		assert_false(smtp_session_holding(&f->s));
	}
	assert_int_equal(f->s.stalled, 2);
	assert_string_equal(say(f, "QUIT\r\n"), "221 2.0.0 Bye\r\n");
}

static void test_close_421_idle_and_too_many(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 0);
	drain(f);
	smtp_session_close_421(&f->s, SMTP_WHY_IDLE);
	smtp_session_close_421(&f->s, SMTP_WHY_TOO_MANY); /* only once */
	drain(f);
	assert_string_equal(f->got, "220 " HELO_NAME " ESMTP\r\n421 4.7.0 idle timeout\r\n");
	assert_true(smtp_session_done(&f->s));
}

static void test_output_backpressure(void **state)
{
	struct fx *f = *state;
	char buf[64 * 1024];
	size_t off = 0, n, out_max = 0;

	fx_start(f, 100000, 0);
	/* MAIL between the RSETs: NOOPs alone would end at SMTP_MAX_STALLED. */
	memcpy(buf, "EHLO c\r\n", 8);
	for (size_t i = 8; i + 20 <= sizeof(buf); i += 20)
		memcpy(buf + i, "MAIL FROM:<>\r\nRSET\r\n", 20);
	/* The client never reads: feed stops once replies would not fit. */
	while ((n = smtp_session_feed(&f->s, buf + off, sizeof(buf) - off)) > 0)
		off += n;
	assert_true(off < sizeof(buf));
	smtp_session_output(&f->s, &out_max);
	assert_true(out_max <= SMTP_OUT_MAX);
	assert_true(out_max + SMTP_REPLY_ROOM > SMTP_OUT_MAX);
	/* Reading resumes the dialogue where it stopped. */
	drain(f);
	assert_true(smtp_session_feed(&f->s, buf + off, sizeof(buf) - off) > 0);
}

static void test_template_expansion(void **state)
{
	struct fx *f = *state;
	char buf[REPLY_LINE_MAX + 1];

	reply_expand(buf, sizeof(buf), "%d is served by %p (100%%)", "a.test", "mx.a.test");
	assert_string_equal(buf, "a.test is served by mx.a.test (100%)");
	/* A template that forgets the primary still names it. */
	reply_expand(buf, sizeof(buf), "go away %d %x %", "a.test", "mx.a.test");
	assert_string_equal(buf, "go away a.test %x %; please try mx.a.test");
	/* Nothing from a template or a name can end the reply line. */
	reply_expand(buf, sizeof(buf), "x\r\n250 ok %p", "a.test", "m\nx");
	assert_string_equal(buf, "x??250 ok m?x");
	/* Bounded, whatever the names. */
	char big[MXG_NAME_MAX];
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(reply_format(buf, sizeof(buf), REPLY_GATED, MXG_REPLY_REJECT, big, big, NULL) <=
		    REPLY_LINE_MAX);
	assert_int_equal(strlen(buf), REPLY_LINE_MAX);

	add_domain(f, "tmpl.test", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx.tmpl.test",
		   "%d: 100%% up at %p");
	fx_start(f, 0, 0);
	say(f, "EHLO c\r\nMAIL FROM:<>\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@tmpl.test>\r\n"),
			    "551 5.7.1 tmpl.test: 100% up at mx.tmpl.test\r\n");
	assert_int_equal(reply_code(REPLY_GATED, MXG_REPLY_DEFER), 451);
	assert_int_equal(reply_code(REPLY_OFFENDER, MXG_REPLY_DEFER), 550);
}

/* One session (connection) from the client: EHLO, MAIL, RCPT to each
 * domain; the RCPT replies, concatenated. */
static const char *session_to(struct fx *f, const char *rcpts)
{
	static char got[4096];

	f->session++;
	f->got_len = 0; /* only this session's replies matter */
	say(f, "RSET\r\nMAIL FROM:<a@b.c>\r\n");
	snprintf(got, sizeof(got), "%s", say(f, rcpts));
	return got;
}

static void test_offender_escalation(void **state)
{
	struct fx *f = *state;
	struct mxg_ip other_ip;
	struct client_key me;

	fx_start(f, 0, 3);
	say(f, "EHLO c\r\n");
	/* Three sessions, each with many RCPTs: a session counts once. */
	for (int i = 0; i < 3; i++)
		assert_string_equal(session_to(f, "RCPT TO:<x@example.test>\r\n"
						  "RCPT TO:<y@example.test>\r\n"
						  "RCPT TO:<z@example.test>\r\n"),
				    GATED_551 GATED_551 GATED_551);
	/* The fourth session in the window: 550 for all its RCPTs. */
	assert_string_equal(session_to(f, "RCPT TO:<x@example.test>\r\n"
					  "RCPT TO:<y@example.test>\r\n"),
			    OFFENDER_550 OFFENDER_550);
	assert_int_equal(f->s.last_rcpt_code, 550);
	/* A deferred domain never escalates: the client was asked to retry. */
	assert_non_null(strstr(say(f, "RCPT TO:<x@defer.test>\r\n"), "451 4.7.1 defer.test: "));
	/* Non-gated domains are not affected. */
	assert_non_null(strstr(say(f, "RCPT TO:<x@nowhere.test>\r\n"), "451 4.7.1 <nowhere.test>"));

	/* Another client still gets 551. */
	me = f->client;
	mxg_ip_parse("192.0.2.31", &other_ip);
	client_key_from_ip(&other_ip, &f->client);
	assert_string_equal(session_to(f, "RCPT TO:<x@example.test>\r\n"), GATED_551);
	/* The first one is forgiven once it stops for a window. */
	f->client = me;
	f->now_ms += 60000;
	assert_string_equal(session_to(f, "RCPT TO:<x@example.test>\r\n"), GATED_551);
	/* Every RCPT reply reached the counter hook, by code. */
	assert_int_equal(f->rcpt_codes[551], 11);
	assert_int_equal(f->rcpt_codes[550], 2);
	assert_int_equal(f->rcpt_codes[451], 2); /* defer.test, and nowhere.test */
}

/* An offender another edge found (offender_mark): 550 at its first
 * session here, for reply = reject domains only (a deferred domain stays
 * 451: the client was asked to retry), until the mark ends; then 551. */
static void test_offender_of_another_edge(void **state)
{
	struct fx *f = *state;

	fx_start(f, 0, 3);
	say(f, "EHLO c\r\n");
	offender_mark(&f->off, &f->client, f->now_ms + 30000, f->now_ms);
	assert_string_equal(session_to(f, "RCPT TO:<x@example.test>\r\n"
					  "RCPT TO:<y@example.test>\r\n"),
			    OFFENDER_550 OFFENDER_550);
	assert_non_null(strstr(say(f, "RCPT TO:<x@defer.test>\r\n"), "451 4.7.1 defer.test: "));
	/* A mark that ended, or one already over, changes nothing. */
	f->now_ms += 90000;
	offender_mark(&f->off, &f->client, f->now_ms, f->now_ms);
	assert_string_equal(session_to(f, "RCPT TO:<x@example.test>\r\n"), GATED_551);
	assert_int_equal(f->rcpt_codes[550], 2);
}

/* An allowlisted recipient of a gated domain, even of an offender: 451
 * asking for a retry (never 5xx); others as before. */
static void test_rcpt_pass_gets_451(void **state)
{
	struct fx *f = *state;
	struct smtp_session_params p = {HELO_NAME, 0, 0, false};

	fx_start(f, 0, 1);
	smtp_session_init(&f->s, &p, &fx_pass_ops, f);
	smtp_session_start(&f->s);
	say(f, "EHLO c\r\nMAIL FROM:<Bounce+X@Sender.Example>\r\n");
	assert_string_equal(say(f, "RCPT TO:<x@example.test>\r\n"), GATED_551);
	assert_string_equal(fx_passed_from, "bounce+x@sender.example");
	f->session++;
	assert_string_equal(say(f, "RCPT TO:<x@example.test>\r\n"), OFFENDER_550);
	assert_string_equal(say(f, "RCPT TO:<PostMaster@Example.TEST>\r\n"),
			    "451 4.7.1 <example.test>: " REPLY_PASSED_TEXT "\r\n");
	assert_int_equal(f->s.last_rcpt_code, 451);
	/* Not gated: the hook is not asked, the usual 451/550 apply. */
	assert_non_null(
	    strstr(say(f, "RCPT TO:<postmaster@other.test>\r\n"), "451 4.7.1 <other.test>"));
	say(f, "RSET\r\nMAIL FROM:<>\r\n");
	say(f, "RCPT TO:<x@example.test>\r\n");
	assert_string_equal(fx_passed_from, "");
}

static void fx_start_pass(struct fx *f)
{
	struct smtp_session_params p = {HELO_NAME, 0, 0, false};

	fx_start(f, 0, 0);
	smtp_session_init(&f->s, &p, &fx_pass_ops, f);
	smtp_session_start(&f->s);
}

/* RFC 5321 4.1.2: a quoted local part names the mailbox of its unquoted
 * content. <"postmaster"@example.test> is postmaster, let through like
 * <postmaster@example.test> (it got 551 when the quotes were compared);
 * the domain is the one after the closing quote, whatever the quotes hold. */
static void test_quoted_local_part_is_its_unquoted_form(void **state)
{
	struct fx *f = *state;
	const char *passed = "451 4.7.1 <example.test>: " REPLY_PASSED_TEXT "\r\n";

	fx_start_pass(f);
	say(f, "EHLO c\r\nMAIL FROM:<\"Bounce+X\"@Sender.Example>\r\n");
	assert_string_equal(say(f, "RCPT TO:<\"postmaster\"@example.test>\r\n"), passed);
	assert_string_equal(fx_passed_from, "bounce+x@sender.example");
	assert_string_equal(say(f, "RCPT TO:<\"PostMaster\"@Example.TEST>\r\n"), passed);
	/* A quoted-pair is its character. */
	assert_string_equal(say(f, "RCPT TO:<\"post\\master\"@example.test>\r\n"), passed);
	/* Source route and parameters around it change nothing. */
	assert_string_equal(
	    say(f, "RCPT TO:<@relay.test:\"postmaster\"@example.test> NOTIFY=NEVER\r\n"), passed);
	/* Anyone else quoted is who they are: the domain's reply. */
	assert_string_equal(say(f, "RCPT TO:<\"x\"@example.test>\r\n"), GATED_551);
	assert_string_equal(say(f, "RCPT TO:<\"postmaster@other.test\"@example.test>\r\n"),
			    GATED_551);
	assert_string_equal(say(f, "RCPT TO:<\"a>b@c\"@example.test>\r\n"), GATED_551);
	assert_string_equal(say(f, "RCPT TO:<\"postmaster\"@defer.test>\r\n"),
			    "451 4.7.1 <defer.test>: " REPLY_PASSED_TEXT "\r\n");
	/* An unterminated quote is a syntax error, as before. */
	assert_string_equal(say(f, "RCPT TO:<\"postmaster@example.test>\r\n"),
			    "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
}

/* RFC 5321 4.5.1: every SMTP server must take RCPT TO:<postmaster>
 * without a domain. It is the postmaster of the domains served here: let
 * through as pass_recipients are, never "451 not served" (it was deferred
 * for ever). Where nobody can be passed, a 451 to retry, never a 5xx. */
static void test_bare_postmaster_is_let_through(void **state)
{
	struct fx *f = *state;
	const char *passed = "451 4.7.1 " REPLY_PASSED_TEXT "\r\n";

	fx_start_pass(f);
	say(f, "EHLO c\r\nMAIL FROM:<a@sender.example>\r\n");
	assert_string_equal(say(f, "RCPT TO:<postmaster>\r\n"), passed);
	assert_int_equal(f->s.last_rcpt_code, 451);
	assert_string_equal(say(f, "RCPT TO:<PostMaster>\r\n"), passed);
	assert_string_equal(say(f, "RCPT TO:<\"postmaster\">\r\n"), passed);
	assert_string_equal(say(f, "RCPT TO:postmaster\r\n"), passed); /* no brackets */
	/* Another bare name is still not served here. */
	assert_non_null(strstr(say(f, "RCPT TO:<hostmaster>\r\n"), "451 4.7.1 not served"));

	/* No pass hook (a gate that cannot pass): 451, try later. */
	offender_free(&f->off);
	fx_start(f, 0, 0);
	say(f, "EHLO c\r\nMAIL FROM:<a@sender.example>\r\n");
	assert_string_equal(
	    say(f, "RCPT TO:<postmaster>\r\n"),
	    "451 4.7.1 service for this domain is changing; please try again later\r\n");
	/* Before the first table: the same. */
	f->no_table = true;
	assert_non_null(strstr(say(f, "RCPT TO:<Postmaster>\r\n"), "451 4.7.1 "));
	assert_int_equal(f->rcpt_codes[551] + f->rcpt_codes[550], 0);
}

/* The issue-10 case: an MTA with a queue of any size, deferred with 451,
 * retrying every few seconds, is never counted at all. */
static void test_defer_never_escalates(void **state)
{
	struct fx *f = *state;

	fx_start(f, 1000000, 1);
	say(f, "EHLO c\r\n");
	for (int round = 0; round < 20; round++) {
		for (int msg = 0; msg < 50; msg++)
			assert_non_null(strstr(session_to(f, "RCPT TO:<x@defer.test>\r\n"),
					       "451 4.7.1 defer.test: "));
		f->now_ms += 2000;
	}
	assert_int_equal(f->rcpt_codes[550], 0);
}

/* The per-network limit counts IPv4 /24 and IPv6 /48: 105 addresses of
 * one /24 are one network, the next /24 another. */
static void test_client_network(void **state)
{
	static const char *const same[][2] = {
	    {"192.0.2.1", "192.0.2.254"},
	    {"2001:db8:1:2::1", "2001:db8:1:ffff::2"},
	    {"::ffff:192.0.2.7", "192.0.2.9"},
	};
	static const char *const other[][2] = {
	    {"192.0.2.1", "192.0.3.1"},
	    {"2001:db8:1::1", "2001:db8:2::1"},
	    {"192.0.2.1", "::ffff:192.0.3.1"},
	};
	struct client_key a, b, na, nb;
	struct mxg_ip ia, ib;

	for (size_t i = 0; i < 3; i++) {
		mxg_ip_parse(same[i][0], &ia);
		mxg_ip_parse(same[i][1], &ib);
		client_key_from_ip(&ia, &a);
		client_key_from_ip(&ib, &b);
		client_key_network(&a, &na);
		client_key_network(&b, &nb);
		assert_true(client_key_equal(&na, &nb));
		mxg_ip_parse(other[i][0], &ia);
		mxg_ip_parse(other[i][1], &ib);
		client_key_from_ip(&ia, &a);
		client_key_from_ip(&ib, &b);
		client_key_network(&a, &na);
		client_key_network(&b, &nb);
		assert_false(client_key_equal(&na, &nb));
	}
}

static void test_offender_leaky_bucket(void **state)
{
	struct offender_table t;
	struct client_key k;
	struct mxg_ip ip;

	mxg_ip_parse("198.51.100.7", &ip);
	client_key_from_ip(&ip, &k);
	/* 5 per minute (the default): a session every 13 s is never an
	 * offender, however long it goes on. */
	assert_int_equal(offender_init(&t, 5, 60000, 0, 7), 0);
	for (uint64_t i = 0; i < 500; i++)
		assert_false(offender_try(&t, &k, i * 13000, i + 1));
	/* A burst of six sessions within a second is. */
	for (uint64_t i = 0; i < 5; i++)
		assert_false(offender_try(&t, &k, 10000000 + i * 100, 1000 + i));
	assert_true(offender_try(&t, &k, 10000000 + 500, 2000));
	/* The same session asks again: same verdict, not counted again. */
	assert_true(offender_try(&t, &k, 10000000 + 600, 2000));
	offender_free(&t);
	/* A window of 0 is refused (config never gives one), not bent to 1 ms. */
	assert_int_equal(offender_init(&t, 5, 0, 0, 7), -EINVAL);
	/* Threshold 0 never escalates, not even for another edge's offender. */
	assert_int_equal(offender_init(&t, 0, 3600000, 0, 7), 0);
	offender_mark(&t, &k, 3600000, 0);
	for (int i = 0; i < 100; i++)
		assert_false(offender_try(&t, &k, 0, 0));
	offender_free(&t);
}

static void test_offender_ipv6_by_64_and_bounded(void **state)
{
	struct offender_table t;
	struct client_key a, b, c, mapped, v4;
	struct mxg_ip ip;

	mxg_ip_parse("2001:db8:1:2::1", &ip);
	client_key_from_ip(&ip, &a);
	mxg_ip_parse("2001:db8:1:2:ffff:1:2:3", &ip);
	client_key_from_ip(&ip, &b);
	mxg_ip_parse("2001:db8:1:3::1", &ip);
	client_key_from_ip(&ip, &c);
	assert_true(client_key_equal(&a, &b));	/* same /64 */
	assert_false(client_key_equal(&a, &c)); /* next /64 */
	mxg_ip_parse("::ffff:192.0.2.1", &ip);
	client_key_from_ip(&ip, &mapped);
	mxg_ip_parse("192.0.2.1", &ip);
	client_key_from_ip(&ip, &v4);
	assert_true(client_key_equal(&mapped, &v4));

	assert_int_equal(offender_init(&t, 2, 60000, 64, 3), 0);
	assert_false(offender_try(&t, &a, 0, 0));
	assert_false(offender_try(&t, &b, 0, 0));
	assert_true(offender_try(&t, &a, 0, 0)); /* third try of the /64 */
	assert_false(offender_try(&t, &c, 0, 0));
	/* A flood of other clients: memory stays the same, and the table
	 * keeps working (the flood evicts the least active entries). */
	for (uint32_t i = 0; i < 100000; i++) {
		struct client_key k = {{0}};

		memcpy(k.b, &i, sizeof(i));
		offender_try(&t, &k, 1, 0);
	}
	assert_int_equal(t.n_buckets, 8);
	offender_free(&t);
}

/* Random bytes, random chunking, a client that reads only sometimes: the
 * output stays bounded and every reply is one well-formed line. */
static void test_random_input_stays_bounded(void **state)
{
	static const char alphabet[] =
	    "EHLO MAIL FROM:<a@b> RCPT TO:<x@example.test> DATA\r\n\n\0\xff%@\"";
	struct fx *f = *state;
	unsigned seed = 12345;
	char buf[1500];

	for (int round = 0; round < 300; round++) {
		fx_start(f, 0, 2);
		for (int step = 0; step < 40 && !smtp_session_done(&f->s); step++) {
			size_t len = (size_t)(rand_r(&seed) % sizeof(buf)), off = 0;

			for (size_t i = 0; i < len; i++)
				buf[i] = rand_r(&seed) % 4
					     ? alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)]
					     : (char)rand_r(&seed);
			while (off < len) {
				size_t n = smtp_session_feed(&f->s, buf + off, len - off);

				assert_true(f->s.out_len <= SMTP_OUT_MAX);
				assert_true(f->s.line_len < SMTP_LINE_MAX);
				off += n;
				if (!n || rand_r(&seed) % 2) {
					f->got_len = 0;
					drain(f);
				}
			}
		}
		f->got_len = 0;
		drain(f);
		offender_free(&f->off);
	}
	/* Every reply line the last session produced is CRLF-terminated and
	 * starts with a three-digit code. */
	for (char *l = f->got; *l;) {
		char *e = strstr(l, "\r\n");

		assert_non_null(e);
		assert_true(e - l >= 3 && e - l <= SMTP_LINE_MAX - 2);
		assert_true(l[0] >= '2' && l[0] <= '5');
		l = e + 2;
	}
	fx_start(f, 0, 0); /* teardown frees this one */
}

/* Handoff: what the session asks of the caller, recorded. */
static struct {
	char helo[SMTP_LINE_MAX], mail[SMTP_LINE_MAX], rcpt[SMTP_LINE_MAX];
	unsigned rcpts, datas, resets;
	bool refuse; /* handoff_rcpt answers false (a bound) */
} ho;

static bool fx_handoff_rcpt(void *arg, const char *helo, const char *mail, const char *rcpt)
{
	snprintf(ho.helo, sizeof(ho.helo), "%s", helo ? helo : "(open)");
	snprintf(ho.mail, sizeof(ho.mail), "%s", mail ? mail : "(open)");
	snprintf(ho.rcpt, sizeof(ho.rcpt), "%s", rcpt);
	ho.rcpts++;
	return !ho.refuse;
}

static bool fx_handoff_data(void *arg)
{
	ho.datas++;
	return true;
}

static void fx_handoff_reset(void *arg)
{
	ho.resets++;
}

static const struct smtp_session_ops fx_handoff_ops = {.lookup = fx_lookup,
						       .offender_try = fx_offender,
						       .rcpt_pass = fx_rcpt_pass,
						       .rcpt_replied = fx_rcpt_replied,
						       .handoff_rcpt = fx_handoff_rcpt,
						       .handoff_data = fx_handoff_data,
						       .handoff_reset = fx_handoff_reset};

/* Feed text; returns how much the session took. */
static size_t feed(struct fx *f, const char *text)
{
	size_t n = smtp_session_feed(&f->s, text, strlen(text));

	drain(f);
	return n;
}

static const char *got_since(struct fx *f, size_t mark)
{
	return f->got + mark;
}

/* A let-through recipient goes to the MTA with the client's EHLO and MAIL;
 * the session reads nothing more until the MTA's reply, relays it as it
 * is (an unknown user gets the MTA's 550), answers a gated recipient
 * itself (551), sends DATA only after the MTA accepted one, and is piped
 * after the MTA's 354. */
static void test_handoff_dialogue(void **state)
{
	struct fx *f = *state;
	struct smtp_session_params p = {HELO_NAME, 0, 0, false};
	const char *pipelined = "RCPT TO:<u@example.test>\r\n";
	size_t mark;

	memset(&ho, 0, sizeof(ho));
	fx_start(f, 0, 0);
	smtp_session_init(&f->s, &p, &fx_handoff_ops, f);
	feed(f, "EHLO Client.Sender.test\r\nMAIL FROM:<A@sender.test> BODY=8BITMIME\r\n");
	mark = f->got_len;
	assert_int_equal(feed(f, "RCPT TO:<nobody@hosted.test>\r\n"), 30);
	assert_int_equal(ho.rcpts, 1);
	assert_string_equal(ho.helo, "EHLO Client.Sender.test");
	assert_string_equal(ho.mail, "MAIL FROM:<A@sender.test> BODY=8BITMIME");
	assert_string_equal(ho.rcpt, "RCPT TO:<nobody@hosted.test>");
	assert_string_equal(got_since(f, mark), ""); /* nothing of ours */
	assert_int_equal(feed(f, pipelined), 0);     /* waits for the MTA */
	smtp_session_handoff_reply(&f->s, "550 5.1.1 <nobody@hosted.test>: unknown\r\n",
				   strlen("550 5.1.1 <nobody@hosted.test>: unknown\r\n"));
	drain(f);
	assert_string_equal(got_since(f, mark), "550 5.1.1 <nobody@hosted.test>: unknown\r\n");
	/* The gated recipient: our own 551, no handoff. */
	mark = f->got_len;
	assert_int_equal(feed(f, pipelined), strlen(pipelined));
	assert_string_equal(got_since(f, mark), GATED_551);
	assert_int_equal(ho.rcpts, 1);
	/* DATA before the MTA accepted anyone: 554 as always. */
	mark = f->got_len;
	feed(f, "DATA\r\n");
	assert_string_equal(got_since(f, mark), "554 5.5.1 Error: no valid recipients\r\n");
	/* The same transaction's next let-through recipient: no replay. */
	feed(f, "RCPT TO:<u@hosted.test>\r\n");
	assert_string_equal(ho.helo, "(open)");
	smtp_session_handoff_reply(&f->s, "250 2.1.5 Ok\r\n", strlen("250 2.1.5 Ok\r\n"));
	drain(f);
	mark = f->got_len;
	assert_int_equal(feed(f, "DATA\r\n"), 6);
	assert_int_equal(ho.datas, 1);
	assert_false(smtp_session_piped(&f->s));
	smtp_session_handoff_reply(&f->s, "354 End data with <CR><LF>.<CR><LF>\r\n",
				   strlen("354 End data with <CR><LF>.<CR><LF>\r\n"));
	drain(f);
	assert_true(smtp_session_piped(&f->s));
	assert_string_equal(got_since(f, mark), "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_int_equal(feed(f, "Subject: x\r\n"), 0); /* the caller copies now */
	assert_non_null(strstr(f->s.summary, "hosted.test=550"));
	assert_non_null(strstr(f->s.summary, "hosted.test=250"));
}

/* Every way the handoff can fail gives 451 4.4.1, never a 5xx; RSET and a
 * new MAIL end the MTA's transaction. */
static void test_handoff_failures_are_4xx(void **state)
{
	struct fx *f = *state;
	struct smtp_session_params p = {HELO_NAME, 0, 0, false};
	size_t mark;

	memset(&ho, 0, sizeof(ho));
	fx_start(f, 0, 0);
	smtp_session_init(&f->s, &p, &fx_handoff_ops, f);
	feed(f, "HELO c\r\nMAIL FROM:<>\r\n");
	/* No handoff now (a bound). */
	ho.refuse = true;
	mark = f->got_len;
	feed(f, "RCPT TO:<postmaster@example.test>\r\n"); /* allowlisted */
	assert_string_equal(ho.helo, "HELO c");
	assert_non_null(strstr(got_since(f, mark), "451 4.4.1 "));
	ho.refuse = false;
	/* The MTA's side broke while a RCPT waited. */
	mark = f->got_len;
	feed(f, "RCPT TO:<u@hosted.test>\r\n");
	smtp_session_handoff_failed(&f->s);
	drain(f);
	assert_string_equal(got_since(f, mark), HANDOFF_FAIL_LINE "\r\n");
	/* A broken reply is not relayed. */
	mark = f->got_len;
	feed(f, "RCPT TO:<u@hosted.test>\r\n");
	assert_string_equal(ho.helo, "HELO c"); /* a new handoff after the failure */
	smtp_session_handoff_reply(&f->s, "garbage", strlen("garbage"));
	drain(f);
	assert_string_equal(got_since(f, mark), HANDOFF_FAIL_LINE "\r\n");
	/* DATA that fails at the MTA. */
	feed(f, "RCPT TO:<u@hosted.test>\r\n");
	smtp_session_handoff_reply(&f->s, "250 ok\r\n", strlen("250 ok\r\n"));
	drain(f);
	mark = f->got_len;
	feed(f, "DATA\r\n");
	smtp_session_handoff_failed(&f->s);
	drain(f);
	assert_string_equal(got_since(f, mark), HANDOFF_FAIL_LINE "\r\n");
	assert_false(smtp_session_piped(&f->s));
	/* RSET ends the handoff's transaction. */
	feed(f, "RCPT TO:<u@hosted.test>\r\n");
	smtp_session_handoff_reply(&f->s, "250 ok\r\n", strlen("250 ok\r\n"));
	feed(f, "RSET\r\n");
	assert_int_equal(ho.resets, 1);
	assert_int_equal(f->rcpt_codes[550] + f->rcpt_codes[551] + f->rcpt_codes[554], 0);
}

/* The MTA accepted a recipient (the client holds 250 for it), then the
 * handoff broke at the next one: DATA is answered 451, so the sender
 * retries every recipient; never 554 "no valid recipients" (a bounce of
 * the accepted one) and never a message to a new handoff that lacks it
 * (a silent loss). A new transaction starts clean. */
static void test_a_failed_handoff_after_an_accepted_recipient_defers_data(void **state)
{
	struct fx *f = *state;
	struct smtp_session_params p = {HELO_NAME, 0, 0, false};
	size_t mark;

	memset(&ho, 0, sizeof(ho));
	fx_start(f, 0, 0);
	smtp_session_init(&f->s, &p, &fx_handoff_ops, f);
	feed(f, "EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\n");
	feed(f, "RCPT TO:<u@hosted.test>\r\n");
	smtp_session_handoff_reply(&f->s, "250 2.1.5 Ok\r\n", strlen("250 2.1.5 Ok\r\n"));
	drain(f);
	mark = f->got_len;
	feed(f, "RCPT TO:<v@hosted.test>\r\n");
	smtp_session_handoff_failed(&f->s);
	drain(f);
	assert_string_equal(got_since(f, mark), HANDOFF_FAIL_LINE "\r\n");
	/* A later let-through recipient is accepted at a new handoff ... */
	feed(f, "RCPT TO:<w@hosted.test>\r\n");
	assert_string_equal(ho.helo, "EHLO c.test");
	smtp_session_handoff_reply(&f->s, "250 2.1.5 Ok\r\n", strlen("250 2.1.5 Ok\r\n"));
	drain(f);
	/* ... yet the message does not go to it without u. */
	mark = f->got_len;
	feed(f, "DATA\r\n");
	assert_string_equal(got_since(f, mark), HANDOFF_FAIL_LINE "\r\n");
	assert_int_equal(ho.datas, 0);
	assert_false(smtp_session_piped(&f->s));

	/* The next transaction: DATA goes to the MTA again. */
	feed(f, "RSET\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<u@hosted.test>\r\n");
	smtp_session_handoff_reply(&f->s, "250 2.1.5 Ok\r\n", strlen("250 2.1.5 Ok\r\n"));
	drain(f);
	feed(f, "DATA\r\n");
	assert_int_equal(ho.datas, 1);
	/* A failure before any recipient was accepted: DATA is 554 as always. */
	memset(&ho, 0, sizeof(ho));
	smtp_session_handoff_failed(&f->s);
	drain(f);
	feed(f, "RSET\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<u@hosted.test>\r\n");
	smtp_session_handoff_failed(&f->s);
	drain(f);
	mark = f->got_len;
	feed(f, "DATA\r\n");
	assert_string_equal(got_since(f, mark), "554 5.5.1 Error: no valid recipients\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_greeting_and_ehlo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gated_domain_551_names_primary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_summary_is_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defer_mode_451, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_gated_race_and_not_served_451, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_other_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_and_syntax_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined_in_one_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lines_split_across_reads_and_bare_lf, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_overlong_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nul_and_binary_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_utf8_addresses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_flood_gets_421, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_commands_gets_421, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_only_session_gets_421_after_budget,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_dialogue_spends_no_budget, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_close_421_idle_and_too_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_template_expansion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offender_escalation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defer_never_escalates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rcpt_pass_gets_451, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quoted_local_part_is_its_unquoted_form, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bare_postmaster_is_let_through, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random_input_stays_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handoff_dialogue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handoff_failures_are_4xx, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_failed_handoff_after_an_accepted_recipient_defers_data, setup, teardown),
	    cmocka_unit_test(test_offender_leaky_bucket),
	    cmocka_unit_test_setup_teardown(test_offender_of_another_edge, setup, teardown),
	    cmocka_unit_test(test_client_network),
	    cmocka_unit_test(test_offender_ipv6_by_64_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
