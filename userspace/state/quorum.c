// SPDX-License-Identifier: GPL-2.0-only
/*
 * The quorum of vantage points, pure (quorum.h says what and why). A read
 * of the other edges' verdicts is gathered into an array, sorted and merged
 * per address at commit, and looked up by bsearch: the state machine asks
 * once per primary address of each domain it would gate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"

bool qv_edge_id_ok(const char *id)
{
	size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");

	return n > 0 && !id[n] && n < QUORUM_EDGE_ID_MAX;
}

int qv_init(struct quorum_view *v, const char *self, uint64_t max_age_ms)
{
	memset(v, 0, sizeof(*v));
	if (!qv_edge_id_ok(self))
		return -EINVAL;
	strcpy(v->self, self);
	v->max_age_ms = max_age_ms;
	return 0;
}

void qv_free(struct quorum_view *v)
{
	free(v->addrs);
	free(v->next);
	v->addrs = v->next = NULL;
	v->n_addrs = v->n_next = v->cap_next = 0;
}

void qv_begin(struct quorum_view *v)
{
	/* Bits are numbered per read: an edge that left the fleet frees its
	 * bit (the committed view's bits are only ever counted, never named). */
	v->n_next = 0;
	v->n_edges = 0;
}

/* The edge's bit, adding it; -1 when the table is full. */
static int edge_index(struct quorum_view *v, const char *edge)
{
	for (size_t i = 0; i < v->n_edges; i++)
		if (!strcmp(v->edges[i], edge))
			return (int)i;
	if (v->n_edges == QUORUM_EDGES_MAX)
		return -1;
	strcpy(v->edges[v->n_edges], edge);
	return (int)v->n_edges++;
}

static bool fresh(const struct quorum_view *v, int64_t t_ms, int64_t now_ms)
{
	int64_t age = now_ms - t_ms;

	return age <= (int64_t)v->max_age_ms && age >= -(int64_t)v->max_age_ms;
}

