// SPDX-License-Identifier: GPL-2.0-only
/* Encoding and checking of the controller <-> responder messages; see
 * responder_wire.h for the format. */
#include "responder_wire.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"

int responder_wire_check_hdr(const struct responder_wire_hdr *h)
{
	if (h->magic != RESPONDER_MAGIC || h->version != RESPONDER_VERSION)
		return -EBADMSG;
	switch (h->type) {
	case RESPONDER_MSG_DOMAINS:
		if (h->count > MXG_MAX_DOMAINS || h->len > RESPONDER_PAYLOAD_MAX ||
		    h->len < (uint64_t)h->count * (RESPONDER_REC_FIXED + 1))
			return -EBADMSG;
		return 0;
	case RESPONDER_MSG_READY:
		return h->len <= RESPONDER_READY_TEXT_MAX ? 0 : -EBADMSG;
	case RESPONDER_MSG_COUNTS:
		return h->count == 0 && h->len == sizeof(struct responder_counts) ? 0 : -EBADMSG;
	case RESPONDER_MSG_OFFENDERS:
	case RESPONDER_MSG_FLEET_OFFENDERS:
		return h->count >= 1 && h->count <= RESPONDER_OFFENDERS_MAX &&
			       h->len == h->count * sizeof(struct responder_offender)
			   ? 0
			   : -EBADMSG;
	case RESPONDER_MSG_ACK:
		return h->count >= 1 && h->len == 0 ? 0 : -EBADMSG;
	case RESPONDER_MSG_SAME:
		return h->count == 0 && h->len == 0 ? 0 : -EBADMSG;
	case RESPONDER_MSG_TUPLES:
		return h->count >= 1 && h->count <= RESPONDER_PASSES_MAX &&
			       h->len == h->count * sizeof(struct responder_tuple)
			   ? 0
			   : -EBADMSG;
	case RESPONDER_MSG_PASSES:
		return h->count >= 1 && h->count <= RESPONDER_PASSES_MAX &&
			       h->len == h->count * sizeof(struct responder_pass)
			   ? 0
			   : -EBADMSG;
	case RESPONDER_MSG_UNSERVED:
		return h->count >= 1 && h->count <= RESPONDER_UNSERVED_MAX &&
			       h->len >= h->count * 2 && h->len <= h->count * 254
			   ? 0
			   : -EBADMSG;
	default:
		return -EBADMSG;
	}
}

static size_t name_len(const char *s, size_t max)
{
	return s ? strnlen(s, max) : 0;
}

int responder_wire_encode(const struct responder_domain *d, size_t n, uint8_t **buf, size_t *len)
{
	struct responder_wire_hdr h = {RESPONDER_MAGIC, RESPONDER_VERSION, RESPONDER_MSG_DOMAINS,
				       (uint32_t)n, 0};
	size_t total = sizeof(h);
	uint8_t *p, *w;

	if (n > MXG_MAX_DOMAINS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		size_t nl = name_len(d[i].name, 254);
		size_t pl = name_len(d[i].primary, 254);
		size_t tl = name_len(d[i].reply_text, MXG_REPLY_TEXT_MAX);

		if (!nl || nl > 253 || pl > 253 || tl >= MXG_REPLY_TEXT_MAX)
			return -EINVAL;
		total += RESPONDER_REC_FIXED + nl + pl + tl;
	}
	p = malloc(total);
	if (!p)
		return -ENOMEM;
	h.len = (uint32_t)(total - sizeof(h));
	memcpy(p, &h, sizeof(h));
	w = p + sizeof(h);
	for (size_t i = 0; i < n; i++) {
		size_t nl = name_len(d[i].name, 254);
		size_t pl = name_len(d[i].primary, 254);
		uint16_t tl = (uint16_t)name_len(d[i].reply_text, MXG_REPLY_TEXT_MAX);

		*w++ = d[i].state;
		*w++ = d[i].reply;
		*w++ = (uint8_t)nl;
		*w++ = (uint8_t)pl;
		memcpy(w, &tl, 2);
		w += 2;
		memcpy(w, d[i].name, nl);
		w += nl;
		if (pl)
			memcpy(w, d[i].primary, pl);
		w += pl;
		if (tl)
			memcpy(w, d[i].reply_text, tl);
		w += tl;
	}
	*buf = p;
	*len = total;
	return 0;
}

