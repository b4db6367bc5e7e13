/* SPDX-License-Identifier: GPL-2.0-only */
/* mxgate's own table inet mxgate for the nft gate: create, delete. */
#ifndef MXG_NFT_OWN_H
#define MXG_NFT_OWN_H

#include <stddef.h>

struct nft_async;
struct nft_conn;

#define OWN_TABLE "mxgate"
#define OWN_MAP "gated" /* maps gated4 and gated6 */
#define OWN_CHAIN "steer"
#define OWN_PASS "pass"	      /* sets pass4, pass6: passes, with timeouts */
#define OWN_PASSNET "passnet" /* sets passnet4, passnet6: pass_clients */

/* Create the table, maps, chain and rules in one batch, replacing what a
 * previous run left. 0 or negative errno with one line in err. */
int nft_own_create(struct nft_conn *c, char *err, size_t errlen);
/* The same batch sent on a without waiting for the kernel (the
 * controller's loop makes the table again after `nft flush ruleset`):
 * its answer comes to nft_async_poll, labelled NFT_OWN_CREATE_LABEL. 0,
 * or negative errno with one line in err (nothing was sent). */
#define NFT_OWN_CREATE_LABEL "table inet " OWN_TABLE
int nft_own_create_send(struct nft_async *a, char *err, size_t errlen);
/* Whether the kernel takes the table as nft_own_create builds it, its
 * tproxy rules included, without changing anything (a batch the kernel
 * checks and drops): 1 yes; 0 when only the tproxy expression is missing
 * (no nft_tproxy); else negative errno with one line in err (no
 * nf_tables, no CAP_NET_ADMIN). */
int nft_own_check_tproxy(struct nft_conn *c, char *err, size_t errlen);
/* Delete the table (fine if it is gone already); logs failures. */
int nft_own_delete(struct nft_conn *c);
/* 1 when table inet mxgate exists, 0 when not, or negative errno. */
int nft_own_exists(struct nft_conn *c);

#endif
