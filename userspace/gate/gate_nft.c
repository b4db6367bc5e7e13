// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nft gate backend. Gated addresses are elements of two nf_tables maps,
 * address -> responder port, each element with a timeout of state_ttl:
 *
 *   map gated4 { type ipv4_addr : inet_service; flags timeout; }
 *   map gated6 { type ipv6_addr : inet_service; flags timeout; }
 *
 * and one rule per family steers a connection-opening SYN to port 25 of a
 * gated address to the responder with tproxy:
 *
 *   tcp dport 25 tcp flags & (syn|ack) == syn \
 *       tproxy ip to 127.0.0.1:ip daddr map @gated4
 *
 * Why tproxy and not redirect: the responder listens on 127.0.0.1 and ::1,
 * which a NAT redirect cannot reach from another interface (it rewrites to
 * the interface's own address), and tproxy leaves the destination intact,
 * so getsockname() on the accepted socket shows the original address and
 * port 25 exactly as with the tc backend. tproxy assigns the SYN only to a
 * listener with IP_TRANSPARENT (set here on the responder's sockets); if
 * the responder is gone the lookup finds nothing and the packet continues
 * to the real MTA. No conntrack or NAT state is involved, so an existing
 * connection is never touched.
 *
 * Own mode (nft_table unset): table inet mxgate holds the maps and a
 * prerouting chain; it is created in one batch at open and deleted at
 * close(detach). Administrator mode (nft_table, nft_set set): the maps
 * <nft_set>4 and <nft_set>6 in the administrator's table belong to mxgate,
 * which replaces their elements and touches nothing else; the rule is the
 * administrator's (docs/deployment.md has the snippet).
 *
 * Every round replaces the maps' contents in one batch: flush, then add
 * each gated address with a fresh timeout. Before Linux 6.12 adding an
 * existing element does not reset its timeout; flush + add in one
 * transaction inserts new elements on every kernel since 4.10, and the
 * commit is atomic, so no packet sees a gap.
 */
#include "gate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"
#include "kernel_features.h"
#include "log.h"
#include "nft_batch.h"
#include "nft_admin.h"
#include "nft_own.h"
#include "nft_pass.h"

/* At most one re-creation of our table per second: one that the kernel
 * refuses is tried again then, not at every answer that says the table
 * is missing. */
#define NFT_RECREATE_MIN_MS 1000

struct nft_entry {
	struct mxg_ip ip;
	uint64_t expires_ms; /* ev_now_ms() clock */
};

struct gate {
	struct nft_conn nl;
	bool own;
	uint16_t family; /* NFPROTO_INET, _IPV4 or _IPV6 of the table */
	char table[64];
	char map4[NFT_ADMIN_NAME_MAX]; /* "" when this family is not gated */
	char map6[NFT_ADMIN_NAME_MAX];
	uint16_t port4; /* responder ports, host order; 0 = none */
	uint16_t port6;
	struct nft_entry pending[MXG_MAX_ADDRESSES];
	size_t n_pending;
	struct nft_entry live[MXG_MAX_ADDRESSES]; /* last committed */
	size_t n_live;
	bool warned_family;
	bool in_publish;	 /* begin(addresses = true) .. commit */
	struct nft_async pub;	 /* the loop's writes, answers read on readable */
	bool recreate;		 /* our table has gone: make it at the next publish */
	uint64_t recreate_at_ms; /* not before (ev_now_ms() clock) */
	uint64_t async_errors;
	bool failing; /* the last write failed: logged once */
	/* pass_clients as last set, to put back into a recreated table */
	struct mxg_net pass_nets[MXG_MAX_PASS_CLIENTS];
	size_t n_pass_nets;
	unsigned epoch; /* tables recreated: the controller writes its passes again */
};

/* Flush map, then add the entries of one family still alive at now. */
static int batch_elements(struct gate *g, struct nft_conn *conn, struct nft_batch *b,
			  const char *map, int af, uint16_t port, const struct nft_entry *ents,
			  size_t n, uint64_t now)
{
	uint16_t port_be = htons(port);
	struct nftnl_set *s;
	size_t added = 0;
	int ret;

	if (!map[0])
		return 0;
	s = nft_elems_new(g->table, map);
	if (!s)
		return -ENOMEM;
	/* No elements: the kernel reads a DELSETELEM without a list as flush. */
	ret = nft_batch_elems(conn, b, NFT_MSG_DELSETELEM, g->family, s, "flush mxgate's map");
	for (size_t i = 0; !ret && port && i < n; i++) {
		/* A timeout of 0 would mean "never expires": never write it. */
		if (ents[i].ip.family != af || ents[i].expires_ms <= now)
			continue;
		ret = nft_elems_add_ip(s, &ents[i].ip, &port_be, 2, ents[i].expires_ms - now);
		added++;
	}
	if (!ret && added)
		ret = nft_batch_elems(conn, b, NFT_MSG_NEWSETELEM, g->family, s,
				      "add gated addresses");
	nftnl_set_free(s);
	return ret;
}

/* The answer to a batch sent by the loop (nft_async_poll). */
static void write_done(void *arg, const char *label, int err, const char *text)
{
	struct gate *g = arg;

	if (err == -ENOENT && g->own) {
		/* `nft flush ruleset` (e.g. reloading nftables.service)
		 * removed our table: the next publish puts it back. Said once
		 * for every batch that found it missing. */
		if (!g->recreate)
			log_warn("gate nft: table inet " OWN_TABLE
				 " has gone (nft flush ruleset?); recreating it");
		g->recreate = true;
		return;
	}
	if (err && !strcmp(label, NFT_PASS_NETS_LABEL)) {
		g->async_errors++;
		log_err("gate nft: pass_clients into table inet " OWN_TABLE
			": %s; those clients are steered like any other",
			text);
		return;
	}
	if (err && !strcmp(label, NFT_OWN_CREATE_LABEL)) {
		/* The elements sent behind it find no table: ENOENT, tried
		 * again after NFT_RECREATE_MIN_MS. */
		g->async_errors++;
		log_err("gate nft: cannot make table inet " OWN_TABLE " again: %s; the gate is "
			"open until it can; check that nf_tables with tproxy is available",
			text);
		return;
	}
	if (err) {
		g->async_errors++;
		if (!g->failing)
			log_err("gate nft: table %s: %s (%s); the gate stays as the kernel has it "
				"and opens when elements expire; written again at the next "
				"publish; check the table with `nft list table` and the kernel log",
				g->table, text, label);
	} else if (g->failing) {
		log_notice("gate nft: table %s writable again", g->table);
	}
	g->failing = err != 0;
}

/* Replace both maps' contents with ents (atomic). async: sent from the
 * loop, not waiting for the kernel's answer (write_done gets it). */
static int write_elements(struct gate *g, const struct nft_entry *ents, size_t n, bool async)
{
	struct nft_conn *conn = async ? &g->pub.conn : &g->nl;
	uint64_t now = ev_now_ms();
	struct nft_batch b;
	char err[256];
	int ret;

	ret = nft_batch_start(conn, &b);
	if (ret)
		return ret;
	ret = batch_elements(g, conn, &b, g->map4, AF_INET, g->port4, ents, n, now);
	if (!ret)
		ret = batch_elements(g, conn, &b, g->map6, AF_INET6, g->port6, ents, n, now);
	if (ret) {
		nft_batch_free(&b);
		return ret;
	}
	if (async) {
		ret = nft_batch_send(&g->pub, &b, "gated addresses", err, sizeof(err));
		if (ret && !g->failing)
			log_err("gate nft: table %s: %s; written again at the next publish",
				g->table, err);
		g->failing = ret != 0 || g->failing;
		return ret;
	}
	ret = nft_batch_commit(&g->nl, &b, err, sizeof(err));
	/* Once per failing run, not every round. */
	if (ret && !g->failing)
		log_err(
		    "gate nft: table %s: %s; the gate stays as the kernel has it and opens when "
		    "elements expire; check the table with `nft list table` and the kernel log",
		    g->table, err);
	else if (!ret && g->failing)
		log_notice("gate nft: table %s writable again", g->table);
	g->failing = ret != 0;
	return ret;
}

/* ---- administrator's table ---- */

static int open_admin(struct gate *g, const struct mxg_config *cfg, char *err, size_t errlen)
{
	int ret;

	/* config_keys.c splits "ip nat" into nft_family and nft_table. */
	if (nft_family_parse(cfg->nft_family, &g->family)) {
		snprintf(err, errlen, "gate nft: nft_table '%s %s': expected '[inet|ip|ip6] NAME'",
			 cfg->nft_family, cfg->nft_table);
		return -EINVAL;
	}
	snprintf(g->table, sizeof(g->table), "%s", cfg->nft_table);
	if (!cfg->nft_set[0]) {
		snprintf(err, errlen,
			 "gate nft: nft_table is set but nft_set is not; set both, or neither "
			 "for mxgate's own table");
		return -EINVAL;
	}
	ret = nft_admin_check_pair(&g->nl, g->family, g->table, cfg->nft_set, NFT_ADMIN_MAP,
				   "gate nft", "unset nft_table and nft_set", g->map4, g->map6, err,
				   errlen);
	if (ret)
		return ret;
	if (!g->map4[0] && g->family == NFPROTO_INET)
		log_warn("gate nft: no map %s4 in table inet %s: IPv4 addresses stay open",
			 cfg->nft_set, g->table);
	if (!g->map6[0] && g->family == NFPROTO_INET)
		log_warn("gate nft: no map %s6 in table inet %s: IPv6 addresses stay open",
			 cfg->nft_set, g->table);
	/* Start open: a previous run's elements name an old responder port. */
	return write_elements(g, NULL, 0, false);
}

/* ---- gate_ops ---- */

static int nft_open(struct gate **out, const struct mxg_config *cfg, char *err, size_t errlen)
{
	struct gate *g = calloc(1, sizeof(*g));
	int ret;

	*out = NULL;
	if (!g)
		return -ENOMEM;
	/* Before anything is changed: a kernel without nft tproxy is refused
	 * in one line naming it, and the host stays open. */
	ret = kernel_features_check_nft(err, errlen);
	if (ret)
		goto fail;
	ret = nft_conn_open(&g->nl);
	if (!ret)
		ret = nft_async_open(&g->pub);
	if (ret) {
		snprintf(err, errlen, "gate nft: netlink socket to nf_tables: %s", strerror(-ret));
		goto fail;
	}
	if (cfg->nft_table[0]) {
		ret = open_admin(g, cfg, err, errlen);
	} else if (cfg->nft_set[0]) {
		snprintf(err, errlen,
			 "gate nft: nft_set is set but nft_table is not; set both, or neither "
			 "for mxgate's own table");
		ret = -EINVAL;
	} else {
		g->own = true;
		g->family = NFPROTO_INET;
		snprintf(g->table, sizeof(g->table), OWN_TABLE);
		snprintf(g->map4, sizeof(g->map4), OWN_MAP "4");
		snprintf(g->map6, sizeof(g->map6), OWN_MAP "6");
		ret = nft_own_create(&g->nl, err, errlen);
	}
	if (ret)
		goto fail;
	log_info("gate nft: managing map%s %s%s%s in table %s %s",
		 g->map4[0] && g->map6[0] ? "s" : "", g->map4,
		 g->map4[0] && g->map6[0] ? " and " : "", g->map6, nft_family_name(g->family),
		 g->table);
	*out = g;
	return 0;
fail:
	nft_async_close(&g->pub);
	nft_conn_close(&g->nl);
	free(g);
	return ret;
}

/* tproxy only hands a SYN to a listener that has IP_TRANSPARENT. */
static int responder_port(int fd, bool v6, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	*port = 0;
	if (fd < 0)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET && !v6)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6 && v6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return -EAFNOSUPPORT;
	if (v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
	       : setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)))
		return -errno;
	return 0;
}