int responder_wire_build_add(struct responder_wire_builder *b, const struct responder_domain *d)
{
	size_t nl = name_len(d->name, 254), pl = name_len(d->primary, 254);
	uint16_t tl = (uint16_t)name_len(d->reply_text, MXG_REPLY_TEXT_MAX);
	size_t need = RESPONDER_REC_FIXED + nl + pl + tl;
	uint8_t *w;

	if (!nl || nl > 253 || pl > 253 || tl >= MXG_REPLY_TEXT_MAX)
		return -EINVAL;
	if (b->n >= MXG_MAX_DOMAINS)
		return -E2BIG;
	if (!b->len)
		b->len = sizeof(struct responder_wire_hdr); /* written at the end */
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		uint8_t *p;

		while (b->len + need > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	w = b->p + b->len;
	*w++ = d->state;
	*w++ = d->reply;
	*w++ = (uint8_t)nl;
	*w++ = (uint8_t)pl;
	memcpy(w, &tl, 2);
	w += 2;
	memcpy(w, d->name, nl);
	w += nl;
	if (pl)
		memcpy(w, d->primary, pl);
	w += pl;
	if (tl)
		memcpy(w, d->reply_text, tl);
	b->len += need;
	b->n++;
	return 0;
}

int responder_wire_build_end(struct responder_wire_builder *b, uint8_t **buf, size_t *len)
{
	struct responder_wire_hdr h = {RESPONDER_MAGIC, RESPONDER_VERSION, RESPONDER_MSG_DOMAINS,
				       b->n, 0};

	if (!b->len) { /* no record: the header alone */
		b->p = malloc(sizeof(h));
		b->len = b->p ? sizeof(h) : 0;
	}
	if (b->p) {
		h.len = (uint32_t)(b->len - sizeof(h));
		memcpy(b->p, &h, sizeof(h));
	}
	*buf = b->p;
	*len = b->len;
	*b = (struct responder_wire_builder){0};
	return *buf ? 0 : -ENOMEM;
}

void responder_wire_build_free(struct responder_wire_builder *b)
{
	free(b->p);
	*b = (struct responder_wire_builder){0};
}

/* Copy a printable field into dst (size > n), NUL-terminated. */
static int copy_field(char *dst, const uint8_t *src, size_t n, bool lower)
{
	for (size_t i = 0; i < n; i++) {
		if (src[i] < 0x20 || src[i] >= 0x7f)
			return -EBADMSG;
		dst[i] = lower ? (char)tolower(src[i]) : (char)src[i];
	}
	dst[n] = '\0';
	return 0;
}

static int domain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct responder_domain *)a)->name,
		      ((const struct responder_domain *)b)->name);
}

/*
 * One allocation: count records, then the strings they point to, each
 * NUL-terminated (at most len + 3 x count octets). A reply text equal to
 * the previous record's is shared (the controller sends the global one
 * with every domain).
 */
int responder_wire_decode(const uint8_t *p, size_t len, uint32_t count,
			  struct responder_domain **out)
{
	struct responder_domain *t;
	const char *last_text = NULL;
	size_t off = 0, last_tl = 0;
	char *arena;
	int err = -EBADMSG;

	*out = NULL;
	if (count > MXG_MAX_DOMAINS || len > RESPONDER_PAYLOAD_MAX)
		return -EBADMSG;
	t = malloc((count ? count : 1) * sizeof(*t) + len + 3 * (size_t)count + 1);
	if (!t)
		return -ENOMEM;
	arena = (char *)(t + (count ? count : 1));
	for (uint32_t i = 0; i < count; i++) {
		uint8_t nl, pl;
		uint16_t tl;
		char *name;

		if (len - off < RESPONDER_REC_FIXED)
			goto out;
		t[i].state = p[off];
		t[i].reply = p[off + 1];
		nl = p[off + 2];
		pl = p[off + 3];
		memcpy(&tl, p + off + 4, 2);
		off += RESPONDER_REC_FIXED;
		if (t[i].state > MXG_DOMAIN_GATED || t[i].reply > MXG_REPLY_GREYLIST || !nl ||
		    nl > 253 || pl > 253 || tl >= MXG_REPLY_TEXT_MAX ||
		    len - off < (size_t)nl + pl + tl)
			goto out;
		name = arena;
		if (copy_field(name, p + off, nl, true) < 0)
			goto out;
		arena += nl + 1;
		if (nl > 1 && name[nl - 1] == '.')
			name[nl - 1] = '\0';
		t[i].name = name;
		t[i].primary = arena;
		if (copy_field(arena, p + off + nl, pl, false) < 0)
			goto out;
		arena += pl + 1;
		if (last_text && tl == last_tl && !memcmp(last_text, p + off + nl + pl, tl)) {
			t[i].reply_text = last_text;
		} else {
			if (copy_field(arena, p + off + nl + pl, tl, false) < 0)
				goto out;
			t[i].reply_text = last_text = arena;
			last_tl = tl;
			arena += tl + 1;
		}
		off += (size_t)nl + pl + tl;
	}
	if (off != len)
		goto out;
	/* The controller sends its domains sorted by name: checking that is
	 * linear, sorting 100,000 records was most of this decode's 60 ms
	 * (and its scratch copy 3 MB of fresh pages). Any other order is
	 * sorted here. */
	for (uint32_t i = 1; i < count; i++)
		if (strcmp(t[i - 1].name, t[i].name) > 0) {
			qsort(t, count, sizeof(*t), domain_cmp);
			break;
		}
	*out = t;
	err = 0;
out:
	if (err)
		free(t);
	return err;
}

