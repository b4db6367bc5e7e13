// SPDX-License-Identifier: GPL-2.0-only
/* Offenders to nf_tables; see offender_nft.h for what and why. */
#include "offender_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nft_admin.h"
#include "nft_own.h"

/* nft's datatype numbers (src/datatype.h), so `nft list` prints the sets. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8

/* Our table and sets, created if missing (never replaced). */
static int batch_own(struct offender_nft *o, struct nft_conn *conn, struct nft_batch *b)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, OWN_TABLE);
	nlh = nft_batch_msg(conn, b, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE,
			    "create table inet " OWN_TABLE);
	if (nlh)
		nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	if (!nlh)
		return -ENOSPC;
	for (int v6 = 0; v6 < 2; v6++) {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, OWN_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, v6 ? o->set6 : o->set4);
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_u32(s, NFTNL_SET_ID, (uint32_t)(v6 + 1));
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, v6 ? NFT_TYPE_IP6ADDR : NFT_TYPE_IPADDR);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, v6 ? 16 : 4);
		nlh = nft_batch_msg(conn, b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE,
				    "create offender set in table inet " OWN_TABLE);
		if (nlh)
			nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		if (!nlh)
			return -ENOSPC;
	}
	return 0;
}

static int open_admin(struct offender_nft *o, const struct mxg_config *cfg, char *err,
		      size_t errlen)
{
	/* config_keys.c checked the family name and split "[FAMILY] TABLE SET". */
	if (nft_family_parse(cfg->offender_nft_family, &o->family)) {
		snprintf(err, errlen,
			 "offenders: offender_nft_set: family '%s' is not inet, ip or ip6",
			 cfg->offender_nft_family);
		return -EINVAL;
	}
	snprintf(o->table, sizeof(o->table), "%s", cfg->offender_nft_table);
	return nft_admin_check_pair(
	    &o->nl, o->family, o->table, cfg->offender_nft_set, NFT_ADMIN_SET, "offenders",
	    "remove offender_nft_set for mxgate's own sets", o->set4, o->set6, err, errlen);
}

int offender_nft_open(struct offender_nft *o, const struct mxg_config *cfg, char *err,
		      size_t errlen)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = cfg->offender_window_ms; /* config_keys.c: at least 1s */
	ret = nft_conn_open(&o->nl);
	if (!ret)
		ret = nft_async_open(&o->pub);
	if (ret) {
		snprintf(err, errlen, "offenders: netlink socket to nf_tables: %s", strerror(-ret));
		return ret;
	}
	if (cfg->offender_nft_table[0]) {
		ret = open_admin(o, cfg, err, errlen);
	} else {
		struct nft_batch b;

		o->own = true;
		o->own_table_is_gates = cfg->gate == MXG_GATE_NFT && !cfg->nft_table[0];
		o->family = NFPROTO_INET;
		snprintf(o->table, sizeof(o->table), OWN_TABLE);
		snprintf(o->set4, sizeof(o->set4), OFFENDER_OWN_SET "4");
		snprintf(o->set6, sizeof(o->set6), OFFENDER_OWN_SET "6");
		ret = nft_batch_start(&o->nl, &b);
		if (!ret) {
			ret = batch_own(o, &o->nl, &b);
			if (ret)
				nft_batch_free(&b);
			else
				ret = nft_batch_commit(&o->nl, &b, err, errlen);
		}
		if (ret && !err[0])
			snprintf(err, errlen, "offenders: table inet " OWN_TABLE ": %s",
				 strerror(-ret));
	}
	if (ret) {
		nft_async_close(&o->pub);
		nft_conn_close(&o->nl);
		return ret;
	}
	log_info("offenders: to set%s %s%s%s in table %s %s, timeout offender_window",
		 o->set4[0] && o->set6[0] ? "s" : "", o->set4,
		 o->set4[0] && o->set6[0] ? " and " : "", o->set6, nft_family_name(o->family),
		 o->table);
	return 0;
}

