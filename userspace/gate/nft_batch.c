// SPDX-License-Identifier: GPL-2.0-only
/* Atomic nf_tables batches over libmnl, with per-message errors. */
#include "nft_batch.h"

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "addr.h"
#include "event.h"

#define NFT_REPLY_TIMEOUT_S 3 /* the kernel answers at once; never hang */
#define NFT_RECV_BYTES 16384  /* acks are small: NETLINK_CAP_ACK */

int nft_conn_open(struct nft_conn *c)
{
	struct timeval tv = {.tv_sec = NFT_REPLY_TIMEOUT_S};
	int one = 1;
	int err;

	memset(c, 0, sizeof(*c));
	c->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!c->nl)
		return -errno;
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	/* Errors without the echoed request: acks stay small. */
	mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	return 0;
fail:
	err = -errno;
	mnl_socket_close(c->nl);
	c->nl = NULL;
	return err;
}

void nft_conn_close(struct nft_conn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

int nft_batch_start(struct nft_conn *c, struct nft_batch *b)
{
	memset(b, 0, sizeof(*b));
	/* mnl batches need room for one more message past the limit. */
	b->buf = malloc(NFT_BATCH_BYTES + MNL_SOCKET_BUFFER_SIZE);
	if (!b->buf)
		return -ENOMEM;
	b->b = mnl_nlmsg_batch_start(b->buf, NFT_BATCH_BYTES);
	if (!b->b) {
		free(b->buf);
		b->buf = NULL;
		return -ENOMEM;
	}
	b->seq_first = c->seq++;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b->b), b->seq_first);
	mnl_nlmsg_batch_next(b->b);
	b->seq_last = b->seq_first;
	return 0;
}

struct nlmsghdr *nft_batch_msg(struct nft_conn *c, struct nft_batch *b, uint16_t type,
			       uint16_t family, uint16_t flags, const char *what)
{
	struct nlmsghdr *nlh;

	/* The previous message is complete once the caller asks for the next. */
	if (b->pending && !mnl_nlmsg_batch_next(b->b))
		b->overflow = 1;
	b->pending = 0;
	if (b->overflow || b->n >= NFT_BATCH_MAX_MSGS) {
		b->overflow = 1;
		return NULL;
	}
	b->seq_last = c->seq++;
	b->what[b->n++] = what;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->b), type, family, flags | NLM_F_ACK,
				    b->seq_last);
	b->pending = 1;
	return nlh;
}

void nft_batch_free(struct nft_batch *b)
{
	if (b->b)
		mnl_nlmsg_batch_stop(b->b);
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static const char *what_of(const struct nft_batch *b, uint32_t seq)
{
	uint32_t i = seq - b->seq_first - 1;

	if (seq == b->seq_first)
		return "batch";
	return i < b->n ? b->what[i] : "nf_tables";
}

/* Read acks until the last message's arrives; keep the first error, and
 * in *failed (may be NULL) the index of its message (-1: the batch). */
static int wait_acks(struct nft_conn *c, const struct nft_batch *b, int *failed, char *err,
		     size_t errlen)
{
	char buf[NFT_RECV_BYTES];
	int first = 0;

	for (;;) {
		ssize_t len = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int ilen;

		if (len < 0) {
			if (first)
				return first;
			snprintf(err, errlen, "nf_tables: no answer from the kernel: %s",
				 strerror(errno));
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		ilen = (int)len;
		for (; mnl_nlmsg_ok(nlh, ilen); nlh = mnl_nlmsg_next(nlh, &ilen)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < b->seq_first ||
			    nlh->nlmsg_seq > b->seq_last)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error && !first) {
				first = e->error;
				snprintf(err, errlen, "%s: %s", what_of(b, nlh->nlmsg_seq),
					 strerror(-e->error));
				if (failed)
					*failed = (int)(nlh->nlmsg_seq - b->seq_first) - 1;
			}
			if (nlh->nlmsg_seq == b->seq_last || nlh->nlmsg_seq == b->seq_first)
				return first;
		}
	}
}

/* Without the batch-end message the kernel checks every message, answers
 * each, and then aborts the transaction: nothing changes (`nft -c`). */
static int batch_send(struct nft_conn *c, struct nft_batch *b, bool commit, int *failed, char *err,
		      size_t errlen)
{
	int ret;

	if (b->pending && !mnl_nlmsg_batch_next(b->b))
		b->overflow = 1;
	b->pending = 0;
	if (b->overflow) {
		snprintf(err, errlen, "nf_tables batch too large (internal limit)");
		ret = -ENOSPC;
		goto out;
	}
	if (commit) {
		nftnl_batch_end(mnl_nlmsg_batch_current(b->b), c->seq++);
		mnl_nlmsg_batch_next(b->b);
	}
	if (b->n == 0) {
		ret = 0;
		goto out;
	}
	if (mnl_socket_sendto(c->nl, mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "nf_tables: send: %s", strerror(errno));
		goto out;
	}
	ret = wait_acks(c, b, failed, err, errlen);
out:
	nft_batch_free(b);
	return ret;
}

