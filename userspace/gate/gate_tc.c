// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tc gate backend: loads bpf/mxgate.bpf.c, pins its maps and program
 * under pin_dir, attaches it at the clsact ingress hook of each configured
 * interface, and writes the controller's verdicts into the pinned maps.
 *
 * Lifecycle. The filter and the pins outlive the process on purpose: a
 * controller that crashes or is killed leaves entries that expire by
 * themselves (fail open by expiry, not by detach). A restart reuses the
 * pinned maps (libbpf pin_root_path), so gated addresses stay gated across
 * it, and replaces our filter in place (same handle/priority, REPLACE).
 * Only close(detach = true) removes the filters and the pins.
 *
 * Someone else may remove our filter behind our back (`tc qdisc del dev
 * eth0 clsact`, an interface deleted and re-created): check() finds it
 * gone, by interface name, and attaches it again. The controller calls it
 * on every rtnetlink link or tc event and every round.
 *
 * Rounds. Every address and domain written between begin() and commit()
 * is remembered; commit() deletes every other entry of both maps, so an
 * address or domain dropped from the config disappears within one round.
 * Writes outside a round (no begin) are kept and delete nothing.
 *
 * Scale. The domain map is informational (the program never reads it)
 * and may hold 100,000 domains: it is created without preallocation and
 * sized from the configuration at load (twice the domains, at least
 * MXG_DOMAINS_MIN), and tc_domains.c writes it: in batches
 * (BPF_MAP_UPDATE_BATCH, one system call per TC_DOMAINS_BATCH entries),
 * keeping the names written in a hash map with the sync period that last
 * wrote them, so domains_sync() deletes what the controller no longer
 * writes without walking the kernel map (it walks it once, after open, for
 * entries of an earlier run, a bounded part per call).
 *
 * This file is the only one that includes the BPF skeleton (the Makefile
 * makes only gate_tc.o depend on it); the map writes below it take map
 * descriptors (gate_maps.c, tc_domains.c).
 */
#include "gate.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event.h"
#include "gate_kern.h"
#include "gate_maps.h"
#include "kernel_features.h"
#include "log.h"
#include "mxgate.skel.h"
#include "pins.h"
#include "tc_claim.h"
#include "tc_domains.h"
#include "tc_hook.h"

struct gate {
	struct mxgate *skel;
	char pin_dir[4096];
	int ifindex[MXG_MAX_INTERFACES];
	char ifname[MXG_MAX_INTERFACES][IF_NAMESIZE];
	bool attached[MXG_MAX_INTERFACES];	   /* as of the last open/check */
	int claim[MXG_MAX_INTERFACES];		   /* tc_claim.h: ours alone; -1 */
	struct tc_ahead ahead[MXG_MAX_INTERFACES]; /* foreign filters before ours */
	size_t n_if;
	uint32_t prog_id;

	bool in_round;
	bool round_addrs; /* this batch sets every gate address */
	struct mxg_gate_key seen_addrs[MXG_GATE_MAX_ADDRS];
	size_t n_seen_addrs;

	struct tc_domains doms; /* the domain map's writer */
};

#define MXG_DOMAINS_MIN 4096

static void check_ahead(struct gate *g, size_t i);
static int tc_check_attached(struct gate *g, unsigned *reattached);

static uint32_t domain_map_size(size_t n_domains)
{
	uint64_t want = (uint64_t)n_domains * 2;
	uint32_t size = MXG_DOMAINS_MIN;

	while (size < want && size < MXG_MAX_DOMAINS)
		size *= 2;
	return size < MXG_MAX_DOMAINS ? size : MXG_MAX_DOMAINS;
}

/* A pinned domain map of an earlier run is reused when it is big enough
 * and made the same way; otherwise its pin is replaced (it only informs
 * administrators: the next round writes every entry again). */
