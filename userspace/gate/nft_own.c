// SPDX-License-Identifier: GPL-2.0-only
/*
 * mxgate's own nf_tables table for the nft gate (gate_nft.c has the why):
 *
 *   table inet mxgate {
 *     map gated4 { type ipv4_addr : inet_service; flags timeout; }
 *     map gated6 { type ipv6_addr : inet_service; flags timeout; }
 *     set pass4 { type ipv4_addr; flags timeout; }      (nft_pass.c)
 *     set pass6 { type ipv6_addr; flags timeout; }
 *     set passnet4 { type ipv4_addr; flags interval; }  (pass_clients)
 *     set passnet6 { type ipv6_addr; flags interval; }
 *     chain steer {
 *       type filter hook prerouting priority mangle; policy accept;
 *       ip saddr @pass4 counter accept      (and @passnet4, ip6 @pass6,
 *                                            @passnet6: never steered)
 *       tcp dport 25 tcp flags & (syn|ack) == syn meta nfproto ipv4 counter
 *           tproxy ip to 127.0.0.1:ip daddr map @gated4
 *       (and the same for ipv6 to [::1])
 *     }
 *   }
 *
 * built expression by expression with libnftnl (what `nft --debug=netlink`
 * shows for the rule above), created and deleted in single batches.
 */
#include "nft_own.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "nft_batch.h"

#define OWN_PRIORITY (-150) /* mangle: before any dstnat rule */

/* nft's datatype numbers (src/datatype.h), so `nft list` prints the maps. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_SERVICE 13

/* ---- rule building ---- */

static int add_expr(struct nftnl_rule *r, const char *name, struct nftnl_expr **out)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	*out = e;
	return 0;
}

static int expr_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e;

	if (add_expr(r, "meta", &e))
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	return 0;
}

static int expr_cmp(struct nftnl_rule *r, uint32_t sreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e;

	if (add_expr(r, "cmp", &e))
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

static int expr_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
			uint32_t dreg)
{
	struct nftnl_expr *e;

	if (add_expr(r, "payload", &e))
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	return 0;
}

/* A lookup of SREG in @set (a map when dreg is not 0: its value to dreg). */
static int expr_lookup(struct nftnl_rule *r, uint32_t sreg, uint32_t dreg, const char *set,
		       uint32_t set_id)
{
	struct nftnl_expr *e;

	if (add_expr(r, "lookup", &e))
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	return 0;
}

/* An empty rule of our chain. */
static struct nftnl_rule *rule_new(const char *table)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, OWN_CHAIN);
	return r;
}

/* meta nfproto ipv4 / ipv6 */
static int expr_nfproto(struct nftnl_rule *r, const uint8_t *nfproto)
{
	return expr_meta(r, NFT_META_NFPROTO, NFT_REG_1) || expr_cmp(r, NFT_REG_1, nfproto, 1)
		   ? -ENOMEM
		   : 0;
}

/* tcp dport 25 tcp flags & (syn|ack) == syn meta nfproto F
 *   tproxy F to LOOPBACK:F daddr map @MAP  (with a counter) */
static struct nftnl_rule *build_rule(const char *table, const char *map, uint32_t set_id, bool v6)
{
	static const uint8_t loop6[16] = {[15] = 1};
	uint32_t loop4 = htonl(INADDR_LOOPBACK);
	uint16_t dport = htons(25);
	uint8_t proto = IPPROTO_TCP, flags_mask = 0x12 /* syn|ack */, syn = 0x02, zero = 0;
	uint8_t nfproto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	struct nftnl_rule *r = rule_new(table);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	if (expr_meta(r, NFT_META_L4PROTO, NFT_REG_1) || expr_cmp(r, NFT_REG_1, &proto, 1) ||
	    expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1) ||
	    expr_cmp(r, NFT_REG_1, &dport, 2) ||
	    expr_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1))
		goto fail;
	if (add_expr(r, "bitwise", &e))
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &flags_mask, 1);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	if (expr_cmp(r, NFT_REG_1, &syn, 1) || expr_nfproto(r, &nfproto) ||
	    expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4, NFT_REG_2) ||
	    expr_lookup(r, NFT_REG_2, NFT_REG_2, map, set_id))
		goto fail;
	if (add_expr(r, "counter", &e))
		goto fail;
	if (add_expr(r, "immediate", &e))
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	if (v6)
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, loop6, sizeof(loop6));
	else
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &loop4, sizeof(loop4));
	if (add_expr(r, "tproxy", &e))
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_FAMILY, nfproto);
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_ADDR, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_TPROXY_REG_PORT, NFT_REG_2);
	return r;