int nft_batch_commit(struct nft_conn *c, struct nft_batch *b, char *err, size_t errlen)
{
	return batch_send(c, b, true, NULL, err, errlen);
}

int nft_batch_check(struct nft_conn *c, struct nft_batch *b, int *failed, char *err, size_t errlen)
{
	*failed = -1;
	return batch_send(c, b, false, failed, err, errlen);
}

int nft_async_open(struct nft_async *a)
{
	int r, fl;

	memset(a, 0, sizeof(*a));
	r = nft_conn_open(&a->conn);
	if (r)
		return r;
	fl = fcntl(mnl_socket_get_fd(a->conn.nl), F_GETFL);
	if (fl < 0 || fcntl(mnl_socket_get_fd(a->conn.nl), F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		nft_conn_close(&a->conn);
		return r;
	}
	return 0;
}

void nft_async_close(struct nft_async *a)
{
	nft_conn_close(&a->conn);
	a->n = 0;
}

static void finish(struct nft_async *a, unsigned i, nft_async_done done, void *arg)
{
	struct nft_pending p = a->p[i];

	a->p[i] = a->p[--a->n];
	if (done)
		done(arg, p.label, p.error, p.text);
}

int nft_batch_send(struct nft_async *a, struct nft_batch *b, const char *label, char *err,
		   size_t errlen)
{
	struct nft_conn *c = &a->conn;
	struct nft_pending *p;
	int ret = 0;

	if (b->pending && !mnl_nlmsg_batch_next(b->b))
		b->overflow = 1;
	b->pending = 0;
	if (b->overflow) {
		snprintf(err, errlen, "nf_tables batch too large (internal limit)");
		ret = -ENOSPC;
		goto out;
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b->b), c->seq++);
	mnl_nlmsg_batch_next(b->b);
	if (b->n == 0)
		goto out;
	if (a->n == NFT_PENDING_MAX)
		finish(a, 0, NULL, NULL); /* the oldest is long overdue */
	if (send(mnl_socket_get_fd(c->nl), mnl_nlmsg_batch_head(b->b), mnl_nlmsg_batch_size(b->b),
		 MSG_DONTWAIT) < 0) {
		ret = -errno;
		snprintf(err, errlen, "nf_tables: send: %s", strerror(errno));
		goto out;
	}
	p = &a->p[a->n++];
	memset(p, 0, sizeof(*p));
	p->seq_first = b->seq_first;
	p->seq_last = b->seq_last;
	p->n = b->n;
	memcpy(p->what, b->what, b->n * sizeof(b->what[0]));
	p->label = label;
	p->sent_ms = ev_now_ms();
out:
	nft_batch_free(b);
	return ret;
}

unsigned nft_async_poll(struct nft_async *a, uint64_t now_ms, nft_async_done done, void *arg)
{
	char buf[NFT_RECV_BYTES];

	while (a->conn.nl && a->n) {
		ssize_t len = recv(mnl_socket_get_fd(a->conn.nl), buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		int ilen;

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break; /* EAGAIN: all read; ENOBUFS: answers lost, they time out */
		ilen = (int)len;
		for (; mnl_nlmsg_ok(nlh, ilen); nlh = mnl_nlmsg_next(nlh, &ilen)) {
			const struct nlmsgerr *e;
			unsigned i;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			for (i = 0; i < a->n; i++)
				if (nlh->nlmsg_seq >= a->p[i].seq_first &&
				    nlh->nlmsg_seq <= a->p[i].seq_last)
					break;
			if (i == a->n)
				continue; /* one we gave up */
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error && !a->p[i].error) {
				uint32_t k = nlh->nlmsg_seq - a->p[i].seq_first - 1;

				a->p[i].error = e->error;
				snprintf(a->p[i].text, sizeof(a->p[i].text), "%s: %s",
					 nlh->nlmsg_seq == a->p[i].seq_first ? "batch"
					 : k < a->p[i].n		     ? a->p[i].what[k]
									     : "nf_tables",
					 strerror(-e->error));
			}
			if (nlh->nlmsg_seq == a->p[i].seq_last ||
			    nlh->nlmsg_seq == a->p[i].seq_first)
				finish(a, i, done, arg);
		}
	}
	for (unsigned i = 0; i < a->n;) {
		if (now_ms - a->p[i].sent_ms < NFT_REPLY_TIMEOUT_MS) {
			i++;
			continue;
		}
		a->p[i].error = -ETIMEDOUT;
		snprintf(a->p[i].text, sizeof(a->p[i].text),
			 "nf_tables: no answer from the kernel within %u ms",
			 (unsigned)NFT_REPLY_TIMEOUT_MS);
		finish(a, i, done, arg);
	}
	return a->n;
}