static void size_domain_map(struct gate *g, size_t n_domains)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	uint32_t want = domain_map_size(n_domains);
	char path[4200];
	int fd;

	g->doms.max = want;
	if (pins_path(path, sizeof(path), g->pin_dir, MXG_MAP_DOMAINS))
		goto set;
	fd = bpf_obj_get(path);
	if (fd < 0)
		goto set;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    info.map_flags == bpf_map__map_flags(g->skel->maps.domains) &&
	    info.key_size == sizeof(struct mxg_domain_key) &&
	    info.value_size == sizeof(struct mxg_domain_entry) && info.max_entries >= n_domains &&
	    info.max_entries <= MXG_MAX_DOMAINS) {
		g->doms.max = info.max_entries;
	} else if (unlink(path) == 0) {
		log_notice("domain map in %s: replaced by one sized for %zu domains (%u entries)",
			   g->pin_dir, n_domains, want);
	}
	close(fd);
set:
	bpf_map__set_max_entries(g->skel->maps.domains, g->doms.max);
}

static void unstale_iface(int ifindex, const char *ifname, uint32_t prog_id, void *arg)
{
	struct gate *g = arg;

	for (size_t i = 0; i < g->n_if; i++)
		if (g->ifindex[i] == ifindex)
			return;
	/* Ours from an earlier config: it would keep gating with our maps. */
	if (!tc_detach(ifindex, prog_id))
		log_notice("detached mxgate from %s, which is no longer configured", ifname);
}

static int load_and_pin(struct gate *g, size_t n_domains, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = g->pin_dir);
	char path[4200];
	int ret;

	g->skel = mxgate__open_opts(&opts);
	if (!g->skel) {
		ret = -errno;
		snprintf(err, errlen, "open BPF object: %s", strerror(-ret));
		return ret;
	}
	size_domain_map(g, n_domains);
	ret = mxgate__load(g->skel);
	if (ret) {
		snprintf(err, errlen,
			 "load BPF program: %s; if maps of an older mxgate are pinned there, "
			 "remove them with: mxgate unload --pin-dir %s",
			 strerror(-ret), g->pin_dir);
		return ret;
	}
	ret = pins_path(path, sizeof(path), g->pin_dir, MXG_PIN_PROG);
	if (ret)
		goto fail;
	/* The previous run's program is still attached until we replace it;
	 * the pin only names the current one. */
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		goto fail;
	}
	ret = bpf_program__pin(g->skel->progs.mxgate_tc, path);
	if (ret)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen,
		 "pin program at %s: %s; remove stale pins with: mxgate unload --pin-dir %s", path,
		 strerror(-ret), g->pin_dir);
	return ret;
}

static void attach_error(const char *ifname, int ret, char *err, size_t errlen)
{
	if (ret == -EEXIST)
		snprintf(err, errlen,
			 "attach to %s: a filter that is not mxgate's holds tc ingress handle 0x%x "
			 "priority %u; remove it or move it to another priority",
			 ifname, MXG_TC_HANDLE, MXG_TC_PRIO);
	else
		snprintf(err, errlen, "attach to %s ingress: %s", ifname, strerror(-ret));
}

