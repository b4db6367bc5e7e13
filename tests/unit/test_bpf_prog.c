// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tc program on crafted packets (BPF_PROG_TEST_RUN). A test run is not
 * at tc ingress, so bpf_sk_assign() itself refuses there: the tests check
 * the decision through the counters (a fresh gated SYN with an empty
 * SOCKMAP counts pass_no_responder: "would steer"), and the namespace tests
 * check the real steering. Needs root (CAP_BPF); skips otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gate_kern.h"
#include "gate_maps.h"
#include "mxgate.skel.h"
#include "pins.h"

#define GATED4 "192.0.2.20"
#define EXPIRED4 "192.0.2.21"
#define OPEN4 "192.0.2.22"
#define NOENTRY4 "192.0.2.23"
#define GATED6 "2001:db8::20"
#define EXPIRED6 "2001:db8::21"
#define OPEN6 "2001:db8::22"
#define NOENTRY6 "2001:db8::23"

#define TTL_MS 60000
/* What the program returns for every packet: continue, i.e. pass. */
#define VERDICT_PASS ((__u32)TC_ACT_UNSPEC)

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

static struct mxgate *skel;

/* Two octets of padding, as NET_IP_ALIGN does, so the IP header after
 * the 14-octet Ethernet header is 4-byte aligned for the structs here. */
struct pkt {
	uint64_t align;
	unsigned char pad[2];
	unsigned char buf[256];
	size_t len;
};

/* Which counters one run moved. */
struct delta {
	__u32 retval;
	struct mxg_counters c;
};

static void put_eth(struct pkt *p, uint16_t proto)
{
	struct ethhdr *eth = (struct ethhdr *)p->buf;

	memset(p, 0, sizeof(*p));
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x20", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x30", ETH_ALEN);
	eth->h_proto = htons(proto);
	p->len = sizeof(*eth);
}

static void put_tcp(struct pkt *p, uint16_t dport, uint8_t flags)
{
	struct tcphdr *tcp = (struct tcphdr *)(p->buf + p->len);

	tcp->source = htons(40000);
	tcp->dest = htons(dport);
	tcp->seq = htonl(1);
	tcp->doff = 5;
	p->buf[p->len + 13] = flags;
	tcp->window = htons(64240);
	p->len += sizeof(*tcp);
}

/* IPv4 with opt_words 32-bit words of options (NOPs) and protocol proto;
 * the L4 header follows via put_tcp() or raw bytes. */
static void put_ip4(struct pkt *p, const char *dst, uint8_t proto, unsigned opt_words)
{
	struct iphdr *ip = (struct iphdr *)(p->buf + p->len);

	ip->version = 4;
	ip->ihl = 5 + opt_words;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->tot_len = htons(20 + 4 * opt_words + 20);
	inet_pton(AF_INET, "192.0.2.30", &ip->saddr);
	assert_int_equal(inet_pton(AF_INET, dst, &ip->daddr), 1);
	p->len += sizeof(*ip);
	memset(p->buf + p->len, 1 /* NOP */, 4 * opt_words);
	p->len += 4 * opt_words;
}

static void put_ip6(struct pkt *p, const char *dst, uint8_t nexthdr)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)(p->buf + p->len);

	ip6->version = 6;
	ip6->nexthdr = nexthdr;
	ip6->hop_limit = 64;
	ip6->payload_len = htons(20);
	inet_pton(AF_INET6, "2001:db8::30", &ip6->saddr);
	assert_int_equal(inet_pton(AF_INET6, dst, &ip6->daddr), 1);
	p->len += sizeof(*ip6);
}

static void syn4(struct pkt *p, const char *dst, uint16_t dport, uint8_t flags)
{
	put_eth(p, ETH_P_IP);
	put_ip4(p, dst, IPPROTO_TCP, 0);
	put_tcp(p, dport, flags);
}

