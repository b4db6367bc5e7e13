// SPDX-License-Identifier: GPL-2.0-only
/* The tc gate's kernel features, asked of the running kernel: every
 * kernel the tests run on (this host's, and the Debian kernels that
 * `make check-kernel` boots) has them all, so the check passes and says
 * nothing; without CAP_BPF it cannot ask and says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kernel_features.h"

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

static void test_the_list_names_what_sets_the_oldest_kernel(void **state)
{
	assert_non_null(strstr(kernel_features_tc_list(), "bpf_sk_assign at tc ingress"));
	assert_string_equal(MXG_OLDEST_KERNEL, "6.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_this_kernel_has_every_tc_feature),
	    cmocka_unit_test(test_the_list_names_what_sets_the_oldest_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