static int tc_open(struct gate **out, const struct mxg_config *cfg, char *err, size_t errlen)
{
	struct gate *g;
	uint32_t prog_id;
	size_t attached = 0;
	int lock = -1, ret, prog_fd;

	*out = NULL;
	/* Before anything is loaded: an older kernel is refused in one line
	 * naming what it lacks, and the host stays open. */
	ret = kernel_features_check_tc(err, errlen);
	if (ret)
		return ret;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < MXG_MAX_INTERFACES; i++)
		g->claim[i] = -1;
	if (tc_domains_init(&g->doms, g->pin_dir)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (snprintf(g->pin_dir, sizeof(g->pin_dir), "%s", cfg->pin_dir) >=
		(int)sizeof(g->pin_dir) ||
	    !g->pin_dir[0]) {
		ret = -EINVAL;
		snprintf(err, errlen, "pin_dir: empty or too long");
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_interfaces && i < MXG_MAX_INTERFACES; i++) {
		unsigned idx = if_nametoindex(cfg->interfaces[i]);

		if (!idx) {
			ret = -ENODEV;
			snprintf(
			    err, errlen,
			    "interface %s: no such interface; check 'interfaces' in the config",
			    cfg->interfaces[i]);
			goto fail;
		}
		g->ifindex[g->n_if] = (int)idx;
		snprintf(g->ifname[g->n_if], sizeof(g->ifname[0]), "%s", cfg->interfaces[i]);
		g->n_if++;
		/* Before anything is attached: another daemon's filter stays. */
		ret = tc_claim(g->ifname[g->n_if - 1], &g->claim[g->n_if - 1], err, errlen);
		if (ret)
			goto fail;
	}
	pins_libbpf_log_to_debug();

	lock = pins_lock(g->pin_dir, true, err, errlen);
	if (lock < 0) {
		ret = lock;
		goto fail;
	}
	ret = load_and_pin(g, cfg->n_domains, err, errlen);
	if (ret)
		goto fail;
	prog_fd = bpf_program__fd(g->skel->progs.mxgate_tc);
	prog_id = tc_prog_id(prog_fd);
	for (attached = 0; attached < g->n_if; attached++) {
		ret = tc_attach(g->ifindex[attached], prog_fd, prog_id);
		if (ret) {
			attach_error(g->ifname[attached], ret, err, errlen);
			goto fail;
		}
	}
	tc_for_each_ours(prog_id, unstale_iface, g);
	pins_unlock(lock);
	g->prog_id = prog_id;
	for (size_t i = 0; i < g->n_if; i++)
		g->attached[i] = true;
	log_info("tc gate attached on %zu interface(s), pins in %s", g->n_if, g->pin_dir);
	for (size_t i = 0; i < g->n_if; i++)
		check_ahead(g, i);
	*out = g;
	return 0;
fail:
	/* Leave nothing half done: what we attached now goes away again.
	 * The pins stay; their entries expire by themselves. */
	while (attached > 0) {
		attached--;
		tc_detach(g->ifindex[attached], 0);
	}
	pins_unlock(lock);
	if (g->skel)
		mxgate__destroy(g->skel);
	tc_domains_free(&g->doms);
	for (size_t i = 0; i < g->n_if; i++)
		tc_unclaim(g->claim[i]);
	free(g);
	return ret;
}

/* Is our program the one deciding on interface i? Another tool's filter
 * ahead of ours that ends classification means ours never runs: mail
 * passes to the MTA while the maps say gated. Logged once per change. */
static void check_ahead(struct gate *g, size_t i)
{
	struct tc_ahead now, *was = &g->ahead[i];

	if (!g->attached[i] || tc_ahead(g->ifindex[i], g->prog_id, &now))
		memset(&now, 0, sizeof(now));
	if (now.n == was->n && now.pref == was->pref && !strcmp(now.kind, was->kind))
		return;
	if (now.n)
		log_warn("interface %s: %u foreign tc filter(s) ahead of ours (the first: %s at "
			 "pref %u); one that ends classification keeps mail from ever reaching "
			 "our program, so it passes ungated to the MTA; see: tc filter show "
			 "dev %s ingress",
			 g->ifname[i], now.n, now.kind, (unsigned)now.pref, g->ifname[i]);
	else if (was->n)
		log_notice("interface %s: no foreign tc filter ahead of ours any more",
			   g->ifname[i]);
	*was = now;
}

static int tc_check(struct gate *g, unsigned *reattached)
{
	int ret = tc_check_attached(g, reattached);

	for (size_t i = 0; i < g->n_if; i++)
		check_ahead(g, i);
	return ret;
}

