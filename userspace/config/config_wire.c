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

int config_unpack(const char *buf, size_t len, struct mxg_config *cfg, char *err, size_t errlen)
{
	struct rbuf r = {buf, len};
	char magic[sizeof(WIRE_MAGIC)];
	uint32_t kind, n, end;

	memset(cfg, 0, sizeof(*cfg));
	if (!rget(&r, magic, sizeof(magic)) || memcmp(magic, WIRE_MAGIC, sizeof(magic)) ||
	    !rget_u32(&r, &kind))
		goto short_read;
	if (kind == WIRE_ERROR) {
		if (!rget_u32(&r, &n) || n > r.left || n >= errlen)
			goto short_read;
		memcpy(err, r.p, n);
		err[n] = '\0';
		r.p += n;
		r.left -= n;
		if (!rget_u32(&r, &end) || end != WIRE_END || r.left)
			goto short_read;
		return 1;
	}
	if (kind != WIRE_CONFIG || !rget(&r, cfg, sizeof(*cfg)))
		goto short_read;
	cfg->domains = NULL;
	cfg->final_domains = NULL;
	if (!counts_fit(cfg) || r.left / sizeof(*cfg->domains) < cfg->n_domains)
		goto bad;
	cfg->domains = calloc(cfg->n_domains ? cfg->n_domains : 1, sizeof(*cfg->domains));
	if (!cfg->domains)
		goto oom;
	if (!rget(&r, cfg->domains, cfg->n_domains * sizeof(*cfg->domains)))
		goto bad;
	for (size_t i = 0; i < cfg->n_domains; i++) {
		cfg->domains[i].reply_text = NULL;
		cfg->domains[i].name[MXG_NAME_MAX - 1] = '\0';
	}
	for (size_t i = 0; i < cfg->n_domains; i++) {
		char *t;

		if (!rget_u32(&r, &n))
			goto bad;
		if (n == WIRE_NO_TEXT)
			continue;
		if (n >= MXG_REPLY_TEXT_MAX || n > r.left)
			goto bad;
		t = malloc(n + 1);
		if (!t)
			goto oom;
		rget(&r, t, n);
		t[n] = '\0';
		cfg->domains[i].reply_text = t;
	}
	if (cfg->n_final_domains) {
		if (r.left / sizeof(*cfg->final_domains) < cfg->n_final_domains)
			goto bad;
		cfg->final_domains = calloc(cfg->n_final_domains, sizeof(*cfg->final_domains));
		if (!cfg->final_domains)
			goto oom;
		rget(&r, cfg->final_domains, cfg->n_final_domains * sizeof(*cfg->final_domains));
	}
	if (!rget_u32(&r, &end) || end != WIRE_END || r.left)
		goto bad;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	config_free(cfg);
	return -1;
bad:
	config_free(cfg);
short_read:
	memset(cfg, 0, sizeof(*cfg));
	snprintf(err, errlen, "the reload helper's answer (%zu octets) is incomplete or malformed",
		 len);
	return -1;
}
