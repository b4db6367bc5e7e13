/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the running kernel must offer the tc gate, asked of the kernel
 * itself (libbpf's feature probes and a tiny BTF load), never read from a
 * version number: distributions backport features, and a kernel built
 * without one (CONFIG_NET_CLS_BPF, CONFIG_BPF_STREAM_PARSER for SOCKMAP)
 * may carry any version. The oldest kernel mxgate is tested on is named
 * here and in the README ("Supported kernels").
 */
#ifndef MXG_KERNEL_FEATURES_H
#define MXG_KERNEL_FEATURES_H

#include <stddef.h>

/* Debian 12's kernel, booted by `make check-kernel KERNEL=6.1`. */
#define MXG_OLDEST_KERNEL "6.1"

/* 0 when every feature is there. -EOPNOTSUPP with one line in err naming
 * the first missing feature (and the kernel that brought it); -EPERM
 * (or another error) when the kernel could not be asked, with err saying
 * so. */
int kernel_features_check_tc(char *err, size_t errlen);

/* The features checked, as one line for `mxgated -n`. */
const char *kernel_features_tc_list(void);

/* The same for gate = nft: nf_tables with the tproxy expression
 * (nft_tproxy, mainline 4.19), asked by sending the batch of mxgate's own
 * table for the kernel to check and drop, so nothing changes. 0, or
 * -EOPNOTSUPP with the one line, or another negative errno when the
 * kernel could not be asked (no nf_tables, no CAP_NET_ADMIN). */
int kernel_features_check_nft(char *err, size_t errlen);
const char *kernel_features_nft_list(void);

#endif
