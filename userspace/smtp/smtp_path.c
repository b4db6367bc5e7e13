// SPDX-License-Identifier: GPL-2.0-only
/*
 * The paths of MAIL FROM and RCPT TO (RFC 5321 4.1.2), read for the
 * responder's dialogue (smtp_session.c): the keyword, then the domain and
 * the local part, bounded, lower case and unquoted. Pure.
 */
#include "smtp_path.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* "FROM:" or "TO:" at the start of arg, any case. */
const char *smtp_path_keyword(const char *arg, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(arg, kw, n) != 0)
		return NULL;
	return arg + n;
}

/* RFC 5321 atext, and the octets of UTF-8 (RFC 6531 4.1: UTF8-non-ascii;
 * the command line was checked to be well-formed UTF-8). */
static bool is_atext(char c)
{
	return isalnum((unsigned char)c) || (unsigned char)c >= 0x80 ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

size_t smtp_utf8_len(const char *p, size_t avail)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t n;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4;
	else
		return 0; /* a continuation octet first, an overlong lead, past U+10FFFF */
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong three and four octet forms, surrogates, past U+10FFFF. */
	if ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] > 0x9f) ||
	    (u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] > 0x8f))
		return 0;
	return n;
}

/* A domain or address literal of a path, up to end. Copies it, lower
 * case and without one trailing dot, to dom. 0 or -1 (bad syntax). */
static int parse_domain(const char *p, const char *end, char *dom, size_t domlen)
{
	size_t n = (size_t)(end - p), label = 0;
	bool wide = false;

	if (n && p[n - 1] == '.' && p[0] != '[')
		n--;
	if (!n || n >= domlen || n > 253)
		return -1;
	if (p[0] == '[') { /* address literal: never served, kept for the reply */
		if (p[n - 1] != ']')
			return -1;
		for (size_t i = 1; i + 1 < n; i++)
			if (!isalnum((unsigned char)p[i]) && !strchr(".:-", p[i]))
				return -1;
		memcpy(dom, p, n);
		dom[n] = '\0';
		return 0;
	}
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? p[i] : '.';

		if (c == '.') {
			/* A U-label (RFC 6531) may take more than 63 octets
			 * in UTF-8: only its A-label is bound by 63. */
			if (!label || (label > 63 && !wide))
				return -1; /* empty or too long */
			label = 0;
			wide = false;
		} else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
			label++;
		} else if ((unsigned char)c >= 0x80) {
			label++;
			wide = true;
		} else {
			return -1;
		}
		if (i < n)
			dom[i] = (char)tolower((unsigned char)c);
	}
	dom[n] = '\0';
	return 0;
}

/* One character of a local part, lower case; the rest is cut. */
static void local_add(char *local, size_t len, size_t *n, char c)
{
	if (*n + 1 >= len)
		return;
	local[(*n)++] = (char)tolower((unsigned char)c);
	local[*n] = '\0';
}

/*
 * A path of MAIL FROM or RCPT TO with optional ESMTP parameters:
 *     [SP] "<" [source-route ":"] local-part "@" domain ">" *(SP param)
 * or "<>" (null path) or the same without angle brackets (lenient, as
 * Postfix is by default). Source routes are ignored (RFC 5321 4.1.2).
 * dom gets the domain ("" when the path has none), local the local part
 * in lower case and unquoted: <"postmaster"@d> is <postmaster@d> (RFC 5321
 * 4.1.2: a quoted string names the same mailbox as its unquoted content),
 * cut to locallen - 1. 0 or -1.
 */
int smtp_path_parse(const char *a, bool null_ok, char *dom, size_t domlen, char *local,
		    size_t locallen)
{
	const char *d;
	size_t n = 0;
	bool angle;

	dom[0] = '\0';
	local[0] = '\0';
	while (*a == ' ')
		a++;
	angle = *a == '<';
	if (angle)
		a++;
	if (angle && *a == '>') {
		if (!null_ok)
			return -1;
		a++;
		goto params;
	}
	if (angle && *a == '@') { /* @relay1,@relay2:user@domain */
		const char *colon = strchr(a, ':');
		const char *close = strchr(a, '>');

		if (!colon || (close && close < colon))
			return -1;
		for (const char *r = a; r < colon; r++)
			if (!isalnum((unsigned char)*r) && !strchr("@,.-_[]", *r))
				return -1;
		a = colon + 1;
	}
	if (*a == '"') { /* quoted local part: its content, quoted-pairs undone */
		for (a++; *a != '"'; a++) {
			if (!*a)
				return -1;
			if (*a == '\\' && !*++a)
				return -1;
			local_add(local, locallen, &n, *a);
		}
		a++;
	} else {
		const char *start = a;

		while (is_atext(*a))
			local_add(local, locallen, &n, *a++);
		if (a == start)
			return -1;
	}
	if (*a == '@') {
		d = ++a;
		while (*a && *a != '>' && *a != ' ')
			a++;
		if (parse_domain(d, a, dom, domlen) < 0)
			return -1;
	}
	if (angle) {
		if (*a != '>')
			return -1;
		a++;
	}
params:
	/* ESMTP parameters: keyword[=value], separated by spaces. */
	while (*a) {
		if (*a != ' ')
			return -1;
		while (*a == ' ')
			a++;
		if (!*a)
			break;
		if (!isalnum((unsigned char)*a))
			return -1;
		while (isalnum((unsigned char)*a) || *a == '-')
			a++;
		if (*a == '=') {
			a++;
			while (*a && *a != ' ' && *a != '=')
				a++;
		}
	}
	return 0;
}
