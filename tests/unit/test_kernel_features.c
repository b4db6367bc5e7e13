// SPDX-License-Identifier: GPL-2.0-only
/* The gates' kernel features, asked of the running kernel: every kernel
 * the tests run on (this host's, and the Debian kernels that `make
 * check-kernel` boots) has them all, so the check passes and says
 * nothing; without CAP_BPF it cannot ask and says so. The nft probe
 * changes nothing: it runs in a network namespace of its own and leaves
 * no table there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "kernel_features.h"
#include "nft_batch.h"
#include "nft_own.h"

static void test_this_kernel_has_every_tc_feature(void **state)
{
	char err[512] = "";
	int r;

	if (geteuid() != 0)
		skip();
	r = kernel_features_check_tc(err, sizeof(err));
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_string_equal(err, "");
}

static void test_this_kernel_has_nft_tproxy_and_the_probe_changes_nothing(void **state)
{
	struct nft_conn c;
	char err[512] = "";
	int r;

	if (geteuid() != 0)
		skip();
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	r = kernel_features_check_nft(err, sizeof(err));
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_string_equal(err, "");
	/* The kernel checked the whole table, tproxy rules included, and
	 * dropped it. */
	assert_int_equal(nft_conn_open(&c), 0);
	assert_int_equal(nft_own_exists(&c), 0);
	assert_int_equal(nft_own_create(&c, err, sizeof(err)), 0);
	assert_int_equal(nft_own_exists(&c), 1);
	/* With the table there (a previous run's) the probe still passes
	 * and leaves it as it was. */
	assert_int_equal(kernel_features_check_nft(err, sizeof(err)), 0);
	assert_int_equal(nft_own_exists(&c), 1);
	assert_int_equal(nft_own_delete(&c), 0);
	nft_conn_close(&c);
}

static void test_the_list_names_what_sets_the_oldest_kernel(void **state)
{
	assert_non_null(strstr(kernel_features_tc_list(), "bpf_sk_assign at tc ingress"));
	assert_non_null(strstr(kernel_features_nft_list(), "tproxy"));
	assert_string_equal(MXG_OLDEST_KERNEL, "6.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_this_kernel_has_every_tc_feature),
	    cmocka_unit_test(test_this_kernel_has_nft_tproxy_and_the_probe_changes_nothing),
	    cmocka_unit_test(test_the_list_names_what_sets_the_oldest_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
