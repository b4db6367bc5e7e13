/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A loaded config as bytes, so that a reload's helper process (which may
 * wait on postconf, a slow domains_file or NSS) can hand its result to
 * the controller's loop: the struct, then the domains, their reply texts
 * and the final domains. The reader trusts nothing: every count and
 * length is checked against the bytes received.
 */
#ifndef MXG_CONFIG_WIRE_H
#define MXG_CONFIG_WIRE_H

#include <stddef.h>

#include "config.h"

/* Most a packed config may take: the struct and MXG_MAX_DOMAINS domains
 * with reply texts (the reader refuses more). */
#define CONFIG_WIRE_MAX ((size_t)1 << 30) /* 1 GiB */

/* cfg packed into a malloc'd *out; 0 or -ENOMEM. */
int config_pack(const struct mxg_config *cfg, char **out, size_t *outlen);
/* A refusal: the error line the helper's config_load gave. */
int config_pack_error(const char *err, char **out, size_t *outlen);
/* buf back into cfg (zeroed here; config_free it after a 0 return).
 * 0: a config; 1: a refusal, its text in err; -1: not a whole packed
 * config (err says so). */
int config_unpack(const char *buf, size_t len, struct mxg_config *cfg, char *err, size_t errlen);

#endif
