// SPDX-License-Identifier: GPL-2.0-only
/*
 * Passes and pass_clients in table inet mxgate (own mode of the nft gate).
 *
 * A pass is an element of pass4/pass6 whose timeout is the pass's
 * remaining life: the kernel expires it by itself, like the tc backend's
 * passes map, so a controller that stops leaves nobody passed for long.
 * Before Linux 6.12 adding an existing element does not renew its
 * timeout, so a renewal is add + delete + add in one batch (the first add
 * makes the delete safe when the element is not there).
 *
 * pass_clients go into the interval sets passnet4/passnet6 as ranges
 * (start, end + 1 flagged INTERVAL_END), sorted and merged first: the
 * kernel refuses overlapping ranges, and a configuration may list
 * 10.0.0.0/8 next to 10.1.0.0/16.
 */
#include "nft_pass.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nft_batch.h"
#include "nft_own.h"

#define RANGES_PER_MSG 64 /* 128 elements: a message stays far below 8 KiB */

/* One NEWSETELEM or DELSETELEM for one address of set name. */
static int batch_one(struct nft_conn *c, struct nft_batch *b, const char *name,
		     const struct mxg_ip *ip, uint16_t type, uint64_t timeout_ms, const char *what)
{
	struct nftnl_set *s = nft_elems_new(OWN_TABLE, name);
	int ret;

	if (!s)
		return -ENOMEM;
	ret = nft_elems_add_ip(s, ip, NULL, 0, timeout_ms);
	if (!ret)
		ret = nft_batch_elems(c, b, type, NFPROTO_INET, s, what);
	nftnl_set_free(s);
	return ret;
}

int nft_pass_set(struct nft_async *a, const struct mxg_ip *ip, uint64_t timeout_ms, char *err,
		 size_t errlen)
{
	struct nft_conn *c = &a->conn;
	const char *name = ip->family == AF_INET ? OWN_PASS "4" : OWN_PASS "6";
	struct nft_batch b;
	int ret;

	ret = nft_batch_start(c, &b);
	if (ret)
		return ret;
	/* The first add needs a timeout too: a pass that is being removed must
	 * not stay forever if only that message got through (it cannot: the
	 * batch is atomic, but never write an element without one). */
	if ((ret =
		 batch_one(c, &b, name, ip, NFT_MSG_NEWSETELEM, timeout_ms ?: 1000, "add pass")) ||
	    (ret = batch_one(c, &b, name, ip, NFT_MSG_DELSETELEM, 0, "delete old pass")) ||
	    (timeout_ms &&
	     (ret = batch_one(c, &b, name, ip, NFT_MSG_NEWSETELEM, timeout_ms, "add pass")))) {
		nft_batch_free(&b);
		snprintf(err, errlen, "cannot build the batch: %s", strerror(-ret));
		return ret;
	}
	return nft_batch_send(a, &b, "pass", err, errlen);
}

/* ---- pass_clients ---- */

struct range {
	uint8_t lo[16], hi[16]; /* inclusive, network order */
};

static size_t key_len;

static int cmp_range(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->lo, ((const struct range *)b)->lo, key_len);
}

/* x + 1; false when it wraps (x was all ones). */
static bool inc(uint8_t *x, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++x[i])
			return true;
	return false;
}

static void net_range(const struct mxg_net *n, size_t len, struct range *r)
{
	memcpy(r->lo, n->ip.family == AF_INET ? (const void *)&n->ip.v4 : (const void *)&n->ip.v6,
	       len);
	for (size_t i = 0; i < len; i++) {
		unsigned bits = n->prefix > i * 8 ? n->prefix - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);

		r->lo[i] &= mask;
		r->hi[i] = r->lo[i] | (uint8_t)~mask;
	}
}

