// SPDX-License-Identifier: GPL-2.0-only
/*
 * "Someone else's" tc filter for the kernel-gate tests: a tiny BPF program
 * (hand-assembled, no clang) that counts every packet it sees in an array
 * map and lets it continue (TC_ACT_UNSPEC). Attached at the ingress hook
 * with its own handle and priority, it shows that mxgate's filter neither
 * removes it nor hides packets from it.
 *
 *   other_filter attach IFACE PRIO MAP_PIN [HANDLE]
 *                                            attach (handle 1), pin the map
 *   other_filter count MAP_PIN               print the packets counted
 *
 * The filter stays attached after exit; remove it with
 * `tc filter del dev IFACE ingress prio PRIO`.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#define OTHER_HANDLE 1

static int attach(const char *ifname, unsigned prio, const char *pin, unsigned handle)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = prio);
	int map, prog, ret;

	hook.ifindex = (int)if_nametoindex(ifname);
	if (!hook.ifindex) {
		fprintf(stderr, "other_filter: %s: no such interface\n", ifname);
		return 1;
	}
	map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "other_count", 4, 8, 1, NULL);
	if (map < 0) {
		fprintf(stderr, "other_filter: map: %s\n", strerror(errno));
		return 1;
	}
	{
		/* key = 0; v = lookup(map, &key); if (v) *v += 1; return -1 */
		struct bpf_insn insns[] = {
		    {.code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0},
		    {.code = BPF_LD | BPF_DW | BPF_IMM,
		     .dst_reg = BPF_REG_1,
		     .src_reg = BPF_PSEUDO_MAP_FD,
		     .imm = map},
		    {0},
		    {.code = BPF_ALU64 | BPF_MOV | BPF_X,
		     .dst_reg = BPF_REG_2,
		     .src_reg = BPF_REG_10},
		    {.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4},
		    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem},
		    {.code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .off = 2, .imm = 0},
		    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1},
		    {.code = BPF_STX | BPF_DW | BPF_ATOMIC,
		     .dst_reg = BPF_REG_0,
		     .src_reg = BPF_REG_1,
		     .imm = BPF_ADD},
		    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1},
		    {.code = BPF_JMP | BPF_EXIT},
		};

		prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "other_filter", "GPL", insns,
				     sizeof(insns) / sizeof(insns[0]), NULL);
	}
	if (prog < 0) {
		fprintf(stderr, "other_filter: load: %s\n", strerror(errno));
		return 1;
	}
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST) {
		fprintf(stderr, "other_filter: clsact on %s: %s\n", ifname, strerror(-ret));
		return 1;
	}
	opts.prog_fd = prog;
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		fprintf(stderr, "other_filter: attach to %s: %s\n", ifname, strerror(-ret));
		return 1;
	}
	if (bpf_obj_pin(map, pin)) {
		fprintf(stderr, "other_filter: pin %s: %s\n", pin, strerror(errno));
		return 1;
	}
	return 0;
}

static int count(const char *pin)
{
	__u32 key = 0;
	__u64 n;
	int map = bpf_obj_get(pin);

	if (map < 0 || bpf_map_lookup_elem(map, &key, &n)) {
		fprintf(stderr, "other_filter: read %s: %s\n", pin, strerror(errno));
		return 1;
	}
	printf("%llu\n", (unsigned long long)n);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "attach"))
		return attach(argv[2], (unsigned)atoi(argv[3]), argv[4],
			      argc == 6 ? (unsigned)strtoul(argv[5], NULL, 0) : OTHER_HANDLE);
	if (argc == 3 && !strcmp(argv[1], "count"))
		return count(argv[2]);
	fprintf(stderr, "usage: other_filter attach IFACE PRIO MAP_PIN [HANDLE] | count MAP_PIN\n");
	return 2;
}