static int nft_set_responder(struct gate *g, int fd_v4, int fd_v6)
{
	uint16_t p4, p6;
	int ret;

	ret = responder_port(fd_v4, false, &p4);
	if (!ret)
		ret = responder_port(fd_v6, true, &p6);
	if (ret) {
		log_err(
		    "gate nft: responder socket: %s (IP_TRANSPARENT needs CAP_NET_ADMIN); gating "
		    "nothing",
		    strerror(-ret));
		p4 = p6 = 0;
	}
	if (p4 == g->port4 && p6 == g->port6)
		return ret;
	if (!p4 && !p6)
		log_notice("gate nft: no responder; removing every element of %s %s (gate open)",
			   nft_family_name(g->family), g->table);
	g->port4 = p4;
	g->port6 = p6;
	/* Rewrite at once: an element naming a dead port must not wait for
	 * the next round (tproxy would fall through to the MTA, but the state
	 * shown to the administrator would lie). Remaining timeouts are kept. */
	return write_elements(g, g->live, g->n_live, true) ?: ret;
}

static int nft_begin(struct gate *g, bool addresses)
{
	g->in_publish = addresses;
	if (addresses)
		g->n_pending = 0;
	return 0;
}

static int nft_set_address(struct gate *g, const struct mxg_ip *addr, bool gated,
			   unsigned n_domains, uint64_t ttl_ms)
{
	if (!gated || !ttl_ms)
		return 0;
	if (!(addr->family == AF_INET ? g->map4 : g->map6)[0]) {
		if (!g->warned_family)
			log_warn(
			    "gate nft: table %s %s has no map for IPv%c addresses; they stay open",
			    nft_family_name(g->family), g->table,
			    addr->family == AF_INET ? '4' : '6');
		g->warned_family = true;
		return 0;
	}
	if (g->n_pending >= MXG_MAX_ADDRESSES)
		return -ENOSPC;
	g->pending[g->n_pending].ip = *addr;
	g->pending[g->n_pending].expires_ms = ev_now_ms() + ttl_ms;
	g->n_pending++;
	return 0;
}

