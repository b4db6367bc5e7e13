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
 * MXG_DOMAINS_MIN), its entries are written in batches
 * (BPF_MAP_UPDATE_BATCH, one system call per GATE_BATCH entries), and the
 * names written are kept in a hash map with the round that wrote them, so
 * commit() deletes what a round did not write without walking the kernel
 * map (it walks it once, after open, for entries of an earlier run).
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
#include "gate_maps.h"
#include "log.h"
#include "strmap.h"
#include "mxgate.skel.h"
#include "pins.h"
#include "tc_hook.h"

struct gate {
	struct mxgate *skel;
	char pin_dir[4096];
	int ifindex[MXG_MAX_INTERFACES];
	char ifname[MXG_MAX_INTERFACES][IF_NAMESIZE];
	bool attached[MXG_MAX_INTERFACES]; /* as of the last open/check */
	size_t n_if;
	uint32_t prog_id;

	bool in_round;
	struct mxg_gate_key seen_addrs[MXG_GATE_MAX_ADDRS];
	size_t n_seen_addrs;

	uint32_t dom_max;     /* max_entries of the domain map */
	struct strmap *dom;   /* domain name -> struct tc_dom */
	uintptr_t gen;	      /* this round */
	bool dom_swept;	      /* entries of an earlier run removed */
	bool dom_full_logged; /* E2BIG said once per run */
	size_t n_batch;
	struct mxg_domain_key *bkeys;	/* GATE_BATCH of them */
	struct mxg_domain_entry *bvals; /* GATE_BATCH of them */
};

#define GATE_BATCH 1024 /* domain entries per BPF_MAP_UPDATE_BATCH */

/* The last entry written for one domain (value of gate.dom). */
struct tc_dom {
	uintptr_t gen;	     /* the round that last set it */
	uint64_t refresh_ns; /* write it again from then on, even unchanged */
	uint64_t since_ns;
	uint32_t state, reason;
	uint32_t primary_hash;
};
#define MXG_DOMAINS_MIN 4096

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

	g->dom_max = want;
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
		g->dom_max = info.max_entries;
	} else if (unlink(path) == 0) {
		log_notice("domain map in %s: replaced by one sized for %zu domains (%u entries)",
			   g->pin_dir, n_domains, want);
	}
	close(fd);
set:
	bpf_map__set_max_entries(g->skel->maps.domains, g->dom_max);
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

static bool free_record(void *arg, const char *name, uintptr_t *val)
{
	free((void *)*val);
	return true;
}