/* One message with the elements of one family, timeout or not. */
static int batch_elems(struct offender_nft *o, struct nft_batch *b, uint16_t type, int af,
		       const struct mxg_ip *ips, const uint64_t *timeouts_ms, size_t n,
		       bool timeout)
{
	const char *set = af == AF_INET ? o->set4 : o->set6;
	struct nftnl_set *s;
	size_t added = 0;
	int ret = 0;

	if (!set[0])
		return 0;
	s = nft_elems_new(o->table, set);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++) {
		if (ips[i].family != af)
			continue;
		ret = nft_elems_add_ip(s, &ips[i], NULL, 0,
				       !timeout			       ? 0
				       : timeouts_ms && timeouts_ms[i] ? timeouts_ms[i]
								       : o->timeout_ms);
		added++;
	}
	if (!ret && added)
		ret = nft_batch_elems(&o->pub.conn, b, type, o->family, s,
				      type == NFT_MSG_NEWSETELEM ? "add offenders"
								 : "refresh offenders");
	nftnl_set_free(s);
	return ret;
}

int offender_nft_add(struct offender_nft *o, const struct mxg_ip *ips, const uint64_t *timeouts_ms,
		     size_t n)
{
	static const int afs[2] = {AF_INET, AF_INET6};
	struct nft_batch b;
	char err[256];
	int ret;

	if (!n)
		return 0;
	ret = nft_batch_start(&o->pub.conn, &b);
	if (ret)
		return ret;
	if (o->own)
		ret = batch_own(o, &o->pub.conn, &b);
	/* add, delete, add: the last add sets a fresh timeout on every
	 * kernel, also before 6.12 where re-adding keeps the old one. */
	for (int i = 0; !ret && i < 2; i++) {
		ret = batch_elems(o, &b, NFT_MSG_NEWSETELEM, afs[i], ips, timeouts_ms, n, true);
		if (!ret)
			ret = batch_elems(o, &b, NFT_MSG_DELSETELEM, afs[i], ips, NULL, n, false);
		if (!ret)
			ret = batch_elems(o, &b, NFT_MSG_NEWSETELEM, afs[i], ips, timeouts_ms, n,
					  true);
	}
	if (ret) {
		nft_batch_free(&b);
		return ret;
	}
	/* Sent, not awaited: the answer comes to offender_nft_poll. */
	ret = nft_batch_send(&o->pub, &b, "offenders", err, sizeof(err));
	if (ret && !o->failing)
		log_err("offenders: table %s %s: %s; offenders are not added until it works "
			"again",
			nft_family_name(o->family), o->table, err);
	o->failing = ret != 0 || o->failing;
	return ret;
}

static void add_done(void *arg, const char *label, int err, const char *text)
{
	struct offender_nft *o = arg;

	if (err) {
		o->async_errors++;
		if (!o->failing)
			log_err("offenders: table %s %s: %s; offenders are not added until it "
				"works again",
				nft_family_name(o->family), o->table, text);
	} else if (o->failing) {
		log_notice("offenders: table %s %s writable again", nft_family_name(o->family),
			   o->table);
	}
	o->failing = err != 0;
}

int offender_nft_fd(const struct offender_nft *o)
{
	return o->pub.conn.nl ? mnl_socket_get_fd(o->pub.conn.nl) : -1;
}

unsigned offender_nft_poll(struct offender_nft *o, uint64_t now_ms)
{
	uint64_t errors = o->async_errors;

	nft_async_poll(&o->pub, now_ms, add_done, o);
	return (unsigned)(o->async_errors - errors);
}

void offender_nft_close(struct offender_nft *o, bool clean)
{
	if (!o->nl.nl)
		return;
	if (clean && o->own && !o->own_table_is_gates)
		nft_own_delete(&o->nl);
	nft_async_close(&o->pub);
	nft_conn_close(&o->nl);
}

const char *offender_nft_set_for(const struct offender_nft *o, int af)
{
	return af == AF_INET ? o->set4 : o->set6;
}