static int nft_set_domain(struct gate *g, const struct gate_domain_view *d, uint64_t ttl_ms)
{
	return 0; /* domains live in the control socket and policy server */
}

static int nft_async_fd(const struct gate *g)
{
	return g->pub.conn.nl ? mnl_socket_get_fd(g->pub.conn.nl) : -1;
}

static int nft_async_poll_op(struct gate *g, uint64_t now_ms)
{
	uint64_t errors = g->async_errors;
	unsigned left = nft_async_poll(&g->pub, now_ms, write_done, g);

	if (g->recreate)
		return -ENOENT;
	return g->async_errors != errors ? -EIO : (int)left;
}

static unsigned nft_epoch(const struct gate *g)
{
	return g->epoch;
}

static int nft_commit(struct gate *g)
{
	int ret;

	if (!g->in_publish)
		return 0; /* no domain entries here: nothing to write */
	g->in_publish = false;
	/* `nft flush ruleset` (e.g. reloading nftables.service) removed our
	 * table (an answer said ENOENT): put it back rather than stay open
	 * until a restart. Sent like every other write, not awaited: the
	 * table, then pass_clients, then the elements below, in this order on
	 * one socket (the kernel applies them as they come); a failure comes
	 * back to write_done. */
	if (g->recreate && g->own) {
		uint64_t now = ev_now_ms();
		char err[256];

		if (now < g->recreate_at_ms)
			return -ENOENT; /* the answers' poll publishes again */
		g->recreate_at_ms = now + NFT_RECREATE_MIN_MS;
		ret = nft_own_create_send(&g->pub, err, sizeof(err));
		if (ret) {
			log_err("%s", err);
			return ret;
		}
		g->recreate = false;
		g->epoch++; /* empty pass sets: ctl_passes_sweep fills them */
		if (nft_pass_nets(&g->pub, g->pass_nets, g->n_pass_nets, err, sizeof(err)))
			log_err("gate nft: pass_clients into the recreated table: %s; those "
				"clients are steered like any other",
				err);
	}
	/* Sent, not awaited: the answer comes to nft_async_poll. */
	ret = write_elements(g, g->pending, g->n_pending, true);

	if (!ret) {
		memcpy(g->live, g->pending, g->n_pending * sizeof(g->pending[0]));
		g->n_live = g->n_pending;
	}
	return ret;
}