static void syn6(struct pkt *p, const char *dst, uint16_t dport, uint8_t flags)
{
	put_eth(p, ETH_P_IPV6);
	put_ip6(p, dst, IPPROTO_TCP);
	put_tcp(p, dport, flags);
}

static void read_counters(struct mxg_counters *c)
{
	assert_int_equal(gate_map_read_counters(bpf_map__fd(skel->maps.counters), c), 0);
}

/* Run the program once on p->buf[0..len) and report what moved. */
static struct delta run_len(const struct pkt *p, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->buf, .data_size_in = (__u32)len,
		    .repeat = 1);
	struct mxg_counters before, after;
	struct delta d;
	const __u64 *a = (const __u64 *)&after, *b = (const __u64 *)&before;
	__u64 *out = (__u64 *)&d.c;

	read_counters(&before);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mxgate_tc), &opts))
		fprintf(stderr, "BPF_PROG_TEST_RUN of %zu bytes: %s\n", len, strerror(errno)),
		    fail();
	read_counters(&after);
	d.retval = opts.retval;
	for (size_t i = 0; i < sizeof(d.c) / sizeof(__u64); i++)
		out[i] = a[i] - b[i];
	return d;
}

static struct delta run(const struct pkt *p)
{
	return run_len(p, p->len);
}

/* The packet passed and moved no counter: the hot path touches no map. */
static void assert_ignored(const struct delta *d)
{
	struct mxg_counters want = {0};

	assert_int_equal(d->retval, VERDICT_PASS);
	assert_memory_equal(&d->c, &want, sizeof(want));
}

/* A SYN to port 25 that reached the gate map, and the one reason moved. */
static void assert_decision(const struct delta *d, size_t reason_off)
{
	struct mxg_counters want = {.syn25 = 1};

	*(__u64 *)((char *)&want + reason_off) = 1;
	assert_int_equal(d->retval, VERDICT_PASS);
	assert_memory_equal(&d->c, &want, sizeof(want));
}

static void assert_unparsed(const struct delta *d)
{
	struct mxg_counters want = {.pass_unparsed = 1};

	assert_int_equal(d->retval, VERDICT_PASS);
	assert_memory_equal(&d->c, &want, sizeof(want));
}

#define DECISION(d, field) assert_decision(&(d), offsetof(struct mxg_counters, field))

static void set_addr(const char *addr, bool gated, uint64_t ttl_ms)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(addr, &ip), 0);
	assert_int_equal(
	    gate_map_set_address(bpf_map__fd(skel->maps.gate_addrs), &ip, gated, 1, ttl_ms), 0);
}

static int setup(void **state)
{
	struct bpf_map *map;

	pins_libbpf_log_to_debug();
	skel = mxgate__open();
	if (!skel)
		return -1;
	/* A private copy: no pins anywhere. */
	bpf_object__for_each_map(map, skel->obj) if (bpf_map__set_pin_path(map, NULL)) return -1;
	if (mxgate__load(skel))
		return -1;
	set_addr(GATED4, true, TTL_MS);
	set_addr(GATED6, true, TTL_MS);
	set_addr(EXPIRED4, true, 0);
	set_addr(EXPIRED6, true, 0);
	set_addr(OPEN4, false, TTL_MS);
	set_addr(OPEN6, false, TTL_MS);
	return 0;
}

static int teardown(void **state)
{
	mxgate__destroy(skel);
	return 0;
}

static void test_syn4_gated_fresh_would_steer(void **state)
{
	struct pkt p;
	struct delta d;

	syn4(&p, GATED4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_responder);
}

static void test_syn6_gated_fresh_would_steer(void **state)
{
	struct pkt p;
	struct delta d;

	syn6(&p, GATED6, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_responder);
}

static void test_syn_expired_passes(void **state)
{
	struct pkt p;
	struct delta d;

	syn4(&p, EXPIRED4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_expired);
	syn6(&p, EXPIRED6, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_expired);
}

