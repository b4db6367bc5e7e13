// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tc gate's kernel features, probed before anything is loaded, so an
 * older kernel is refused with one line that names what it lacks and the
 * host is left as it was (open: nothing attached, mail goes to the MTA).
 */
#include <errno.h>
#include <linux/btf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "nft_batch.h"
#include "nft_own.h"

enum kf_kind { KF_PROG, KF_MAP, KF_HELPER, KF_BTF };

struct kfeature {
	enum kf_kind kind;
	int id; /* prog type, map type or helper (in a SCHED_CLS program) */
	const char *name;
	const char *since; /* the mainline release that brought it */
};

/* In the order a kernel gains them: the first one missing is named. */
static const struct kfeature tc_features[] = {
    {KF_PROG, BPF_PROG_TYPE_SCHED_CLS, "BPF programs at tc (sched_cls)", "4.1"},
    {KF_MAP, BPF_MAP_TYPE_HASH, "BPF hash maps", "3.19"},
    {KF_MAP, BPF_MAP_TYPE_PERCPU_ARRAY, "BPF per-CPU array maps", "4.6"},
    {KF_MAP, BPF_MAP_TYPE_LPM_TRIE, "BPF LPM trie maps", "4.11"},
    {KF_MAP, BPF_MAP_TYPE_SOCKMAP, "SOCKMAP (CONFIG_BPF_STREAM_PARSER)", "4.14"},
    {KF_BTF, 0, "BTF for the pinned maps", "4.18"},
    {KF_HELPER, BPF_FUNC_ktime_get_ns, "bpf_ktime_get_ns at tc", "4.1"},
    {KF_HELPER, BPF_FUNC_skc_lookup_tcp, "bpf_skc_lookup_tcp at tc", "5.2"},
    {KF_HELPER, BPF_FUNC_sk_release, "bpf_sk_release at tc", "4.20"},
    {KF_HELPER, BPF_FUNC_sk_assign, "bpf_sk_assign at tc ingress", "5.7"},
};

/* The smallest BTF there is: one 32-bit int. */
static int probe_btf(void)
{
	struct {
		struct btf_header hdr;
		struct btf_type t;
		uint32_t enc;
		char str[5];
	} __attribute__((packed)) b = {
	    .hdr = {.magic = BTF_MAGIC,
		    .version = BTF_VERSION,
		    .hdr_len = sizeof(struct btf_header),
		    .type_off = 0,
		    .type_len = sizeof(struct btf_type) + sizeof(uint32_t),
		    .str_off = sizeof(struct btf_type) + sizeof(uint32_t),
		    .str_len = 5},
	    .t = {.name_off = 1, .info = BTF_KIND_INT << 24, .size = 4},
	    .enc = 32,
	    .str = "\0int",
	};
	int fd = bpf_btf_load(&b, sizeof(b), NULL);

	if (fd < 0)
		return errno == EPERM ? -EPERM : 0;
	close(fd);
	return 1;
}

/* 1 present, 0 absent, negative: could not ask. */
static int probe(const struct kfeature *f)
{
	switch (f->kind) {
	case KF_PROG:
		return libbpf_probe_bpf_prog_type((enum bpf_prog_type)f->id, NULL);
	case KF_MAP:
		return libbpf_probe_bpf_map_type((enum bpf_map_type)f->id, NULL);
	case KF_HELPER:
		return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, (enum bpf_func_id)f->id,
					       NULL);
	case KF_BTF:
		return probe_btf();
	}
	return -EINVAL;
}

int kernel_features_check_tc(char *err, size_t errlen)
{
	struct utsname u;
	const char *rel = uname(&u) ? "?" : u.release;

	for (size_t i = 0; i < sizeof(tc_features) / sizeof(tc_features[0]); i++) {
		const struct kfeature *f = &tc_features[i];
		int r = probe(f);

		if (r > 0)
			continue;
		if (r == 0) {
			snprintf(err, errlen,
				 "this kernel (Linux %s) lacks %s (mainline %s); gate = tc "
				 "needs it, and mxgate is tested on Linux %s and later: nothing "
				 "was attached, mail goes to the MTA",
				 rel, f->name, f->since, MXG_OLDEST_KERNEL);
			return -EOPNOTSUPP;
		}
		snprintf(err, errlen, "cannot ask the kernel (Linux %s) for %s: %s%s", rel, f->name,
			 strerror(-r), r == -EPERM ? " (needs CAP_BPF, run as root)" : "");
		return r;
	}
	return 0;
}

int kernel_features_check_nft(char *err, size_t errlen)
{
	struct nft_conn c;
	struct utsname u;
	const char *rel = uname(&u) ? "?" : u.release;
	char why[256] = "";
	int r = nft_conn_open(&c);

	if (r) {
		snprintf(err, errlen,
			 "cannot ask the kernel (Linux %s) for nf_tables: netlink socket: %s%s",
			 rel, strerror(-r),
			 r == -EPROTONOSUPPORT ? " (no nfnetlink: CONFIG_NETFILTER_NETLINK)" : "");
		return r;
	}
	r = nft_own_check_tproxy(&c, why, sizeof(why));
	nft_conn_close(&c);
	if (r > 0)
		return 0;
	if (r == 0) {
		snprintf(err, errlen,
			 "this kernel (Linux %s) lacks nft tproxy (CONFIG_NFT_TPROXY, mainline "
			 "4.19); gate = nft needs it, and mxgate is tested on Linux %s and later: "
			 "nothing was changed, mail goes to the MTA",
			 rel, MXG_OLDEST_KERNEL);
		return -EOPNOTSUPP;
	}
	snprintf(err, errlen, "cannot ask the kernel (Linux %s) for nft tproxy: %s%s", rel, why,
		 r == -EPERM ? " (needs CAP_NET_ADMIN, run as root)" : "");
	return r;
}

const char *kernel_features_nft_list(void)
{
	return "nf_tables with tproxy (4.19)";
}

const char *kernel_features_tc_list(void)
{
	return "bpf_sk_assign at tc ingress (5.7), bpf_skc_lookup_tcp, SOCKMAP, LPM trie, "
	       "per-CPU array and hash maps, BTF";
}
