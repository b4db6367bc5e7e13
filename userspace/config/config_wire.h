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

/* The same in steps, for the controller's loop (100,000 domains are 29 MB
 * to copy): begin reads the header (0: a config follows, 1: a refusal in
 * err, -1: malformed); each more() copies up to max domains (1: more to
 * come; 0: complete, config_free cfg after use; -1: malformed, cfg
 * zeroed). buf must stay until the end. */
struct config_unpacker {
	size_t len;    /* of the whole answer, for the error */
	const char *p; /* what is left to read */
	size_t left;
	size_t next; /* domains copied so far */
};
int config_unpack_begin(struct config_unpacker *u, const char *buf, size_t len,
			struct mxg_config *cfg, char *err, size_t errlen);
int config_unpack_more(struct config_unpacker *u, struct mxg_config *cfg, size_t max, char *err,
		       size_t errlen);

#endif