static unsigned tc_filters_ahead(const struct gate *g, const char *ifname, uint32_t *pref,
				 const char **kind)
{
	for (size_t i = 0; i < g->n_if; i++)
		if (!strcmp(g->ifname[i], ifname) && g->ahead[i].n) {
			if (pref)
				*pref = g->ahead[i].pref;
			if (kind)
				*kind = g->ahead[i].kind;
			return g->ahead[i].n;
		}
	return 0;
}

static int tc_check_attached(struct gate *g, unsigned *reattached)
{
	int prog_fd = bpf_program__fd(g->skel->progs.mxgate_tc);
	int ret, fail = 0;

	*reattached = 0;
	for (size_t i = 0; i < g->n_if; i++) {
		int idx = (int)if_nametoindex(g->ifname[i]);
		uint32_t id = 0;

		if (!idx) {
			if (g->attached[i])
				log_err("interface %s is gone: mail arriving on it passes ungated "
					"to the MTA until it returns; the filter is attached "
					"again then",
					g->ifname[i]);
			g->attached[i] = false;
			fail = -ENODEV;
			continue;
		}
		if (idx == g->ifindex[i] && !tc_query(idx, &id) && id == g->prog_id) {
			g->attached[i] = true;
			continue;
		}
		ret = tc_attach(idx, prog_fd, g->prog_id);
		if (ret) {
			if (g->attached[i] || idx != g->ifindex[i]) {
				char err[512];

				attach_error(g->ifname[i], ret, err, sizeof(err));
				log_err("our tc filter on %s is gone and cannot be attached again: "
					"%s; mail arriving on %s passes ungated to the MTA",
					g->ifname[i], err, g->ifname[i]);
			}
			g->ifindex[i] = idx;
			g->attached[i] = false;
			fail = ret;
			continue;
		}
		log_notice("tc filter re-attached to %s: %s", g->ifname[i],
			   idx != g->ifindex[i]
			       ? "the interface was re-created"
			       : "our filter or its clsact qdisc had been removed (tc qdisc del?)");
		g->ifindex[i] = idx;
		g->attached[i] = true;
		(*reattached)++;
	}
	return fail;
}

static bool tc_steers(const struct gate *g, const char *ifname)
{
	for (size_t i = 0; i < g->n_if; i++)
		if (!ifname || !strcmp(g->ifname[i], ifname)) {
			if (g->attached[i])
				return true;
			if (ifname)
				return false;
		}
	return false;
}

static unsigned tc_unsteered(const struct gate *g)
{
	unsigned n = 0;

	for (size_t i = 0; i < g->n_if; i++)
		n += !g->attached[i];
	return n;
}

static int tc_set_responder(struct gate *g, int fd_v4, int fd_v6)
{
	int map = bpf_map__fd(g->skel->maps.responder);
	int ret;

	ret = gate_map_set_responder(map, MXG_RESPONDER_V4, fd_v4);
	if (!ret)
		ret = gate_map_set_responder(map, MXG_RESPONDER_V6, fd_v6);
	if (ret)
		log_err("responder SOCKMAP in %s: %s; nothing is steered (mail passes to the MTA) "
			"until the responder is set again",
			g->pin_dir, strerror(-ret));
	return ret;
}

static int tc_begin(struct gate *g, bool addresses)
{
	g->in_round = true;
	g->round_addrs = addresses;
	g->n_seen_addrs = 0;
	return 0;
}

static int tc_set_address(struct gate *g, const struct mxg_ip *addr, bool gated, unsigned n_domains,
			  uint64_t ttl_ms)
{
	int ret;

	ret = gate_map_set_address(bpf_map__fd(g->skel->maps.gate_addrs), addr, gated, n_domains,
				   ttl_ms);
	if (ret)
		return ret;
	if (g->in_round && g->n_seen_addrs < MXG_GATE_MAX_ADDRS)
		mxg_ip_to_gate_key(addr, &g->seen_addrs[g->n_seen_addrs++]);
	return 0;
}

static int tc_set_domain(struct gate *g, const struct gate_domain_view *d, uint64_t ttl_ms)
{
	return tc_domains_set(&g->doms, bpf_map__fd(g->skel->maps.domains), d, ttl_ms, g->in_round);
}

