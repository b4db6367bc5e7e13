// SPDX-License-Identifier: GPL-2.0-only
/*
 * BPF side of the benchmarks.
 *
 *   bpfcost run OBJ REPEAT
 *       load the first tc program of OBJ, fill its gate map (if it has one)
 *       with one gated address and its responder SOCKMAP with a listening
 *       socket, then time BPF_PROG_TEST_RUN on five canned packets; prints
 *       "KIND NS_PER_RUN" lines.
 *   bpfcost attach OBJ IFNAME
 *       attach the same program at IFNAME's tc ingress until SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mxgate_kern_user.h"

#define GATED_ADDR "192.0.2.20"
#define UNGATED_ADDR "192.0.2.21"

struct pkt {
	struct ethhdr eth;
	struct iphdr ip;
	union {
		struct tcphdr tcp;
		struct udphdr udp;
	};
	char pad[16];
} __attribute__((packed));

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void build(struct pkt *p, const char *dst, int proto, int dport, int syn, int ack)
{
	memset(p, 0, sizeof(*p));
	memset(p->eth.h_dest, 0x02, ETH_ALEN);
	memset(p->eth.h_source, 0x04, ETH_ALEN);
	p->eth.h_proto = htons(ETH_P_IP);
	p->ip.version = 4;
	p->ip.ihl = 5;
	p->ip.ttl = 64;
	p->ip.protocol = (unsigned char)proto;
	p->ip.tot_len = htons(sizeof(*p) - sizeof(p->eth));
	inet_pton(AF_INET, "198.51.100.7", &p->ip.saddr);
	inet_pton(AF_INET, dst, &p->ip.daddr);
	if (proto == IPPROTO_TCP) {
		p->tcp.source = htons(40000);
		p->tcp.dest = htons((uint16_t)dport);
		p->tcp.doff = 5;
		p->tcp.syn = (unsigned short)syn;
		p->tcp.ack = (unsigned short)ack;
		p->tcp.window = htons(64240);
	} else {
		p->udp.source = htons(40000);
		p->udp.dest = htons((uint16_t)dport);
		p->udp.len = htons(sizeof(p->udp) + sizeof(p->pad));
	}
}

static struct bpf_program *first_tc(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SCHED_CLS)
			return prog;
	}
	return NULL;
}

/* A gated entry for GATED_ADDR and a listener in the responder slots: the
 * path a steered SYN takes. Missing maps are fine (the empty program). */
static int fill_maps(struct bpf_object *obj, int *listen_fd)
{
	struct bpf_map *gate = bpf_object__find_map_by_name(obj, MXG_MAP_GATE);
	struct bpf_map *resp = bpf_object__find_map_by_name(obj, MXG_MAP_RESPONDER);
	struct timespec ts;

	*listen_fd = -1;
	if (gate) {
		struct mxg_gate_key k = { 0 };
		struct mxg_gate_entry e = { 0 };
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		inet_pton(AF_INET, GATED_ADDR, &k.addr[12]);
		e.updated_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
		e.expires_ns = e.updated_ns + 3600ull * 1000000000ull;
		e.state = MXG_GATE_GATED;
		e.domains = 1;
		if (bpf_map__update_elem(gate, &k, sizeof(k), &e, sizeof(e), BPF_ANY) < 0) {
			fprintf(stderr, "bpfcost: gate map update: %s\n", strerror(errno));
			return -1;
		}
	}
	if (resp) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t len = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 16) < 0) {
			perror("bpfcost: responder listener");
			return -1;
		}
		__u32 slot = MXG_RESPONDER_V4;
		__u64 val = (__u64)fd;
		if (bpf_map__update_elem(resp, &slot, sizeof(slot), &val, bpf_map__value_size(resp), BPF_ANY) < 0) {
			fprintf(stderr, "bpfcost: responder map update: %s\n", strerror(errno));
			return -1;
		}
		*listen_fd = fd;
	}
	return 0;
}