const char *responder_code_str(enum responder_code c)
{
	static const char *const names[RESPONDER_CODES] = {
	    [RESPONDER_CODE_551] = "551",     [RESPONDER_CODE_451] = "451",
	    [RESPONDER_CODE_550] = "550",     [RESPONDER_CODE_421] = "421",
	    [RESPONDER_CODE_OTHER] = "other",
	};

	return (unsigned)c < RESPONDER_CODES ? names[c] : "other";
}

const char *responder_ho_fail_str(enum responder_ho_fail f)
{
	static const char *const names[RESPONDER_HO_FAILS] = {
	    [RESPONDER_HO_CONNECT] = "connect",	  [RESPONDER_HO_TIMEOUT] = "timeout",
	    [RESPONDER_HO_PROTOCOL] = "protocol", [RESPONDER_HO_CLOSED] = "closed",
	    [RESPONDER_HO_LIMIT] = "limit",	  [RESPONDER_HO_COPY] = "copy",
	};

	return (unsigned)f < RESPONDER_HO_FAILS ? names[f] : "closed";
}

enum responder_code responder_code_of(int smtp_code)
{
	switch (smtp_code) {
	case 551:
		return RESPONDER_CODE_551;
	case 451:
		return RESPONDER_CODE_451;
	case 550:
		return RESPONDER_CODE_550;
	case 421:
		return RESPONDER_CODE_421;
	}
	return RESPONDER_CODE_OTHER;
}

static int encode(uint16_t type, uint32_t count, const void *p, size_t plen, uint8_t *buf,
		  size_t len)
{
	struct responder_wire_hdr h = {RESPONDER_MAGIC, RESPONDER_VERSION, type, count,
				       (uint32_t)plen};

	if (len < sizeof(h) + plen)
		return -E2BIG;
	memcpy(buf, &h, sizeof(h));
	if (plen)
		memcpy(buf + sizeof(h), p, plen);
	return (int)(sizeof(h) + plen);
}

int responder_wire_encode_counts(const struct responder_counts *c, uint8_t *buf, size_t len)
{
	return encode(RESPONDER_MSG_COUNTS, 0, c, sizeof(*c), buf, len);
}

int responder_wire_encode_offenders(const struct responder_offender *o, size_t n, uint8_t *buf,
				    size_t len)
{
	if (!n || n > RESPONDER_OFFENDERS_MAX)
		return -E2BIG;
	return encode(RESPONDER_MSG_OFFENDERS, (uint32_t)n, o, n * sizeof(*o), buf, len);
}

int responder_wire_encode_ack(uint32_t seq, uint8_t *buf, size_t len)
{
	if (!seq)
		return -EINVAL;
	return encode(RESPONDER_MSG_ACK, seq, NULL, 0, buf, len);
}

int responder_wire_encode_same(uint8_t *buf, size_t len)
{
	return encode(RESPONDER_MSG_SAME, 0, NULL, 0, buf, len);
}

#define OFFENDER_CLOCK_SLACK_MS 5000 /* when_ms may lead our clock by this */

