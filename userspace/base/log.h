/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging: syslog (LOG_MAIL, ident "mxgated") for the daemon, stderr for
 * the CLI and for `mxgated -f`. Peer text must go through log_printable()
 * before it is logged: bounded and made printable.
 */
#ifndef MXG_LOG_H
#define MXG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

void log_init(const char *ident, enum log_target target, bool debug);
bool log_debug_enabled(void);
enum log_target log_current_target(void);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_debug_enabled())                                                           \
			log_msg(LOG_DEBUG, __VA_ARGS__);                                           \
	} while (0)

/* Copy at most len bytes of untrusted text into dst (size dstlen, always
 * NUL-terminated), replacing anything unprintable with '?'. Returns dst. */
char *log_printable(char *dst, size_t dstlen, const char *src, size_t len);

#endif
