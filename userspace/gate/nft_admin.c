// SPDX-License-Identifier: GPL-2.0-only
/* The administrator's nft table: family names and the NAME4/NAME6 check
 * (nft_admin.h). */
#include "nft_admin.h"

#include <errno.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int nft_family_parse(const char *name, uint16_t *family)
{
	if (!name[0] || !strcmp(name, "inet"))
		*family = NFPROTO_INET;
	else if (!strcmp(name, "ip"))
		*family = NFPROTO_IPV4;
	else if (!strcmp(name, "ip6"))
		*family = NFPROTO_IPV6;
	else
		return -EINVAL;
	return 0;
}

const char *nft_family_name(uint16_t family)
{
	return family == NFPROTO_IPV4 ? "ip" : family == NFPROTO_IPV6 ? "ip6" : "inet";
}

/* Does the declaration fit what we write into it? A map of address to
 * port with timeouts, or a plain set of addresses with timeouts. */
static bool declared_rightly(const struct nftnl_set *s, enum nft_admin_kind kind, bool v6)
{
	uint32_t flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);

	if (nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) != (v6 ? 16u : 4u) ||
	    !(flags & NFT_SET_TIMEOUT))
		return false;
	if (kind == NFT_ADMIN_MAP)
		return (flags & NFT_SET_MAP) && nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN) == 2;
	return !(flags & (NFT_SET_MAP | NFT_SET_INTERVAL));
}

/* 0 usable, -ENOENT absent, else wrong (err says how). */
static int check_one(struct nft_conn *c, uint16_t family, const char *table, const char *name,
		     enum nft_admin_kind kind, bool v6, const char *who, char *err, size_t errlen)
{
	const char *what = kind == NFT_ADMIN_MAP ? "map" : "set";
	const char *type = v6 ? "ipv6_addr" : "ipv4_addr";
	struct nftnl_set *s = nftnl_set_alloc();
	int ret;

	if (!s)
		return -ENOMEM;
	ret = nft_get_set(c, family, table, name, s);
	if (ret == -ENOENT)
		goto out;
	if (ret) {
		snprintf(err, errlen, "%s: cannot read %s %s in table %s %s: %s", who, what, name,
			 nft_family_name(family), table, strerror(-ret));
		goto out;
	}
	if (!declared_rightly(s, kind, v6)) {
		snprintf(err, errlen,
			 "%s: %s %s in table %s %s must be declared as "
			 "'%s %s { type %s%s; flags timeout; }' (see docs/deployment.md)",
			 who, what, name, nft_family_name(family), table, what, name, type,
			 kind == NFT_ADMIN_MAP ? " : inet_service" : "");
		ret = -EINVAL;
	}
out:
	nftnl_set_free(s);
	return ret;
}

int nft_admin_check_pair(struct nft_conn *c, uint16_t family, const char *table, const char *base,
			 enum nft_admin_kind kind, const char *who, const char *fix,
			 char name4[NFT_ADMIN_NAME_MAX], char name6[NFT_ADMIN_NAME_MAX], char *err,
			 size_t errlen)
{
	const char *what = kind == NFT_ADMIN_MAP ? "map" : "set";
	char n4[NFT_ADMIN_NAME_MAX], n6[NFT_ADMIN_NAME_MAX];
	int r4 = -ENOENT, r6 = -ENOENT;

	name4[0] = name6[0] = '\0';
	snprintf(n4, sizeof(n4), "%.*s4", NFT_ADMIN_NAME_MAX - 2, base);
	snprintf(n6, sizeof(n6), "%.*s6", NFT_ADMIN_NAME_MAX - 2, base);
	if (family != NFPROTO_IPV6) {
		r4 = check_one(c, family, table, n4, kind, false, who, err, errlen);
		if (r4 && r4 != -ENOENT)
			return r4;
	}
	if (family != NFPROTO_IPV4) {
		r6 = check_one(c, family, table, n6, kind, true, who, err, errlen);
		if (r6 && r6 != -ENOENT)
			return r6;
	}
	if (r4 && r6) {
		snprintf(err, errlen,
			 "%s: table %s %s has neither %s %s nor %s; declare them as in "
			 "docs/deployment.md, or %s",
			 who, nft_family_name(family), table, what, n4, n6, fix);
		return -ENOENT;
	}
	if (!r4)
		memcpy(name4, n4, sizeof(n4));
	if (!r6)
		memcpy(name6, n6, sizeof(n6));
	return 0;
}