int responder_wire_offender(const struct responder_offender *o, uint64_t now_ms, struct mxg_ip *ip)
{
	static const uint8_t zero[16];

	if (memcmp(o->pad, zero, sizeof(o->pad)) || o->when_ms > now_ms + OFFENDER_CLOCK_SLACK_MS)
		return -EBADMSG;
	memset(ip, 0, sizeof(*ip));
	if (o->family == 4) {
		if (memcmp(o->addr + 4, zero, 12))
			return -EBADMSG;
		ip->family = AF_INET;
		memcpy(&ip->v4, o->addr, 4);
		return 0;
	}
	if (o->family == 6) {
		ip->family = AF_INET6;
		memcpy(&ip->v6, o->addr, 16);
		return 0;
	}
	return -EBADMSG;
}

int responder_wire_encode_fleet_offenders(const struct responder_offender *o, size_t n,
					  uint8_t *buf, size_t len)
{
	if (!n || n > RESPONDER_OFFENDERS_MAX)
		return -E2BIG;
	return encode(RESPONDER_MSG_FLEET_OFFENDERS, (uint32_t)n, o, n * sizeof(*o), buf, len);
}

int responder_wire_fleet_offender(const struct responder_offender *o, struct mxg_ip *ip)
{
	struct responder_offender c = *o;

	c.when_ms = 0; /* an end, not a report: any time is one */
	return responder_wire_offender(&c, 0, ip);
}

int responder_wire_encode_passes(const struct responder_pass *p, size_t n, uint8_t *buf, size_t len)
{
	if (!n || n > RESPONDER_PASSES_MAX)
		return -E2BIG;
	return encode(RESPONDER_MSG_PASSES, (uint32_t)n, p, n * sizeof(*p), buf, len);
}

int responder_wire_pass(const struct responder_pass *p, uint64_t now_ms, struct mxg_ip *ip)
{
	struct responder_offender o = {.when_ms = p->when_ms, .family = p->family};
	static const uint8_t zero[6];

	if (memcmp(p->pad, zero, sizeof(p->pad)) ||
	    (p->reason != MXG_PASS_GREYLIST && p->reason != MXG_PASS_RECIPIENT))
		return -EBADMSG;
	memcpy(o.addr, p->addr, sizeof(o.addr));
	return responder_wire_offender(&o, now_ms, ip);
}

int responder_wire_encode_tuples(const struct responder_tuple *t, size_t n, uint8_t *buf,
				 size_t len)
{
	if (!n || n > RESPONDER_PASSES_MAX)
		return -E2BIG;
	return encode(RESPONDER_MSG_TUPLES, (uint32_t)n, t, n * sizeof(*t), buf, len);
}

int responder_wire_tuple(const struct responder_tuple *t, uint64_t now_ms, struct mxg_ip *ip)
{
	struct responder_offender o = {.when_ms = t->when_ms, .family = t->family};
	static const uint8_t zero[7];

	if (memcmp(t->pad, zero, sizeof(t->pad)) || !t->hash)
		return -EBADMSG;
	memcpy(o.addr, t->addr, sizeof(o.addr));
	return responder_wire_offender(&o, now_ms, ip);
}

int responder_wire_encode_unserved(const char (*names)[254], size_t n, uint8_t *buf, size_t len)
{
	struct responder_wire_hdr h = {RESPONDER_MAGIC, RESPONDER_VERSION, RESPONDER_MSG_UNSERVED,
				       (uint32_t)n, 0};
	size_t total = sizeof(h);

	if (n < 1 || n > RESPONDER_UNSERVED_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		size_t l = strnlen(names[i], 254);

		if (!l || l > 253)
			return -EINVAL;
		h.len += (uint32_t)(1 + l);
	}
	total += h.len;
	if (total > len)
		return -E2BIG;
	memcpy(buf, &h, sizeof(h));
	buf += sizeof(h);
	for (size_t i = 0; i < n; i++) {
		size_t l = strnlen(names[i], 254);

		*buf++ = (uint8_t)l;
		memcpy(buf, names[i], l);
		buf += l;
	}
	return (int)total;
}

int responder_wire_unserved_next(const uint8_t *p, size_t len, char out[254])
{
	size_t l;

	if (!len)
		return 0;
	l = p[0];
	if (!l || l > 253 || 1 + l > len)
		return -EBADMSG;
	for (size_t i = 0; i < l; i++)
		if (p[1 + i] <= ' ' || p[1 + i] >= 0x7f)
			return -EBADMSG;
	memcpy(out, p + 1, l);
	out[l] = '\0';
	return (int)(1 + l);
}
