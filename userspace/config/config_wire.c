// SPDX-License-Identifier: GPL-2.0-only
/*
 * A loaded config as bytes and back (config_wire.h): what a reload's
 * helper process sends the controller. Both ends are the same build of
 * mxgated, so the struct goes as it is, with its pointers replaced by
 * what they point to; the reader still checks every count and length.
 */
#include "config_wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_MAGIC "MXGCFG1"	/* with its NUL: 8 octets */
#define WIRE_END 0x454e4431u	/* "END1" */
#define WIRE_NO_TEXT UINT32_MAX /* a domain without its own reply text */
enum { WIRE_CONFIG = 0, WIRE_ERROR = 1 };

struct wbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void wput(struct wbuf *w, const void *src, size_t n)
{
	if (w->oom)
		return;
	if (w->cap - w->len < n) {
		size_t cap = w->cap ? w->cap : 4096;
		char *p;

		while (cap - w->len < n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void wput_u32(struct wbuf *w, uint32_t v)
{
	wput(w, &v, sizeof(v));
}

static int wdone(struct wbuf *w, char **out, size_t *outlen)
{
	wput_u32(w, WIRE_END);
	if (w->oom) {
		free(w->p);
		return -ENOMEM;
	}
	*out = w->p;
	*outlen = w->len;
	return 0;
}

int config_pack(const struct mxg_config *cfg, char **out, size_t *outlen)
{
	struct wbuf w = {0};
	struct mxg_config flat = *cfg;

	flat.domains = NULL;
	flat.final_domains = NULL;
	wput(&w, WIRE_MAGIC, sizeof(WIRE_MAGIC));
	wput_u32(&w, WIRE_CONFIG);
	wput(&w, &flat, sizeof(flat));
	for (size_t i = 0; i < cfg->n_domains; i++) {
		struct mxg_domain_config d = cfg->domains[i];

		d.reply_text = NULL;
		wput(&w, &d, sizeof(d));
	}
	for (size_t i = 0; i < cfg->n_domains; i++) {
		const char *t = cfg->domains[i].reply_text;

		wput_u32(&w, t ? (uint32_t)strlen(t) : WIRE_NO_TEXT);
		if (t)
			wput(&w, t, strlen(t));
	}
	if (cfg->n_final_domains)
		wput(&w, cfg->final_domains, cfg->n_final_domains * sizeof(*cfg->final_domains));
	return wdone(&w, out, outlen);
}

int config_pack_error(const char *err, char **out, size_t *outlen)
{
	struct wbuf w = {0};
	size_t n = strnlen(err, 1023);

	wput(&w, WIRE_MAGIC, sizeof(WIRE_MAGIC));
	wput_u32(&w, WIRE_ERROR);
	wput_u32(&w, (uint32_t)n);
	wput(&w, err, n);
	return wdone(&w, out, outlen);
}

struct rbuf {
	const char *p;
	size_t left;
};

static bool rget(struct rbuf *r, void *dst, size_t n)
{
	if (r->left < n)
		return false;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static bool rget_u32(struct rbuf *r, uint32_t *v)
{
	return rget(r, v, sizeof(*v));
}

/* The fixed arrays' counts within their arrays. */
static bool counts_fit(const struct mxg_config *c)
{
	return c->n_self <= MXG_MAX_SELF && c->n_addresses <= MXG_MAX_ADDRESSES &&
	       c->n_interfaces <= MXG_MAX_INTERFACES && c->n_pass_clients <= MXG_MAX_PASS_CLIENTS &&
	       c->n_pass_recipients <= MXG_MAX_PASS_RECIPIENTS &&
	       c->n_domains <= config_max_domains && c->n_final_domains <= config_max_domains;
}

/* An answer that is not a whole packed config: cfg freed and zeroed. */
static int malformed(const struct config_unpacker *u, struct mxg_config *cfg, char *err,
		     size_t errlen)
{
	config_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
	snprintf(err, errlen, "the reload helper's answer (%zu octets) is incomplete or malformed",
		 u->len);
	return -1;
}

static int out_of_memory(struct mxg_config *cfg, char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	config_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
	return -1;
}

int config_unpack_begin(struct config_unpacker *u, const char *buf, size_t len,
			struct mxg_config *cfg, char *err, size_t errlen)
{
	struct rbuf r = {buf, len};
	char magic[sizeof(WIRE_MAGIC)];
	uint32_t kind, n, end;

	memset(u, 0, sizeof(*u));
	u->len = len;
	memset(cfg, 0, sizeof(*cfg));
	if (!rget(&r, magic, sizeof(magic)) || memcmp(magic, WIRE_MAGIC, sizeof(magic)) ||
	    !rget_u32(&r, &kind))
		return malformed(u, cfg, err, errlen);
	if (kind == WIRE_ERROR) {
		if (!rget_u32(&r, &n) || n > r.left || n >= errlen)
			return malformed(u, cfg, err, errlen);
		memcpy(err, r.p, n);
		err[n] = '\0';
		r.p += n;
		r.left -= n;
		if (!rget_u32(&r, &end) || end != WIRE_END || r.left)
			return malformed(u, cfg, err, errlen);
		return 1;
	}
	if (kind != WIRE_CONFIG || !rget(&r, cfg, sizeof(*cfg))) {
		memset(cfg, 0, sizeof(*cfg));
		return malformed(u, cfg, err, errlen);
	}
	cfg->domains = NULL;
	cfg->final_domains = NULL;
	if (!counts_fit(cfg) || r.left / sizeof(*cfg->domains) < cfg->n_domains)
		return malformed(u, cfg, err, errlen);
	/* calloc of this size maps zero pages: the copy in steps is what
	 * faults them in, a step at a time. */
	cfg->domains = calloc(cfg->n_domains ? cfg->n_domains : 1, sizeof(*cfg->domains));
	if (!cfg->domains)
		return out_of_memory(cfg, err, errlen);
	u->p = r.p;
	u->left = r.left;
	return 0;
}

/* After the last domain: the reply texts, the final domains, the end. */
static int unpack_rest(struct config_unpacker *u, struct mxg_config *cfg, char *err, size_t errlen)
{
	struct rbuf r = {u->p, u->left};
	uint32_t n, end;

	for (size_t i = 0; i < cfg->n_domains; i++) {
		char *t;

		if (!rget_u32(&r, &n))
			return malformed(u, cfg, err, errlen);
		if (n == WIRE_NO_TEXT)
			continue;
		if (n >= MXG_REPLY_TEXT_MAX || n > r.left)
			return malformed(u, cfg, err, errlen);
		t = malloc(n + 1);
		if (!t)
			return out_of_memory(cfg, err, errlen);
		rget(&r, t, n);
		t[n] = '\0';
		cfg->domains[i].reply_text = t;
	}
	if (cfg->n_final_domains) {
		if (r.left / sizeof(*cfg->final_domains) < cfg->n_final_domains)
			return malformed(u, cfg, err, errlen);
		cfg->final_domains = calloc(cfg->n_final_domains, sizeof(*cfg->final_domains));
		if (!cfg->final_domains)
			return out_of_memory(cfg, err, errlen);
		rget(&r, cfg->final_domains, cfg->n_final_domains * sizeof(*cfg->final_domains));
	}
	if (!rget_u32(&r, &end) || end != WIRE_END || r.left)
		return malformed(u, cfg, err, errlen);
	return 0;
}

int config_unpack_more(struct config_unpacker *u, struct mxg_config *cfg, size_t max, char *err,
		       size_t errlen)
{
	struct rbuf r = {u->p, u->left};
	size_t n = cfg->n_domains - u->next < max ? cfg->n_domains - u->next : max;

	/* begin checked that every domain is in the buffer. */
	rget(&r, cfg->domains + u->next, n * sizeof(*cfg->domains));
	for (size_t i = u->next; i < u->next + n; i++) {
		cfg->domains[i].reply_text = NULL;
		cfg->domains[i].name[MXG_NAME_MAX - 1] = '\0';
	}
	u->next += n;
	u->p = r.p;
	u->left = r.left;
	if (u->next < cfg->n_domains)
		return 1;
	return unpack_rest(u, cfg, err, errlen);
}

int config_unpack(const char *buf, size_t len, struct mxg_config *cfg, char *err, size_t errlen)
{
	struct config_unpacker u;
	int r = config_unpack_begin(&u, buf, len, cfg, err, errlen);

	while (!r && (r = config_unpack_more(&u, cfg, SIZE_MAX, err, errlen)) == 1)
		;
	return r;
}
