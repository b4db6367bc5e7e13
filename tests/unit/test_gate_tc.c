// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tc gate backend as the controller uses it (gate_tc_ops), in a private
 * network and mount namespace with its own bpffs: open attaches to lo and
 * pins; rounds write entries and remove the ones no longer written; close
 * without detach leaves everything for the kernel to expire and a reopen
 * reuses the maps; close with detach removes filter and pins. Needs root;
 * skips otherwise.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "event.h"
#include "gate.h"
#include "gate_kern.h"
#include "gate_maps.h"
#include "pins.h"
#include "reason.h"
#include "tc_hook.h"

static char tmp[] = "/tmp/mxg-test-gate-tc.XXXXXX";
static char bpffs[256];
static struct mxg_config cfg;

static int count_keys(int fd, size_t key_size)
{
	char key[512], next[512];
	int n = 0;

	assert_true(key_size <= sizeof(key));
	for (int r = bpf_map_get_next_key(fd, NULL, next); !r;
	     r = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, key_size);
		n++;
	}
	return n;
}

static bool has_addr(int fd, const char *addr, struct mxg_gate_entry *e)
{
	struct mxg_gate_key key;
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(addr, &ip), 0);
	mxg_ip_to_gate_key(&ip, &key);
	return bpf_map_lookup_elem(fd, &key, e) == 0;
}

static bool has_domain(int fd, const char *name)
{
	struct mxg_domain_key key;
	struct mxg_domain_entry e;

	assert_int_equal(gate_map_domain_key(name, &key), 0);
	return bpf_map_lookup_elem(fd, &key, &e) == 0;
}

static void set_addr(struct gate *g, const char *addr, bool gated)
{
	struct mxg_ip ip;

	assert_int_equal(mxg_ip_parse(addr, &ip), 0);
	assert_int_equal(gate_tc_ops.set_address(g, &ip, gated, 2, 30000), 0);
}

static void set_domain(struct gate *g, const char *name)
{
	struct gate_domain_view d = {
	    .name = name,
	    .state = MXG_DOMAIN_GATED,
	    .reason = MXG_REASON_PRIMARY_UP,
	    .primary = "mx1.example.test",
	    .since_ns = ev_now_ns(),
	};

	assert_int_equal(gate_tc_ops.set_domain(g, &d, 30000), 0);
}

static bool ours_on_lo(void)
{
	uint32_t id;

	return tc_query((int)if_nametoindex("lo"), &id) == 0 && tc_prog_is_ours(id, 0);
}

static int setup(void **state)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -1;
	if (!mkdtemp(tmp))
		return -1;
	snprintf(bpffs, sizeof(bpffs), "%s/bpf", tmp);
	if (mkdir(bpffs, 0700) || mount("bpf", bpffs, "bpf", 0, "mode=0700"))
		return -1;
	if (system("ip link set lo up"))
		return -1;
	snprintf(cfg.pin_dir, sizeof(cfg.pin_dir), "%s/mxgate", bpffs);
	strcpy(cfg.interfaces[0], "lo");
	cfg.n_interfaces = 1;
	cfg.gate = MXG_GATE_TC;
	return 0;
}

static int teardown(void **state)
{
	char cmd[512];

	umount(bpffs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) ? -1 : 0;
}

static void test_pin_dir_must_be_bpffs(void **state)
{
	struct mxg_config bad = cfg;
	struct gate *g = NULL;
	char err[512] = "";

	snprintf(bad.pin_dir, sizeof(bad.pin_dir), "%s/mxgate", tmp);
	assert_int_equal(gate_tc_ops.open(&g, &bad, err, sizeof(err)), -ENOTSUP);
	assert_null(g);
	assert_non_null(
	    strstr(err, "not a bpf filesystem; mount one with: mount -t bpf -o mode=0700 bpf"));
}

static void test_unknown_interface_refused(void **state)
{
	struct mxg_config bad = cfg;
	struct gate *g = NULL;
	char err[512] = "";

	strcpy(bad.interfaces[0], "nosuch0");
	assert_int_equal(gate_tc_ops.open(&g, &bad, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "interface nosuch0: no such interface"));
}