static void free_domains(struct gate *g)
{
	if (g->dom)
		strmap_sweep(g->dom, free_record, NULL);
	strmap_free(g->dom);
	free(g->bkeys);
	free(g->bvals);
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
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->dom = strmap_new();
	g->bkeys = calloc(GATE_BATCH, sizeof(*g->bkeys));
	g->bvals = calloc(GATE_BATCH, sizeof(*g->bvals));
	if (!g->dom || !g->bkeys || !g->bvals) {
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
	free_domains(g);
	free(g);
	return ret;
}

static int tc_check(struct gate *g, unsigned *reattached)
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

static int tc_begin(struct gate *g)
{
	g->in_round = true;
	g->n_seen_addrs = 0;
	g->gen++;
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

/* Write the batched domain entries. A full map (a reload added more
 * domains than it was sized for) is said once and is no gate error: the
 * program does not read this map. */
static int flush_domains(struct gate *g)
{
	int map = bpf_map__fd(g->skel->maps.domains);
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t count = (uint32_t)g->n_batch;
	int ret = 0;

	if (!g->n_batch)
		return 0;
	if (bpf_map_update_batch(map, g->bkeys, g->bvals, &count, &opts) < 0) {
		/* Where it stopped, one by one, to tell a full map apart. */
		for (size_t i = count; i < g->n_batch; i++) {
			if (!bpf_map_update_elem(map, &g->bkeys[i], &g->bvals[i], BPF_ANY))
				continue;
			if (errno == E2BIG) {
				if (!g->dom_full_logged)
					log_warn("domain map in %s is full (%u entries); restart "
						 "mxgated to size it for the configured domains "
						 "(the gate itself is not affected)",
						 g->pin_dir, g->dom_max);
				g->dom_full_logged = true;
				break;
			}
			ret = -errno;
			break;
		}
	}
	g->n_batch = 0;
	return ret;
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* What we last wrote for a domain: an unchanged entry is written again
 * only when half its life is gone, so a round costs the domains that
 * changed plus about half the others, in batches. */
static struct tc_dom *domain_record(struct gate *g, const char *key, bool *fresh)
{
	uintptr_t v;
	struct tc_dom *t;

	*fresh = false;
	if (strmap_get(g->dom, key, &v))
		return (struct tc_dom *)v;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (strmap_put(g->dom, key, (uintptr_t)t) < 0) {
		free(t);
		return NULL;
	}
	*fresh = true;
	return t;
}

static int tc_set_domain(struct gate *g, const struct gate_domain_view *d, uint64_t ttl_ms)
{
	struct mxg_domain_key *k = &g->bkeys[g->n_batch];
	struct mxg_domain_entry *e = &g->bvals[g->n_batch];
	uint32_t ph = str_hash(d->primary ? d->primary : "");
	uint64_t now = ev_now_ns();
	struct tc_dom *t;
	bool fresh;
	int ret;

	ret = gate_map_domain_entry(d, ttl_ms, k, e);
	if (ret)
		return ret;
	t = domain_record(g, k->name, &fresh);
	if (!t)
		return -ENOMEM;
	t->gen = g->gen;
	if (!fresh && t->state == d->state && t->reason == d->reason && t->primary_hash == ph &&
	    t->since_ns == d->since_ns && now < t->refresh_ns)
		return 0;
	t->state = d->state;
	t->reason = d->reason;
	t->primary_hash = ph;
	t->since_ns = d->since_ns;
	t->refresh_ns = now + ttl_ms * 1000000ull / 2;
	g->n_batch++;
	if (g->n_batch == GATE_BATCH || !g->in_round) {
		int r = flush_domains(g);

		if (!ret)
			ret = r;
	}
	return ret;
}

static bool seen(const void *keys, size_t n, size_t size, const void *key)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp((const char *)keys + i * size, key, size))
			return true;
	return false;
}

struct stale_sweep {
	struct gate *g;
	int map;
	int ret;
};

static bool stale_domain(void *arg, const char *name, uintptr_t *val)
{
	struct stale_sweep *s = arg;
	struct tc_dom *t = (struct tc_dom *)*val;
	struct mxg_domain_key key;

	if (t->gen == s->g->gen)
		return false;
	free(t);
	if (!gate_map_domain_key(name, &key) && bpf_map_delete_elem(s->map, &key) < 0 &&
	    errno != ENOENT && !s->ret)
		s->ret = -errno;
	return true;
}

/* Once after open: delete domain entries that an earlier run left and
 * this one did not write. Keys are collected first: deleting while
 * walking a hash map restarts the walk. */
static int sweep_earlier_run(struct gate *g, int map)
{
	size_t cap = 1024, n = 0;
	struct mxg_domain_key *stale = malloc(cap * sizeof(*stale)), cur, next;
	int ret = 0, r;

	if (!stale)
		return -ENOMEM;
	for (r = bpf_map_get_next_key(map, NULL, &next); !r;
	     r = bpf_map_get_next_key(map, &cur, &next)) {
		cur = next;
		next.name[sizeof(next.name) - 1] = '\0';
		if (strmap_get(g->dom, next.name, NULL))
			continue;
		if (n == cap) {
			struct mxg_domain_key *s2 = realloc(stale, 2 * cap * sizeof(*stale));

			if (!s2) {
				ret = -ENOMEM;
				break;
			}
			stale = s2;
			cap *= 2;
		}
		stale[n++] = cur;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(map, &stale[i]) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	free(stale);
	return ret;
}

static int commit_domains(struct gate *g)
{
	int map = bpf_map__fd(g->skel->maps.domains);
	struct stale_sweep s = {.g = g, .map = map};
	int ret = flush_domains(g);

	strmap_sweep(g->dom, stale_domain, &s);
	if (!ret)
		ret = s.ret;
	if (!g->dom_swept) {
		int r = sweep_earlier_run(g, map);

		g->dom_swept = true;
		if (!ret)
			ret = r;
	}
	return ret;
}

/* Delete every key of the map that is not in keys[0..n) (the gate
 * addresses: at most MXG_GATE_MAX_ADDRS). Keys are collected first:
 * deleting while walking a hash map restarts the walk. */
static int delete_unseen(int map, const void *keys, size_t n, size_t size, size_t max)
{
	char *stale = calloc(max, size);
	char *cur = calloc(2, size), *next = cur + size;
	size_t n_stale = 0;
	int ret = 0, r;

	if (!stale || !cur) {
		ret = -ENOMEM;
		goto out;
	}
	for (r = bpf_map_get_next_key(map, NULL, next); !r && n_stale < max;
	     r = bpf_map_get_next_key(map, cur, next)) {
		if (!seen(keys, n, size, next))
			memcpy(stale + n_stale++ * size, next, size);
		memcpy(cur, next, size);
	}
	for (size_t i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(map, stale + i * size) < 0 && errno != ENOENT && !ret)
			ret = -errno;
out:
	free(stale);
	free(cur);
	return ret;
}

static int tc_commit(struct gate *g)
{
	int ret, ret2;

	if (!g->in_round)
		return 0;
	g->in_round = false;
	ret = delete_unseen(bpf_map__fd(g->skel->maps.gate_addrs), g->seen_addrs, g->n_seen_addrs,
			    sizeof(g->seen_addrs[0]), MXG_GATE_MAX_ADDRS);
	ret2 = commit_domains(g);
	if (ret || ret2)
		log_err("removing stale gate entries in %s: %s; they expire by themselves within "
			"state_ttl",
			g->pin_dir, strerror(-(ret ? ret : ret2)));
	return ret ? ret : ret2;
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
	free_domains(g);
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
    .check = tc_check,
    .steers = tc_steers,
    .unsteered = tc_unsteered,
    .set_pass = tc_set_pass,
    .set_pass_clients = tc_set_pass_clients,
    .close = tc_close,
};