/* Sorted, merged ranges of one family; returns how many. */
static size_t ranges_of(const struct mxg_net *nets, size_t n, int af, struct range *out)
{
	size_t len = af == AF_INET ? 4 : 16, m = 0;

	for (size_t i = 0; i < n; i++)
		if (nets[i].ip.family == af)
			net_range(&nets[i], len, &out[m++]);
	key_len = len;
	qsort(out, m, sizeof(out[0]), cmp_range);
	size_t k = 0;

	for (size_t i = 0; i < m; i++) {
		uint8_t next[16];

		if (k) {
			memcpy(next, out[k - 1].hi, len);
			/* overlapping or adjacent: extend the previous range */
			if (!inc(next, len) || memcmp(out[i].lo, next, len) <= 0) {
				if (memcmp(out[i].hi, out[k - 1].hi, len) > 0)
					memcpy(out[k - 1].hi, out[i].hi, len);
				continue;
			}
		}
		out[k++] = out[i];
	}
	return k;
}

static int batch_ranges(struct nft_conn *c, struct nft_batch *b, const char *name, int af,
			const struct range *r, size_t n)
{
	size_t len = af == AF_INET ? 4 : 16;
	struct nftnl_set *s = nft_elems_new(OWN_TABLE, name);
	int ret;

	if (!s)
		return -ENOMEM;
	/* No elements: the kernel reads a DELSETELEM without a list as flush. */
	ret = nft_batch_elems(c, b, NFT_MSG_DELSETELEM, NFPROTO_INET, s, "flush pass_clients set");
	nftnl_set_free(s);
	if (ret)
		return ret;

	for (size_t i = 0; i < n; i += RANGES_PER_MSG) {
		s = nft_elems_new(OWN_TABLE, name);
		if (!s)
			return -ENOMEM;
		for (size_t j = i; j < n && j < i + RANGES_PER_MSG; j++) {
			struct nftnl_set_elem *lo = nftnl_set_elem_alloc(), *end;
			uint8_t after[16];

			if (!lo)
				goto nomem;
			nftnl_set_elem_set(lo, NFTNL_SET_ELEM_KEY, r[j].lo, len);
			nftnl_set_elem_add(s, lo);
			memcpy(after, r[j].hi, len);
			if (!inc(after, len))
				continue; /* up to the last address: no end element */
			end = nftnl_set_elem_alloc();
			if (!end)
				goto nomem;
			nftnl_set_elem_set(end, NFTNL_SET_ELEM_KEY, after, len);
			nftnl_set_elem_set_u32(end, NFTNL_SET_ELEM_FLAGS,
					       NFT_SET_ELEM_INTERVAL_END);
			nftnl_set_elem_add(s, end);
		}
		ret = nft_batch_elems(c, b, NFT_MSG_NEWSETELEM, NFPROTO_INET, s,
				      "add pass_clients networks");
		nftnl_set_free(s);
		if (ret)
			return ret;
	}
	return 0;
nomem:
	nftnl_set_free(s);
	return -ENOMEM;
}

int nft_pass_nets(struct nft_async *a, const struct mxg_net *nets, size_t n, char *err,
		  size_t errlen)
{
	static struct range r[MXG_MAX_PASS_CLIENTS];
	struct nft_conn *c = &a->conn;
	struct nft_batch b;
	size_t m;
	int ret;

	if (n > MXG_MAX_PASS_CLIENTS)
		n = MXG_MAX_PASS_CLIENTS;
	ret = nft_batch_start(c, &b);
	if (ret)
		return ret;
	m = ranges_of(nets, n, AF_INET, r);
	ret = batch_ranges(c, &b, OWN_PASSNET "4", AF_INET, r, m);
	if (!ret) {
		m = ranges_of(nets, n, AF_INET6, r);
		ret = batch_ranges(c, &b, OWN_PASSNET "6", AF_INET6, r, m);
	}
	if (ret) {
		nft_batch_free(&b);
		snprintf(err, errlen, "cannot build the batch: %s", strerror(-ret));
		return ret;
	}
	return nft_batch_send(a, &b, NFT_PASS_NETS_LABEL, err, errlen);
}
