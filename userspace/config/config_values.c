// SPDX-License-Identifier: GPL-2.0-only
/* Parsers for single config values; see config_values.h. */
#include "config_values.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

/* Values are echoed in messages, but only this much of them. */
#define ECHO "%.64s"

static const struct unit {
	const char *suffix;
	uint64_t ms;
} units[] = {
    {"ms", 1},	{"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 24 * 3600 * 1000},
    {"", 1000}, /* a bare number is seconds */
};

int config_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t n = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix))
			continue;
		if (n > MXG_DURATION_MAX_MS / units[i].ms)
			return -ERANGE;
		*ms = n * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

/* The largest unit that divides ms evenly: "90s", "5m", "1h", "500ms". */
const char *cv_fmt_duration(uint64_t ms, char *buf, size_t len)
{
	static const char *const sfx[] = {"d", "h", "m", "s"};
	static const uint64_t div[] = {86400000, 3600000, 60000, 1000};

	for (size_t i = 0; i < 4; i++) {
		if (ms && ms % div[i] == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", ms / div[i], sfx[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%" PRIu64 "ms", ms);
	return buf;
}

int cv_duration(const char *s, uint64_t min, uint64_t max, uint64_t *ms, char *why, size_t len)
{
	char a[32], b[32];
	int err = config_parse_duration(s, ms);

	if (err == -ERANGE) {
		snprintf(why, len, "\"" ECHO "\" is too long a duration; use at most %s", s,
			 cv_fmt_duration(max, a, sizeof(a)));
		return -1;
	}
	if (err) {
		snprintf(why, len,
			 "\"" ECHO "\" is not a duration; write a whole number and a unit: "
			 "500ms, 10s, 5m, 1h or 2d",
			 s);
		return -1;
	}
	if (*ms < min || *ms > max) {
		snprintf(why, len, "%s is out of range; use %s to %s", s,
			 min ? cv_fmt_duration(min, a, sizeof(a)) : "0",
			 cv_fmt_duration(max, b, sizeof(b)));
		return -1;
	}
	return 0;
}

int cv_uint(const char *s, unsigned min, unsigned max, unsigned *out, char *why, size_t len)
{
	uint64_t n = 0;
	const char *p = s;

	/* Past max, n stops growing (no overflow) but the digits go on. */
	for (; isdigit((unsigned char)*p); p++)
		if (n <= max)
			n = n * 10 + (uint64_t)(*p - '0');
	if (p == s || *p) {
		snprintf(why, len, "\"" ECHO "\" is not a number; use a whole number from %u to %u",
			 s, min, max);
		return -1;
	}
	if (n < min || n > max) {
		snprintf(why, len, ECHO " is out of range; use a number from %u to %u", s, min,
			 max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

int cv_hostname(const char *s, char out[MXG_NAME_MAX], char *why, size_t len)
{
	size_t n = strlen(s), label = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > MXG_NAME_MAX - 1) {
		snprintf(why, len, "\"" ECHO "\" is not a host name; use 1 to %d characters", s,
			 MXG_NAME_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? (char)tolower((unsigned char)s[i]) : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || out[i - 1] == '-') {
				snprintf(why, len,
					 "\"" ECHO
					 "\" is not a host name; each dot-separated label "
					 "needs 1 to 63 letters, digits or inner hyphens",
					 s);
				return -1;
			}
			label = 0;
		} else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
			label++;
		} else {
			snprintf(why, len,
				 "\"" ECHO "\" is not a host name; use letters, digits, hyphens "
				 "and dots (IDNs as xn-- A-labels)",
				 s);
			return -1;
		}
		if (i < n)
			out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

int cv_reply_text(const char *s, char *why, size_t len)
{
	bool primary = false;

	if (strlen(s) >= MXG_REPLY_TEXT_MAX) {
		snprintf(why, len, "too long; use at most %d characters", MXG_REPLY_TEXT_MAX - 1);
		return -1;
	}
	for (const char *p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			snprintf(why, len,
				 "contains a character that is not printable ASCII; SMTP replies "
				 "are plain ASCII text on one line");
			return -1;
		}
		if (*p != '%')
			continue;
		p++;
		if (*p == 'p') {
			primary = true;
		} else if (*p != 'd' && *p != '%') {
			snprintf(
			    why, len,
			    "%%%.1s is not allowed; use %%d (domain), %%p (primary MX) or %%%% "
			    "(a percent sign)",
			    *p ? p : "");
			return -1;
		}
		if (!*p)
			break;
	}
	if (!primary) {
		snprintf(why, len, "must contain %%p: the reply always names the primary MX");
		return -1;
	}
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned v;
	char why[128];

	if (cv_uint(s, 1, 65535, &v, why, sizeof(why)))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "[v6]", "[v6]:port", "v4", "v4:port", and with bare_v6 a bare "v6". */
static int parse_hostport(const char *s, bool bare_v6, bool need_port, struct mxg_ip *ip,
			  uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = NULL, *end;
	bool bracketed = *s == '[';
	size_t hl;

	if (bracketed) {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -1;
		hl = (size_t)(end - s - 1);
		colon = end[1] ? end + 1 : NULL;
		s++;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			if (!bare_v6)
				return -1;
			colon = NULL; /* a bare IPv6 address */
		}
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (mxg_ip_parse(host, ip))
		return -1;
	/* Brackets are for IPv6 only (an IPv6 address with a port needs them,
	 * which the colon count above enforces). */
	if (bracketed && ip->family != AF_INET6)
		return -1;
	if (!colon)
		return need_port ? -1 : 0;
	return parse_port(colon + 1, port);
}

int cv_resolver(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why, size_t len)
{
	struct mxg_ip ip;
	uint16_t port = 53;

	if (parse_hostport(s, true, false, &ip, &port)) {
		snprintf(why, len,
			 "\"" ECHO "\" is not an IP address with an optional port; write e.g. "
			 "192.0.2.53, 192.0.2.53:5353, 2001:db8::53 or [2001:db8::53]:5353",
			 s);
		return -1;
	}
	*sslen = mxg_ip_to_sockaddr(&ip, port, ss);
	return 0;
}

int cv_policy_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why,
		     size_t len)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	struct mxg_ip ip;
	uint16_t port = 0;

	if (!strncmp(s, "unix:", 5)) {
		if (cv_abs_path(s + 5, sizeof(sun->sun_path), why, len))
			return -1;
		memset(ss, 0, sizeof(*ss));
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, s + 5, strlen(s + 5) + 1);
		*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s + 5) + 1);
		return 0;
	}
	if (!strncmp(s, "inet:", 5) && !parse_hostport(s + 5, false, true, &ip, &port)) {
		*sslen = mxg_ip_to_sockaddr(&ip, port, ss);
		return 0;
	}
	snprintf(why, len,
		 "\"" ECHO "\" is not an endpoint; write inet:ADDRESS:PORT (e.g. "
		 "inet:127.0.0.1:10040, inet:[::1]:10040) or unix:/ABSOLUTE/PATH",
		 s);
	return -1;
}