fail:
	nftnl_rule_free(r);
	return NULL;
}

/* meta nfproto F SADDR-in-@SET counter accept: a passed client (or a
 * pass_clients network) leaves our chain before the tproxy rule. */
static struct nftnl_rule *build_pass_rule(const char *table, const char *set, uint32_t set_id,
					  bool v6)
{
	uint8_t nfproto = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	struct nftnl_rule *r = rule_new(table);
	struct nftnl_expr *e;

	if (!r)
		return NULL;
	if (expr_nfproto(r, &nfproto) ||
	    expr_payload(r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1) ||
	    expr_lookup(r, NFT_REG_1, 0, set, set_id))
		goto fail;
	if (add_expr(r, "counter", &e) || add_expr(r, "immediate", &e))
		goto fail;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	return r;
fail:
	nftnl_rule_free(r);
	return NULL;
}

/* ---- batch pieces ---- */

static int batch_table(struct nft_conn *c, struct nft_batch *b, uint16_t type, const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, OWN_TABLE);
	nlh = nft_batch_msg(c, b, type, NFPROTO_INET, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			    what);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nlh ? 0 : -ENOSPC;
}

static int batch_map(struct nft_conn *c, struct nft_batch *b, const char *name, bool v6,
		     uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, OWN_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_TIMEOUT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, v6 ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 16 : 4);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_TYPE_INET_SERVICE);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 2);
	nlh = nft_batch_msg(c, b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE,
			    "create map in table inet " OWN_TABLE);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh ? 0 : -ENOSPC;
}

/* A plain address set: timeouts (passes) or intervals (pass_clients). */
static int batch_set(struct nft_conn *c, struct nft_batch *b, const char *name, bool v6,
		     uint32_t id, uint32_t flags)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, OWN_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, v6 ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 16 : 4);
	nlh = nft_batch_msg(c, b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE,
			    "create pass set in table inet " OWN_TABLE);
	if (nlh)
		nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nlh ? 0 : -ENOSPC;
}

static int batch_chain(struct nft_conn *c, struct nft_batch *b)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, OWN_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, OWN_CHAIN);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, OWN_PRIORITY);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nft_batch_msg(c, b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE,
			    "create chain " OWN_CHAIN " in table inet " OWN_TABLE);
	if (nlh)
		nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	return nlh ? 0 : -ENOSPC;
}

static int batch_rule(struct nft_conn *c, struct nft_batch *b, const char *map, uint32_t id,
		      bool v6, bool pass)
{
	struct nftnl_rule *r =
	    pass ? build_pass_rule(OWN_TABLE, map, id, v6) : build_rule(OWN_TABLE, map, id, v6);
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nlh = nft_batch_msg(c, b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND,
			    pass ? "add pass rule"
				 : "add tproxy rule (kernel needs CONFIG_NFT_TPROXY)");
	if (nlh)
		nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nlh ? 0 : -ENOSPC;
}

/* ---- the table ---- */

/* The whole table in one batch b (started); *tproxy is the index of the
 * first of the two tproxy rules, the last messages. */
