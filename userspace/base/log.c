// SPDX-License-Identifier: GPL-2.0-only
/* Logging to syslog or stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_target log_target = LOG_TO_STDERR;
static bool log_debug_on;
static const char *log_ident = "mxgate";

#define LOG_LINE_MAX 4096 /* octets of a line on stderr, newline included */

void log_init(const char *ident, enum log_target target, bool debug)
{
	log_ident = ident;
	log_target = target;
	log_debug_on = debug;
	if (target == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

enum log_target log_current_target(void)
{
	return log_target;
}

bool log_debug_enabled(void)
{
	return log_debug_on;
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_target == LOG_TO_SYSLOG) {
		vsyslog(priority, fmt, ap);
	} else {
		/* One write a line: stderr is unbuffered, and three calls were
		 * three system calls (100,000 state changes at start-up), and
		 * lines of processes sharing the file could interleave. */
		char line[LOG_LINE_MAX];
		int n = snprintf(line, sizeof(line), "%s: ", log_ident), m;

		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
		m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		n += m > 0 ? m : 0;
		if ((size_t)n > sizeof(line) - 2)
			n = sizeof(line) - 2; /* cut a long line, keep its newline */
		line[n++] = '\n';
		fwrite(line, 1, (size_t)n, stderr);
	}
	va_end(ap);
}

char *log_printable(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i;

	if (!dstlen)
		return dst;
	for (i = 0; i < len && i + 1 < dstlen && src[i]; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
	return dst;
}