static void test_lifecycle_and_rounds(void **state)
{
	struct mxg_gate_entry e;
	struct mxg_pins p;
	struct gate *g;
	char err[512] = "";
	uint64_t now;

	assert_int_equal(gate_tc_ops.open(&g, &cfg, err, sizeof(err)), 0);
	assert_true(ours_on_lo());

	/* round 1: two addresses, two domains */
	assert_int_equal(gate_tc_ops.begin(g, true), 0);
	set_addr(g, "192.0.2.20", true);
	set_addr(g, "2001:db8::20", false);
	set_domain(g, "example.test");
	set_domain(g, "other.test");
	assert_int_equal(gate_tc_ops.commit(g), 0);
	assert_int_equal(gate_tc_ops.domains_sync(g), 0);

	assert_true(pins_open(cfg.pin_dir, &p) == 7);
	assert_int_equal(count_keys(p.gate_fd, sizeof(struct mxg_gate_key)), 2);
	assert_int_equal(count_keys(p.domains_fd, sizeof(struct mxg_domain_key)), 2);
	now = ev_now_ns();
	assert_true(has_addr(p.gate_fd, "192.0.2.20", &e));
	assert_int_equal(e.state, MXG_GATE_GATED);
	assert_int_equal(e.domains, 2);
	assert_true(e.expires_ns > now && e.expires_ns <= now + 30000ULL * 1000000ULL);

	/* round 2: an address not written again goes away at commit; a
	 * domain not written since the last sync at the next sync */
	assert_int_equal(gate_tc_ops.begin(g, true), 0);
	set_addr(g, "192.0.2.20", true);
	set_domain(g, "example.test");
	assert_int_equal(gate_tc_ops.commit(g), 0);
	assert_int_equal(count_keys(p.gate_fd, sizeof(struct mxg_gate_key)), 1);
	assert_false(has_addr(p.gate_fd, "2001:db8::20", &e));
	assert_true(has_domain(p.domains_fd, "other.test"));
	assert_int_equal(gate_tc_ops.domains_sync(g), 0);
	assert_true(has_domain(p.domains_fd, "example.test"));
	assert_false(has_domain(p.domains_fd, "other.test"));

	/* a batch of domains alone (the expiry refresh) leaves the addresses */
	assert_int_equal(gate_tc_ops.begin(g, false), 0);
	set_domain(g, "example.test");
	assert_int_equal(gate_tc_ops.commit(g), 0);
	assert_int_equal(count_keys(p.gate_fd, sizeof(struct mxg_gate_key)), 1);
	assert_true(has_domain(p.domains_fd, "example.test"));

	/* writes outside a round delete nothing */
	set_addr(g, "192.0.2.21", true);
	assert_int_equal(gate_tc_ops.commit(g), 0);
	assert_int_equal(count_keys(p.gate_fd, sizeof(struct mxg_gate_key)), 2);

	/* a crash-like exit leaves filter and pins; a restart reuses the maps */
	gate_tc_ops.close(g, false);
	assert_true(ours_on_lo());
	assert_int_equal(access(cfg.pin_dir, F_OK), 0);
	assert_int_equal(gate_tc_ops.open(&g, &cfg, err, sizeof(err)), 0);
	assert_true(has_addr(p.gate_fd, "192.0.2.20", &e));
	assert_int_equal(e.state, MXG_GATE_GATED);
	pins_close(&p);
	assert_true(pins_open(cfg.pin_dir, &p) == 7);
	assert_true(has_addr(p.gate_fd, "192.0.2.21", &e));
	pins_close(&p);

	gate_tc_ops.close(g, true);
	assert_false(ours_on_lo());
	assert_int_not_equal(access(cfg.pin_dir, F_OK), 0);
}

static int listener(int family)
{
	struct sockaddr_storage ss;
	struct mxg_ip ip;
	socklen_t len;
	int fd;

	assert_int_equal(mxg_ip_parse(family == AF_INET ? "127.0.0.1" : "::1", &ip), 0);
	len = mxg_ip_to_sockaddr(&ip, 0, &ss);
	fd = socket(family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void test_set_responder(void **state)
{
	int fd4 = listener(AF_INET), fd6 = listener(AF_INET6);
	struct mxg_pins p;
	struct gate *g;
	char err[512] = "";
	__u32 slot;
	__u64 cookie;

	assert_int_equal(gate_tc_ops.open(&g, &cfg, err, sizeof(err)), 0);
	assert_int_equal(gate_tc_ops.set_responder(g, fd4, fd6), 0);
	assert_true(pins_open(cfg.pin_dir, &p) == 7);
	slot = MXG_RESPONDER_V4;
	assert_int_equal(bpf_map_lookup_elem(p.responder_fd, &slot, &cookie), 0);
	slot = MXG_RESPONDER_V6;
	assert_int_equal(bpf_map_lookup_elem(p.responder_fd, &slot, &cookie), 0);

	assert_int_equal(gate_tc_ops.set_responder(g, fd4, -1), 0);
	assert_int_not_equal(bpf_map_lookup_elem(p.responder_fd, &slot, &cookie), 0);
	/* empty already: still fine */
	assert_int_equal(gate_tc_ops.set_responder(g, -1, -1), 0);
	slot = MXG_RESPONDER_V4;
	assert_int_not_equal(bpf_map_lookup_elem(p.responder_fd, &slot, &cookie), 0);

	pins_close(&p);
	close(fd4);
	close(fd6);
	gate_tc_ops.close(g, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_dir_must_be_bpffs),
	    cmocka_unit_test(test_unknown_interface_refused),
	    cmocka_unit_test(test_lifecycle_and_rounds),
	    cmocka_unit_test(test_set_responder),
	};

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (BPF, namespaces)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
