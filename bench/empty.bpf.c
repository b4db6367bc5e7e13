// SPDX-License-Identifier: GPL-2.0-only
/* The baseline of the BPF cost benchmark: a tc program that does nothing,
 * so its BPF_PROG_TEST_RUN time is the test-run machinery alone. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
