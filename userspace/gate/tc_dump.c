// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the kernel holds, read straight from the pinned maps, so it works
 * while mxgated is down (`mxgate dump`). Each gate and domain entry is
 * marked fresh or expired against the monotonic clock the tc program uses.
 */
#include "tc_dump.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event.h"
#include "gate_kern.h"
#include "pins.h"
#include "reason.h"
#include "tc_hook.h"

#define NS_PER_SEC 1000000000ULL

static void print_expiry(uint64_t expires_ns, uint64_t now)
{
	if (expires_ns > now)
		printf("fresh    %5llus left",
		       (unsigned long long)((expires_ns - now + NS_PER_SEC - 1) / NS_PER_SEC));
	else
		printf("expired  %5llus ago ",
		       (unsigned long long)((now - expires_ns) / NS_PER_SEC));
}

static const char *gate_state_str(unsigned s)
{
	switch (s) {
	case MXG_GATE_GATED:
		return "gated";
	case MXG_GATE_OPEN:
		return "open";
	}
	return "?";
}

/* Whole seconds since a CLOCK_MONOTONIC stamp; 0 for unset or future ones. */
static unsigned long long secs_since(uint64_t then_ns, uint64_t now)
{
	return then_ns && then_ns < now ? (now - then_ns) / NS_PER_SEC : 0;
}

static void print_gate(const void *k, const void *v, uint64_t now)
{
	const struct mxg_gate_entry *e = v;
	char buf[MXG_ADDRSTRLEN];
	struct mxg_ip ip;

	mxg_ip_from_gate_key(k, &ip);
	printf("  %-40s %-6s ", mxg_ip_str(&ip, buf, sizeof(buf)), gate_state_str(e->state));
	print_expiry(e->expires_ns, now);
	printf("  domains %u  updated %llus ago\n", e->domains, secs_since(e->updated_ns, now));
}

static void print_domain(const void *k, const void *v, uint64_t now)
{
	struct mxg_domain_key key = *(const struct mxg_domain_key *)k;
	struct mxg_domain_entry e = *(const struct mxg_domain_entry *)v;

	/* Both strings come from the controller; bound them anyway. */
	key.name[sizeof(key.name) - 1] = '\0';
	e.primary[sizeof(e.primary) - 1] = '\0';
	printf("  %-30s %-7s ", key.name,
	       mxg_domain_state_str(gate_domain_state_from_kern(e.state)));
	print_expiry(e.expires_ns, now);
	printf("  primary %s  reason %s  since %llus ago\n", e.primary[0] ? e.primary : "-",
	       mxg_reason_str(e.reason), secs_since(e.since_ns, now));
}

static void print_pass(const void *k, const void *v, uint64_t now)
{
	const struct mxg_pass_entry *e = v;
	char buf[MXG_ADDRSTRLEN];
	struct mxg_ip ip;

	mxg_ip_from_gate_key(k, &ip);
	printf("  %-39s ", mxg_ip_str(&ip, buf, sizeof(buf)));
	print_expiry(e->expires_ns, now);
	printf("  %s, since %llus\n", gate_kern_pass_reason_str(e->reason),
	       secs_since(e->since_ns, now));
}

static void print_pass_net(const void *k, const void *v, uint64_t now)
{
	const struct mxg_pass_net_key *key = k;
	char buf[MXG_ADDRSTRLEN];
	struct mxg_gate_key g;
	struct mxg_ip ip;
	unsigned plen;

	(void)v;
	(void)now;
	memcpy(g.addr, key->addr, sizeof(g.addr));
	mxg_ip_from_gate_key(&g, &ip);
	plen = ip.family == AF_INET && key->prefixlen >= 96 ? key->prefixlen - 96 : key->prefixlen;
	printf("  %s/%u\n", mxg_ip_str(&ip, buf, sizeof(buf)), plen);
}

/* Room for any key or value of the maps dump_map() walks. */
union dump_buf {
	struct mxg_gate_key gate_key;
	struct mxg_gate_entry gate;
	struct mxg_domain_key domain_key;
	struct mxg_domain_entry domain;
	struct mxg_pass_entry pass;
	struct mxg_pass_net_key pass_net_key;
	__u32 pass_net;
};

/* Every map is walked the same way: next key, look it up (an entry deleted
 * under us is skipped), print. A pinned map whose key or value is larger
 * than this build knows (pinned by another version) is named, not read. */
static void dump_map(const char *title, int fd,
		     void (*print)(const void *key, const void *val, uint64_t now))
{
	union dump_buf key, next, val;
	struct bpf_map_info info = {0};
	__u32 info_len = sizeof(info);
	uint64_t now = ev_now_ns();
	int n = 0, r;

	printf("%s:\n", title);
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) < 0) {
		printf("  (cannot read the map's sizes: %s; not read)\n", strerror(errno));
		return;
	}
	if (info.key_size > sizeof(key) || info.value_size > sizeof(val)) {
		printf("  (key %u / value %u bytes: pinned by another mxgate version; "
		       "unload it with that version's mxgate unload)\n",
		       info.key_size, info.value_size);
		return;
	}
	for (r = bpf_map_get_next_key(fd, NULL, &next); !r;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue; /* deleted under us */
		print(&key, &val, now);
		n++;
	}
	if (!n)
		printf("  (none)\n");
}

