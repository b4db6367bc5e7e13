// SPDX-License-Identifier: GPL-2.0-only
/*
 * inih's line reader for mxgate.conf: one bounded line at a time from a
 * file or a string, counting lines, so that every error names its line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_parse.h"

static int next_char(struct cfg_parse *p)
{
	if (p->fp)
		return getc(p->fp);
	return p->text[p->pos] ? (unsigned char)p->text[p->pos++] : EOF;
}

/*
 * inih's line reader. Besides counting lines, it classifies each line the
 * way inih will (a continuation, a section header, a pair) so the handler
 * knows what it is looking at, and it handles section headers itself:
 * inih truncates long section names and never reports empty sections.
 */
char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	size_t n = 0, max = (size_t)num - 1 < CFG_LINE_MAX ? (size_t)num - 1 : CFG_LINE_MAX;
	bool too_long = false, nul = false;
	char *start, *end;
	int c = EOF;

	if (p->failed)
		return NULL; /* stop at the first error */
	while ((c = next_char(p)) != EOF && c != '\n') {
		nul |= c == '\0';
		if (n < max)
			str[n++] = (char)c;
		else
			too_long = true;
	}
	if (c == EOF && p->fp && ferror(p->fp)) {
		cfg_fail(p, p->name, 0, "cannot read: %s; is it a regular file?", strerror(errno));
		return NULL;
	}
	if (n == 0 && c == EOF && !too_long)
		return NULL;
	str[n] = '\0';
	p->line++;
	if (too_long) {
		cfg_fail(p, p->name, p->line,
			 "line longer than %zu characters; continue a list on indented lines, or "
			 "list many domains in domains_file",
			 max);
		return NULL;
	}
	if (nul) {
		cfg_fail(p, p->name, p->line, "a NUL byte in the line; is this a text file?");
		return NULL;
	}
	if (p->line == 1 && !strncmp(str, "\xEF\xBB\xBF", 3))
		memmove(str, str + 3, n - 2); /* a UTF-8 BOM; inih would skip it too */

	start = str + strspn(str, " \t\r\f\v");
	p->continuation = false;
	if (!*start || strchr(";#", *start))
		return str;
	if (p->after_pair && start > str) {
		p->continuation = true;
		return str;
	}
	if (*start != '[') {
		p->after_pair = true;
		return str;
	}
	p->after_pair = false;
	end = strchr(start, ']');
	if (end) { /* without ']', inih reports the line as a syntax error */
		char name[CFG_LINE_MAX + 1];

		snprintf(name, sizeof(name), "%.*s", (int)(end - start - 1), start + 1);
		if (cfg_open_section(p, name))
			return NULL;
	}
	return str;
}
