// SPDX-License-Identifier: GPL-2.0-only
/*
 * Primaries of a domain from its MX set (docs/probe-and-dns.md "Primaries"): every
 * MX host whose preference is lower than ours. Pure, no I/O, so the daemon,
 * `mxgate probe` and the tests share one answer.
 */
#include "mxset.h"

#include <string.h>
#include <strings.h>

/* Case-insensitive name equality, a trailing dot on either side ignored. */
static bool name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

bool mx_host_is_self(const char *host, const char (*self)[MXG_NAME_MAX], size_t n_self)
{
	for (size_t i = 0; i < n_self; i++)
		if (name_equal(host, self[i]))
			return true;
	return false;
}

static int self_pref(const struct mx_set *set, const char (*self)[MXG_NAME_MAX], size_t n_self)
{
	int best = -1;

	for (size_t i = 0; i < set->n_hosts; i++)
		if (mx_host_is_self(set->hosts[i].name, self, n_self) &&
		    (best < 0 || set->hosts[i].pref < best))
			best = set->hosts[i].pref;
	return best;
}

size_t mx_find_primaries(const struct mx_set *set, const char (*self)[MXG_NAME_MAX], size_t n_self,
			 struct mx_primaries *out)
{
	bool any_addr = false, lookup_failed = false;

	memset(out, 0, sizeof(*out));
	out->pref_self = -1;
	switch (set->status) {
	case MX_OK:
		break;
	case MX_NULL:
		out->reason = MXG_REASON_NULL_MX;
		return 0;
	case MX_NO_RECORDS:
		out->reason = MXG_REASON_NO_MX;
		return 0;
	case MX_NXDOMAIN:
		out->reason = MXG_REASON_NXDOMAIN;
		return 0;
	case MX_ERROR:
	default:
		out->reason = MXG_REASON_DNS_FAILED;
		return 0;
	}

	out->pref_self = self_pref(set, self, n_self);
	if (out->pref_self < 0) {
		out->reason = MXG_REASON_SELF_NOT_IN_MX;
		return 0;
	}
	for (size_t i = 0; i < set->n_hosts && out->n < MXG_MX_MAX_HOSTS; i++) {
		const struct mx_host *h = &set->hosts[i];

		if (h->pref >= out->pref_self)
			continue;
		out->hosts[out->n++] = h;
		if (h->n_addrs)
			any_addr = true;
		else if (h->addr_status == MX_ERROR)
			lookup_failed = true;
	}
	if (!out->n)
		out->reason = MXG_REASON_NO_PRIMARY;
	else if (!any_addr && lookup_failed)
		out->reason = MXG_REASON_DNS_FAILED; /* we cannot tell: unknown */
	else if (!any_addr)
		out->reason = MXG_REASON_NO_PRIMARY_ADDR;
	return out->n;
}