static int dump_counters(int fd)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
#define F(x) {#x, offsetof(struct mxg_counters, x)}
	    F(syn25),	      F(steered),	    F(pass_no_entry),	   F(pass_open),
	    F(pass_expired),  F(pass_no_responder), F(pass_assign_failed), F(pass_unparsed),
	    F(pass_existing), F(pass_client_net),   F(pass_passed),	   F(ack25),
	    F(ack_steered),
#undef F
	};
	_Static_assert(sizeof(fields) / sizeof(fields[0]) ==
			   sizeof(struct mxg_counters) / sizeof(__u64),
		       "every counter has a name here");
	struct mxg_counters c;
	int ret;

	ret = gate_map_read_counters(fd, &c);
	if (ret) {
		fprintf(stderr, "mxgate: read counters: %s\n", strerror(-ret));
		return ret;
	}
	printf("counters (summed over %d CPUs):\n", libbpf_num_possible_cpus());
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		printf("  %-20s %llu\n", fields[i].name,
		       (unsigned long long)*(const __u64 *)((const char *)&c + fields[i].off));
	return 0;
}

static void dump_responder(int fd)
{
	static const char *const slot_names[MXG_RESPONDER_SLOTS] = {"v4", "v6"};

	printf("responder:\n");
	for (__u32 slot = 0; slot < MXG_RESPONDER_SLOTS; slot++) {
		__u64 cookie;

		if (!bpf_map_lookup_elem(fd, &slot, &cookie))
			printf("  %s (slot %u): present, socket cookie %llu\n", slot_names[slot],
			       slot, (unsigned long long)cookie);
		else
			printf("  %s (slot %u): absent (new connections pass to the MTA)\n",
			       slot_names[slot], slot);
	}
}

static void print_attached(int ifindex, const char *ifname, uint32_t prog_id, void *arg)
{
	printf("  attached: %s ingress (prog id %u)\n", ifname, prog_id);
}

static void dump_program(int prog_fd)
{
	uint32_t id = tc_prog_id(prog_fd);

	printf("program: %s (id %u), tc handle 0x%x priority %u\n", MXG_TC_PROG_NAME, id,
	       MXG_TC_HANDLE, MXG_TC_PRIO);
	if (tc_for_each_ours(id, print_attached, NULL) <= 0)
		printf("  attached: nowhere in this network namespace\n");
}

static void missing(const char *dir, const char *what)
{
	printf("%s: not pinned in %s\n", what, dir);
}

int tc_dump(const char *dir)
{
	struct mxg_pins p;
	struct stat st;
	char err[512];
	int n, ret = 0;

	pins_libbpf_log_to_debug();
	if (stat(dir, &st) < 0) {
		fprintf(
		    stderr,
		    "mxgate: pin_dir %s: %s; is mxgated running with this pin_dir (--pin-dir)?\n",
		    dir, strerror(errno));
		return -1;
	}
	if (pins_check_bpffs(dir, err, sizeof(err))) {
		fprintf(stderr, "mxgate: %s\n", err);
		return -1;
	}
	n = pins_open(dir, &p);
	if (n < 0) {
		fprintf(stderr, "mxgate: open pins in %s: %s (needs root)\n", dir, strerror(-n));
		return -1;
	}
	if (n == 0) {
		fprintf(stderr,
			"mxgate: nothing of mxgate's is pinned in %s; is mxgated running with "
			"this pin_dir (--pin-dir)?\n",
			dir);
		return -1;
	}
	printf("pin_dir %s\n", dir);
	if (p.prog_fd >= 0)
		dump_program(p.prog_fd);
	else
		missing(dir, MXG_PIN_PROG);
	if (p.gate_fd >= 0)
		dump_map("gate_addrs", p.gate_fd, print_gate);
	else
		missing(dir, MXG_MAP_GATE);
	if (p.domains_fd >= 0)
		dump_map("domains", p.domains_fd, print_domain);
	else
		missing(dir, MXG_MAP_DOMAINS);
	if (p.counters_fd >= 0) {
		if (dump_counters(p.counters_fd))
			ret = -1;
	} else {
		missing(dir, MXG_MAP_COUNTERS);
	}
	if (p.responder_fd >= 0)
		dump_responder(p.responder_fd);
	else
		missing(dir, MXG_MAP_RESPONDER);
	if (p.pass_nets_fd >= 0)
		dump_map("pass_nets", p.pass_nets_fd, print_pass_net);
	else
		missing(dir, MXG_MAP_PASS_NETS);
	if (p.passes_fd >= 0)
		dump_map("passes", p.passes_fd, print_pass);
	else
		missing(dir, MXG_MAP_PASSES);
	pins_close(&p);
	return ret;
}