int cv_handoff(const char *s, struct sockaddr_storage *ss, socklen_t *sslen, char *why, size_t len)
{
	struct mxg_ip ip;

	if (cv_policy_listen(s, ss, sslen, why, len))
		return -1;
	if (ss->ss_family == AF_UNIX)
		return 0;
	if (mxg_ip_from_sockaddr((struct sockaddr *)ss, &ip, NULL) || !mxg_ip_is_loopback(&ip)) {
		snprintf(why, len,
			 "\"" ECHO "\" is not on loopback; the MTA trusts the client address the "
			 "handoff sends, so its listener must be local: inet:127.0.0.1:PORT, "
			 "inet:[::1]:PORT or unix:/PATH",
			 s);
		*sslen = 0;
		return -1;
	}
	return 0;
}

int cv_redis_addr(const char *s, bool unix_ok, uint16_t default_port, struct sockaddr_storage *ss,
		  socklen_t *sslen, char *why, size_t len)
{
	struct mxg_ip ip;
	uint16_t port = default_port;

	if (unix_ok && !strncmp(s, "unix:", 5))
		return cv_policy_listen(s, ss, sslen, why, len);
	if (parse_hostport(s, true, false, &ip, &port) || !port) {
		snprintf(why, len,
			 "\"" ECHO "\" is not %san IP address with an optional port; write e.g. "
			 "192.0.2.6, 192.0.2.6:6379 or [2001:db8::6]:6379 (an address: a name "
			 "would be resolved in the daemon's loop)",
			 s, unix_ok ? "unix:/PATH or " : "");
		return -1;
	}
	*sslen = mxg_ip_to_sockaddr(&ip, port, ss);
	return 0;
}

