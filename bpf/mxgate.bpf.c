// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate: a tc ingress program that steers new SMTP connections (TCP SYN
 * without ACK to port 25) for gated local addresses to the responder's
 * listening socket with bpf_sk_assign. Every case of doubt (no entry, an
 * expired entry, no responder, a header we do not parse) leaves the packet
 * alone, so the real MTA gets it: the gate fails open in the kernel.
 *
 * Only the first packet of a connection is steered; the rest of the flow
 * follows the socket the kernel created from it, so a state change never
 * breaks a connection in progress. One exception, for SYN cookies: under a
 * SYN flood the responder's listener answers a steered SYN with a cookie
 * and keeps no state, so the ACK that completes the handshake finds no
 * socket of its 4-tuple and would meet the MTA's listener, which has
 * issued no cookie and resets it. A bare ACK to a gated address whose
 * 4-tuple has no socket (bpf_skc_lookup_tcp finds none, or only a
 * listener) goes to the responder's listener too, which checks the
 * cookie; any socket of the 4-tuple (established, a request, TIME_WAIT)
 * keeps its packets.
 *
 * The program never ends classification: it returns TC_ACT_UNSPEC, so tc
 * filters of others at a later priority on the same hook still run.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "mxgate_kern_user.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MXG_GATE_MAX_ADDRS);
	__type(key, struct mxg_gate_key);
	__type(value, struct mxg_gate_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gate_addrs SEC(".maps");

/* For administrators and tools; the program does not read it. Not
 * preallocated, and resized at load from the configuration. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MXG_KERN_MAX_DOMAINS);
	__type(key, struct mxg_domain_key);
	__type(value, struct mxg_domain_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} domains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxg_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

/* pass_clients: networks never steered. Read only on the gated-SYN path. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MXG_MAX_PASS_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mxg_pass_net_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pass_nets SEC(".maps");

/* Passed clients (greylisting, pass_recipients), each with an expiry. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MXG_KERN_MAX_PASSES);
	__type(key, struct mxg_gate_key);
	__type(value, struct mxg_pass_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} passes SEC(".maps");

/* 8-byte values: user space then reads each socket's cookie back. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, MXG_RESPONDER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} responder SEC(".maps");

/* "Let the packet go on": the next filter on the hook, then the stack. */
#define MXG_PASS TC_ACT_UNSPEC

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* Byte 13 of the TCP header. A connection-opening SYN has SYN alone among
 * these; SYN+FIN or SYN+RST are scans the stack discards anyway. */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

static __always_inline int is_ipv6_ext(__u8 nexthdr)
{
	switch (nexthdr) {
	case 0:	  /* hop-by-hop */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253: /* experiments */
	case 254:
		return 1;
	}
	return 0;
}

static __always_inline struct mxg_counters *counters_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

/* Rare: a header we do not parse. Counted, passed. */
static __always_inline int pass_unparsed(void)
{
	struct mxg_counters *cnt = counters_get();

	if (cnt)
		cnt->pass_unparsed++;
	return MXG_PASS;
}

/* The decision for a SYN to port 25 of daddr (IPv4-mapped for IPv4). Only
 * here, off the hot path, are maps touched: traffic that is not a port-25
 * SYN costs a few header loads and nothing else. */
static __always_inline int gate_syn(struct __sk_buff *skb, const struct mxg_gate_key *key,
				    const struct mxg_pass_net_key *client, __u32 slot,
				    struct bpf_sock_tuple *tuple, __u32 tuple_len)
{
	struct mxg_counters *cnt = counters_get();
	struct mxg_gate_entry *entry;
	struct mxg_pass_entry *pass;
	struct bpf_sock *sk;
	__u64 now;
	long err;

	if (!cnt)
		return MXG_PASS;
	cnt->syn25++;
	entry = bpf_map_lookup_elem(&gate_addrs, key);
	if (!entry) {
		cnt->pass_no_entry++;
		return MXG_PASS;
	}
	if (entry->state != MXG_GATE_GATED) {
		cnt->pass_open++;
		return MXG_PASS;
	}
	now = bpf_ktime_get_ns();
	if (entry->expires_ns <= now) {
		cnt->pass_expired++;
		return MXG_PASS;
	}
	/* Allowlists, only for a SYN that would be steered: they can open
	 * the gate for a client, never close it. */
	if (bpf_map_lookup_elem(&pass_nets, client)) {
		cnt->pass_client_net++;
		return MXG_PASS;
	}
	pass = bpf_map_lookup_elem(&passes, client->addr);
	if (pass && pass->expires_ns > now) {
		cnt->pass_passed++;
		return MXG_PASS;
	}
	/* A closed listener leaves the SOCKMAP by itself; the state check
	 * covers one that is still there but no longer listening. */
	sk = bpf_map_lookup_elem(&responder, &slot);
	if (!sk) {
		cnt->pass_no_responder++;
		return MXG_PASS;
	}
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		cnt->pass_no_responder++;
		return MXG_PASS;
	}
	/* A sender reusing its source port within TIME_WAIT of a session the
	 * responder closed: assigned to the listener, the new request would
	 * collide with the TIME_WAIT socket and the SYN be lost until it
	 * expires. Let the stack handle it (RFC 6191 reuse, then the real
	 * MTA's listener): one connection passes rather than stalls. */
	{
		struct bpf_sock *existing =
		    bpf_skc_lookup_tcp(skb, tuple, tuple_len, BPF_F_CURRENT_NETNS, 0);

		if (existing) {
			__u32 state = existing->state;

			bpf_sk_release(existing);
			if (state != BPF_TCP_LISTEN) {
				bpf_sk_release(sk);
				cnt->pass_existing++;
				return MXG_PASS;
			}
		}
	}
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err)
		cnt->pass_assign_failed++;
	else
		cnt->steered++;
	return MXG_PASS;
}