static int run(struct bpf_program *prog, int repeat)
{
	static const struct {
		const char *kind;
		const char *dst;
		int proto, dport, syn, ack;
	} cases[] = {
		{ "non_tcp", GATED_ADDR, IPPROTO_UDP, 53, 0, 0 },
		{ "tcp_other_port", GATED_ADDR, IPPROTO_TCP, 443, 1, 0 },
		{ "port25_non_syn", GATED_ADDR, IPPROTO_TCP, 25, 0, 1 },
		{ "port25_syn_ungated", UNGATED_ADDR, IPPROTO_TCP, 25, 1, 0 },
		{ "port25_syn_gated", GATED_ADDR, IPPROTO_TCP, 25, 1, 0 },
		/* A bare ACK (no payload) to a gated address with no socket:
		 * the ACK of a SYN cookie, looked up and sent to the listener. */
		{ "port25_bare_ack_gated", GATED_ADDR, IPPROTO_TCP, 25, 0, 1 },
	};
	int fd = bpf_program__fd(prog);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p, out;
		build(&p, cases[i].dst, cases[i].proto, cases[i].dport, cases[i].syn, cases[i].ack);
		if (!strcmp(cases[i].kind, "port25_bare_ack_gated"))
			p.ip.tot_len = htons(sizeof(p.ip) + sizeof(p.tcp));
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &p, .data_size_in = sizeof(p),
			    .data_out = &out, .data_size_out = sizeof(out), .repeat = repeat);
		if (bpf_prog_test_run_opts(fd, &opts) < 0) {
			fprintf(stderr, "bpfcost: BPF_PROG_TEST_RUN %s: %s\n", cases[i].kind, strerror(errno));
			return -1;
		}
		printf("%s %u %d\n", cases[i].kind, opts.duration, opts.retval);
	}
	return 0;
}

/* What the gated SYNs came to: steered, or refused by bpf_sk_assign (which
 * BPF_PROG_TEST_RUN may do: the skb is not at a real tc ingress). */
static void print_counters(struct bpf_object *obj)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, MXG_MAP_COUNTERS);
	int ncpu = libbpf_num_possible_cpus();
	__u32 key = 0;

	if (!m || ncpu <= 0 || bpf_map__value_size(m) != sizeof(struct mxg_counters))
		return;
	struct mxg_counters *v = calloc((size_t)ncpu, sizeof(*v));
	if (v && bpf_map__lookup_elem(m, &key, sizeof(key), v, sizeof(*v) * (size_t)ncpu, 0) == 0) {
		__u64 steered = 0, failed = 0;
		for (int i = 0; i < ncpu; i++) {
			steered += v[i].steered;
			failed += v[i].pass_assign_failed;
		}
		printf("counters steered=%llu assign_failed=%llu\n", (unsigned long long)steered,
		       (unsigned long long)failed);
	}
	free(v);
}

static int attach(struct bpf_program *prog, const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "bpfcost: %s: no such interface\n", ifname);
		return -1;
	}
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0xbe7c, .priority = 1, .prog_fd = bpf_program__fd(prog));
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		fprintf(stderr, "bpfcost: clsact on %s: %s\n", ifname, strerror(-err));
		return -1;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		fprintf(stderr, "bpfcost: attach on %s: %s\n", ifname, strerror(-err));
		return -1;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	opts.flags = opts.prog_fd = opts.prog_id = 0;
	bpf_tc_detach(&hook, &opts);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	int listen_fd = -1, ret = 1;

	if (argc != 4 || (strcmp(argv[1], "run") && strcmp(argv[1], "attach"))) {
		fprintf(stderr, "usage: bpfcost run OBJ REPEAT | bpfcost attach OBJ IFNAME\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	obj = bpf_object__open_file(argv[2], NULL);
	if (!obj || libbpf_get_error(obj)) {
		fprintf(stderr, "bpfcost: %s: cannot open\n", argv[2]);
		return 1;
	}
	prog = first_tc(obj);
	if (!prog) {
		fprintf(stderr, "bpfcost: %s: no tc program\n", argv[2]);
		goto out;
	}
	/* Load only the tc program; others (if any) stay out of the way. */
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, p == prog);
	/* Private, unpinned maps: never touch a running mxgate's pins. */
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) bpf_map__set_pin_path(m, NULL);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "bpfcost: %s: load failed\n", argv[2]);
		goto out;
	}
	if (fill_maps(obj, &listen_fd) < 0)
		goto out;
	if (!strcmp(argv[1], "run"))
		ret = run(prog, atoi(argv[3])) ? 1 : 0;
	if (!ret && !strcmp(argv[1], "run"))
		print_counters(obj);
	else
		ret = attach(prog, argv[3]) ? 1 : 0;
out:
	if (listen_fd >= 0)
		close(listen_fd);
	bpf_object__close(obj);
	return ret;
}
