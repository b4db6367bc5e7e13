// SPDX-License-Identifier: GPL-2.0-only
/* The responder's dialogue with the MTA's handoff listener (see
 * handoff_proto.h). Pure: no I/O, no clocks; the caller bounds the time. */
#include "handoff_proto.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* HAProxy proxy-protocol.txt 2.2: the 12-octet signature. */
static const uint8_t proxy_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static void ip6_of(const struct mxg_ip *ip, uint8_t out[16])
{
	if (ip->family == AF_INET6) {
		memcpy(out, &ip->v6, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &ip->v4, 4);
}

size_t handoff_proxy_v2(uint8_t *buf, size_t len, const struct mxg_ip *src, uint16_t sport,
			const struct mxg_ip *dst, uint16_t dport)
{
	bool v4 = src->family == AF_INET && dst->family == AF_INET;
	size_t alen = v4 ? 12 : 36, n = 16 + alen;
	uint16_t be;

	if (len < n)
		return 0;
	memcpy(buf, proxy_sig, sizeof(proxy_sig));
	buf[12] = 0x21;		    /* version 2, command PROXY */
	buf[13] = v4 ? 0x11 : 0x21; /* TCP over IPv4 / IPv6 */
	buf[14] = (uint8_t)(alen >> 8);
	buf[15] = (uint8_t)alen;
	if (v4) {
		memcpy(buf + 16, &src->v4, 4);
		memcpy(buf + 20, &dst->v4, 4);
	} else {
		ip6_of(src, buf + 16);
		ip6_of(dst, buf + 32);
	}
	be = htons(sport);
	memcpy(buf + n - 4, &be, 2);
	be = htons(dport);
	memcpy(buf + n - 2, &be, 2);
	return n;
}

/* RFC 3461 4: xtext. */
static size_t xtext(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int w = c >= '!' && c <= '~' && c != '+' && c != '='
			    ? snprintf(out + n, len - n, "%c", c)
			    : snprintf(out + n, len - n, "+%02X", c);

		if (w < 0 || (size_t)w >= len - n)
			return 0;
		n += (size_t)w;
	}
	return n;
}

