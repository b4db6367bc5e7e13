// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder's SMTP dialogue as a pure state machine (see
 * smtp_session.h): it greets, accepts EHLO and MAIL, answers every RCPT
 * with the reply of docs/responder.md's table, never accepts DATA, and ends
 * sessions that abuse it.
 */
#include "smtp_session.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handoff_proto.h"
#include "rcpt.h"
#include "reply.h"
#include "smtp_path.h"

#define SMTP_VERB_MAX 16 /* longer verbs are unknown anyway */

static size_t out_room(const struct smtp_session *s)
{
	return sizeof(s->out) - s->out_len;
}

/* Queue one reply line (without CRLF); replies are always shorter than
 * SMTP_REPLY_ROOM, which feed() made sure is free. */
static void reply(struct smtp_session *s, const char *line)
{
	size_t n = strnlen(line, SMTP_LINE_MAX - 2);

	if (n + 2 > out_room(s))
		return;
	memcpy(s->out + s->out_len, line, n);
	memcpy(s->out + s->out_len + n, "\r\n", 2);
	s->out_len += n + 2;
	if (n >= 3 && isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
	    isdigit((unsigned char)line[2]))
		s->last_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

__attribute__((format(printf, 2, 3))) static void replyf(struct smtp_session *s, const char *fmt,
							 ...)
{
	char line[SMTP_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	reply(s, line);
}

void smtp_session_close_421(struct smtp_session *s, const char *why)
{
	if (s->done)
		return;
	replyf(s, "421 4.7.0 %s", why);
	s->done = true;
}

/* A 5xx for the client's mistake; too many of them end the session. */
static void error_reply(struct smtp_session *s, const char *line)
{
	if (++s->errors > s->p.max_errors) {
		smtp_session_close_421(s, "too many errors");
		return;
	}
	reply(s, line);
}

static void summary_add(struct smtp_session *s, const char *domain, int code)
{
	size_t room = sizeof(s->summary) - s->summary_len;
	char item[64];
	int n;

	if (s->summary_full)
		return;
	n = snprintf(item, sizeof(item), "%s%.40s=%d", s->summary_len ? "," : "",
		     *domain ? domain : "-", code);
	if (n < 0)
		return;
	/* Items go in only while ",..." (5 octets with NUL) still fits after
	 * them, so the marker always has room. */
	if ((size_t)n + 5 > room) {
		memcpy(s->summary + s->summary_len, ",...", 5);
		s->summary_len += 4;
		s->summary_full = true;
		return;
	}
	memcpy(s->summary + s->summary_len, item, (size_t)n + 1);
	s->summary_len += (size_t)n;
}

void smtp_session_init(struct smtp_session *s, const struct smtp_session_params *p,
		       const struct smtp_session_ops *ops, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->p = *p;
	if (!s->p.helo_name || !*s->p.helo_name)
		s->p.helo_name = "localhost";
	if (!s->p.max_commands)
		s->p.max_commands = SMTP_DEFAULT_MAX_COMMANDS;
	if (!s->p.max_errors)
		s->p.max_errors = SMTP_DEFAULT_MAX_ERRORS;
	s->ops = ops;
	s->arg = arg;
}

void smtp_session_start(struct smtp_session *s)
{
	replyf(s, "220 %.253s ESMTP", s->p.helo_name);
}

void smtp_session_consume(struct smtp_session *s, size_t n)
{
	if (n >= s->out_len) {
		s->out_len = 0;
		return;
	}
	memmove(s->out, s->out + n, s->out_len - n);
	s->out_len -= n;
}

/* The transaction ends here: the MTA's connection with it. */
static void handoff_end(struct smtp_session *s)
{
	if (s->handoff_open && s->ops && s->ops->handoff_reset)
		s->ops->handoff_reset(s->arg);
	s->handoff_open = false;
	s->handed_ok = 0;
	s->handoff_lost = false;
}

void smtp_session_handoff_failed(struct smtp_session *s)
{
	if (s->waiting == SMTP_WAIT_RCPT) {
		s->last_rcpt_code = 451;
		summary_add(s, s->wait_domain, 451);
		if (s->ops && s->ops->rcpt_replied)
			s->ops->rcpt_replied(s->arg, 451);
	}
	if (s->waiting != SMTP_WAIT_NONE)
		reply(s, HANDOFF_FAIL_LINE);
	s->waiting = SMTP_WAIT_NONE;
	/* The connection is gone: the next let-through recipient of this
	 * transaction starts a new handoff. Recipients the MTA had accepted
	 * are gone with it while the client holds our 250 for them: its DATA
	 * gets 451 (all of them retried), never 554 "no valid recipients"
	 * (a bounce of those) nor a message to a new connection without them
	 * (lost). */
	if (s->handed_ok)
		s->handoff_lost = true;
	s->handoff_open = false;
	s->handed_ok = 0;
}

void smtp_session_handoff_reply(struct smtp_session *s, const char *r, size_t len)
{
	int code = len >= 3 && isdigit((unsigned char)r[0]) && isdigit((unsigned char)r[1]) &&
			   isdigit((unsigned char)r[2])
		       ? (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0')
		       : 0;

	if (s->waiting == SMTP_WAIT_NONE)
		return;
	if (!code || len > out_room(s) || len < 5 || memcmp(r + len - 2, "\r\n", 2)) {
		smtp_session_handoff_failed(s);
		return;
	}
	memcpy(s->out + s->out_len, r, len);
	s->out_len += len;
	s->last_code = code;
	if (s->waiting == SMTP_WAIT_RCPT) {
		s->last_rcpt_code = code;
		summary_add(s, s->wait_domain, code);
		s->handed_ok += code < 300;
	} else if (code == 354) {
		s->piped = true;
	}
	s->waiting = SMTP_WAIT_NONE;
}

/* The questions of the RCPT decision (rcpt.h), asked through the ops. */
struct rcpt_ask {
	struct smtp_session *s;
	const struct responder_domain *d;
	const char *local, *domain;
};

static bool ask_passed(void *arg)
{
	struct rcpt_ask *a = arg;

	return a->s->ops->rcpt_pass &&
	       a->s->ops->rcpt_pass(a->s->arg, a->d, a->local, a->domain, a->s->from);
}

static bool ask_offender(void *arg)
{
	struct rcpt_ask *a = arg;

	return a->s->ops->offender_try && a->s->ops->offender_try(a->s->arg);
}

static void do_rcpt(struct smtp_session *s, const char *arg)
{
	char dom[MXG_NAME_MAX + 2], line[REPLY_LINE_MAX + 1], local[SMTP_LOCAL_MAX];
	const struct responder_domain *d = NULL;
	enum smtp_lookup found = SMTP_DOMAIN_NOT_SERVED;
	struct rcpt_domain rd = {0};
	struct rcpt_ask ask = {s, NULL, local, dom};
	const struct rcpt_checks chk = {ask_passed, ask_offender, &ask};
	enum rcpt_found rf = RCPT_NOT_SERVED;
	enum reply_kind kind;
	const char *to;

	if (!s->mail) {
		error_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	to = smtp_path_keyword(arg, "TO:");
	if (!to || smtp_path_parse(to, false, dom, sizeof(dom), local, sizeof(local)) < 0) {
		error_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	s->rcpts++;
	if (dom[0] && s->ops && s->ops->lookup)
		found = s->ops->lookup(s->arg, dom, &d);
	if (!dom[0] && !strcmp(local, "postmaster")) {
		/* RFC 5321 4.5.1: every SMTP server must take <postmaster>
		 * without a domain: the postmaster of the domains served here,
		 * let through as pass_recipients are (d NULL, domain ""). */
		rf = RCPT_POSTMASTER;
	} else if (found == SMTP_DOMAIN_NO_TABLE) {
		rf = RCPT_NO_TABLE;
	} else if (found == SMTP_DOMAIN_FOUND && d) {
		rf = RCPT_SERVED;
		rd = (struct rcpt_domain){d->state, d->reply, d->primary};
		ask.d = d;
	} else {
		d = NULL;
	}
	kind = rcpt_decide(rf, &rd, &chk);
	/* Let through: with a handoff, the MTA answers it in this session. */
	if (s->ops && s->ops->handoff_rcpt && dom[0] &&
	    (kind == REPLY_PASSED || kind == REPLY_NOT_SERVED || kind == REPLY_NOT_GATED)) {
		char rcpt_line[SMTP_LINE_MAX];

		snprintf(rcpt_line, sizeof(rcpt_line), "RCPT %s", arg);
		snprintf(s->wait_domain, sizeof(s->wait_domain), "%.60s", dom);
		s->waiting = SMTP_WAIT_RCPT;
		if (s->ops->handoff_rcpt(s->arg, s->handoff_open ? NULL : s->helo_line,
					 s->handoff_open ? NULL : s->mail_line, rcpt_line)) {
			s->handoff_open = true;
			return;
		}
		smtp_session_handoff_failed(s);
		return;
	}
	reply_format(line, sizeof(line), kind, d ? d->reply : MXG_REPLY_REJECT, dom,
		     d && d->primary ? d->primary : "",
		     d && d->reply_text && d->reply_text[0] ? d->reply_text : NULL);
	reply(s, line);
	s->last_rcpt_code = reply_code(kind, d ? d->reply : MXG_REPLY_REJECT);
	summary_add(s, dom, s->last_rcpt_code);
	if (s->ops && s->ops->rcpt_replied)
		s->ops->rcpt_replied(s->arg, s->last_rcpt_code);
}

static void do_mail(struct smtp_session *s, const char *arg)
{
	char dom[MXG_NAME_MAX + 2], local[SMTP_LOCAL_MAX];
	const char *from;

	if (!s->helo) {
		error_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->mail) {
		error_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	from = smtp_path_keyword(arg, "FROM:");
	if (!from || smtp_path_parse(from, true, dom, sizeof(dom), local, sizeof(local)) < 0) {
		error_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	s->mail = true;
	handoff_end(s);
	snprintf(s->mail_line, sizeof(s->mail_line), "MAIL %s", arg);
	/* The envelope sender, for greylisting: local@domain, "" for <>. */
	if (local[0] || dom[0])
		snprintf(s->from, sizeof(s->from), "%s@%s", local, dom);
	else
		s->from[0] = '\0';
	reply(s, "250 2.1.0 Ok");
}

static void do_ehlo(struct smtp_session *s, const char *arg, bool extended)
{
	if (!*arg) {
		error_reply(s, extended ? "501 5.5.4 Syntax: EHLO hostname"
					: "501 5.5.4 Syntax: HELO hostname");
		return;
	}
	s->helo = true;
	s->mail = false; /* EHLO resets the transaction (RFC 5321 4.1.4) */
	handoff_end(s);
	snprintf(s->helo_line, sizeof(s->helo_line), "%s %s", extended ? "EHLO" : "HELO", arg);
	if (!extended) {
		replyf(s, "250 %.253s", s->p.helo_name);
		return;
	}
	replyf(s, "250-%.253s", s->p.helo_name);
	reply(s, "250-PIPELINING");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	/* Offered because a Postfix sender whose message needs it bounces it
	 * (5.6.7) at a server that does not offer it, where the backup's own
	 * MTA would have taken it: a bounce where a 451 was due. The
	 * addresses are read as octets; a domain in UTF-8 is served by no
	 * entry (they are A-labels) and goes to the MTA like any other. */
	reply(s, "250-SMTPUTF8");
	if (s->p.starttls && !s->tls)
		reply(s, "250-STARTTLS");
	reply(s, "250 SIZE");
}

static bool verb_is(const char *verb, const char *name)
{
	return strcasecmp(verb, name) == 0;
}

static void do_starttls(struct smtp_session *s, const char *arg)
{
	if (*arg) {
		error_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls) {
		error_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (s->mail) {
		error_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	/* RFC 3207 4: 454 when TLS is not available for a temporary reason
	 * (here: too many handshakes at once). The client may go on in
	 * plaintext or try later. */
	if (s->ops && s->ops->starttls && !s->ops->starttls(s->arg)) {
		reply(s, "454 4.7.0 TLS not available due to temporary reason");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	s->tls_wanted = true;
}

void smtp_session_tls_started(struct smtp_session *s)
{
	/* RFC 3207 4.2: discard all knowledge obtained from the client. */
	handoff_end(s);
	s->tls_wanted = false;
	s->tls = true;
	s->helo = false;
	s->mail = false;
	s->from[0] = '\0';
	s->line_len = 0;
	s->discarding = false;
}

/* A command that moved nothing forward; past the budget (in a row: a
 * cached connection RSETs once per message, and max_commands bounds the
 * rest) the session ends
 * (421 4.7.0 and close, as for other repeated abuse). true = ended. */
static bool stalled(struct smtp_session *s)
{
	s->stalled++;
	if (++s->stalled_run > SMTP_MAX_STALLED) {
		smtp_session_close_421(s, SMTP_WHY_STALLED);
		return true;
	}
	return false;
}

/* Known verbs this responder has no use for (not advertised). */
static bool verb_unimplemented(const char *verb)
{
	static const char *const names[] = {"EXPN", "ETRN", "TURN", "ATRN", "STARTTLS",
					    "AUTH", "BDAT", "SEND", "SOML", "SAML"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (verb_is(verb, names[i]))
			return true;
	return false;
}

static void process_line(struct smtp_session *s, char *line, size_t len)
{
	char verb[SMTP_VERB_MAX + 1];
	const char *arg;
	size_t vlen;

	if (++s->commands > s->p.max_commands) {
		smtp_session_close_421(s, "too many commands");
		return;
	}
	if (len && line[len - 1] == '\r')
		len--;
	/* NUL, other controls, DEL and 8-bit bytes that are not UTF-8 have no
	 * place in a command; UTF-8 does, in the addresses of a sender that
	 * saw SMTPUTF8 offered (RFC 6531). */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		size_t n = c >= 0x80 ? smtp_utf8_len(line + i, len - i) : 1;

		if ((c < 0x20 && c != '\t') || c == 0x7f || !n) {
			error_reply(s, "501 5.5.4 Syntax error: invalid characters");
			return;
		}
		i += n - 1;
	}
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	line[len] = '\0';

	vlen = strcspn(line, " ");
	if (!vlen || vlen > SMTP_VERB_MAX) {
		error_reply(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	memcpy(verb, line, vlen);
	verb[vlen] = '\0';
	arg = line + vlen;
	while (*arg == ' ')
		arg++;

	/* Progress: MAIL, RCPT, DATA, the first EHLO/HELO (again after
	 * STARTTLS, which forgets it). The rest only keeps the session. */
	if ((verb_is(verb, "EHLO") || verb_is(verb, "HELO")) && s->helo && stalled(s))
		return;
	if (verb_is(verb, "NOOP") || verb_is(verb, "RSET") || verb_is(verb, "HELP") ||
	    verb_is(verb, "VRFY")) {
		if (stalled(s))
			return;
	} else if (verb_is(verb, "MAIL") || verb_is(verb, "RCPT") || verb_is(verb, "DATA")) {
		s->stalled_run = 0;
	}

	if (verb_is(verb, "EHLO")) {
		do_ehlo(s, arg, true);
	} else if (verb_is(verb, "HELO")) {
		do_ehlo(s, arg, false);
	} else if (verb_is(verb, "MAIL")) {
		do_mail(s, arg);
	} else if (verb_is(verb, "RCPT")) {
		do_rcpt(s, arg);
	} else if (verb_is(verb, "DATA")) {
		/* 354 only from the MTA, after it accepted a recipient. */
		if (s->handoff_lost) {
			reply(s, HANDOFF_FAIL_LINE);
			return;
		}
		if (s->handed_ok) {
			s->waiting = SMTP_WAIT_DATA;
			if (!s->ops->handoff_data || !s->ops->handoff_data(s->arg))
				smtp_session_handoff_failed(s);
			return;
		}
		reply(s, "554 5.5.1 Error: no valid recipients");
	} else if (verb_is(verb, "RSET")) {
		if (*arg) {
			error_reply(s, "501 5.5.4 Syntax: RSET");
			return;
		}
		s->mail = false;
		handoff_end(s);
		reply(s, "250 2.0.0 Ok");
	} else if (verb_is(verb, "NOOP")) {
		reply(s, "250 2.0.0 Ok");
	} else if (verb_is(verb, "QUIT")) {
		reply(s, "221 2.0.0 Bye");
		s->done = true;
	} else if (verb_is(verb, "STARTTLS") && s->p.starttls) {
		do_starttls(s, arg);
	} else if (verb_is(verb, "HELP")) {
		reply(s, "214 2.0.0 This backup MX accepts no mail while the primary MX is online; "
			 "commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
	} else if (verb_is(verb, "VRFY")) {
		if (!*arg)
			error_reply(s, "501 5.5.4 Syntax: VRFY address");
		else
			reply(s, "252 2.5.2 Cannot VRFY user");
	} else if (verb_unimplemented(verb)) {
		error_reply(s, "502 5.5.1 Error: command not implemented");
	} else {
		error_reply(s, "500 5.5.2 Error: command not recognized");
	}
}

size_t smtp_session_feed(struct smtp_session *s, const void *buf, size_t len)
{
	const char *p = buf;
	size_t off = 0;

	while (off < len) {
		const char *lf;
		size_t seg;

		if (s->done)
			return len; /* QUIT or 421 sent: the rest is ignored */
		if (s->waiting != SMTP_WAIT_NONE || s->piped)
			return off; /* the MTA's reply first; piped: the caller copies */
		if (s->tls_wanted) {
			/* Pipelined behind STARTTLS: never a command. */
			s->tls_dropped += len - off;
			return len;
		}
		lf = memchr(p + off, '\n', len - off);
		seg = lf ? (size_t)(lf - (p + off)) : len - off;
		if (s->discarding) {
			if (!lf)
				return len;
			s->discarding = false;
			off += seg + 1;
			continue;
		}
		/* Checked on partial lines too: an endless line costs nothing. */
		if (s->line_len + seg > SMTP_LINE_MAX - 1) {
			if (out_room(s) < SMTP_REPLY_ROOM)
				return off;
			s->line_len = 0;
			if (++s->commands > s->p.max_commands)
				smtp_session_close_421(s, "too many commands");
			else
				error_reply(s, "500 5.5.6 Error: line too long");
			if (!lf) {
				s->discarding = true;
				return len;
			}
			off += seg + 1;
			continue;
		}
		if (!lf) {
			memcpy(s->line + s->line_len, p + off, seg);
			s->line_len += seg;
			return len;
		}
		if (out_room(s) < SMTP_REPLY_ROOM)
			return off;
		memcpy(s->line + s->line_len, p + off, seg);
		s->line_len += seg;
		off += seg + 1;
		process_line(s, s->line, s->line_len);
		s->line_len = 0;
	}
	return off;
}
