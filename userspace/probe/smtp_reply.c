// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pure SMTP reply reader of probe.h: RFC 5321 4.2 replies, multi-line
 * "250-", fed in whatever pieces the network delivers. It keeps no line
 * buffer, only the current line's first four octets and the first line's
 * text, so a probe costs a few hundred bytes however chatty the server is.
 */
#include "probe.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

void smtp_reply_reader_init(struct smtp_reply_reader *rr)
{
	memset(rr, 0, sizeof(*rr));
}

static int head_code(const char *h)
{
	return (h[0] - '0') * 100 + (h[1] - '0') * 10 + (h[2] - '0');
}

static void finish_text(struct smtp_reply_reader *rr)
{
	for (size_t i = 0; i < rr->text_len; i++) {
		unsigned char c = (unsigned char)rr->text[i];

		if (c < 0x20 || c >= 0x7f)
			rr->text[i] = '?';
	}
	rr->text[rr->text_len] = '\0';
}

/* A line ended (LF seen). 1: the reply is complete, 0: more lines follow. */
static int end_line(struct smtp_reply_reader *rr)
{
	bool last;
	int code;

	if (rr->len < 3)
		return -EPROTO;
	if (rr->len == 3 || rr->head[3] == '\r')
		last = true; /* "250" alone: a reply without text */
	else
		last = rr->head[3] == ' ';
	code = head_code(rr->head);
	if (rr->lines == 0) {
		rr->first_code = code;
		/* Strip the CR of CRLF from the text. */
		if (rr->text_len && rr->text[rr->text_len - 1] == '\r')
			rr->text_len--;
	} else if (code != rr->first_code) {
		return -EPROTO;
	}
	if (++rr->lines > SMTP_REPLY_LINES_MAX)
		return -EPROTO;
	{
		size_t kl = rr->len > 4 ? rr->len - 4 : 0;

		if (kl == 9 && rr->kw[8] == '\r')
			kl = 8;
		if (kl == 8 && !strncasecmp(rr->kw, "STARTTLS", 8))
			rr->starttls = true;
	}
	rr->len = 0;
	if (!last)
		return 0;
	rr->code = rr->first_code;
	finish_text(rr);
	return 1;
}

int smtp_reply_reader_feed(struct smtp_reply_reader *rr, const char *buf, size_t n,
			   size_t *consumed)
{
	size_t i;
	int ret;

	if (rr->code)
		smtp_reply_reader_init(rr);
	for (i = 0; i < n; i++) {
		char c = buf[i];
		size_t p = rr->len;

		if (c == '\n') {
			ret = end_line(rr);
			if (ret != 0) {
				*consumed = ret > 0 ? i + 1 : i;
				return ret;
			}
			continue;
		}
		/* +2: the line must still fit with its CRLF. */
		if (p + 2 > SMTP_REPLY_LINE_MAX)
			goto bad;
		if (p == 0 && (c < '2' || c > '5'))
			goto bad;
		if ((p == 1 || p == 2) && (c < '0' || c > '9'))
			goto bad;
		if (p == 3 && c != ' ' && c != '-' && c != '\r')
			goto bad;
		if (p == 4 && rr->head[3] == '\r')
			goto bad; /* a CR inside the code field */
		if (p >= 4 && p < 4 + sizeof(rr->kw))
			rr->kw[p - 4] = c;
		if (p < 4)
			rr->head[p] = c;
		else if (rr->lines == 0 && rr->text_len + 1 < sizeof(rr->text))
			rr->text[rr->text_len++] = c ? c : '?';
		rr->len++;
	}
	*consumed = n;
	return 0;
bad:
	*consumed = i;
	return -EPROTO;
}