int qv_add(struct quorum_view *v, const struct mxg_ip *ip, const char *edge, bool up, int64_t t_ms,
	   int64_t now_ms)
{
	int bit;

	if (!qv_edge_id_ok(edge) || !fresh(v, t_ms, now_ms)) {
		v->refused++;
		return 0;
	}
	if (!strcmp(edge, v->self))
		return 0;
	bit = edge_index(v, edge);
	if (bit < 0 || (up && v->n_next == QUORUM_ADDRS_MAX)) {
		v->refused++;
		return 0;
	}
	if (!up)
		return 0;
	if (v->n_next == v->cap_next) {
		size_t cap = v->cap_next ? v->cap_next * 2 : 256;
		struct qv_addr *n = reallocarray(v->next, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->next = n;
		v->cap_next = cap;
	}
	v->next[v->n_next].ip = *ip;
	v->next[v->n_next].up = 1ULL << bit;
	v->n_next++;
	return 1;
}

static int addr_cmp(const void *a, const void *b)
{
	const struct qv_addr *x = a, *y = b;

	return mxg_ip_cmp(&x->ip, &y->ip);
}

void qv_commit(struct quorum_view *v, uint64_t now_ms)
{
	struct qv_addr *t;
	size_t n = 0, cap;

	if (v->n_next > 1)
		qsort(v->next, v->n_next, sizeof(*v->next), addr_cmp);
	/* One entry per address: the bits of every edge that saw it up. */
	for (size_t i = 0; i < v->n_next; i++) {
		if (n && !mxg_ip_cmp(&v->next[n - 1].ip, &v->next[i].ip))
			v->next[n - 1].up |= v->next[i].up;
		else
			v->next[n++] = v->next[i];
	}
	/* The read becomes the view; the old array is reused for the next. */
	t = v->addrs;
	cap = v->n_addrs;
	v->addrs = v->next;
	v->n_addrs = n;
	v->next = t;
	v->n_next = 0;
	v->cap_next = t ? cap : 0;
	v->n_edges_read = v->n_edges;
	v->read_ok = true;
	v->read_ms = now_ms;
}

bool qv_verified(const struct quorum_view *v, uint64_t now_ms)
{
	/* A read that completed after now_ms (a round's results fed after
	 * it) is as recent as can be. */
	return v->read_ok && (now_ms < v->read_ms || now_ms - v->read_ms <= v->max_age_ms);
}

uint64_t qv_up_edges(const struct quorum_view *v, const struct mxg_ip *ip)
{
	struct qv_addr key = {.ip = *ip};
	const struct qv_addr *a;

	if (!v->n_addrs)
		return 0;
	a = bsearch(&key, v->addrs, v->n_addrs, sizeof(*v->addrs), addr_cmp);
	return a ? a->up : 0;
}

enum quorum_result quorum_decide(const struct quorum_view *v, unsigned quorum, uint64_t others_up,
				 uint64_t now_ms)
{
	if (quorum <= 1)
		return QUORUM_MET;
	if (!v || !qv_verified(v, now_ms))
		return QUORUM_UNVERIFIED;
	/* This edge, plus each other edge that saw a primary up. */
	return 1 + (unsigned)__builtin_popcountll(others_up) >= quorum ? QUORUM_MET
								       : QUORUM_NOT_MET;
}

int quorum_key(const char *prefix, const char *edge, const struct mxg_ip *ip, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (!mxg_ip_str(ip, a, sizeof(a)))
		return -EINVAL;
	n = snprintf(buf, len, "%sq:%s:%s", prefix, edge, a);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int quorum_edges_key(const char *prefix, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%sqedges", prefix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int quorum_value(bool up, int64_t t_ms, char *buf, size_t len)
{
	int n = snprintf(buf, len, "1 %lld %d", (long long)t_ms, up ? 1 : 0);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Digits only, no sign, no leading zero, at most 15 (a wall-clock ms for
 * the next 30,000 years): anything else is not ours. */
static int parse_ms(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;

	if (!n || n > 15 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int quorum_decode(const char *prefix, const char *key, size_t keylen, const char *val,
		  size_t vallen, char *edge, struct mxg_ip *ip, bool *up, int64_t *t_ms)
{
	size_t pl = strlen(prefix), el;
	char a[INET6_ADDRSTRLEN];
	const char *e, *colon;

	if (keylen < pl + 2 || memcmp(key, prefix, pl) || memcmp(key + pl, "q:", 2))
		return -EINVAL;
	e = key + pl + 2;
	colon = memchr(e, ':', keylen - pl - 2);
	if (!colon)
		return -EINVAL;
	el = (size_t)(colon - e);
	if (!el || el >= QUORUM_EDGE_ID_MAX)
		return -EINVAL;
	memcpy(edge, e, el);
	edge[el] = '\0';
	if (!qv_edge_id_ok(edge))
		return -EINVAL;
	if ((size_t)(key + keylen - colon - 1) >= sizeof(a) || key + keylen == colon + 1)
		return -EINVAL;
	memcpy(a, colon + 1, (size_t)(key + keylen - colon - 1));
	a[key + keylen - colon - 1] = '\0';
	if (mxg_ip_parse(a, ip))
		return -EINVAL;

	return quorum_value_decode(val, vallen, up, t_ms);
}

int quorum_value_decode(const char *val, size_t vallen, bool *up, int64_t *t_ms)
{
	const char *sp;

	/* "1 T U" exactly. */
	if (vallen < 5 || memcmp(val, "1 ", 2))
		return -EINVAL;
	sp = memchr(val + 2, ' ', vallen - 2);
	if (!sp || val + vallen - sp != 2 || (sp[1] != '0' && sp[1] != '1'))
		return -EINVAL;
	if (parse_ms(val + 2, (size_t)(sp - val - 2), t_ms))
		return -EINVAL;
	*up = sp[1] == '1';
	return 0;
}

int quorum_edge_decode(const char *member, size_t mlen, const char *score, size_t slen, char *edge,
		       int64_t *t_ms)
{
	/* Redis prints an integral score as its digits. */
	if (!mlen || mlen >= QUORUM_EDGE_ID_MAX || parse_ms(score, slen, t_ms) || !*t_ms)
		return -EINVAL;
	memcpy(edge, member, mlen);
	edge[mlen] = '\0';
	return qv_edge_id_ok(edge) ? 0 : -EINVAL;
}
