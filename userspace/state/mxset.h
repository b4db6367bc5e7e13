/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * From a domain's MX set to its primaries: pref_self is the lowest
 * preference among MX hosts that are one of `self`; every MX host with a
 * lower preference is a primary (cascading). Pure, no I/O.
 */
#ifndef MXG_MXSET_H
#define MXG_MXSET_H

#include <stdbool.h>
#include <stddef.h>

#include "mxg_limits.h"
#include "dns.h"
#include "reason.h"

struct mx_primaries {
	const struct mx_host *hosts[MXG_MX_MAX_HOSTS]; /* point into the set */
	size_t n;
	int pref_self;		/* -1 if self is not in the set */
	enum mxg_reason reason; /* NONE when some primary has an address; else
				 * why the domain is open/unknown (also when
				 * n > 0 but no primary has an address:
				 * NO_PRIMARY_ADDR, or DNS_FAILED when their
				 * address lookups failed) */
};

/* "Is this MX host me": host is one of self, in any case, a trailing dot
 * on either side ignored. The one comparison the daemon, its status and
 * `mxgate probe` use. */
bool mx_host_is_self(const char *host, const char (*self)[MXG_NAME_MAX], size_t n_self);

/* Fills out; returns out->n. Host names compare case-insensitively,
 * without trailing dots. Primaries without addresses are listed too (for
 * display); only those with addresses can be probed. */
size_t mx_find_primaries(const struct mx_set *set, const char (*self)[MXG_NAME_MAX], size_t n_self,
			 struct mx_primaries *out);

#endif
