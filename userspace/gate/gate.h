/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The gate backend: where the controller's verdicts become kernel state.
 * Two implementations: tc (BPF maps + tc ingress program, gate_tc.c) and
 * nft (set elements with timeouts + a rule, gate_nft.c); `none` keeps
 * nothing. The controller calls, on each publish:
 *     begin(addresses = true), set_address for every gate address,
 *     set_domain for the domains that changed, commit
 * and, spread over loop iterations, begin(addresses = false), set_domain
 * (force) for a bounded slice of the domains, commit: every domain entry
 * is written again well within its ttl; domains_sync once every domain
 * has been written since the last sync. Every entry written carries
 * expiry now + ttl: if the controller stops refreshing, the kernel opens
 * the gate by itself.
 */
#ifndef MXG_GATE_H
#define MXG_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

struct gate;

struct gate_domain_view {
	const char *name;
	unsigned state;	     /* enum mxg_domain_state */
	unsigned reason;     /* enum mxg_reason */
	const char *primary; /* "" when none */
	uint64_t since_ns;   /* CLOCK_MONOTONIC */
	bool force;	     /* write it even if unchanged: the expiry refresh */
};

struct gate_ops {
	const char *name;
	/* Create pins/tables and attach; reuse what a previous run left. On
	 * error, write one line to err saying what failed and what to do. */
	int (*open)(struct gate **out, const struct mxg_config *cfg, char *err, size_t errlen);
	/* The responder's listening sockets (-1 when absent). tc puts them in
	 * the SOCKMAP; nft redirects to their port. */
	int (*set_responder)(struct gate *g, int fd_v4, int fd_v6);
	/* addresses: this batch sets every gate address (the others are
	 * removed at commit); false: domains only, addresses untouched. */
	int (*begin)(struct gate *g, bool addresses);
	int (*set_address)(struct gate *g, const struct mxg_ip *addr, bool gated,
			   unsigned n_domains, uint64_t ttl_ms);
	int (*set_domain)(struct gate *g, const struct gate_domain_view *d, uint64_t ttl_ms);
	int (*commit)(struct gate *g);
	/* Every served domain has been set since the last call (or open):
	 * remove the entries of the others, and, the first time, those an
	 * earlier run left, a bounded part per call. 1 while more is left
	 * (call again in a later iteration), 0, or a negative errno. NULL:
	 * the backend keeps no domain entries. */
	int (*domains_sync)(struct gate *g);
	/* Is our filter still where it was put? tc: on every configured
	 * interface, found by name (one deleted and re-created has a new
	 * index), re-attach it where someone removed it (tc qdisc del ...
	 * clsact) and count those in *reattached. 0, or a negative errno
	 * when some interface is left without it (logged once per loss).
	 * NULL: nothing to check (nft repairs its table in commit). */
	int (*check)(struct gate *g, unsigned *reattached);
	/* Is traffic arriving on ifname steered, as of the last open or
	 * check? ifname NULL: on any configured interface. NULL: always. */
	bool (*steers)(const struct gate *g, const char *ifname);
	/* Configured interfaces without our filter (last check); NULL: 0. */
	unsigned (*unsteered)(const struct gate *g);
	/* Foreign filters ahead of ours on ifname as of the last check (0:
	 * ours decides, or is absent), with the first one's preference and
	 * kind when non-zero. NULL: none ever. */
	unsigned (*filters_ahead)(const struct gate *g, const char *ifname, uint32_t *pref,
				  const char **kind);
	/* Pass a client (greylisting, pass_recipients) until expires_ns
	 * (CLOCK_MONOTONIC); expires_ns 0 removes the pass. The kernel lets
	 * its new connections through on its own until then. NULL: the
	 * backend cannot pass clients (none). */
	int (*set_pass)(struct gate *g, const struct mxg_ip *ip, uint64_t expires_ns,
			uint64_t since_ns, unsigned reason);
	/* Make cfg's pass_clients the networks never steered (at start and
	 * on every reload). NULL: none to set. */
	int (*set_pass_clients)(struct gate *g, const struct mxg_config *cfg);
	/* Changes when the backend made its kernel objects anew under the
	 * same gate (the nft gate recreating table inet mxgate after `nft
	 * flush ruleset`): the passes, which only the controller keeps, must
	 * be written again. NULL: never (tc's maps are pinned). */
	unsigned (*epoch)(const struct gate *g);
	/* Writes the loop sends without waiting for the kernel's answer
	 * (nft): the descriptor to watch for reading (-1: none), and what to
	 * do when it is readable or a timer fires: read the answers, give up
	 * those the kernel did not give within 3 s (logged; the next publish
	 * writes everything again). async_poll returns the writes still
	 * awaited, -ENOENT when the gate's table has gone (publish soon: it is
	 * made again then), or another negative errno when a write failed.
	 * NULL: every write is finished when it returns (tc, none). */
	int (*async_fd)(const struct gate *g);
	int (*async_poll)(struct gate *g, uint64_t now_ms);
	/* detach = true: remove program/rules/pins (SIGTERM, unload). false:
	 * leave kernel state to expire by itself (crash-like exit, reload). */
	void (*close)(struct gate *g, bool detach);
};

extern const struct gate_ops gate_tc_ops;
extern const struct gate_ops gate_nft_ops;
extern const struct gate_ops gate_none_ops;

const struct gate_ops *gate_ops_for(enum mxg_gate_kind kind);

#endif
