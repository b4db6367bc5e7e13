// SPDX-License-Identifier: GPL-2.0-only
/* Fleet records as Redis keys and values; see fleet_sync.h. */
#include "fleet_sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The pass reasons a remote edge may give (state/reason.h's
 * MXG_PASS_GREYLIST and MXG_PASS_RECIPIENT; fleet/ does not see state/). */
#define FLEET_REASON_MIN 1
#define FLEET_REASON_GREYLIST 1 /* the one reason an edge proves (ctl_passes.c) */
#define FLEET_REASON_MAX 2
#define FLEET_FIELDS_MAX 6

int fleet_encode(const char *prefix, const struct fleet_record *r, char *key, size_t keylen,
		 char *val, size_t vallen)
{
	char a[MXG_ADDRSTRLEN];
	int k, v;

	if (r->kind == FLEET_TUPLE) {
		mxg_ip_str(&r->ip, a, sizeof(a));
		k = snprintf(key, keylen, "%st:%016" PRIx64, prefix, r->hash);
		v = snprintf(val, vallen, "1 %" PRIx64 " %" PRIu64 " %" PRIu64 " %s", r->edge,
			     r->first_ms, r->expires_ms, a);
	} else if (r->kind == FLEET_PASS) {
		k = snprintf(key, keylen, "%sp:%s", prefix, mxg_ip_str(&r->ip, a, sizeof(a)));
		v = snprintf(val, vallen, "1 %" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %d",
			     r->edge, r->first_ms, r->expires_ms, r->n, r->proven ? 1 : 0);
	} else if (r->kind == FLEET_OFFENDER) {
		k = snprintf(key, keylen, "%so:%s", prefix, mxg_ip_str(&r->ip, a, sizeof(a)));
		v = snprintf(val, vallen,
			     "1 %" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, r->edge,
			     r->first_ms, r->last_ms, r->expires_ms, r->n);
	} else {
		return -EINVAL;
	}
	if (k < 0 || v < 0 || (size_t)k >= keylen || (size_t)v >= vallen)
		return -ENAMETOOLONG;
	return 0;
}

/* A decimal of at most 19 digits (below 2^63: times in ms, counts). */
static int dec(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	uint64_t v = 0;

	if (!n || n > 19 || s[n])
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	*out = v;
	return 0;
}

/* Exactly 1 to 16 hex digits. */
static int hex(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789abcdef");
	uint64_t v = 0;

	if (!n || n > 16 || s[n])
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v << 4 | (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
	*out = v;
	return 0;
}

/* Split buf (modified) on single spaces into at most max fields. */
static int split(char *buf, char **f, int max)
{
	int n = 0;

	for (char *p = buf;; p++) {
		if (n == max)
			return -1;
		f[n++] = p;
		p = strchr(p, ' ');
		if (!p)
			return n;
		*p = '\0';
	}
}

int fleet_decode(const char *prefix, const char *key, size_t keylen, const char *val, size_t vallen,
		 struct fleet_record *r)
{
	char k[FLEET_KEY_MAX], v[FLEET_VALUE_MAX], *f[FLEET_FIELDS_MAX + 1];
	size_t pl = strlen(prefix);
	uint64_t ver, u[4] = {0};
	const char *id;
	int nf;

	memset(r, 0, sizeof(*r));
	if (keylen >= sizeof(k) || vallen >= sizeof(v) || keylen < pl + 3 ||
	    memcmp(key, prefix, pl) || key[pl + 1] != ':' || memchr(key, '\0', keylen) ||
	    memchr(val, '\0', vallen))
		return -EINVAL;
	memcpy(k, key, keylen);
	k[keylen] = '\0';
	memcpy(v, val, vallen);
	v[vallen] = '\0';
	r->kind = (enum fleet_kind)k[pl];
	id = k + pl + 2;
	nf = split(v, f, FLEET_FIELDS_MAX + 1);
	if (nf < 2 || dec(f[0], &ver) || ver != 1 || hex(f[1], &r->edge))
		return -EINVAL;
	switch (r->kind) {
	case FLEET_TUPLE:
		if (strlen(id) != 16 || hex(id, &r->hash) || !r->hash || nf != 5 ||
		    dec(f[2], &r->first_ms) || dec(f[3], &r->expires_ms) ||
		    mxg_ip_parse(f[4], &r->ip))
			return -EINVAL;
		return 0;
	case FLEET_PASS:
	case FLEET_OFFENDER:
		if (mxg_ip_parse(id, &r->ip) || nf != 6)
			return -EINVAL;
		for (int i = 0; i < 4; i++)
			if (dec(f[2 + i], &u[i]))
				return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (r->kind == FLEET_PASS) {
		if (u[3] > 1)
			return -EINVAL;
		r->first_ms = u[0];
		r->expires_ms = u[1];
		r->n = u[2];
		r->proven = u[3] == 1;
	} else {
		r->first_ms = u[0];
		r->last_ms = u[1];
		r->expires_ms = u[2];
		r->n = u[3];
	}
	return 0;
}

int fleet_decode_msg(const char *prefix, const char *msg, size_t len, struct fleet_record *r)
{
	const char *sp = memchr(msg, ' ', len);

	if (!sp)
		return -EINVAL;
	return fleet_decode(prefix, msg, (size_t)(sp - msg), sp + 1, len - (size_t)(sp - msg) - 1,
			    r);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

bool fleet_clamp(struct fleet_record *r, const struct fleet_limits *lim, uint64_t now_ms)
{
	if (r->first_ms > now_ms)
		r->first_ms = now_ms;
	switch (r->kind) {
	case FLEET_TUPLE:
		/* A tuple lives its window from its first sighting; one seen
		 * before that is a new round (greylist.c). */
		if (now_ms - r->first_ms > lim->greylist_window_ms)
			return false;
		r->expires_ms = r->first_ms + lim->greylist_window_ms;
		return true;
	case FLEET_PASS:
		if (r->n < FLEET_REASON_MIN || r->n > FLEET_REASON_MAX)
			return false;
		/* Proven is what the other edge says its client did (retried a
		 * greylisted tuple in time); a recipient pass, which anyone can
		 * ask for, is never proven at any edge, so one claiming it is
		 * taken as unproven (docs/fleet.md, "What a shared record is
		 * trusted with"). */
		if (r->n != FLEET_REASON_GREYLIST)
			r->proven = false;
		/* Never more than this edge would give: pass_ttl from now,
		 * pass_max from the start. */
		r->expires_ms = min_u64(r->expires_ms, now_ms + lim->pass_ttl_ms);
		r->expires_ms = min_u64(r->expires_ms, r->first_ms + lim->pass_max_ms);
		return r->expires_ms > now_ms;
	case FLEET_OFFENDER:
		if (!r->n)
			return false;
		if (r->last_ms > now_ms)
			r->last_ms = now_ms;
		if (r->first_ms > r->last_ms)
			r->first_ms = r->last_ms;
		r->expires_ms = min_u64(r->expires_ms, now_ms + lim->offender_window_ms);
		return r->expires_ms > now_ms;
	}
	return false;
}

uint64_t fleet_ttl_ms(const struct fleet_record *r, uint64_t now_ms)
{
	return r->expires_ms > now_ms ? r->expires_ms - now_ms : 1;
}
