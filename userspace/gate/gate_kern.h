/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's map layouts (bpf/mxgate_kern_user.h) as gate/ uses them:
 * the one place user space meets them. Nothing outside gate/ includes this
 * header (the build gives no other folder bpf/); the rest of user space
 * speaks in its own types (addr.h, state/reason.h) and the gate converts.
 */
#ifndef MXG_GATE_KERN_H
#define MXG_GATE_KERN_H

#include <stdint.h>

#include "addr.h"
#include "gate.h"
#include "mxg_limits.h"
#include "mxgate_kern_user.h"
#include "reason.h"

_Static_assert(MXG_KERN_MAX_DOMAINS == MXG_MAX_DOMAINS, "domain map sized as user space bounds");
_Static_assert(MXG_KERN_MAX_PASSES == MXG_MAX_PASSES, "pass map sized as user space bounds");
_Static_assert(MXG_KERN_SMTP_PORT == MXG_SMTP_PORT, "one SMTP port");

/* IPv4 as IPv4-mapped IPv6, as the tc program builds its lookup key. */
void mxg_ip_to_gate_key(const struct mxg_ip *ip, struct mxg_gate_key *key);
void mxg_ip_from_gate_key(const struct mxg_gate_key *key, struct mxg_ip *ip);

/* A domain state from the kernel's value (an unknown value reads as
 * unknown); a pass reason's name ("?" when unknown). */
enum mxg_domain_state gate_domain_state_from_kern(uint32_t s);
const char *gate_kern_pass_reason_str(uint32_t r);

/* The domain map's key for name, lower case. -ENAMETOOLONG past
 * MXG_DOMAIN_LEN - 1 octets. */
int gate_map_domain_key(const char *name, struct mxg_domain_key *key);
/* The key and value gate_map_set_domain writes (for batches). */
int gate_map_domain_entry(const struct gate_domain_view *d, uint64_t ttl_ms,
			  struct mxg_domain_key *key, struct mxg_domain_entry *e);

/* Sum the per-CPU counters. */
int gate_map_read_counters(int map_fd, struct mxg_counters *sum);

#endif