/* A bare ACK (no SYN, RST, FIN, no payload) to port 25 of daddr: see the
 * head of this file. Costs a gate map lookup for every bare ACK to port 25
 * and, for a gated address, a socket lookup (docs/benchmarks.md). */
static __always_inline int gate_ack(struct __sk_buff *skb, const struct mxg_gate_key *key,
				    const struct mxg_pass_net_key *client, __u32 slot,
				    struct bpf_sock_tuple *tuple, __u32 tuple_len)
{
	struct mxg_counters *cnt;
	struct mxg_gate_entry *entry;
	struct mxg_pass_entry *pass;
	struct bpf_sock *sk, *existing;
	__u64 now;

	entry = bpf_map_lookup_elem(&gate_addrs, key);
	if (!entry || entry->state != MXG_GATE_GATED)
		return MXG_PASS;
	now = bpf_ktime_get_ns();
	if (entry->expires_ns <= now)
		return MXG_PASS;
	/* A client the SYN path lets through: its handshake is the MTA's. */
	if (bpf_map_lookup_elem(&pass_nets, client))
		return MXG_PASS;
	pass = bpf_map_lookup_elem(&passes, client->addr);
	if (pass && pass->expires_ns > now)
		return MXG_PASS;
	/* Never a connection in progress: any socket of the 4-tuple (an
	 * established one, a request socket of a normal handshake, TIME_WAIT)
	 * takes its own packets. Only none, or a listener, is left. */
	existing = bpf_skc_lookup_tcp(skb, tuple, tuple_len, BPF_F_CURRENT_NETNS, 0);
	if (existing) {
		__u32 state = existing->state;

		bpf_sk_release(existing);
		if (state != BPF_TCP_LISTEN)
			return MXG_PASS;
	}
	cnt = counters_get();
	if (!cnt)
		return MXG_PASS;
	cnt->ack25++;
	sk = bpf_map_lookup_elem(&responder, &slot);
	if (!sk)
		return MXG_PASS;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return MXG_PASS;
	}
	if (!bpf_sk_assign(skb, sk, 0))
		cnt->ack_steered++;
	bpf_sk_release(sk);
	return MXG_PASS;
}

SEC("tc")
int mxgate_tc(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	__u8 flags;

	if ((void *)(eth + 1) > data_end)
		return MXG_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return pass_unparsed();
		if (ip->protocol != IPPROTO_TCP)
			return MXG_PASS;
		ihl = ip->ihl * 4;
		/* A fragment's "TCP header" may be payload: leave it alone. */
		if (ihl < sizeof(*ip) || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return pass_unparsed();
		tcp = (void *)ip + ihl;
		if ((void *)(tcp + 1) > data_end)
			return pass_unparsed();
		if (tcp->dest != bpf_htons(MXG_KERN_SMTP_PORT))
			return MXG_PASS;
		flags = ((__u8 *)tcp)[13] & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN);
		if (flags != TCPF_SYN &&
		    (flags != TCPF_ACK || bpf_ntohs(ip->tot_len) != ihl + tcp->doff * 4))
			return MXG_PASS;
		struct mxg_gate_key key = {};
		struct mxg_pass_net_key client = {.prefixlen = 128};
		struct bpf_sock_tuple tuple = {};

		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &ip->daddr, 4);
		client.addr[10] = 0xff;
		client.addr[11] = 0xff;
		__builtin_memcpy(&client.addr[12], &ip->saddr, 4);
		tuple.ipv4.saddr = ip->saddr;
		tuple.ipv4.daddr = ip->daddr;
		tuple.ipv4.sport = tcp->source;
		tuple.ipv4.dport = tcp->dest;
		if (flags == TCPF_ACK)
			return gate_ack(skb, &key, &client, MXG_RESPONDER_V4, &tuple,
					sizeof(tuple.ipv4));
		return gate_syn(skb, &key, &client, MXG_RESPONDER_V4, &tuple, sizeof(tuple.ipv4));
	}

	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return pass_unparsed();
		if (ip6->nexthdr != IPPROTO_TCP)
			return is_ipv6_ext(ip6->nexthdr) ? pass_unparsed() : MXG_PASS;
		tcp = (void *)(ip6 + 1);
		if ((void *)(tcp + 1) > data_end)
			return pass_unparsed();
		if (tcp->dest != bpf_htons(MXG_KERN_SMTP_PORT))
			return MXG_PASS;
		flags = ((__u8 *)tcp)[13] & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN);
		if (flags != TCPF_SYN &&
		    (flags != TCPF_ACK || bpf_ntohs(ip6->payload_len) != tcp->doff * 4))
			return MXG_PASS;
		struct mxg_gate_key key = {};
		struct mxg_pass_net_key client = {.prefixlen = 128};
		struct bpf_sock_tuple tuple = {};

		__builtin_memcpy(key.addr, &ip6->daddr, 16);
		__builtin_memcpy(client.addr, &ip6->saddr, 16);
		__builtin_memcpy(tuple.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, 16);
		tuple.ipv6.sport = tcp->source;
		tuple.ipv6.dport = tcp->dest;
		if (flags == TCPF_ACK)
			return gate_ack(skb, &key, &client, MXG_RESPONDER_V6, &tuple,
					sizeof(tuple.ipv6));
		return gate_syn(skb, &key, &client, MXG_RESPONDER_V6, &tuple, sizeof(tuple.ipv6));
	}

	/* ARP, a raw VLAN tag (ingress normally sees it stripped), others. */
	return MXG_PASS;
}
