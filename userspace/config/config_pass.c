// SPDX-License-Identifier: GPL-2.0-only
/* The allowlist keys: pass_clients (addresses and CIDR networks never
 * steered) and pass_recipients (local parts or addresses always let
 * through), parsed item by item for config_keys.c's list keys. */
#include "config_pass.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zero the host bits beyond prefix, so equal networks compare equal. */
static void net_mask(struct mxg_net *n)
{
	uint8_t *b = n->ip.family == AF_INET ? (uint8_t *)&n->ip.v4 : n->ip.v6.s6_addr;
	unsigned bits = n->ip.family == AF_INET ? 32 : 128;

	for (unsigned i = n->prefix; i < bits; i++)
		b[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

/* "192.0.2.7", "198.51.100.0/24", "2001:db8::/32" (IPv4-mapped IPv6 is
 * taken as IPv4); host bits are cleared. 0, or -1 with why filled. */
static int cfg_parse_net(const char *v, struct mxg_net *out, char *why, size_t len)
{
	char addr[64];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	unsigned max, prefix;
	char *end;

	memset(out, 0, sizeof(*out));
	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, v, alen);
	addr[alen] = '\0';
	if (mxg_ip_parse(addr, &out->ip))
		goto bad;
	if (out->ip.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&out->ip.v6)) {
		struct in_addr a;

		memcpy(&a, &out->ip.v6.s6_addr[12], 4);
		out->ip.family = AF_INET;
		out->ip.v4 = a;
	}
	max = out->ip.family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		errno = 0;
		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		prefix = (unsigned)strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > max)
			goto bad;
	}
	out->prefix = (uint8_t)prefix;
	net_mask(out);
	return 0;
bad:
	snprintf(why, len,
		 "\"%.64s\" is not an address or network; write e.g. 192.0.2.7, 198.51.100.0/24 "
		 "or 2001:db8:1::/48, separated by spaces",
		 v);
	return -1;
}

static bool cfg_net_contains(const struct mxg_net *n, const struct mxg_ip *ip)
{
	struct mxg_net probe = {.prefix = n->prefix};

	probe.ip = *ip;
	if (ip->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ip->v6)) {
		probe.ip.family = AF_INET;
		memcpy(&probe.ip.v4, &ip->v6.s6_addr[12], 4);
	}
	if (probe.ip.family != n->ip.family)
		return false;
	net_mask(&probe);
	return mxg_ip_equal(&probe.ip, &n->ip);
}

int cfg_add_pass_client(struct mxg_config *c, const char *v, char *why, size_t len)
{
	struct mxg_net n;

	if (cfg_parse_net(v, &n, why, len))
		return -1;
	for (size_t i = 0; i < c->n_pass_clients; i++) {
		if (c->pass_clients[i].prefix == n.prefix &&
		    mxg_ip_equal(&c->pass_clients[i].ip, &n.ip)) {
			snprintf(why, len, "%.64s is listed twice; remove one", v);
			return -1;
		}
	}
	if (c->n_pass_clients == MXG_MAX_PASS_CLIENTS) {
		snprintf(why, len, "more than %d entries; mxgate takes at most %d",
			 MXG_MAX_PASS_CLIENTS, MXG_MAX_PASS_CLIENTS);
		return -1;
	}
	c->pass_clients[c->n_pass_clients++] = n;
	return 0;
}

/* RFC 5321 4.1.2 dot-string local parts, as postmasters write them:
 * letters, digits and the atext specials; a domain part must look like
 * a host name. Lower case: local parts of postmaster and abuse are case
 * blind (RFC 5321 4.5.1), and so is our comparison. */
int cfg_add_pass_recipient(struct mxg_config *c, const char *v, char *why, size_t len)
{
	char lc[MXG_PASS_RCPT_MAX];
	const char *at = strchr(v, '@');
	size_t n = strlen(v);

	if (!n || n >= sizeof(lc) || at == v || (at && (!at[1] || strchr(at + 1, '@'))))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),:;<>[\\]", ch))
			goto bad;
		lc[i] = (char)tolower(ch);
	}
	lc[n] = '\0';
	if (!at && n > 64)
		goto bad;
	for (size_t i = 0; i < c->n_pass_recipients; i++) {
		if (!strcmp(c->pass_recipients[i], lc)) {
			snprintf(why, len, "%.64s is listed twice; remove one", v);
			return -1;
		}
	}
	if (c->n_pass_recipients == MXG_MAX_PASS_RECIPIENTS) {
		snprintf(why, len, "more than %d entries; mxgate takes at most %d",
			 MXG_MAX_PASS_RECIPIENTS, MXG_MAX_PASS_RECIPIENTS);
		return -1;
	}
	memcpy(c->pass_recipients[c->n_pass_recipients++], lc, n + 1);
	return 0;
bad:
	snprintf(why, len,
		 "\"%.64s\" is not a local part or address; write e.g. postmaster, abuse or "
		 "hostmaster@example.org, separated by spaces",
		 v);
	return -1;
}

bool cfg_pass_recipient(const struct mxg_config *c, const char *local, const char *domain)
{
	char full[MXG_PASS_RCPT_MAX];
	int n;

	/* A bare <postmaster> (RFC 5321 4.5.1: every server must take it) is
	 * the postmaster of the domains served here, whatever the list. */
	if (!domain[0] && !strcasecmp(local, "postmaster"))
		return true;
	n = snprintf(full, sizeof(full), "%s@%s", local, domain);
	for (size_t i = 0; i < c->n_pass_recipients; i++) {
		const char *r = c->pass_recipients[i];

		if (strchr(r, '@') ? (n > 0 && (size_t)n < sizeof(full) && !strcasecmp(r, full))
				   : !strcasecmp(r, local))
			return true;
	}
	return false;
}

bool cfg_pass_client(const struct mxg_config *c, const struct mxg_ip *ip)
{
	for (size_t i = 0; i < c->n_pass_clients; i++)
		if (cfg_net_contains(&c->pass_clients[i], ip))
			return true;
	return false;
}
