/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxgate's tc filter: one cls_bpf filter (direct action) on the clsact
 * ingress hook of each configured interface, always at the same handle and
 * priority, so that a re-attach replaces our copy instead of stacking a
 * second one, and detach removes exactly ours. The clsact qdisc and every
 * other filter on the hook are left alone.
 */
#ifndef MXG_TC_HOOK_H
#define MXG_TC_HOOK_H

#include <stdbool.h>
#include <stdint.h>

/* Handle and priority of our filter ("MX" = 0x4d58). Priority 0x4d58
 * (19800) stays clear of the ones tc picks by itself (49152 downwards)
 * and of the small numbers administrators write by hand. Our program never
 * ends classification, so filters after it still see every packet. */
#define MXG_TC_HANDLE 0x4d58U
#define MXG_TC_PRIO 0x4d58U

/* The name the kernel records for our program (the BPF function name). */
#define MXG_TC_PROG_NAME "mxgate_tc"

/* Create clsact if missing, then attach or replace our filter. -EEXIST
 * when a filter that is not ours sits at our handle/priority. pinned_id:
 * see tc_prog_is_ours(). */
int tc_attach(int ifindex, int prog_fd, uint32_t pinned_id);
/* Remove our filter; -ENOENT when no filter of ours is there. */
int tc_detach(int ifindex, uint32_t pinned_id);
/* The id of the program in the filter at our handle/priority; -ENOENT
 * when there is none (or no clsact qdisc at all). */
int tc_query(int ifindex, uint32_t *prog_id);
/* Is this program ours: the pinned program's id (0 if unknown), or a
 * program named MXG_TC_PROG_NAME. */
bool tc_prog_is_ours(uint32_t prog_id, uint32_t pinned_id);
/* The id of a program given its descriptor; 0 on error. */
uint32_t tc_prog_id(int prog_fd);

/* Foreign filters ahead of ours on an ingress hook: a lower preference,
 * or the same one listed before ours. Any of them that ends
 * classification ("done", drop, a direct-action program returning OK)
 * keeps our program from ever seeing the packet. */
struct tc_ahead {
	unsigned n;    /* preferences listed before ours (0: none, or ours absent) */
	uint32_t pref; /* the first one's preference */
	char kind[16]; /* and its kind (u32, bpf, flower, ...) */
};
/* One netlink dump of the hook's filters (receive timeout 1 s). 0, or a
 * negative errno. pinned_id: see tc_prog_is_ours(). */
int tc_ahead(int ifindex, uint32_t pinned_id, struct tc_ahead *out);

/* Call fn for every interface of this network namespace whose ingress
 * hook holds our filter with a program of ours. Returns the number found
 * or a negative errno. */
typedef void (*tc_found_fn)(int ifindex, const char *ifname, uint32_t prog_id, void *arg);
int tc_for_each_ours(uint32_t pinned_id, tc_found_fn fn, void *arg);

#endif
