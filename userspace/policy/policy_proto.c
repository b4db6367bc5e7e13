// SPDX-License-Identifier: GPL-2.0-only
/* The Postfix policy protocol, parsing and answering: pure functions, no
 * sockets, so tests feed them lines. See policy.h. */
#include "policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "reason.h"
#include "rcpt.h"
#include "reply.h"

void policy_request_reset(struct policy_request *r)
{
	memset(r, 0, sizeof(*r));
}

/* Copy value into dst if it fits; a value too long spoils the request. */
static void take(struct policy_request *r, char *dst, size_t dstlen, const char *v, size_t vlen)
{
	if (vlen >= dstlen) {
		r->bad = true;
		return;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

bool policy_request_line(struct policy_request *r, const char *line, size_t len)
{
	const char *eq;
	size_t nlen;

	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return true;
	r->size += len + 1;
	if (++r->n_attrs > POLICY_ATTRS_MAX || r->size > POLICY_REQUEST_MAX ||
	    len >= POLICY_LINE_MAX) {
		r->bad = true;
		return false;
	}
	eq = memchr(line, '=', len);
	if (!eq || eq == line) {
		r->bad = true;
		return false;
	}
	nlen = (size_t)(eq - line);
#define IS(name) (nlen == sizeof(name) - 1 && !memcmp(line, name, nlen))
	if (IS("request"))
		take(r, r->request, sizeof(r->request), eq + 1, len - nlen - 1);
	else if (IS("protocol_state"))
		take(r, r->protocol_state, sizeof(r->protocol_state), eq + 1, len - nlen - 1);
	else if (IS("recipient"))
		take(r, r->recipient, sizeof(r->recipient), eq + 1, len - nlen - 1);
	else if (IS("client_address"))
		take(r, r->client_address, sizeof(r->client_address), eq + 1, len - nlen - 1);
	else if (IS("sender"))
		take(r, r->sender, sizeof(r->sender), eq + 1, len - nlen - 1);
	else if (IS("instance"))
		take(r, r->instance, sizeof(r->instance), eq + 1, len - nlen - 1);
#undef IS
	return false;
}

/* The recipient's domain, lower case, no trailing dot; false if none or
 * not a plausible domain name (then we have nothing to say). */
static bool recipient_domain(const char *rcpt, char *out, size_t outlen)
{
	const char *at = strrchr(rcpt, '@');
	size_t n;

	if (!at || !at[1])
		return false;
	n = strlen(at + 1);
	if (at[n] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)at[1 + i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return true;
}

/* Postfix's instance attribute names one message of one smtpd session:
 * the offender count takes it as the session (offender.h), so a message
 * with many recipients counts once. 0 (none) counts every request. */
static uint64_t instance_tag(const char *instance)
{
	uint64_t h;

	if (!instance[0])
		return 0;
	h = mxg_hash_str(MXG_HASH_INIT, instance);
	return h ? h : 1;
}

static size_t dunno(char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "action=DUNNO\n\n");

	return n < 0 ? 0 : (size_t)n;
}

/* The questions of the RCPT decision (rcpt.h) for one request. */
struct policy_ask {
	const struct policy_request *r;
	const struct policy_domain *d;
	const struct policy_hooks *h;
	struct offender_table *offenders;
	uint64_t now_ms;
	const struct mxg_ip *ip; /* NULL: the client address did not parse */
};

static bool ask_passed(void *arg)
{
	struct policy_ask *a = arg;

	/* Allowlisted or passed: Postfix delivers it (a live session here,
	 * unlike the responder's, can be handed on). Asked without a client
	 * address too: pass_recipients need none. */
	return a->h->client &&
	       a->h->client(a->h->arg, a->ip, a->r->sender, a->r->recipient, a->d->reply);
}

static bool ask_offender(void *arg)
{
	struct policy_ask *a = arg;
	struct client_key k;

	/* This host is never an offender (local submission, content filters
	 * re-injecting, its own MTA over a public address); nor is a client
	 * we cannot name. */
	if (!a->offenders || !a->ip || mxg_ip_is_loopback(a->ip) ||
	    (a->h->host && a->h->host(a->h->arg, a->ip)))
		return false;
	client_key_from_ip(a->ip, &k);
	return offender_try(a->offenders, &k, a->now_ms, instance_tag(a->r->instance));
}

size_t policy_answer(const struct policy_request *r, const struct policy_hooks *h,
		     struct offender_table *offenders, uint64_t now_ms, char *out, size_t outlen)
{
	char domain[MXG_NAME_MAX], line[REPLY_LINE_MAX + 1];
	struct policy_domain d = {0};
	struct mxg_ip ip;
	struct policy_ask ask = {r, &d, h, offenders, now_ms, NULL};
	const struct rcpt_checks chk = {ask_passed, ask_offender, &ask};
	enum rcpt_found found = RCPT_NOT_SERVED;
	enum reply_kind kind;
	int n;

	if (r->bad || strcmp(r->request, "smtpd_access_policy") ||
	    strcasecmp(r->protocol_state, "RCPT") ||
	    !recipient_domain(r->recipient, domain, sizeof(domain)))
		return dunno(out, outlen);
	if (!h->lookup(h->arg, domain, &d))
		found = RCPT_SERVED;
	if (!mxg_ip_parse(r->client_address, &ip))
		ask.ip = &ip;
	kind = rcpt_decide(found, &(struct rcpt_domain){d.state, d.reply, d.primary}, &chk);
	/* What the responder answers 451 (not served, not gated, passed)
	 * is Postfix's to decide: the gate is open for it. */
	if (!rcpt_refuses(kind))
		return dunno(out, outlen);
	reply_format(line, sizeof(line), kind, d.reply, domain, d.primary, d.reply_text);
	n = snprintf(out, outlen, "action=%s\n\n", line);
	if (n < 0 || (size_t)n >= outlen)
		return dunno(out, outlen);
	return (size_t)n;
}
