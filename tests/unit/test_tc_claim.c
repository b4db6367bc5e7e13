// SPDX-License-Identifier: GPL-2.0-only
/* One tc gate per interface (tc_claim.c): a second claim of the same name
 * is refused naming the holder's pid; the name is free again when the
 * holder closes it or dies; a forked child that drops its inherited
 * copies (as a job of the daemon does) does not keep it. The names are
 * this test's own, so a running mxgated is never in the way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tc_claim.h"

static char name[32];

static int setup(void **state)
{
	snprintf(name, sizeof(name), "mxgt%ld", (long)getpid());
	return 0;
}

/* In a child: try to claim; exit 0 when refused with want in the message,
 * 1 when claimed, 2 otherwise. */
static void child_claims(const char *want)
{
	char err[256] = "";
	int fd, r = tc_claim(name, &fd, err, sizeof(err));

	_exit(r == -EBUSY && strstr(err, want) ? 0 : r == 0 && fd >= 0 ? 1 : 2);
}

static int run_child(const char *want)
{
	int st;
	pid_t p = fork();

	assert_true(p >= 0);
	if (!p)
		child_claims(want);
	assert_int_equal(waitpid(p, &st, 0), p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_a_second_claim_is_refused_naming_the_holder(void **state)
{
	char want[64], err[256];
	int fd;

	assert_int_equal(tc_claim(name, &fd, err, sizeof(err)), 0);
	assert_true(fd >= 0);
	snprintf(want, sizeof(want), "another mxgated (pid %ld) gates it", (long)getpid());
	assert_int_equal(run_child(want), 0);
	tc_unclaim(fd);
	assert_int_equal(run_child(""), 1); /* released */
}

/* A child forked from the holder keeps a copy of the socket: dropped by
 * tc_claims_close_inherited, the name is free once the holder goes,
 * while the child lives on. */
static void test_a_forked_job_does_not_keep_the_claim(void **state)
{
	char err[256];
	int fd, st, go[2];
	pid_t job;

	assert_int_equal(tc_claim(name, &fd, err, sizeof(err)), 0);
	assert_int_equal(pipe(go), 0);
	job = fork();
	assert_true(job >= 0);
	if (!job) {
		char b;

		tc_claims_close_inherited();
		close(go[1]);
		if (read(go[0], &b, 1) < 0) /* lives until told */
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	tc_unclaim(fd); /* the daemon is gone; its job is not */
	assert_int_equal(run_child(""), 1);
	close(go[1]);
	assert_int_equal(waitpid(job, &st, 0), job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_a_second_claim_is_refused_naming_the_holder, setup),
	    cmocka_unit_test_setup(test_a_forked_job_does_not_keep_the_claim, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