size_t handoff_xclient_line(char *buf, size_t len, const struct mxg_ip *client, uint16_t port,
			    const char *helo_name, bool extended)
{
	char addr[MXG_ADDRSTRLEN], helo[HANDOFF_LINE_MAX];
	int n;

	if (!xtext(helo, sizeof(helo), helo_name && *helo_name ? helo_name : "[UNAVAILABLE]"))
		return 0;
	mxg_ip_str(client, addr, sizeof(addr));
	n = snprintf(buf, len, "XCLIENT ADDR=%s%s PORT=%u NAME=[TEMPUNAVAIL] HELO=%s PROTO=%s",
		     client->family == AF_INET6 ? "IPV6:" : "", addr, (unsigned)port, helo,
		     extended ? "ESMTP" : "SMTP");
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

static bool queue(struct handoff *h, const void *data, size_t n)
{
	if (n > sizeof(h->out) - h->out_len)
		return false;
	memcpy(h->out + h->out_len, data, n);
	h->out_len += n;
	return true;
}

static bool queue_line(struct handoff *h, const char *line)
{
	size_t n = strlen(line);

	return n + 2 <= HANDOFF_LINE_MAX && n + 2 <= sizeof(h->out) - h->out_len &&
	       queue(h, line, n) && queue(h, "\r\n", 2);
}

static bool copy_line(char *dst, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (!n || n + 2 > HANDOFF_LINE_MAX)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

void handoff_fail(struct handoff *h, const char *why)
{
	if (h->state == HO_FAILED)
		return;
	h->state = HO_FAILED;
	snprintf(h->why, sizeof(h->why), "%s", why);
}

bool handoff_init(struct handoff *h, const struct handoff_params *p)
{
	memset(h, 0, sizeof(*h));
	h->protocol = p->protocol;
	h->state = HO_GREETING;
	h->extended = p->helo_line && !strncasecmp(p->helo_line, "EHLO", 4);
	if (!copy_line(h->helo_line, p->helo_line) || !copy_line(h->mail_line, p->mail_line)) {
		handoff_fail(h, "the session's EHLO or MAIL line is missing or too long");
		return false;
	}
	if (p->protocol == HANDOFF_XCLIENT) {
		if (!handoff_xclient_line(h->xclient_line, sizeof(h->xclient_line) - 2, &p->client,
					  p->client_port, p->helo_name, h->extended)) {
			handoff_fail(h, "XCLIENT line too long");
			return false;
		}
		if (!p->our_name || !*p->our_name || strlen(p->our_name) > 255) {
			handoff_fail(h, "no name for our own EHLO");
			return false;
		}
		snprintf(h->our_ehlo, sizeof(h->our_ehlo), "EHLO %s", p->our_name);
	} else {
		uint8_t hdr[HANDOFF_PROXY_V2_MAX];
		size_t n = handoff_proxy_v2(hdr, sizeof(hdr), &p->client, p->client_port, &p->local,
					    p->local_port);

		if (!n || !queue(h, hdr, n)) {
			handoff_fail(h, "PROXY header does not fit");
			return false;
		}
	}
	return true;
}

/* line with only the parameters the MTA offered, into dst; false, and
 * the handoff failed, when one it cannot go without is not offered. */
static bool for_mta(struct handoff *h, char *dst, const char *line)
{
	char out[HANDOFF_LINE_MAX], why[sizeof(h->why)];

	if (handoff_ext_filter(line, h->ext, out, sizeof(out), why, sizeof(why)) < 0) {
		handoff_fail(h, why);
		return false;
	}
	memcpy(dst, out, strlen(out) + 1);
	return true;
}

bool handoff_rcpt(struct handoff *h, const char *rcpt_line)
{
	if (h->rcpt_pending || h->state == HO_FAILED ||
	    (h->state >= HO_RCPT && h->state != HO_READY))
		return false;
	if (h->state == HO_NO_MAIL) { /* ask again: the MTA answers this one too */
		if (!copy_line(h->rcpt_line, rcpt_line) ||
		    !for_mta(h, h->rcpt_line, h->rcpt_line) || !queue_line(h, h->mail_line))
			return false;
		h->rcpt_pending = true;
		h->state = HO_MAIL;
		return true;
	}
	if (h->state != HO_READY) {
		if (!copy_line(h->rcpt_line, rcpt_line))
			return false;
		h->rcpt_pending = true;
		return true;
	}
	if (!for_mta(h, h->rcpt_line, rcpt_line) || !queue_line(h, h->rcpt_line))
		return false;
	h->state = HO_RCPT;
	return true;
}

bool handoff_data(struct handoff *h)
{
	if (h->state != HO_READY || !h->accepted || !queue_line(h, "DATA"))
		return false;
	h->state = HO_DATA;
	return true;
}

void handoff_consume(struct handoff *h, size_t n)
{
	if (n >= h->out_len) {
		h->out_len = 0;
		return;
	}
	memmove(h->out, h->out + n, h->out_len - n);
	h->out_len -= n;
}

/* One complete reply at the start of h->in: its length (through the last
 * LF), 0 when more is needed, -1 when it is not SMTP. *code is set. */
static long reply_end(const struct handoff *h, int *code)
{
	size_t pos = 0;

	*code = 0;
	while (pos < h->in_len) {
		const char *line = h->in + pos, *lf = memchr(line, '\n', h->in_len - pos);
		size_t n = lf ? (size_t)(lf - line) : h->in_len - pos;
		int c;

		if (n >= 3 && !(isdigit((unsigned char)line[0]) &&
				isdigit((unsigned char)line[1]) && isdigit((unsigned char)line[2])))
			return -1;
		if (!lf)
			return 0;
		if (n < 3)
			return -1;
		c = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (*code && c != *code)
			return -1;
		*code = c;
		pos += n + 1;
		if (n == 3 || line[3] == ' ' || line[3] == '\r')
			return (long)pos;
		if (line[3] != '-')
			return -1;
	}
	return 0;
}

/* The reply as the client gets it: CRLF line ends, no bytes that could
 * break its SMTP, whole lines up to HANDOFF_REPLY_MAX, the last one final. */
static void keep_reply(struct handoff *h, size_t len, int code)
{
	size_t pos = 0, last = 0;

	h->reply_len = 0;
	h->reply_code = code;
	while (pos < len) {
		const char *line = h->in + pos, *lf = memchr(line, '\n', len - pos);
		size_t n = (size_t)(lf - line), k = n;

		if (k && line[k - 1] == '\r')
			k--;
		if (k > HANDOFF_LINE_MAX - 2)
			k = HANDOFF_LINE_MAX - 2;
		if (h->reply_len + k + 2 > sizeof(h->reply))
			break;
		last = h->reply_len;
		for (size_t i = 0; i < k; i++) {
			unsigned char c = (unsigned char)line[i];

			h->reply[h->reply_len++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		}
		if (k == 3)
			h->reply[h->reply_len++] = ' ';
		memcpy(h->reply + h->reply_len, "\r\n", 2);
		h->reply_len += 2;
		pos += n + 1;
	}
	if (h->reply_len)
		h->reply[last + 3] = ' ';
}

static bool has_keyword(const struct handoff *h, size_t len, const char *kw)
{
	size_t k = strlen(kw);

	for (size_t pos = 0; pos < len;) {
		const char *line = h->in + pos, *lf = memchr(line, '\n', len - pos);
		size_t n = (size_t)(lf - line);

		if (n >= 4 + k && !strncasecmp(line + 4, kw, k) &&
		    (n == 4 + k || line[4 + k] == ' ' || line[4 + k] == '\r'))
			return true;
		pos += n + 1;
	}
	return false;
}

/* A reply that speaks of our replay, not of the sender: a command or
 * parameter the MTA does not take (500-503, 555: e.g. a SIZE, BODY or
 * SMTPUTF8 the responder offered and the MTA does not). Relayed, it would
 * bounce mail the MTA would have taken directly; it is a failed handoff
 * (451) instead. Postfix's policy refusals (504 non-FQDN, 55x) stay the
 * MTA's verdict. */
static bool replay_mismatch(int code)
{
	return (code >= 500 && code <= 503) || code == 555;
}

static enum handoff_event failed(struct handoff *h, const char *step, int code)
{
	char why[sizeof(h->why)];

	snprintf(why, sizeof(why), "%s: the MTA answered %d", step, code);
	handoff_fail(h, why);
	return HO_EV_FAILED;
}

/* The MTA's reply of len octets at the start of h->in. */
static enum handoff_event on_reply(struct handoff *h, size_t len, int code)
{
	switch (h->state) {
	case HO_GREETING:
		if (code != 220)
			return failed(h, "greeting", code);
		if (h->protocol == HANDOFF_XCLIENT) {
			if (!queue_line(h, h->our_ehlo))
				return failed(h, "EHLO", 0);
			h->state = HO_XCLIENT_EHLO;
			return HO_EV_NONE;
		}
		break;
	case HO_XCLIENT_EHLO:
		if (code != 250)
			return failed(h, "EHLO before XCLIENT", code);
		if (!has_keyword(h, len, "XCLIENT")) {
			handoff_fail(h,
				     "the MTA does not offer XCLIENT to this responder (Postfix: "
				     "smtpd_authorized_xclient_hosts)");
			return HO_EV_FAILED;
		}
		if (!queue_line(h, h->xclient_line))
			return failed(h, "XCLIENT", 0);
		h->state = HO_XCLIENT;
		return HO_EV_NONE;
	case HO_XCLIENT:
		if (code != 220)
			return failed(h, "XCLIENT", code);
		break;
	case HO_HELO:
		if (code != 250)
			return failed(h, h->extended ? "EHLO" : "HELO", code);
		/* What the MTA offers this session: the MAIL and the RCPTs
		 * carry only that. */
		handoff_ext_list(h->in, h->extended ? len : 0, h->ext, sizeof(h->ext));
		if (!for_mta(h, h->mail_line, h->mail_line))
			return HO_EV_FAILED;
		if (!queue_line(h, h->mail_line))
			return failed(h, "MAIL", 0);
		h->state = HO_MAIL;
		return HO_EV_NONE;
	case HO_MAIL:
		/* Refused: the MTA's verdict on this transaction, relayed to
		 * the recipient that made us replay the MAIL. */
		if (code >= 400 && code < 600 && code != 421 && !replay_mismatch(code) &&
		    h->rcpt_pending) {
			keep_reply(h, len, code);
			h->rcpt_pending = false;
			h->state = HO_NO_MAIL;
			return HO_EV_RCPT_REPLY;
		}
		if (code != 250)
			return failed(h, "MAIL", code);
		h->state = HO_READY;
		if (h->rcpt_pending) {
			h->rcpt_pending = false;
			if (!for_mta(h, h->rcpt_line, h->rcpt_line))
				return HO_EV_FAILED;
			if (!queue_line(h, h->rcpt_line))
				return failed(h, "RCPT", 0);
			h->state = HO_RCPT;
		}
		return HO_EV_NONE;
	case HO_RCPT:
		/* The MTA's verdict on the recipient, relayed as it is; a 421
		 * closes the MTA's side, so the client gets our 4xx instead. */
		if (code < 200 || code >= 600 || (code >= 300 && code < 400) || code == 421 ||
		    replay_mismatch(code))
			return failed(h, "RCPT", code);
		keep_reply(h, len, code);
		h->accepted += code < 300;
		h->state = HO_READY;
		return HO_EV_RCPT_REPLY;
	case HO_DATA:
		if (code == 421 || code < 300 || code >= 600)
			return failed(h, "DATA", code);
		keep_reply(h, len, code);
		h->state = code == 354 ? HO_PIPE : HO_READY;
		return HO_EV_DATA_REPLY;
	case HO_READY: /* unasked: a 421 at the MTA's timeout */
	case HO_NO_MAIL:
		return failed(h, "unasked reply", code);
	case HO_PIPE:
	case HO_FAILED:
		return HO_EV_NONE;
	}
	/* 220 after the greeting or XCLIENT: replay the client's EHLO/HELO. */
	if (!queue_line(h, h->helo_line))
		return failed(h, "EHLO", 0);
	h->state = HO_HELO;
	return HO_EV_NONE;
}

enum handoff_event handoff_feed(struct handoff *h, const void *buf, size_t len, size_t *consumed)
{
	size_t take = 0;
	long end;
	int code;

	*consumed = 0;
	if (h->state == HO_FAILED)
		return HO_EV_FAILED;
	if (h->state == HO_PIPE)
		return HO_EV_NONE;
	take = sizeof(h->in) - h->in_len < len ? sizeof(h->in) - h->in_len : len;
	if (take)
		memcpy(h->in + h->in_len, buf, take);
	h->in_len += take;
	*consumed = take;
	end = reply_end(h, &code);
	if (end < 0) {
		handoff_fail(h, "the MTA's reply is not SMTP");
		return HO_EV_FAILED;
	}
	if (!end) {
		if (h->in_len == sizeof(h->in)) {
			handoff_fail(h, "the MTA's reply is too long");
			return HO_EV_FAILED;
		}
		return HO_EV_NONE;
	}
	enum handoff_event ev = on_reply(h, (size_t)end, code);

	memmove(h->in, h->in + end, h->in_len - (size_t)end);
	h->in_len -= (size_t)end;
	return ev;
}
