// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate unload [--pin-dir DIR]`: recovery after a crash. Detaches our tc
 * filter from every interface of this network namespace that has it (our
 * handle and priority, holding a program of ours), then removes the pins
 * and the directory, and deletes mxgate's own nft table (table inet
 * mxgate, of gate = nft or the offender sets) if there is one. Filters,
 * programs and tables of others stay. Idempotent: with nothing there it
 * says so and succeeds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "nft_batch.h"
#include "nft_own.h"
#include "pins.h"
#include "tc_hook.h"

struct unload {
	uint32_t pinned_id;
	int detached;
	int nft_deleted;
	int failed;
};

static void detach_one(int ifindex, const char *ifname, uint32_t prog_id, void *arg)
{
	struct unload *u = arg;
	int ret = tc_detach(ifindex, u->pinned_id);

	if (ret) {
		fprintf(stderr,
			"mxgate: detach from %s ingress: %s; look with: tc filter show dev %s "
			"ingress (mxgate's is handle 0x%x priority %u)\n",
			ifname, strerror(-ret), ifname, MXG_TC_HANDLE, MXG_TC_PRIO);
		u->failed++;
		return;
	}
	printf("detached from %s ingress (prog id %u)\n", ifname, prog_id);
	u->detached++;
}

/* Delete table inet mxgate if it exists; nothing else in nf_tables. */
static void unload_nft(struct unload *u)
{
	struct nft_conn nl;
	int ret = nft_conn_open(&nl);

	if (ret) {
		/* No nf_tables in this kernel: then there is no table of ours. */
		if (ret == -EPROTONOSUPPORT || ret == -ENOENT)
			return;
		fprintf(stderr, "mxgate: netlink socket to nf_tables: %s (needs root)\n",
			strerror(-ret));
		u->failed++;
		return;
	}
	ret = nft_own_exists(&nl);
	/* nf_tables not in this kernel: then there is no table of ours. */
	if (ret == -EOPNOTSUPP || ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT)
		ret = 0;
	if (ret == 1)
		ret = nft_own_delete(&nl);
	else if (ret == 0)
		ret = 1; /* nothing to do */
	if (ret < 0) {
		fprintf(stderr,
			"mxgate: delete table inet " OWN_TABLE
			": %s; try: nft delete table inet " OWN_TABLE "\n",
			strerror(-ret));
		u->failed++;
	} else if (ret == 0) {
		printf("deleted nft table inet " OWN_TABLE "\n");
		u->nft_deleted++;
	}
	nft_conn_close(&nl);
}

static const char *remove_hint(int err)
{
	switch (err) {
	case -ENOTEMPTY:
		return "; files that are not mxgate's are left there";
	case -ENOTSUP:
		return "; not a bpf filesystem, so nothing there is mxgate's";
	}
	return "";
}

int do_unload(int argc, char **argv)
{
	const char *dir;
	struct unload u = {0};
	struct mxg_pins p;
	char err[512];
	int c, n, lock, ret;

	c = cli_pin_dir_args(argc, argv, &dir);
	if (c >= 0)
		return c;
	pins_libbpf_log_to_debug();

	/* A directory elsewhere is not ours; a missing one is fine. */
	ret = pins_check_bpffs(dir, err, sizeof(err));
	if (ret == -ENOTSUP && access(dir, F_OK) == 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		return CLI_FAIL;
	}
	lock = pins_lock(dir, false, err, sizeof(err));
	if (lock < 0 && lock != -ENOENT) {
		fprintf(stderr, "mxgate: %s\n", err);
		return CLI_FAIL;
	}
	n = lock >= 0 ? pins_open(dir, &p) : 0;
	if (n < 0) {
		fprintf(stderr, "mxgate: open pins in %s: %s (needs root)\n", dir, strerror(-n));
		pins_unlock(lock);
		return CLI_FAIL;
	}
	if (lock >= 0) {
		u.pinned_id = tc_prog_id(p.prog_fd);
		pins_close(&p);
	}

	/* Without a pinned program, a filter at our handle/priority is ours
	 * only if its program carries our name. */
	ret = tc_for_each_ours(u.pinned_id, detach_one, &u);
	if (ret < 0) {
		fprintf(stderr, "mxgate: list interfaces: %s\n", strerror(-ret));
		u.failed++;
	}
	if (lock >= 0) {
		ret = pins_remove(dir);
		if (ret) {
			fprintf(stderr, "mxgate: remove %s: %s%s\n", dir, strerror(-ret),
				remove_hint(ret));
			u.failed++;
		} else {
			printf("removed %s (%d pin%s)\n", dir, n, n == 1 ? "" : "s");
		}
	}
	pins_unlock(lock);
	unload_nft(&u);
	if (!u.detached && !u.nft_deleted && lock < 0 && !u.failed)
		printf("nothing of mxgate's found (no filter or nft table in this network "
		       "namespace, no %s)\n",
		       dir);
	return u.failed ? CLI_FAIL : CLI_OK;
}