static void test_syn_no_entry_passes(void **state)
{
	struct pkt p;
	struct delta d;

	syn4(&p, NOENTRY4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_entry);
	syn6(&p, NOENTRY6, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_entry);
}

static void test_syn_open_passes(void **state)
{
	struct pkt p;
	struct delta d;

	syn4(&p, OPEN4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_open);
	syn6(&p, OPEN6, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_open);
}

/* Only connection-opening SYNs and bare ACKs (below): other packets of a
 * flow in progress never. */
static void test_not_a_new_connection_ignored(void **state)
{
	static const uint8_t flags[] = {
	    F_SYN | F_ACK, F_RST, F_RST | F_ACK, F_FIN | F_ACK, F_SYN | F_RST, F_SYN | F_FIN, 0};
	struct pkt p;
	struct delta d;

	for (size_t i = 0; i < sizeof(flags); i++) {
		syn4(&p, GATED4, 25, flags[i]);
		d = run(&p);
		assert_ignored(&d);
		syn6(&p, GATED6, 25, flags[i]);
		d = run(&p);
		assert_ignored(&d);
	}
}

static void test_other_ports_ignored(void **state)
{
	static const uint16_t ports[] = {24, 26, 587, 465, 80, 6400 /* 25 << 8 */};
	struct pkt p;
	struct delta d;

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		syn4(&p, GATED4, ports[i], F_SYN);
		d = run(&p);
		assert_ignored(&d);
		syn6(&p, GATED6, ports[i], F_SYN);
		d = run(&p);
		assert_ignored(&d);
	}
}

static void test_udp_icmp_arp_ignored(void **state)
{
	struct udphdr *udp;
	struct pkt p;
	struct delta d;

	/* UDP to port 25 */
	put_eth(&p, ETH_P_IP);
	put_ip4(&p, GATED4, IPPROTO_UDP, 0);
	udp = (struct udphdr *)(p.buf + p.len);
	udp->dest = htons(25);
	udp->len = htons(8);
	p.len += sizeof(*udp) + 12;
	d = run(&p);
	assert_ignored(&d);

	put_eth(&p, ETH_P_IPV6);
	put_ip6(&p, GATED6, IPPROTO_UDP);
	udp = (struct udphdr *)(p.buf + p.len);
	udp->dest = htons(25);
	p.len += sizeof(*udp) + 12;
	d = run(&p);
	assert_ignored(&d);

	/* ICMP echo, ICMPv6 echo */
	put_eth(&p, ETH_P_IP);
	put_ip4(&p, GATED4, IPPROTO_ICMP, 0);
	p.buf[p.len] = 8;
	p.len += 20;
	d = run(&p);
	assert_ignored(&d);

	put_eth(&p, ETH_P_IPV6);
	put_ip6(&p, GATED6, IPPROTO_ICMPV6);
	p.buf[p.len] = 128;
	p.len += 20;
	d = run(&p);
	assert_ignored(&d);

	/* ARP request: 28 bytes of body */
	put_eth(&p, ETH_P_ARP);
	p.len += 28;
	d = run(&p);
	assert_ignored(&d);
}

/* Cut a SYN to a fresh gated address at every length up to one byte
 * short: never a decision, always pass. BPF_PROG_TEST_RUN refuses IPv4 or
 * IPv6 data shorter than the fixed IP header (EINVAL), so those lengths
 * are checked to be refused; the verifier already proves the program
 * bounds-checks them. */
static void test_truncated_every_boundary(void **state)
{
	struct {
		void (*build)(struct pkt *, const char *, uint16_t, uint8_t);
		const char *dst;
		size_t l3;
	} cases[] = {
	    {syn4, GATED4, sizeof(struct iphdr)},
	    {syn6, GATED6, sizeof(struct ipv6hdr)},
	};
	struct pkt p;
	struct delta d;

	for (size_t c = 0; c < 2; c++) {
		cases[c].build(&p, cases[c].dst, 25, F_SYN);
		for (size_t len = ETH_HLEN; len < ETH_HLEN + cases[c].l3; len++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.buf,
				    .data_size_in = (__u32)len);

			assert_int_not_equal(
			    bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mxgate_tc), &opts),
			    0);
		}
		for (size_t len = ETH_HLEN + cases[c].l3; len < p.len; len++) {
			d = run_len(&p, len);
			assert_unparsed(&d);
		}
		/* and whole, for contrast */
		d = run(&p);
		DECISION(d, pass_no_responder);
	}
}

