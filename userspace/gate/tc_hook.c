// SPDX-License-Identifier: GPL-2.0-only
/* Attach, find and detach mxgate's tc filter; see tc_hook.h. */
#include "tc_hook.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static void ingress_hook(struct bpf_tc_hook *hook, int ifindex)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = BPF_TC_INGRESS;
}

int tc_attach(int ifindex, int prog_fd, uint32_t pinned_id)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MXG_TC_HANDLE, .priority = MXG_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	struct bpf_tc_hook hook;
	uint32_t id;
	int ret;

	ingress_hook(&hook, ifindex);
	/* Creates clsact, or finds it there (ours from before, or anyone's). */
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST)
		return ret;
	/* REPLACE must only ever replace our own earlier copy: when we cannot
	 * tell what sits at our handle/priority, do not attach. */
	ret = tc_query(ifindex, &id);
	if (ret && ret != -ENOENT)
		return ret;
	if (!ret && !tc_prog_is_ours(id, pinned_id))
		return -EEXIST;
	return bpf_tc_attach(&hook, &opts);
}

int tc_detach(int ifindex, uint32_t pinned_id)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MXG_TC_HANDLE, .priority = MXG_TC_PRIO);
	struct bpf_tc_hook hook;
	uint32_t id;
	int ret;

	ret = tc_query(ifindex, &id);
	if (ret)
		return ret;
	if (!tc_prog_is_ours(id, pinned_id))
		return -ENOENT;
	ingress_hook(&hook, ifindex);
	return bpf_tc_detach(&hook, &opts);
}

int tc_query(int ifindex, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = MXG_TC_HANDLE, .priority = MXG_TC_PRIO);
	struct bpf_tc_hook hook;
	int ret;

	ingress_hook(&hook, ifindex);
	ret = bpf_tc_query(&hook, &opts);
	if (ret)
		/* No clsact qdisc answers EINVAL: nothing of ours there. */
		return ret == -EINVAL ? -ENOENT : ret;
	*prog_id = opts.prog_id;
	return 0;
}

uint32_t tc_prog_id(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	return info.id;
}

bool tc_prog_is_ours(uint32_t prog_id, uint32_t pinned_id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool ours;
	int fd;

	if (!prog_id)
		return false;
	if (pinned_id && prog_id == pinned_id)
		return true;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	ours = !bpf_obj_get_info_by_fd(fd, &info, &len) && !strcmp(info.name, MXG_TC_PROG_NAME);
	close(fd);
	return ours;
}

int tc_for_each_ours(uint32_t pinned_id, tc_found_fn fn, void *arg)
{
	struct if_nameindex *ifs = if_nameindex();
	int found = 0;

	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		uint32_t id;

		if (tc_query((int)i->if_index, &id) || !tc_prog_is_ours(id, pinned_id))
			continue;
		found++;
		if (fn)
			fn((int)i->if_index, i->if_name, id, arg);
	}
	if_freenameindex(ifs);
	return found;
}
