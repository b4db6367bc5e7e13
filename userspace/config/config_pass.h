/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The allowlists of the config (pass_clients, pass_recipients): parse
 * one list item, and ask whether a client or a recipient is on them.
 * Pure; used by config.c, the responder, the policy service and the
 * controller.
 */
#ifndef MXG_CONFIG_PASS_H
#define MXG_CONFIG_PASS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

int cfg_add_pass_client(struct mxg_config *c, const char *v, char *why, size_t len);
int cfg_add_pass_recipient(struct mxg_config *c, const char *v, char *why, size_t len);

/* Is local@domain on pass_recipients (a bare local part matches it in
 * every domain)? Case blind. */
bool cfg_pass_recipient(const struct mxg_config *c, const char *local, const char *domain);
/* Is ip inside one of pass_clients? */
bool cfg_pass_client(const struct mxg_config *c, const struct mxg_ip *ip);

#endif
