// SPDX-License-Identifier: GPL-2.0-only
/* The check of the directories mxgate trusts (pin_dir, state_dir, the
 * socket directories): root's alone all the way up, no symlink for the
 * directory itself, a sticky parent (/tmp) allowed where asked. Needs
 * root to make root's directories; skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dircheck.h"

static const struct mxg_dir_rule rule = {
    .key = "state_dir",
    .guards = "the state",
    .chmod = "0700",
    .sticky_parents = true,
};

static char top[64];
static char err[4600];

static int setup(void **state)
{
	if (geteuid() != 0)
		return 0;
	snprintf(top, sizeof(top), "/tmp/mxg-dirchk.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	return chmod(top, 0755);
}

static int teardown(void **state)
{
	char cmd[128];

	if (top[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static char *at(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", top, name);
	return p[i];
}

static void test_root_dir_in_sticky_tmp_passes(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(at("ok"), 0700), 0);
	assert_int_equal(mxg_dir_check(&rule, at("ok"), err, sizeof(err)), 0);
	/* /tmp itself (1777) as the directory: others could create names in it. */
	assert_int_equal(mxg_dir_check(&rule, "/tmp", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "state_dir /tmp: /tmp is mode 1777, writable by others"));
}

static void test_someone_elses_dir_is_refused(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	char want[512];

	if (geteuid() != 0 || !pw)
		skip();
	assert_int_equal(mkdir(at("theirs"), 0700), 0);
	assert_int_equal(mkdir(at("theirs/state"), 0700), 0);
	assert_int_equal(chown(at("theirs"), pw->pw_uid, 0), 0);
	/* The directory itself is root's; its parent is not. */
	assert_int_equal(mxg_dir_check(&rule, at("theirs/state"), err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "state_dir %s: %s is owned by uid %u, not root",
		 at("theirs/state"), at("theirs"), (unsigned)pw->pw_uid);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "chown root:root"));
	/* A missing directory under it: the parents are still checked. */
	struct mxg_dir_rule missing = rule;

	missing.missing_ok = true;
	assert_int_equal(mxg_dir_check(&missing, at("theirs/new"), err, sizeof(err)), -EPERM);
	assert_int_equal(mkdir(at("open"), 0777), 0);
	assert_int_equal(chmod(at("open"), 0777), 0);
	assert_int_equal(mxg_dir_check(&rule, at("open"), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "is mode 0777, writable by others"));
	/* A sticky parent is fine, a group-writable one without it is not. */
	assert_int_equal(mkdir(at("open/sub"), 0700), 0);
	assert_int_equal(mxg_dir_check(&rule, at("open/sub"), err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(at("open"), 01777), 0);
	assert_int_equal(mxg_dir_check(&rule, at("open/sub"), err, sizeof(err)), 0);
}

static void test_symlinks(void **state)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(at("real"), 0700), 0);
	assert_int_equal(mkdir(at("real/sock"), 0700), 0);
	assert_int_equal(symlink(at("real"), at("link")), 0);
	/* The directory itself a symlink: refused. */
	assert_int_equal(mxg_dir_check(&rule, at("link"), err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "is not a directory (a symlink?)"));
	/* Root's symlink above it (/var/run -> /run): its target is checked. */
	assert_int_equal(mxg_dir_check(&rule, at("link/sock"), err, sizeof(err)), 0);
	assert_int_equal(chmod(at("real"), 0777), 0);
	assert_int_equal(mxg_dir_check(&rule, at("link/sock"), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "is mode 0777, writable by others"));
	/* The socket's directory: the message names the socket. */
	assert_int_equal(chmod(at("real"), 0700), 0);
	assert_int_equal(mxg_dir_check_parent(&rule, at("real/sock/x.sock"), err, sizeof(err)), 0);
	assert_int_equal(chmod(at("real/sock"), 0770), 0);
	assert_int_equal(mxg_dir_check_parent(&rule, at("real/sock/x.sock"), err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "x.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_root_dir_in_sticky_tmp_passes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_someone_elses_dir_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
