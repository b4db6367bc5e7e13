// SPDX-License-Identifier: GPL-2.0-only
/* The pass decision shared by the responder and the policy service (see
 * pass_decide.h). Pure: the questions are the caller's. */
#include "pass_decide.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config_pass.h"
#include "greylist.h"

/* The longest recipient either asker keeps: local part and domain. */
#define PASS_RCPT_MAX (MXG_PASS_RCPT_MAX + MXG_NAME_MAX + 1)

static void lower(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

enum pass_why pass_decide(const struct pass_ask *a)
{
	char from[GREYLIST_SENDER_MAX], rcpt[PASS_RCPT_MAX];

	if (!a->behind_gate && a->client && cfg_pass_client(a->cfg, a->client))
		return PASS_CLIENT;
	if (a->local && cfg_pass_recipient(a->cfg, a->local, a->domain))
		return PASS_RECIPIENT;
	if (!a->client) /* nothing client-bound can pass it */
		return PASS_NONE;
	if (!a->behind_gate && a->held && a->held(a->arg, a->client))
		return PASS_HELD;
	if (a->reply != MXG_REPLY_GREYLIST || !a->local || !a->tuple)
		return PASS_NONE;
	/* The same tuple hash from both askers: a sender first told 451 by
	 * the responder may retry through the policy service. */
	lower(a->from, from, sizeof(from));
	snprintf(rcpt, sizeof(rcpt), "%s@%s", a->local, a->domain);
	return a->tuple(a->arg, a->client, greylist_tuple_hash(0, a->client, from, rcpt))
		   ? PASS_GREYLIST
		   : PASS_NONE;
}

bool pass_gate_can_pass(const struct mxg_config *cfg)
{
	return cfg->gate == MXG_GATE_TC || (cfg->gate == MXG_GATE_NFT && !cfg->nft_table[0]);
}

bool pass_split_rcpt(const char *rcpt, char *local, size_t llen, char *dom, size_t dlen)
{
	const char *at = strrchr(rcpt, '@');
	size_t n;

	if (!at || at == rcpt || (size_t)(at - rcpt) >= llen || strlen(at + 1) >= dlen)
		return false;
	n = (size_t)(at - rcpt);
	for (size_t i = 0; i < n; i++)
		local[i] = (char)tolower((unsigned char)rcpt[i]);
	local[n] = '\0';
	n = strlen(at + 1);
	for (size_t i = 0; i < n; i++)
		dom[i] = (char)tolower((unsigned char)at[1 + i]);
	dom[n] = '\0';
	if (n && dom[n - 1] == '.')
		dom[n - 1] = '\0';
	return true;
}
