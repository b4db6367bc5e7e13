// SPDX-License-Identifier: GPL-2.0-only
/* The state file's text: parse and format; see persist.h. */
#include "persist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"

#define FIELDS_MAX 8

static bool parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	*out = strtoull(s, &end, base);
	return !errno && !*end;
}

static bool parse_ip(const char *s, struct mxg_ip *ip)
{
	return !mxg_ip_parse(s, ip);
}

/* Split line (NUL-terminated, no LF) at single spaces. */
static int split(char *line, char *f[FIELDS_MAX])
{
	int n = 0;

	for (char *p = line; *p;) {
		if (n == FIELDS_MAX)
			return -1;
		f[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			break;
		*p++ = '\0';
		if (!*p || *p == ' ')
			return -1;
	}
	return n;
}

/* One record line; deliver it when sink is non-NULL. false: bad line. */
static bool record(char *line, const struct persist_sink *sink)
{
	char *f[FIELDS_MAX];
	int n = split(line, f);

	if (n < 1)
		return false;
	if (!strcmp(f[0], "seed")) {
		uint64_t s;

		if (n != 2 || strlen(f[1]) != 16 || !parse_u64(f[1], 16, &s))
			return false;
		if (sink && sink->seed)
			sink->seed(sink->arg, s);
		return true;
	}
	if (!strcmp(f[0], "pass")) {
		struct persist_pass p = {0};

		if (n != 5 || !parse_ip(f[1], &p.ip) || !parse_u64(f[3], 10, &p.since_ms) ||
		    !parse_u64(f[4], 10, &p.expires_ms) || p.expires_ms < p.since_ms)
			return false;
		if (!strcmp(f[2], "greylist"))
			p.reason = MXG_PASS_GREYLIST;
		else if (!strcmp(f[2], "recipient"))
			p.reason = MXG_PASS_RECIPIENT;
		else
			return false;
		if (sink && sink->pass)
			sink->pass(sink->arg, &p);
		return true;
	}
	if (!strcmp(f[0], "tuple")) {
		struct persist_tuple t = {0};

		if (n != 4 || strlen(f[1]) != 16 || !parse_u64(f[1], 16, &t.hash) || !t.hash ||
		    !parse_u64(f[2], 10, &t.first_ms) || !parse_u64(f[3], 10, &t.last_ms) ||
		    t.last_ms < t.first_ms)
			return false;
		if (sink && sink->tuple)
			sink->tuple(sink->arg, &t);
		return true;
	}
	if (!strcmp(f[0], "offender")) {
		struct persist_offender o = {0};

		if (n != 6 || !parse_ip(f[1], &o.ip) || !parse_u64(f[2], 10, &o.first_ms) ||
		    !parse_u64(f[3], 10, &o.last_ms) || !parse_u64(f[4], 10, &o.expires_ms) ||
		    !parse_u64(f[5], 10, &o.reports) || o.last_ms < o.first_ms)
			return false;
		if (sink && sink->offender)
			sink->offender(sink->arg, &o);
		return true;
	}
	return false;
}

static int walk(const char *buf, size_t len, const struct persist_sink *sink, char *err,
		size_t errlen)
{
	char line[PERSIST_LINE_MAX + 1];
	size_t pos = 0, records = 0;
	int lineno = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n;

		lineno++;
		if (!nl) {
			snprintf(err, errlen, "line %d: no newline at the end (a partial write?)",
				 lineno);
			return -1;
		}
		n = (size_t)(nl - (buf + pos));
		if (n > PERSIST_LINE_MAX || memchr(buf + pos, '\0', n)) {
			snprintf(err, errlen, "line %d: over %d characters or binary", lineno,
				 PERSIST_LINE_MAX);
			return -1;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		pos += n + 1;
		if (lineno == 1) {
			if (strcmp(line, PERSIST_MAGIC)) {
				snprintf(err, errlen,
					 "line 1: not \"" PERSIST_MAGIC
					 "\"; not a state file of this mxgate");
				return -1;
			}
			continue;
		}
		if (++records > PERSIST_RECORDS_MAX) {
			snprintf(err, errlen, "more than %d records", PERSIST_RECORDS_MAX);
			return -1;
		}
		if (!record(line, sink)) {
			char shown[41];
			size_t k;

			/* The file is not trusted: show it printable, bounded. */
			for (k = 0; k < n && k + 1 < sizeof(shown); k++) {
				char ch = buf[pos - n - 1 + k];

				shown[k] = ch >= 0x20 && ch < 0x7f ? ch : '?';
			}
			shown[k] = '\0';
			snprintf(err, errlen, "line %d: not a valid record: %s", lineno, shown);
			return -1;
		}
	}
	if (!lineno) {
		snprintf(err, errlen, "empty");
		return -1;
	}
	return 0;
}

int persist_parse(const char *buf, size_t len, const struct persist_sink *sink, char *err,
		  size_t errlen)
{
	if (len > PERSIST_FILE_MAX) {
		snprintf(err, errlen, "larger than %d bytes", PERSIST_FILE_MAX);
		return -1;
	}
	if (walk(buf, len, NULL, err, errlen))
		return -1;
	return walk(buf, len, sink, err, errlen);
}

static size_t done(int n, size_t len)
{
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

size_t persist_fmt_pass(char *out, size_t len, const struct persist_pass *p)
{
	char a[MXG_ADDRSTRLEN];

	return done(snprintf(out, len, "pass %s %s %" PRIu64 " %" PRIu64 "\n",
			     mxg_ip_str(&p->ip, a, sizeof(a)),
			     p->reason == MXG_PASS_GREYLIST ? "greylist" : "recipient", p->since_ms,
			     p->expires_ms),
		    len);
}

size_t persist_fmt_tuple(char *out, size_t len, const struct persist_tuple *t)
{
	return done(snprintf(out, len, "tuple %016" PRIx64 " %" PRIu64 " %" PRIu64 "\n", t->hash,
			     t->first_ms, t->last_ms),
		    len);
}

size_t persist_fmt_offender(char *out, size_t len, const struct persist_offender *o)
{
	char a[MXG_ADDRSTRLEN];

	return done(snprintf(out, len,
			     "offender %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			     mxg_ip_str(&o->ip, a, sizeof(a)), o->first_ms, o->last_ms,
			     o->expires_ms, o->reports),
		    len);
}
