// SPDX-License-Identifier: GPL-2.0-only
/* Entries of mxgate's BPF maps; see gate_maps.h. */
#include "gate_maps.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event.h"
#include "gate_kern.h"

#define NS_PER_MS 1000000ULL

void mxg_ip_to_gate_key(const struct mxg_ip *ip, struct mxg_gate_key *key)
{
	memset(key, 0, sizeof(*key));
	if (ip->family == AF_INET) {
		key->addr[10] = 0xff;
		key->addr[11] = 0xff;
		memcpy(&key->addr[12], &ip->v4, 4);
	} else {
		memcpy(key->addr, &ip->v6, 16);
	}
}

void mxg_ip_from_gate_key(const struct mxg_gate_key *key, struct mxg_ip *ip)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(ip, 0, sizeof(*ip));
	if (memcmp(key->addr, mapped, sizeof(mapped)) == 0) {
		ip->family = AF_INET;
		memcpy(&ip->v4, &key->addr[12], 4);
	} else {
		ip->family = AF_INET6;
		memcpy(&ip->v6, key->addr, 16);
	}
}

static uint32_t gate_kern_domain_state(enum mxg_domain_state s)
{
	switch (s) {
	case MXG_DOMAIN_GATED:
		return MXG_KERN_DOMAIN_GATED;
	case MXG_DOMAIN_OPEN:
		return MXG_KERN_DOMAIN_OPEN;
	default:
		return MXG_KERN_DOMAIN_UNKNOWN;
	}
}

enum mxg_domain_state gate_domain_state_from_kern(uint32_t s)
{
	switch (s) {
	case MXG_KERN_DOMAIN_GATED:
		return MXG_DOMAIN_GATED;
	case MXG_KERN_DOMAIN_OPEN:
		return MXG_DOMAIN_OPEN;
	default:
		return MXG_DOMAIN_UNKNOWN;
	}
}

static uint32_t gate_kern_pass_reason(enum mxg_pass_reason r)
{
	switch (r) {
	case MXG_PASS_GREYLIST:
		return MXG_KERN_PASS_GREYLIST;
	case MXG_PASS_RECIPIENT:
		return MXG_KERN_PASS_RECIPIENT;
	}
	return 0;
}

const char *gate_kern_pass_reason_str(uint32_t r)
{
	switch (r) {
	case MXG_KERN_PASS_GREYLIST:
		return "greylist";
	case MXG_KERN_PASS_RECIPIENT:
		return "recipient";
	}
	return "?";
}

int gate_map_set_address(int map_fd, const struct mxg_ip *ip, bool gated, unsigned n_domains,
			 uint64_t ttl_ms)
{
	struct mxg_gate_entry e = {0};
	struct mxg_gate_key key;
	uint64_t now = ev_now_ns();

	mxg_ip_to_gate_key(ip, &key);
	e.updated_ns = now;
	e.expires_ns = now + ttl_ms * NS_PER_MS;
	e.state = gated ? MXG_GATE_GATED : MXG_GATE_OPEN;
	e.domains = n_domains;
	return bpf_map_update_elem(map_fd, &key, &e, BPF_ANY) < 0 ? -errno : 0;
}

