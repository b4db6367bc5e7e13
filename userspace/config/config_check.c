// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checks across keys, once the whole file is read: required keys, and
 * values that are each fine but wrong together. Each error names the line
 * of the key to change (none when the key is missing).
 */
#include <string.h>

#include "addr.h"
#include "config_parse.h"
#include "config_values.h"

static bool policy_addr_is_loopback(const struct sockaddr_storage *ss)
{
	struct mxg_ip ip;
	uint16_t port;

	if (mxg_ip_from_sockaddr((const struct sockaddr *)ss, &ip, &port) < 0)
		return false;
	return mxg_ip_is_loopback(&ip);
}

int cfg_check(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;

	if (!cfg_key_line(p, "self"))
		return cfg_fail(p, p->name, 0,
				"self: required key missing; add \"self = mx2.example.org\" (this "
				"host's name as it appears in MX records); nothing is gated until "
				"self and the domains are set");
	if (!cfg_key_line(p, "domains") && !cfg_key_line(p, "domains_file") &&
	    !c->domains_from_postfix)
		return cfg_fail(p, p->name, 0,
				"domains: required key missing; add \"domains = example.org\", "
				"\"domains_file = /etc/mxgate/domains\" or \"domains_from = "
				"postfix\"; nothing is gated until the domains are set");
	if (c->gate == MXG_GATE_TC && !c->n_interfaces)
		return cfg_fail(p, p->name, cfg_key_line(p, "gate"),
				"interfaces: required key missing for gate = tc; add \"interfaces "
				"= eth0\" or set gate = nft or none");
	if (c->probe_timeout_ms > c->probe_interval_ms)
		return cfg_fail(p, p->name, cfg_key_line(p, "probe_timeout"),
				"probe_timeout: longer than probe_interval; rounds would overlap, "
				"shorten probe_timeout or lengthen probe_interval");
	if (c->state_ttl_ms <= c->probe_interval_ms + c->probe_timeout_ms) {
		int line = cfg_key_line(p, "state_ttl");
		char a[32], b[32], t[32], sum[32];

		if (!line)
			line = cfg_key_line(p, "probe_interval");
		if (!line)
			line = cfg_key_line(p, "probe_timeout");
		return cfg_fail(
		    p, p->name, line,
		    "state_ttl: %s must exceed probe_interval + probe_timeout (%s + %s "
		    "= %s), or gate entries expire between rounds; raise state_ttl",
		    cv_fmt_duration(c->state_ttl_ms, t, sizeof(t)),
		    cv_fmt_duration(c->probe_interval_ms, a, sizeof(a)),
		    cv_fmt_duration(c->probe_timeout_ms, b, sizeof(b)),
		    cv_fmt_duration(c->probe_interval_ms + c->probe_timeout_ms, sum, sizeof(sum)));
	}
	if (!c->nft_table[0] != !c->nft_set[0])
		return cfg_fail(p, p->name,
				cfg_key_line(p, c->nft_set[0] ? "nft_set" : "nft_table"),
				"%s: set without %s; give both (the administrator's table and set) "
				"or neither (mxgate's own table inet mxgate)",
				c->nft_set[0] ? "nft_set" : "nft_table",
				c->nft_set[0] ? "nft_table" : "nft_set");
	if (c->offender_nft_set[0] && !c->offender_set)
		return cfg_fail(p, p->name, cfg_key_line(p, "offender_nft_set"),
				"offender_nft_set: set while offender_set = no; add \"offender_set "
				"= yes\" or remove offender_nft_set");
	if (c->policy_addr_len && c->policy_addr.ss_family != AF_UNIX && !c->policy_allow_remote &&
	    !policy_addr_is_loopback(&c->policy_addr))
		return cfg_fail(
		    p, p->name, cfg_key_line(p, "policy_listen"),
		    "policy_listen: %s is not a loopback address; whoever reaches it "
		    "can ask about any client and make it an offender; listen on "
		    "inet:127.0.0.1:PORT or unix:PATH, or set policy_allow_remote = yes "
		    "and firewall the port",
		    c->policy_listen);
	/* Every local user reaches a loopback port; only smtpd (group
	 * policy_group) reaches the unix socket. */
	if (c->policy_addr_len && c->policy_addr.ss_family != AF_UNIX &&
	    policy_addr_is_loopback(&c->policy_addr) && !c->policy_allow_local_inet)
		return cfg_fail(
		    p, p->name, cfg_key_line(p, "policy_listen"),
		    "policy_listen: %s answers every local user, who could ask about any "
		    "client and make it an offender; use policy_listen = unix (the socket "
		    "" MXG_DEFAULT_POLICY_SOCKET ", group policy_group) or set "
		    "policy_allow_local_inet = yes",
		    c->policy_listen);
	if (c->pass_max_ms < c->pass_ttl_ms)
		return cfg_fail(p, p->name,
				cfg_key_line(p, "pass_max") ? cfg_key_line(p, "pass_max")
							    : cfg_key_line(p, "pass_ttl"),
				"pass_max: shorter than pass_ttl; a pass could never last its ttl, "
				"raise pass_max or lower pass_ttl");
	if (c->greylist_window_ms <= c->greylist_delay_ms)
		return cfg_fail(p, p->name,
				cfg_key_line(p, "greylist_window")
				    ? cfg_key_line(p, "greylist_window")
				    : cfg_key_line(p, "greylist_delay"),
				"greylist_window: must exceed greylist_delay, or no retry could "
				"ever pass; raise greylist_window or lower greylist_delay");
	if (c->max_connections_per_client > c->max_connections)
		return cfg_fail(
		    p, p->name, cfg_key_line(p, "max_connections_per_client"),
		    "max_connections_per_client: exceeds max_connections (%u); lower it",
		    c->max_connections);
	/* The default follows a smaller max_connections; a value set above it
	 * is an error. */
	if (!cfg_key_line(p, "max_connections_per_network") &&
	    c->max_connections_per_network > c->max_connections)
		c->max_connections_per_network = c->max_connections;
	if (c->max_connections_per_network > c->max_connections)
		return cfg_fail(
		    p, p->name, cfg_key_line(p, "max_connections_per_network"),
		    "max_connections_per_network: exceeds max_connections (%u); lower it",
		    c->max_connections);
	/* A quorum is counted from the other edges' verdicts in Redis; with
	 * none to read, every domain would stay open for good. */
	if (c->quorum > 1 && c->state_backend != MXG_STATE_REDIS)
		return cfg_fail(p, p->name, cfg_key_line(p, "quorum"),
				"quorum: %u edges need the other edges' verdicts, which only "
				"state_backend = redis shares; set state_backend = redis (and "
				"redis) or quorum = 1",
				c->quorum);
	if (!c->helo_name[0])
		memcpy(c->helo_name, c->self[0], sizeof(c->helo_name));
	if (c->domains_from_postfix && cfg_read_postfix_domains(p))
		return -1;
	if (c->domains_from_postfix && !c->tls_cert_file[0] && !c->tls_key_file[0] &&
	    cfg_read_postfix_tls(p))
		return -1;
	if (cfg_check_tls(p))
		return -1;
	if (cfg_check_redis(p))
		return -1;
	if (cfg_finish_domains(p))
		return -1;
	return cfg_finish_final_domains(p);
}
