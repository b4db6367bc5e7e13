/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writing entries of mxgate's BPF maps, given their descriptors, in user
 * space's types: shared by the tc backend and the test helpers
 * (tc_gate_drive), so there is one encoding of each entry. What
 * needs the kernel's layouts is in gate_kern.h, for gate/ alone.
 */
#ifndef MXG_GATE_MAPS_H
#define MXG_GATE_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "gate.h"
#include "reason.h"

/* Gate entry for ip, expiring ttl_ms from now (0: already expired). */
int gate_map_set_address(int map_fd, const struct mxg_ip *ip, bool gated, unsigned n_domains,
			 uint64_t ttl_ms);
int gate_map_delete_address(int map_fd, const struct mxg_ip *ip);

/* Domain entry; the name is stored lower case. -ENAMETOOLONG past
 * MXG_DOMAIN_LEN - 1 octets. */
int gate_map_set_domain(int map_fd, const struct gate_domain_view *d, uint64_t ttl_ms);

/* Put a listening socket into a responder SOCKMAP slot; sock_fd -1
 * empties the slot (an empty slot is not an error). */
int gate_map_set_responder(int map_fd, unsigned slot, int sock_fd);

/* A passed client: the tc program lets its SYNs through until expires_ns
 * (CLOCK_MONOTONIC, as bpf_ktime_get_ns()). */
int gate_map_set_pass(int map_fd, const struct mxg_ip *ip, uint64_t expires_ns, uint64_t since_ns,
		      unsigned reason);
int gate_map_delete_pass(int map_fd, const struct mxg_ip *ip);
/* pass_clients into the LPM trie: exactly nets afterwards (add, then
 * delete the rest). */
int gate_map_set_pass_nets(int map_fd, const struct mxg_net *nets, size_t n);

/* Delete every key of the hash map that is not in keys[0..n) (each size
 * octets), at most max of them: what a round did not write. */
int gate_map_delete_unseen(int map_fd, const void *keys, size_t n, size_t size, size_t max);

#endif
