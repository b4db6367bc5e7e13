/* SPDX-License-Identifier: GPL-2.0-only */
/* Passes and pass_clients in mxgate's own nft table (sets pass4/6,
 * passnet4/6; the rules ahead of the tproxy rule are nft_own.c's). */
#ifndef MXG_NFT_PASS_H
#define MXG_NFT_PASS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

struct nft_conn;

/* Pass ip for timeout_ms (the kernel removes the element by itself then);
 * 0 removes the pass. Sent on a, not awaited: the answer comes to
 * nft_async_poll. 0 or negative errno with one line in err. */
struct nft_async;
int nft_pass_set(struct nft_async *a, const struct mxg_ip *ip, uint64_t timeout_ms, char *err,
		 size_t errlen);
/* Make passnet4/passnet6 hold exactly nets (atomic). Sent on a, not
 * awaited, labelled NFT_PASS_NETS_LABEL. Same returns. */
#define NFT_PASS_NETS_LABEL "pass_clients"
int nft_pass_nets(struct nft_async *a, const struct mxg_net *nets, size_t n, char *err,
		  size_t errlen);

#endif