/* Own mode only: the administrator's table has no pass sets of ours
 * (docs/deployment.md says what to add); there a pass changes nothing, as
 * without a set_pass. */
static int nft_set_pass(struct gate *g, const struct mxg_ip *ip, uint64_t expires_ns,
			uint64_t since_ns, unsigned reason)
{
	uint64_t now = ev_now_ms(), until = expires_ns / 1000000u, timeout_ms;
	char err[256];
	int ret;

	(void)since_ns;
	(void)reason;
	if (!g->own)
		return 0;
	/* An expired pass is a removal: a timeout of 0 would mean "never".
	 * The rest is rounded up to a whole second: the pass was computed a
	 * few milliseconds before this loop time, and `nft list set` then
	 * shows the pass_ttl the administrator set ("timeout 1d"), not
	 * "23h59m59s996ms"; the kernel keeps the pass under a second longer. */
	timeout_ms = expires_ns && until > now ? (until - now + 999) / 1000 * 1000 : 0;
	ret = nft_pass_set(&g->pub, ip, timeout_ms, err, sizeof(err));
	if (ret)
		log_err("gate nft: pass set in table inet " OWN_TABLE ": %s", err);
	return ret;
}

static int nft_set_pass_clients(struct gate *g, const struct mxg_config *cfg)
{
	char err[256];
	int ret;

	if (!g->own)
		return 0;
	g->n_pass_nets = cfg->n_pass_clients;
	memcpy(g->pass_nets, cfg->pass_clients, g->n_pass_nets * sizeof(g->pass_nets[0]));
	/* Sent, not awaited (a reload runs it in the loop): a refusal comes
	 * to write_done. */
	ret = nft_pass_nets(&g->pub, g->pass_nets, g->n_pass_nets, err, sizeof(err));
	if (ret)
		log_err("gate nft: pass_clients into table inet " OWN_TABLE
			": %s; those clients are steered like any other",
			err);
	return ret;
}

static void nft_close(struct gate *g, bool detach)
{
	if (!g)
		return;
	if (detach) {
		if (g->own)
			nft_own_delete(&g->nl);
		else
			write_elements(g, NULL, 0, false);
	}
	nft_async_close(&g->pub);
	nft_conn_close(&g->nl);
	free(g);
}

const struct gate_ops gate_nft_ops = {
    .name = "nft",
    .open = nft_open,
    .set_responder = nft_set_responder,
    .begin = nft_begin,
    .set_address = nft_set_address,
    .set_domain = nft_set_domain,
    .commit = nft_commit,
    .set_pass = nft_set_pass,
    .set_pass_clients = nft_set_pass_clients,
    .epoch = nft_epoch,
    .async_fd = nft_async_fd,
    .async_poll = nft_async_poll_op,
    .close = nft_close,
};