int nft_recv_replies(struct nft_conn *c, uint32_t seq,
		     int (*cb)(const struct nlmsghdr *nlh, void *arg), void *arg)
{
	char buf[NFT_RECV_BYTES];

	for (;;) {
		ssize_t len = mnl_socket_recvfrom(c->nl, buf, sizeof(buf));
		struct nlmsghdr *nlh;
		int ilen, r;

		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ilen = (int)len;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, ilen);
		     nlh = mnl_nlmsg_next(nlh, &ilen)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
					return -EPROTO;
				return ((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
			}
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			r = cb ? cb(nlh, arg) : 0;
			if (r < 0)
				return r;
		}
	}
}

struct get_set {
	struct nftnl_set *out;
	bool found;
};

static int get_set_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct get_set *g = arg;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWSET)
		return 0;
	if (nftnl_set_nlmsg_parse(nlh, g->out) < 0)
		return -EINVAL;
	g->found = true;
	return 0;
}

int nft_get_set(struct nft_conn *c, uint16_t family, const char *table, const char *name,
		struct nftnl_set *out)
{
	char buf[NFT_RECV_BYTES];
	struct get_set g = {.out = out};
	uint32_t seq = c->seq++;
	struct nlmsghdr *nlh;
	int r;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, family, NLM_F_ACK, seq);
	nftnl_set_set_str(out, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(out, NFTNL_SET_NAME, name);
	nftnl_set_nlmsg_build_payload(nlh, out);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	r = nft_recv_replies(c, seq, get_set_cb, &g);
	if (r)
		return r;
	return g.found ? 0 : -ENOENT;
}

struct ctr_sum {
	uint64_t packets;
};

static int add_counter(struct nftnl_expr *e, void *data)
{
	struct ctr_sum *s = data;

	if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter"))
		s->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	return 0;
}

/* One rule of the dump: add its counters. */
static int sum_rule(const struct nlmsghdr *nlh, void *arg)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0)
		nftnl_expr_foreach(r, add_counter, arg);
	nftnl_rule_free(r);
	return 0;
}

/* 0 when the chain exists, -ENOENT when it (or its table) does not. */
static int chain_exists(struct nft_conn *c, uint16_t family, const char *table, const char *chain)
{
	char buf[NFT_RECV_BYTES];
	struct nftnl_chain *ch = nftnl_chain_alloc();
	uint32_t seq = c->seq++;
	struct nlmsghdr *nlh;

	if (!ch)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, family, NLM_F_ACK, seq);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, chain);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return nft_recv_replies(c, seq, NULL, NULL);
}

int nft_chain_packets(struct nft_conn *c, uint16_t family, const char *table, const char *chain,
		      uint64_t *packets)
{
	char buf[NFT_RECV_BYTES];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct ctr_sum sum = {0};
	uint32_t seq = c->seq++;
	struct nlmsghdr *nlh;
	int ret;

	if (!r)
		return -ENOMEM;
	/* A filtered dump of a missing table is just empty: ask first. */
	ret = chain_exists(c, family, table, chain);
	if (ret) {
		nftnl_rule_free(r);
		return ret;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, family, NLM_F_DUMP, seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	ret = nft_recv_replies(c, seq, sum_rule, &sum);
	if (!ret)
		*packets = sum.packets;
	return ret;
}

struct nftnl_set *nft_elems_new(const char *table, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	return s;
}

int nft_elems_add_ip(struct nftnl_set *s, const struct mxg_ip *ip, const void *data,
		     uint32_t data_len, uint64_t timeout_ms)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return -ENOMEM;
	if (ip->family == AF_INET)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &ip->v4, 4);
	else
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &ip->v6, 16);
	if (data)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, data_len);
	if (timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(s, e);
	return 0;
}

int nft_batch_elems(struct nft_conn *c, struct nft_batch *b, uint16_t type, uint16_t family,
		    struct nftnl_set *s, const char *what)
{
	struct nlmsghdr *nlh =
	    nft_batch_msg(c, b, type, family, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, what);

	if (!nlh)
		return -ENOSPC;
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	return 0;
}