static int own_batch(struct nft_conn *c, struct nft_batch *b, int *tproxy, char *err, size_t errlen)
{
	int ret;

	/* add + delete + create: replaces a previous run's table, atomically. */
	if ((ret = batch_table(c, b, NFT_MSG_NEWTABLE, "create table inet " OWN_TABLE)) ||
	    (ret = batch_table(c, b, NFT_MSG_DELTABLE, "delete previous table inet " OWN_TABLE)) ||
	    (ret = batch_table(c, b, NFT_MSG_NEWTABLE, "create table inet " OWN_TABLE)) ||
	    (ret = batch_map(c, b, OWN_MAP "4", false, 1)) ||
	    (ret = batch_map(c, b, OWN_MAP "6", true, 2)) ||
	    (ret = batch_set(c, b, OWN_PASS "4", false, 3, NFT_SET_TIMEOUT)) ||
	    (ret = batch_set(c, b, OWN_PASS "6", true, 4, NFT_SET_TIMEOUT)) ||
	    (ret = batch_set(c, b, OWN_PASSNET "4", false, 5, NFT_SET_INTERVAL)) ||
	    (ret = batch_set(c, b, OWN_PASSNET "6", true, 6, NFT_SET_INTERVAL)) ||
	    (ret = batch_chain(c, b)) ||
	    /* the pass rules first: a passed client is never steered */
	    (ret = batch_rule(c, b, OWN_PASS "4", 3, false, true)) ||
	    (ret = batch_rule(c, b, OWN_PASSNET "4", 5, false, true)) ||
	    (ret = batch_rule(c, b, OWN_PASS "6", 4, true, true)) ||
	    (ret = batch_rule(c, b, OWN_PASSNET "6", 6, true, true)))
		goto fail;
	*tproxy = (int)b->n;
	if ((ret = batch_rule(c, b, OWN_MAP "4", 1, false, false)) ||
	    (ret = batch_rule(c, b, OWN_MAP "6", 2, true, false)))
		goto fail;
	return 0;
fail:
	nft_batch_free(b);
	snprintf(err, errlen, "gate nft: cannot build the batch for table inet " OWN_TABLE ": %s",
		 strerror(-ret));
	return ret;
}

int nft_own_create(struct nft_conn *c, char *err, size_t errlen)
{
	struct nft_batch b;
	int ret, tproxy;

	ret = nft_batch_start(c, &b);
	if (ret)
		return ret;
	ret = own_batch(c, &b, &tproxy, err, errlen);
	if (ret)
		return ret;
	ret = nft_batch_commit(c, &b, err, errlen);
	if (ret) {
		char why[200];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen,
			 "gate nft: %s; check that nf_tables with tproxy is available "
			 "and mxgated has CAP_NET_ADMIN",
			 why);
	}
	return ret;
}

int nft_own_create_send(struct nft_async *a, char *err, size_t errlen)
{
	struct nft_batch b;
	int ret, tproxy;

	ret = nft_batch_start(&a->conn, &b);
	if (ret) {
		snprintf(err, errlen, "gate nft: table inet " OWN_TABLE ": %s", strerror(-ret));
		return ret;
	}
	ret = own_batch(&a->conn, &b, &tproxy, err, errlen);
	if (ret)
		return ret;
	return nft_batch_send(a, &b, NFT_OWN_CREATE_LABEL, err, errlen);
}

int nft_own_check_tproxy(struct nft_conn *c, char *err, size_t errlen)
{
	struct nft_batch b;
	int ret, tproxy, failed;

	ret = nft_batch_start(c, &b);
	if (ret) {
		snprintf(err, errlen, "nf_tables: %s", strerror(-ret));
		return ret;
	}
	ret = own_batch(c, &b, &tproxy, err, errlen);
	if (ret)
		return ret;
	ret = nft_batch_check(c, &b, &failed, err, errlen);
	if (!ret)
		return 1;
	/* The kernel loads nft_tproxy on demand (the batch is replayed);
	 * still unknown, the expression is not there: ENOENT, or EOPNOTSUPP
	 * where the module lacks a family. */
	if (failed >= tproxy && (ret == -ENOENT || ret == -EOPNOTSUPP))
		return 0;
	return ret;
}

int nft_own_delete(struct nft_conn *c)
{
	struct nft_batch b;
	char err[256];
	int ret;

	ret = nft_batch_start(c, &b);
	if (ret)
		return ret;
	/* add first, so the delete cannot fail for a table already gone */
	if ((ret = batch_table(c, &b, NFT_MSG_NEWTABLE, "table inet " OWN_TABLE)) ||
	    (ret = batch_table(c, &b, NFT_MSG_DELTABLE, "delete table inet " OWN_TABLE))) {
		nft_batch_free(&b);
		return ret;
	}
	ret = nft_batch_commit(c, &b, err, sizeof(err));
	if (ret)
		log_err("gate nft: %s; remove it with: nft delete table inet " OWN_TABLE, err);
	return ret;
}

static int saw_table(const struct nlmsghdr *nlh, void *arg)
{
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWTABLE)
		*(int *)arg = 1;
	return 0;
}

int nft_own_exists(struct nft_conn *c)
{
	char buf[16384];
	uint32_t seq = c->seq++;
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int found = 0, r;

	if (!t)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, seq);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, OWN_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	r = nft_recv_replies(c, seq, saw_table, &found);
	if (r == -ENOENT)
		return 0;
	return r ? r : found;
}
