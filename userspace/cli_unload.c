// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate unload [--pin-dir DIR]`: recovery after a crash. Detaches our tc
 * filter from every interface of this network namespace that has it (our
 * handle and priority, holding a program of ours), then removes the pins
 * and the directory. Filters and programs of others stay. Idempotent: with
 * nothing there it says so and succeeds.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "pins.h"
#include "tc_hook.h"

struct unload {
	uint32_t pinned_id;
	int detached;
	int failed;
};

static void detach_one(int ifindex, const char *ifname, uint32_t prog_id, void *arg)
{
	struct unload *u = arg;
	int ret = tc_detach(ifindex, u->pinned_id);

	if (ret) {
		fprintf(stderr, "mxgate: detach from %s ingress: %s\n", ifname, strerror(-ret));
		u->failed++;
		return;
	}
	printf("detached from %s ingress (prog id %u)\n", ifname, prog_id);
	u->detached++;
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
	static const struct option opts[] = {
	    {"pin-dir", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = MXG_DEFAULT_PIN_DIR;
	struct unload u = {0};
	struct mxg_pins p;
	char err[512];
	int c, n, lock, ret;

	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			dir = optarg;
			break;
		case 'h':
			printf("usage: mxgate unload [--pin-dir DIR]\n");
			return CLI_OK;
		default:
			fprintf(stderr, "usage: mxgate unload [--pin-dir DIR]\n");
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: mxgate unload [--pin-dir DIR]\n");
		return CLI_USAGE;
	}
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
	if (!u.detached && lock < 0 && !u.failed)
		printf("nothing of mxgate's found (no filter in this network namespace, no %s)\n",
		       dir);
	return u.failed ? CLI_FAIL : CLI_OK;
}