int gate_map_delete_address(int map_fd, const struct mxg_ip *ip)
{
	struct mxg_gate_key key;

	mxg_ip_to_gate_key(ip, &key);
	if (bpf_map_delete_elem(map_fd, &key) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int gate_map_domain_key(const char *name, struct mxg_domain_key *key)
{
	size_t n = strlen(name);

	if (n >= sizeof(key->name))
		return -ENAMETOOLONG;
	memset(key, 0, sizeof(*key));
	for (size_t i = 0; i < n; i++)
		key->name[i] = (char)tolower((unsigned char)name[i]);
	return 0;
}

int gate_map_domain_entry(const struct gate_domain_view *d, uint64_t ttl_ms,
			  struct mxg_domain_key *key, struct mxg_domain_entry *e)
{
	const char *primary = d->primary ? d->primary : "";
	size_t pl = strlen(primary);
	int ret;

	ret = gate_map_domain_key(d->name, key);
	if (ret)
		return ret;
	if (pl >= sizeof(e->primary))
		return -ENAMETOOLONG;
	memset(e, 0, sizeof(*e));
	e->since_ns = d->since_ns;
	e->expires_ns = ev_now_ns() + ttl_ms * NS_PER_MS;
	e->state = gate_kern_domain_state(d->state);
	e->reason = d->reason;
	memcpy(e->primary, primary, pl);
	return 0;
}

int gate_map_set_domain(int map_fd, const struct gate_domain_view *d, uint64_t ttl_ms)
{
	struct mxg_domain_entry e;
	struct mxg_domain_key key;
	int ret;

	ret = gate_map_domain_entry(d, ttl_ms, &key, &e);
	if (ret)
		return ret;
	return bpf_map_update_elem(map_fd, &key, &e, BPF_ANY) < 0 ? -errno : 0;
}

int gate_map_set_responder(int map_fd, unsigned slot, int sock_fd)
{
	__u32 key = slot;
	__u64 value;

	if (slot >= MXG_RESPONDER_SLOTS)
		return -EINVAL;
	if (sock_fd < 0) {
		/* A SOCKMAP answers EINVAL for a slot that is already empty. */
		if (bpf_map_delete_elem(map_fd, &key) < 0 && errno != ENOENT && errno != EINVAL)
			return -errno;
		return 0;
	}
	/* With 8-byte values the kernel reads the descriptor as a __u64. */
	value = (__u64)sock_fd;
	return bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) < 0 ? -errno : 0;
}

int gate_map_read_counters(int map_fd, struct mxg_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mxg_counters *per;
	__u32 zero = 0;
	int ret = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	_Static_assert(sizeof(*per) % 8 == 0, "per-CPU values are 8-byte aligned");
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &zero, per) < 0) {
		ret = -errno;
		goto out;
	}
	/* Every field is a __u64 counter: sum them as an array. */
	for (int c = 0; c < ncpu; c++) {
		const __u64 *src = (const __u64 *)&per[c];
		__u64 *dst = (__u64 *)sum;

		for (size_t i = 0; i < sizeof(*sum) / sizeof(__u64); i++)
			dst[i] += src[i];
	}
out:
	free(per);
	return ret;
}

int gate_map_set_pass(int map_fd, const struct mxg_ip *ip, uint64_t expires_ns, uint64_t since_ns,
		      enum mxg_pass_reason reason)
{
	struct mxg_pass_entry e = {.expires_ns = expires_ns,
				   .since_ns = since_ns,
				   .reason = gate_kern_pass_reason(reason)};
	struct mxg_gate_key key;

	mxg_ip_to_gate_key(ip, &key);
	return bpf_map_update_elem(map_fd, &key, &e, BPF_ANY) < 0 ? -errno : 0;
}

int gate_map_delete_pass(int map_fd, const struct mxg_ip *ip)
{
	struct mxg_gate_key key;

	mxg_ip_to_gate_key(ip, &key);
	if (bpf_map_delete_elem(map_fd, &key) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void gate_map_pass_net_key(const struct mxg_net *n, struct mxg_pass_net_key *k)
{
	struct mxg_gate_key g;

	memset(k, 0, sizeof(*k));
	mxg_ip_to_gate_key(&n->ip, &g);
	memcpy(k->addr, g.addr, sizeof(k->addr));
	k->prefixlen = n->ip.family == AF_INET ? 96u + n->prefix : n->prefix;
}

int gate_map_set_pass_nets(int map_fd, const struct mxg_net *nets, size_t n)
{
	static struct mxg_pass_net_key stale[MXG_MAX_PASS_NETS];
	struct mxg_pass_net_key key, next, want;
	size_t n_stale = 0;
	__u32 one = 1;

	for (size_t i = 0; i < n; i++) {
		gate_map_pass_net_key(&nets[i], &want);
		if (bpf_map_update_elem(map_fd, &want, &one, BPF_ANY) < 0)
			return -errno;
	}
	/* Then drop what the config no longer lists (a reload, an old run):
	 * adding first means a listed network is never missing. */
	for (int r = bpf_map_get_next_key(map_fd, NULL, &next); !r && n_stale < MXG_MAX_PASS_NETS;
	     r = bpf_map_get_next_key(map_fd, &key, &next)) {
		bool listed = false;

		key = next;
		for (size_t i = 0; i < n && !listed; i++) {
			gate_map_pass_net_key(&nets[i], &want);
			listed = !memcmp(&want, &key, sizeof(key));
		}
		if (!listed)
			stale[n_stale++] = key;
	}
	for (size_t i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(map_fd, &stale[i]) < 0 && errno != ENOENT)
			return -errno;
	return 0;
}

static bool seen(const void *keys, size_t n, size_t size, const void *key)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp((const char *)keys + i * size, key, size))
			return true;
	return false;
}

/* Delete every key of the map that is not in keys[0..n) (the gate
 * addresses: at most MXG_GATE_MAX_ADDRS). Keys are collected first:
 * deleting while walking a hash map restarts the walk. */
int gate_map_delete_unseen(int map, const void *keys, size_t n, size_t size, size_t max)
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