static void test_ipv4_options_parsed(void **state)
{
	struct pkt p;
	struct delta d;

	for (unsigned words = 1; words <= 10; words++) {
		put_eth(&p, ETH_P_IP);
		put_ip4(&p, GATED4, IPPROTO_TCP, words);
		put_tcp(&p, 25, F_SYN);
		d = run(&p);
		DECISION(d, pass_no_responder);
		/* truncated inside the options or the TCP header after them */
		d = run_len(&p, p.len - 1);
		assert_unparsed(&d);
	}
}

static void test_ipv4_bad_ihl_and_fragments_unparsed(void **state)
{
	struct pkt p;
	struct delta d;
	struct iphdr *ip;

	syn4(&p, GATED4, 25, F_SYN);
	ip = (struct iphdr *)(p.buf + ETH_HLEN);
	ip->ihl = 4;
	d = run(&p);
	assert_unparsed(&d);

	syn4(&p, GATED4, 25, F_SYN);
	ip = (struct iphdr *)(p.buf + ETH_HLEN);
	ip->frag_off = htons(0x2000); /* MF */
	d = run(&p);
	assert_unparsed(&d);

	syn4(&p, GATED4, 25, F_SYN);
	ip = (struct iphdr *)(p.buf + ETH_HLEN);
	ip->frag_off = htons(3); /* offset 24 bytes */
	d = run(&p);
	assert_unparsed(&d);
}

/* IPv6 extension headers are not parsed: pass, counted unparsed. */
static void test_ipv6_hop_by_hop_unparsed(void **state)
{
	struct pkt p;
	struct delta d;

	put_eth(&p, ETH_P_IPV6);
	put_ip6(&p, GATED6, 0 /* hop-by-hop */);
	p.buf[p.len] = IPPROTO_TCP; /* next header */
	p.buf[p.len + 1] = 0;	    /* 8 octets */
	p.buf[p.len + 2] = 1;	    /* PadN */
	p.buf[p.len + 3] = 4;
	p.len += 8;
	put_tcp(&p, 25, F_SYN);
	d = run(&p);
	assert_unparsed(&d);

	put_eth(&p, ETH_P_IPV6);
	put_ip6(&p, GATED6, 44 /* fragment */);
	p.buf[p.len] = IPPROTO_TCP;
	p.len += 8;
	put_tcp(&p, 25, F_SYN);
	d = run(&p);
	assert_unparsed(&d);
}

/* Ingress normally sees VLAN tags stripped into the skb; a raw tag is
 * something we do not parse and pass untouched. */
static void test_vlan_tagged_passes(void **state)
{
	struct pkt p;
	struct delta d;

	put_eth(&p, ETH_P_8021Q);
	p.buf[p.len] = 0;
	p.buf[p.len + 1] = 10; /* VID 10 */
	p.buf[p.len + 2] = ETH_P_IP >> 8;
	p.buf[p.len + 3] = ETH_P_IP & 0xff;
	p.len += 4;
	put_ip4(&p, GATED4, IPPROTO_TCP, 0);
	put_tcp(&p, 25, F_SYN);
	d = run(&p);
	assert_ignored(&d);
}