int cv_redis_prefix(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	if (n == 0 || n >= MXG_REDIS_PREFIX_MAX || strpbrk(s, " \t*?[]\\")) {
		snprintf(why, len,
			 "\"" ECHO "\" is not a key prefix; use 1 to %d printable characters "
			 "without spaces, '*', '?', '[', ']' or '\\', e.g. mxgate:",
			 s, MXG_REDIS_PREFIX_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e) {
			snprintf(why, len,
				 "\"" ECHO "\" holds a character that is not printable ASCII", s);
			return -1;
		}
	return 0;
}

int cv_redis_name(const char *s, char *why, size_t len)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:");

	if (n == 0 || s[n] || n >= MXG_REDIS_NAME_MAX) {
		snprintf(why, len,
			 "\"" ECHO "\" is not a name; use 1 to %d letters, digits, '.', '_', '-' "
			 "or ':'",
			 s, MXG_REDIS_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

int cv_ifname(const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, "..") || strpbrk(s, "/:")) {
		snprintf(why, len,
			 "\"" ECHO "\" is not an interface name; use 1 to 15 characters without "
			 "'/' or ':', as `ip link` shows them",
			 s);
		return -1;
	}
	return 0;
}

int cv_user(const char *s, char *why, size_t len)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	if (n == 0 || s[n] || n > 32 || s[0] == '-') {
		snprintf(why, len,
			 "\"" ECHO "\" is not a user name; use up to 32 letters, digits, '.', '_' "
			 "or '-' (an existing, unprivileged account such as nobody)",
			 s);
		return -1;
	}
	return 0;
}

int cv_nft_name(const char *s, char *why, size_t len)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	if (n == 0 || s[n] || n > 63 || !isalpha((unsigned char)s[0])) {
		snprintf(why, len,
			 "\"" ECHO "\" is not an nft name; use up to 63 letters, digits, '_', '.' "
			 "or '-', starting with a letter",
			 s);
		return -1;
	}
	return 0;
}

int cv_enum(const char *v, const char *const *names, int *out, char *why, size_t len)
{
	for (int i = 0; names[i]; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	snprintf(why, len, "\"" ECHO "\" is not one of: %s%s%s%s%s", v, names[0],
		 names[1] ? ", " : "", names[1] ? names[1] : "", names[1] && names[2] ? ", " : "",
		 names[1] && names[2] ? names[2] : "");
	return -1;
}

int cv_nft_table(const char *v, char family[8], char name[64], char *why, size_t len)
{
	static const char *const families[] = {"inet", "ip", "ip6", NULL};
	const char *sp = strpbrk(v, " \t"), *n = v;
	char fam[8];
	int i;

	if (sp) {
		n = sp + strspn(sp, " \t");
		snprintf(fam, sizeof(fam), "%.*s", (int)(sp - v), v);
		if ((size_t)(sp - v) >= sizeof(fam) || cv_enum(fam, families, &i, why, len)) {
			snprintf(why, len,
				 "\"" ECHO "\" does not start with a family; write NAME or FAMILY "
				 "NAME with FAMILY inet, ip or ip6",
				 v);
			return -1;
		}
	}
	if (cv_nft_name(n, why, len))
		return -1;
	if (sp)
		memcpy(family, fam, sizeof(fam));
	snprintf(name, 64, "%s", n);
	return 0;
}

int cv_abs_path(const char *s, size_t max, char *why, size_t len)
{
	if (s[0] != '/') {
		snprintf(why, len, "\"" ECHO "\" is not an absolute path; start it with /", s);
		return -1;
	}
	if (strlen(s) >= max) {
		snprintf(why, len, "too long; use a path of at most %zu characters", max - 1);
		return -1;
	}
	return 0;
}

int cv_copy(char *dst, size_t dstlen, const char *s, char *why, size_t len)
{
	size_t n = strlen(s);

	if (n >= dstlen) {
		snprintf(why, len, "too long (%zu characters); use at most %zu", n, dstlen - 1);
		return -1;
	}
	memcpy(dst, s, n + 1);
	return 0;
}
