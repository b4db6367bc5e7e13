// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replays every fuzz crash input (tests/fuzz/regressions/<harness>/) and
 * every seed (tests/fuzz/corpus/<harness>/) through the libFuzzer harness
 * entry points, built normally: so a fixed crash stays fixed in `make
 * check`, and under ASan/UBSan in `make check-san`, without clang's fuzzer
 * runtime. The harnesses trap on any broken invariant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each harness defines LLVMFuzzerTestOneInput; give each its own name. */
#define LLVMFuzzerTestOneInput fuzz_smtp_reply_one
#include "../fuzz/fuzz_smtp_reply.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_smtp_session_one
#include "../fuzz/fuzz_smtp_session.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_dns_mx_one
#include "../fuzz/fuzz_dns_mx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_policy_one
#include "../fuzz/fuzz_policy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_responder_wire_one
#include "../fuzz/fuzz_responder_wire.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Feed every file of DIR; returns how many. A missing directory is empty. */
static int replay_dir(const char *dir, fuzz_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[4096];
		uint8_t *buf;
		long len;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		len = ftell(f);
		assert_true(len >= 0);
		rewind(f);
		buf = malloc((size_t)len + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		print_message("replay %s\n", path);
		fn(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void replay(const char *name, fuzz_fn fn)
{
	const char *src = getenv("MXG_SRC");
	char dir[4096];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/regressions/%s", src ? src : ".", name);
	n += replay_dir(dir, fn);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", src ? src : ".", name);
	n += replay_dir(dir, fn);
	assert_true(n > 0); /* at least the seeds: else MXG_SRC is wrong */
}

static void test_smtp_reply_inputs(void **state)
{
	replay("smtp_reply", fuzz_smtp_reply_one);
}

static void test_smtp_session_inputs(void **state)
{
	replay("smtp_session", fuzz_smtp_session_one);
}

static void test_config_inputs(void **state)
{
	replay("config", fuzz_config_one);
}

static void test_dns_mx_inputs(void **state)
{
	replay("dns_mx", fuzz_dns_mx_one);
}

static void test_policy_inputs(void **state)
{
	replay("policy", fuzz_policy_one);
}

static void test_responder_wire_inputs(void **state)
{
	replay("responder_wire", fuzz_responder_wire_one);
}

int main(void)
{
	/* One per harness under tests/fuzz/, one a line (clang-format would
	 * pack these short entries into columns). */
	/* clang-format off */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smtp_reply_inputs),
	    cmocka_unit_test(test_smtp_session_inputs),
	    cmocka_unit_test(test_config_inputs),
	    cmocka_unit_test(test_dns_mx_inputs),
	    cmocka_unit_test(test_policy_inputs),
	    cmocka_unit_test(test_responder_wire_inputs),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
