// SPDX-License-Identifier: GPL-2.0-only
/* The parameters the handoff replays; see handoff_ext.h. */
#include "handoff_ext.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void handoff_ext_list(const char *ehlo, size_t len, char *list, size_t listlen)
{
	size_t o = 0;

	if (!listlen)
		return;
	list[0] = '\0';
	for (size_t pos = 0, i = 0; pos < len; i++) {
		const char *line = ehlo + pos, *lf = memchr(line, '\n', len - pos);
		size_t n = lf ? (size_t)(lf - line) : len - pos, k = 0;

		pos += n + 1;
		/* "250-KEYWORD params"; the first line is the MTA's name. An
		 * old "AUTH=LOGIN" offers AUTH. */
		if (!i || n < 5)
			continue;
		while (4 + k < n && (isalnum((unsigned char)line[4 + k]) || line[4 + k] == '-'))
			k++;
		if (!k || o + (o ? 0 : 1) + k + 1 >= listlen)
			continue;
		if (!o)
			list[o++] = ' ';
		for (size_t j = 0; j < k; j++)
			list[o++] = (char)toupper((unsigned char)line[4 + j]);
		list[o++] = ' ';
		list[o] = '\0';
	}
}

/* kw (k octets) is in list. */
static bool offered(const char *list, const char *kw, size_t k)
{
	for (const char *p = list; (p = strchr(p, ' ')) && p[1]; p++)
		if (!strncasecmp(p + 1, kw, k) && p[1 + k] == ' ')
			return true;
	return false;
}

struct param_rule {
	const char *param; /* keyword of the parameter */
	const char *value; /* NULL: any value */
	const char *ext;   /* the EHLO keyword that offers it */
	bool optional;	   /* may be left out */
};

static const struct param_rule rules[] = {
    {"SIZE", NULL, "SIZE", true},	    /* RFC 1870: a declaration */
    {"BODY", "7BIT", "8BITMIME", true},	    /* the default body */
    {"BODY", "8BITMIME", "8BITMIME", true}, /* taken by every MTA we hand to */
    {"BODY", "BINARYMIME", "BINARYMIME", false},
    {"RET", NULL, "DSN", true}, /* RFC 3461: how a DSN looks */
    {"ENVID", NULL, "DSN", true},
    {"NOTIFY", NULL, "DSN", true},
    {"ORCPT", NULL, "DSN", true},
    {"AUTH", NULL, "AUTH", true},		/* RFC 4954: <> is what we could say */
    {"MT-PRIORITY", NULL, "MT-PRIORITY", true}, /* RFC 6710: a hint */
    {"BY", NULL, "DELIVERBY", true},		/* RFC 2852: a deadline, more lenient left out */
    {"SMTPUTF8", NULL, "SMTPUTF8", false},	/* RFC 6531: the addresses need it */
    {"REQUIRETLS", NULL, "REQUIRETLS", false},	/* RFC 8689: the sender's demand */
    {"HOLDFOR", NULL, "FUTURERELEASE", false},	/* RFC 4865: not before */
    {"HOLDUNTIL", NULL, "FUTURERELEASE", false},
};

/* The rule for parameter p (k octets of keyword, value v of vn octets);
 * unknown keywords: offered under their own name, never left out. */
static struct param_rule rule_for(const char *p, size_t k, const char *v, size_t vn, char *kwbuf,
				  size_t kwlen)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct param_rule *r = &rules[i];

		if (strlen(r->param) != k || strncasecmp(p, r->param, k))
			continue;
		if (!r->value || (strlen(r->value) == vn && !strncasecmp(v, r->value, vn)))
			return *r;
	}
	snprintf(kwbuf, kwlen, "%.*s", (int)k, p);
	return (struct param_rule){.param = kwbuf, .ext = kwbuf, .optional = false};
}

/* Where the path of "MAIL FROM:<path> params" ends: after its '>' (a
 * quoted local part may hold '>' or spaces), or at the first space
 * without angle brackets. NULL when it has no end. */
static const char *path_end(const char *line)
{
	const char *a = strchr(line, ':');
	bool quoted = false;

	if (!a)
		return NULL;
	for (a++; *a == ' '; a++)
		;
	if (*a != '<')
		return a + strcspn(a, " ");
	for (a++; *a; a++) {
		if (quoted && *a == '\\' && a[1])
			a++;
		else if (*a == '"')
			quoted = !quoted;
		else if (!quoted && *a == '>')
			return a + 1;
	}
	return NULL;
}

int handoff_ext_filter(const char *line, const char *list, char *out, size_t outlen, char *why,
		       size_t whylen)
{
	const char *end = path_end(line), *p;
	size_t n;
	bool dropped = false;

	if (!end) {
		snprintf(why, whylen, "the client's path has no end: %.60s", line);
		return -1;
	}
	n = (size_t)(end - line);
	if (n >= outlen) {
		snprintf(why, whylen, "the client's line is too long");
		return -1;
	}
	memcpy(out, line, n);
	for (p = end; *p;) {
		const char *kw, *eq, *v;
		size_t k, pn, vn;
		struct param_rule r;
		char kwbuf[64];

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		kw = p;
		pn = strcspn(p, " ");
		p += pn;
		eq = memchr(kw, '=', pn);
		k = eq ? (size_t)(eq - kw) : pn;
		v = eq ? eq + 1 : kw + pn;
		vn = (size_t)(kw + pn - v);
		r = rule_for(kw, k, v, vn, kwbuf, sizeof(kwbuf));
		if (!offered(list, r.ext, strlen(r.ext))) {
			if (r.optional) {
				dropped = true;
				continue;
			}
			snprintf(
			    why, whylen,
			    "the MTA does not offer %.40s, which the client's %.4s asks for (%.*s)",
			    r.ext, line, (int)(pn > 60 ? 60 : pn), kw);
			return -1;
		}
		if (n + 1 + pn >= outlen) {
			snprintf(why, whylen, "the client's line is too long");
			return -1;
		}
		out[n++] = ' ';
		memcpy(out + n, kw, pn);
		n += pn;
	}
	if (!dropped) { /* as it came, spacing and all */
		if (strlen(line) >= outlen) {
			snprintf(why, whylen, "the client's line is too long");
			return -1;
		}
		snprintf(out, outlen, "%s", line);
		return 0;
	}
	out[n] = '\0';
	return 0;
}
