/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Map layouts shared by the tc program and user space. Fixed-width types
 * only: this header is compiled both by clang -target bpf and by gcc, and
 * the BTF of these structs is what `bpftool map dump` prints field by field.
 */
#ifndef MXGATE_KERN_USER_H
#define MXGATE_KERN_USER_H

#include <linux/types.h>

/* Map names: used in SEC(".maps") (via the identifiers below) and as the
 * file names under pin_dir. The kernel keeps at most 15 characters. */
#define MXG_MAP_GATE "gate_addrs"
#define MXG_MAP_DOMAINS "domains"
#define MXG_MAP_COUNTERS "counters"
#define MXG_MAP_RESPONDER "responder"
#define MXG_MAP_PASS_NETS "pass_nets" /* pass_clients: LPM trie, never steered */
#define MXG_MAP_PASSES "passes"	      /* passed clients: address -> expiry */
/* The tc program itself is pinned too, so `mxgate unload` can find it. */
#define MXG_PIN_PROG "tc_prog"

#define MXG_KERN_SMTP_PORT 25

#define MXG_GATE_MAX_ADDRS 1024
/* The most served domains. The domain map is created without
 * preallocation and sized from the configuration at load (gate_tc.c), so
 * this is a bound, not a cost. User space has its own bounds
 * (base/mxg_limits.h); gate/gate_kern.h checks that they agree. */
#define MXG_KERN_MAX_DOMAINS 1000000
#define MXG_DOMAIN_LEN 256	  /* 253 octets of name, NUL, padding */
#define MXG_MAX_PASS_NETS 1024	  /* pass_clients entries */
#define MXG_KERN_MAX_PASSES 16384 /* passed client addresses at once */

/* Responder listening sockets in the SOCKMAP, one per address family. A
 * closed socket leaves the map by itself, which opens the gate. */
enum mxg_responder_slot {
	MXG_RESPONDER_V4 = 0,
	MXG_RESPONDER_V6 = 1,
	MXG_RESPONDER_SLOTS = 2,
};

/* Gate map key: the local destination address. IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d) so one map serves both families. */
struct mxg_gate_key {
	__u8 addr[16];
};

enum mxg_gate_state {
	MXG_GATE_OPEN = 0,  /* pass to the real MTA */
	MXG_GATE_GATED = 1, /* steer new port-25 connections to the responder */
};

struct mxg_gate_entry {
	__u64 expires_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns); past = open */
	__u64 updated_ns; /* when the controller last wrote this entry */
	__u32 state;	  /* enum mxg_gate_state */
	__u32 domains;	  /* served domains on this address, for the admin */
};

/* pass_nets key (BPF_MAP_TYPE_LPM_TRIE): a client network. IPv4 is
 * IPv4-mapped like the gate key, its prefix length + 96. */
struct mxg_pass_net_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];
};

/* Why a client is passed (mxg_pass_entry.reason). User space has its own
 * enum (state/reason.h); the gate converts. */
enum mxg_kern_pass_reason {
	MXG_KERN_PASS_GREYLIST = 1,  /* it retried a greylisted tuple in time */
	MXG_KERN_PASS_RECIPIENT = 2, /* it asked for a pass_recipients address */
};

/* passes: key struct mxg_gate_key holding the client's address (IPv4
 * mapped). The same fail-safe expiry as the gate map: past expires_ns
 * the client is steered again (only while the primary is up). */
struct mxg_pass_entry {
	__u64 expires_ns; /* CLOCK_MONOTONIC; past = no longer passed */
	__u64 since_ns;	  /* when it was first passed (renewals stop at pass_max) */
	__u32 reason;	  /* enum mxg_kern_pass_reason */
	__u32 pad;
};

/* A domain's state in the domain map (user space: state/reason.h; the
 * gate converts). */
enum mxg_kern_domain_state {
	MXG_KERN_DOMAIN_UNKNOWN = 0,
	MXG_KERN_DOMAIN_OPEN = 1,
	MXG_KERN_DOMAIN_GATED = 2,
};

/* Domain map: written by the controller for administrators (bpftool map
 * dump) and tools; the tc program does not read it. */
struct mxg_domain_key {
	char name[MXG_DOMAIN_LEN]; /* lower case, no trailing dot */
};

struct mxg_domain_entry {
	__u64 since_ns;		      /* CLOCK_MONOTONIC of the last state change */
	__u64 expires_ns;	      /* CLOCK_MONOTONIC; past = stale, treat as open */
	__u32 state;		      /* enum mxg_kern_domain_state */
	__u32 reason;		      /* enum mxg_reason (userspace/state/reason.h) */
	char primary[MXG_DOMAIN_LEN]; /* primary that is up, or "" */
};

/* Per-CPU counters, one struct so `bpftool map dump` names each field.
 * The "pass_*" fields count port-25 SYNs let through and why, except
 * pass_unparsed, which counts any packet whose headers are not parsed (an
 * IPv4 fragment, an IPv6 extension header) before its port is known. Other
 * traffic is not counted: the hot path touches no map. */
struct mxg_counters {
	__u64 syn25;		  /* TCP SYN (no ACK) to port 25 */
	__u64 steered;		  /* assigned to the responder socket */
	__u64 pass_no_entry;	  /* destination not in the gate map */
	__u64 pass_open;	  /* entry says open */
	__u64 pass_expired;	  /* entry past its expiry: fail open */
	__u64 pass_no_responder;  /* no responder socket in the SOCKMAP */
	__u64 pass_assign_failed; /* bpf_sk_assign refused */
	__u64 pass_unparsed;	  /* headers we do not parse (ext hdrs, short) */
	__u64 pass_existing;	  /* the 4-tuple has a socket already (TIME_WAIT) */
	__u64 pass_client_net;	  /* gated, but the client is in pass_clients */
	__u64 pass_passed;	  /* gated, but the client holds a live pass */
	/* A bare ACK to port 25 of a gated address whose 4-tuple has no
	 * socket (only a listener, or nothing): the ACK of a SYN cookie the
	 * responder's listener sent under a SYN flood, or a stray one. */
	__u64 ack25;
	__u64 ack_steered; /* ... assigned to the responder's listener */
};

#endif