static int listener(int family)
{
	struct sockaddr_storage ss;
	struct mxg_ip ip;
	socklen_t len;
	int fd;

	assert_int_equal(mxg_ip_parse(family == AF_INET ? "127.0.0.1" : "::1", &ip), 0);
	len = mxg_ip_to_sockaddr(&ip, 0, &ss);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* With a listener in the SOCKMAP the program tries bpf_sk_assign; a test
 * run is not tc ingress, so the kernel refuses and we pass. Once the
 * listener closes, its slot empties by itself: no responder. */
static void test_responder_slot_follows_listener(void **state)
{
	int map = bpf_map__fd(skel->maps.responder);
	int fd4 = listener(AF_INET), fd6 = listener(AF_INET6);
	struct pkt p;
	struct delta d;
	__u32 slot = MXG_RESPONDER_V4;
	__u64 cookie;

	assert_int_equal(gate_map_set_responder(map, MXG_RESPONDER_V4, fd4), 0);
	assert_int_equal(gate_map_set_responder(map, MXG_RESPONDER_V6, fd6), 0);
	assert_int_equal(bpf_map_lookup_elem(map, &slot, &cookie), 0);

	syn4(&p, GATED4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_assign_failed);
	syn6(&p, GATED6, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_assign_failed);
	/* expired still wins over a present responder */
	syn4(&p, EXPIRED4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_expired);

	close(fd4);
	close(fd6);
	assert_int_not_equal(bpf_map_lookup_elem(map, &slot, &cookie), 0);
	assert_int_equal(errno, ENOENT);
	syn4(&p, GATED4, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_responder);
	syn6(&p, GATED6, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_responder);
	/* deleting an empty slot is fine */
	assert_int_equal(gate_map_set_responder(map, MXG_RESPONDER_V4, -1), 0);
}

/* Exactly one counter moved among the ACK ones, and nothing else. */
static void assert_ack(const struct delta *d, __u64 ack25)
{
	struct mxg_counters want = {.ack25 = ack25};

	assert_int_equal(d->retval, VERDICT_PASS);
	assert_memory_equal(&d->c, &want, sizeof(want));
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Under a SYN flood the responder's listener answers with a SYN cookie and
 * keeps nothing: the ACK that completes the handshake has no socket of its
 * own and must reach the responder's listener too (counted ack25: "would
 * steer"; a test run is not tc ingress, so the assign itself is refused). */
static void test_bare_ack_without_socket_goes_to_responder(void **state)
{
	int map = bpf_map__fd(skel->maps.responder);
	int fd4 = listener(AF_INET);
	struct pkt p;
	struct delta d;

	syn4(&p, GATED4, 25, F_ACK);
	d = run(&p);
	assert_ack(&d, 1);
	syn6(&p, GATED6, 25, F_ACK);
	d = run(&p);
	assert_ack(&d, 1);
	/* With a listener in the slot: the assign is tried (and refused
	 * here, not at tc ingress): still ack25 only. */
	assert_int_equal(gate_map_set_responder(map, MXG_RESPONDER_V4, fd4), 0);
	syn4(&p, GATED4, 25, F_ACK);
	d = run(&p);
	assert_ack(&d, 1);
	close(fd4);
}

/* Everything the SYN path lets through keeps its ACKs too: an open,
 * expired or unknown address, a passed client; and an ACK with payload is
 * no handshake. None touches a counter. */
static void test_ack_left_alone_where_the_syn_would_pass(void **state)
{
	int passes = bpf_map__fd(skel->maps.passes);
	struct mxg_ip client;
	struct pkt p;
	struct delta d;

	syn4(&p, OPEN4, 25, F_ACK);
	d = run(&p);
	assert_ignored(&d);
	syn4(&p, EXPIRED4, 25, F_ACK);
	d = run(&p);
	assert_ignored(&d);
	syn6(&p, NOENTRY6, 25, F_ACK);
	d = run(&p);
	assert_ignored(&d);
	syn4(&p, GATED4, 25, F_ACK | 0x08 /* PSH */);
	((struct iphdr *)(p.buf + sizeof(struct ethhdr)))->tot_len = htons(40 + 6);
	memcpy(p.buf + p.len, "EHLO\r\n", 6);
	p.len += 6;
	d = run(&p);
	assert_ignored(&d);
	syn4(&p, GATED4, 587, F_ACK);
	d = run(&p);
	assert_ignored(&d);

	assert_int_equal(mxg_ip_parse("192.0.2.30", &client), 0);
	assert_int_equal(
	    gate_map_set_pass(passes, &client, mono_ns() + 60000000000ull, mono_ns(), 0), 0);
	syn4(&p, GATED4, 25, F_ACK);
	d = run(&p);
	assert_ignored(&d);
	assert_int_equal(gate_map_delete_pass(passes, &client), 0);
}

/* Never a connection in progress: the ACK of an established connection to
 * a gated address on port 25 finds its socket and is left alone. Needs
 * port 25 free on 127.0.0.2 (skipped where an MTA holds it). */
static void test_ack_of_an_established_connection_left_alone(void **state)
{
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(25)};
	struct sockaddr_in cli;
	socklen_t len = sizeof(cli);
	int lfd, cfd, afd, one = 1;
	struct iphdr *ip;
	struct tcphdr *tcp;
	struct pkt p;
	struct delta d;

	inet_pton(AF_INET, "127.0.0.2", &srv.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) < 0) {
		close(lfd);
		skip();
	}
	assert_int_equal(listen(lfd, 4), 0);
	set_addr("127.0.0.2", true, TTL_MS);
	/* The listener alone: an ACK of no connection would go to the responder. */
	syn4(&p, "127.0.0.2", 25, F_ACK);
	ip = (struct iphdr *)(p.buf + sizeof(struct ethhdr));
	inet_pton(AF_INET, "127.0.0.1", &ip->saddr);
	d = run(&p);
	assert_ack(&d, 1);

	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&srv, sizeof(srv)), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(getsockname(cfd, (struct sockaddr *)&cli, &len), 0);
	tcp = (struct tcphdr *)(p.buf + sizeof(struct ethhdr) + sizeof(*ip));
	tcp->source = cli.sin_port;
	d = run(&p);
	assert_ignored(&d);
	close(afd);
	close(cfd);
	close(lfd);
}

