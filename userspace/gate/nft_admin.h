/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The administrator's nft table, as the nft gate (nft_table, nft_set) and
 * the offender sets (offender_nft_set) use it: the family names as nft
 * spells them, and the check of the pair NAME4 / NAME6 the administrator
 * declared (docs/deployment.md). One owner, so that both say the same
 * thing about the same mistake.
 */
#ifndef MXG_NFT_ADMIN_H
#define MXG_NFT_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "nft_batch.h"

#define NFT_ADMIN_NAME_MAX 80 /* NAME4 / NAME6, NUL included */

/* "inet" (also ""), "ip" or "ip6" to NFPROTO_INET, _IPV4 or _IPV6. 0 or
 * -EINVAL (config_values.c has already refused any other name). */
int nft_family_parse(const char *name, uint16_t *family);
/* NFPROTO_IPV4 -> "ip", NFPROTO_IPV6 -> "ip6", anything else "inet". */
const char *nft_family_name(uint16_t family);

enum nft_admin_kind {
	NFT_ADMIN_MAP, /* map NAME { type ipv4_addr : inet_service; flags timeout; } */
	NFT_ADMIN_SET, /* set NAME { type ipv4_addr; flags timeout; } */
};

/* Check base"4" and base"6" in table (each only where the table's family
 * can hold it) and put the names of those declared rightly into name4 and
 * name6 ("" when absent). 0 when at least one is there; otherwise a
 * negative errno and one line in err that starts with who and ends with
 * fix (what to do when neither exists). */
int nft_admin_check_pair(struct nft_conn *c, uint16_t family, const char *table, const char *base,
			 enum nft_admin_kind kind, const char *who, const char *fix,
			 char name4[NFT_ADMIN_NAME_MAX], char name6[NFT_ADMIN_NAME_MAX], char *err,
			 size_t errlen);

#endif