static int tc_commit(struct gate *g)
{
	int ret, ret2;

	if (!g->in_round)
		return 0;
	g->in_round = false;
	ret = !g->round_addrs
		  ? 0
		  : gate_map_delete_unseen(bpf_map__fd(g->skel->maps.gate_addrs), g->seen_addrs,
					   g->n_seen_addrs, sizeof(g->seen_addrs[0]),
					   MXG_GATE_MAX_ADDRS);
	ret2 = tc_domains_commit(&g->doms, bpf_map__fd(g->skel->maps.domains));
	if (ret || ret2)
		log_err("removing stale gate entries in %s: %s; they expire by themselves within "
			"state_ttl",
			g->pin_dir, strerror(-(ret ? ret : ret2)));
	return ret ? ret : ret2;
}

static int tc_domains_sync_op(struct gate *g)
{
	int r = tc_domains_sync(&g->doms, bpf_map__fd(g->skel->maps.domains));

	if (r < 0)
		log_err("removing stale domain entries in %s: %s; they stay until the next sync",
			g->pin_dir, strerror(-r));
	return r;
}

static int tc_set_pass(struct gate *g, const struct mxg_ip *ip, uint64_t expires_ns,
		       uint64_t since_ns, unsigned reason)
{
	int map = bpf_map__fd(g->skel->maps.passes);

	if (!expires_ns)
		return gate_map_delete_pass(map, ip);
	return gate_map_set_pass(map, ip, expires_ns, since_ns, reason);
}

static int tc_set_pass_clients(struct gate *g, const struct mxg_config *cfg)
{
	int ret = gate_map_set_pass_nets(bpf_map__fd(g->skel->maps.pass_nets), cfg->pass_clients,
					 cfg->n_pass_clients);

	if (ret)
		log_err("pass_clients into %s/" MXG_MAP_PASS_NETS ": %s; those clients are steered "
			"like any other",
			g->pin_dir, strerror(-ret));
	return ret;
}

static void tc_close(struct gate *g, bool detach)
{
	char err[512];
	int lock, ret;

	if (!g)
		return;
	if (detach) {
		uint32_t prog_id = tc_prog_id(bpf_program__fd(g->skel->progs.mxgate_tc));

		lock = pins_lock(g->pin_dir, false, err, sizeof(err));
		if (lock < 0)
			log_warn("%s; removing the pins anyway", err);
		for (size_t i = 0; i < g->n_if; i++) {
			if (!g->attached[i] && !if_nametoindex(g->ifname[i]))
				continue; /* gone with its interface */
			ret = tc_detach(g->ifindex[i], prog_id);
			if (ret && ret != -ENOENT)
				log_err("detach from %s: %s; run: mxgate unload --pin-dir %s",
					g->ifname[i], strerror(-ret), g->pin_dir);
		}
		ret = pins_remove(g->pin_dir);
		if (ret)
			log_err("remove pins in %s: %s; run: mxgate unload --pin-dir %s",
				g->pin_dir, strerror(-ret), g->pin_dir);
		pins_unlock(lock);
	}
	mxgate__destroy(g->skel);
	tc_domains_free(&g->doms);
	for (size_t i = 0; i < g->n_if; i++)
		tc_unclaim(g->claim[i]);
	free(g);
}

const struct gate_ops gate_tc_ops = {
    .name = "tc",
    .open = tc_open,
    .set_responder = tc_set_responder,
    .begin = tc_begin,
    .set_address = tc_set_address,
    .set_domain = tc_set_domain,
    .commit = tc_commit,
    .domains_sync = tc_domains_sync_op,
    .check = tc_check,
    .steers = tc_steers,
    .unsteered = tc_unsteered,
    .filters_ahead = tc_filters_ahead,
    .set_pass = tc_set_pass,
    .set_pass_clients = tc_set_pass_clients,
    .close = tc_close,
};
