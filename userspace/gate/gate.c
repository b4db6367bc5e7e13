// SPDX-License-Identifier: GPL-2.0-only
/* Backend selection, and the `none` backend (probe and policy service
 * only: verdicts go nowhere in the kernel). */
#include "gate.h"

#include <errno.h>
#include <stdlib.h>

struct gate {
	int unused;
};

static int none_open(struct gate **out, const struct mxg_config *cfg, char *err, size_t errlen)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static int none_set_responder(struct gate *g, int fd_v4, int fd_v6)
{
	return 0;
}

static int none_begin(struct gate *g, bool addresses)
{
	return 0;
}

static int none_commit(struct gate *g)
{
	return 0;
}

static int none_set_address(struct gate *g, const struct mxg_ip *addr, bool gated,
			    unsigned n_domains, uint64_t ttl_ms)
{
	return 0;
}

static int none_set_domain(struct gate *g, const struct gate_domain_view *d, uint64_t ttl_ms)
{
	return 0;
}

static void none_close(struct gate *g, bool detach)
{
	free(g);
}

const struct gate_ops gate_none_ops = {
    .name = "none",
    .open = none_open,
    .set_responder = none_set_responder,
    .begin = none_begin,
    .set_address = none_set_address,
    .set_domain = none_set_domain,
    .commit = none_commit,
    .close = none_close,
};

/* gate_tc_ops and gate_nft_ops (gate.h) live in gate_tc.c and gate_nft.c. */

const struct gate_ops *gate_ops_for(enum mxg_gate_kind kind)
{
	switch (kind) {
	case MXG_GATE_TC:
		return &gate_tc_ops;
	case MXG_GATE_NFT:
		return &gate_nft_ops;
	case MXG_GATE_NONE:
		return &gate_none_ops;
	}
	return NULL;
}
