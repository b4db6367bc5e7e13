// SPDX-License-Identifier: GPL-2.0-only
/* Attach, find and detach mxgate's tc filter; see tc_hook.h. */
#include "tc_hook.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

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

struct ahead_walk {
	uint32_t our_prog;
	bool ours_seen;
	uint32_t last_pref; /* of the last one counted */
	struct tc_ahead *out;
};

/* Is this dumped filter ours: our handle and priority, cls_bpf, our
 * program (TCA_BPF_ID inside TCA_OPTIONS). */
static bool filter_is_ours(const struct nlmsghdr *nlh, const struct tcmsg *tcm, const char *kind,
			   uint32_t our_prog)
{
	const struct nlattr *opts = NULL, *a;

	if (TC_H_MAJ(tcm->tcm_info) >> 16 != MXG_TC_PRIO || tcm->tcm_handle != MXG_TC_HANDLE ||
	    strcmp(kind, "bpf"))
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*tcm)) if (mnl_attr_get_type(a) == TCA_OPTIONS) opts = a;
	if (!opts)
		return false;
	mnl_attr_for_each_nested(
	    a, opts) if (mnl_attr_get_type(a) == TCA_BPF_ID &&
			 mnl_attr_get_payload_len(a) >=
			     sizeof(uint32_t)) return tc_prog_is_ours(mnl_attr_get_u32(a),
								      our_prog);
	return false;
}

static int ahead_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ahead_walk *w = data;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const char *kind = "";
	uint32_t chain = 0, pref;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || w->ours_seen ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*tcm))
	{
		if (mnl_attr_get_type(a) == TCA_KIND && !mnl_attr_validate(a, MNL_TYPE_STRING))
			kind = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == TCA_CHAIN &&
			 mnl_attr_get_payload_len(a) >= sizeof(uint32_t))
			chain = mnl_attr_get_u32(a);
	}
	/* Only chain 0 is entered from the hook; other chains are reached
	 * from it by goto. Handle 0: the entry the kernel lists ahead of each
	 * preference's filters (kind and preference only). */
	if (chain || !tcm->tcm_handle)
		return MNL_CB_OK;
	if (filter_is_ours(nlh, tcm, kind, w->our_prog)) {
		w->ours_seen = true;
		return MNL_CB_OK;
	}
	/* The kernel dumps a hook's filters in the order it runs them. One
	 * preference may list several entries (u32: its hash table and its
	 * keys): counted once. */
	pref = TC_H_MAJ(tcm->tcm_info) >> 16;
	if (w->out->n && pref == w->last_pref)
		return MNL_CB_OK;
	if (!w->out->n++) {
		w->out->pref = pref;
		snprintf(w->out->kind, sizeof(w->out->kind), "%s", kind);
	}
	w->last_pref = pref;
	return MNL_CB_OK;
}

int tc_ahead(int ifindex, uint32_t pinned_id, struct tc_ahead *out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct timeval tv = {.tv_sec = 1};
	struct ahead_walk w = {.our_prog = pinned_id, .out = out};
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	uint32_t seq = (uint32_t)time(NULL), port;
	int ret;

	memset(out, 0, sizeof(*out));
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	port = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	/* Bounded: a hook holds few filters; give up after 64 reads. */
	for (int reads = 0; reads < 64; reads++) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			ret = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, port, ahead_cb, &w);
		if (ret <= MNL_CB_STOP) {
			ret = ret < 0 ? -errno : 0;
			goto out;
		}
	}
	ret = -EMSGSIZE;
out:
	mnl_socket_close(nl);
	/* Without ours on the hook nothing is "ahead of" it. */
	if (!ret && !w.ours_seen)
		out->n = 0;
	return ret;
}