/* The gate key of an IPv4 address is IPv4-mapped: an IPv6 SYN to the
 * mapped form of a gated IPv4 address must not find an IPv6 entry. */
static void test_families_do_not_mix(void **state)
{
	struct pkt p;
	struct delta d;

	syn6(&p, "2001:db8::c000:214" /* 192.0.2.20 in the low bits */, 25, F_SYN);
	d = run(&p);
	DECISION(d, pass_no_entry);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syn4_gated_fresh_would_steer),
	    cmocka_unit_test(test_syn6_gated_fresh_would_steer),
	    cmocka_unit_test(test_syn_expired_passes),
	    cmocka_unit_test(test_syn_no_entry_passes),
	    cmocka_unit_test(test_syn_open_passes),
	    cmocka_unit_test(test_not_a_new_connection_ignored),
	    cmocka_unit_test(test_bare_ack_without_socket_goes_to_responder),
	    cmocka_unit_test(test_ack_left_alone_where_the_syn_would_pass),
	    cmocka_unit_test(test_ack_of_an_established_connection_left_alone),
	    cmocka_unit_test(test_other_ports_ignored),
	    cmocka_unit_test(test_udp_icmp_arp_ignored),
	    cmocka_unit_test(test_truncated_every_boundary),
	    cmocka_unit_test(test_ipv4_options_parsed),
	    cmocka_unit_test(test_ipv4_bad_ihl_and_fragments_unparsed),
	    cmocka_unit_test(test_ipv6_hop_by_hop_unparsed),
	    cmocka_unit_test(test_vlan_tagged_passes),
	    cmocka_unit_test(test_responder_slot_follows_listener),
	    cmocka_unit_test(test_families_do_not_mix),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP BPF_PROG_TEST_RUN needs root\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
