// SPDX-License-Identifier: GPL-2.0-only
/* The responder's start blob (responder_start.c): what the executed
 * responder reads comes back whole; it carries only the responder's part
 * of the configuration (no domains, no controller paths); a blob that is
 * not sealed, or cut short, is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "responder_start.h"

static struct mxg_config cfg;

static int setup(void **state)
{
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	return config_load_string("t.conf",
				  "self = mx2.example.org\ndomains = example.org example.net\n"
				  "interfaces = eth0\nhelo_name = backup.example.org\n"
				  "pass_recipients = postmaster abuse@example.org\n"
				  "max_connections = 77\n",
				  &cfg, err, sizeof(err));
}

static int teardown(void **state)
{
	config_free(&cfg);
	return 0;
}

static struct rsp_start *start_of(const struct mxg_config *from)
{
	struct rsp_start *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->parent = getpid();
	s->uid = 65534;
	s->gid = 65534;
	s->change_user = true;
	s->have_v6 = true;
	s->steered_port = 25;
	snprintf(s->user, sizeof(s->user), "nobody");
	snprintf(s->jail, sizeof(s->jail), "/var/empty");
	responder_config_subset(from, &s->cfg);
	return s;
}

static void test_blob_round_trip_with_the_subset_only(void **state)
{
	struct rsp_start *s = start_of(&cfg), *back = calloc(1, sizeof(*back));
	char err[256];
	int fd;

	assert_non_null(back);
	fd = responder_start_write(s, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(responder_start_read(fd, back, err, sizeof(err)), 0);
	assert_int_equal(back->parent, getpid());
	assert_int_equal(back->uid, 65534);
	assert_true(back->change_user && back->have_v6 && !back->have_v4);
	assert_int_equal(back->steered_port, 25);
	assert_string_equal(back->user, "nobody");
	assert_string_equal(back->jail, "/var/empty");
	assert_string_equal(back->cfg.helo_name, "backup.example.org");
	assert_int_equal(back->cfg.max_connections, 77);
	assert_int_equal(back->cfg.n_pass_recipients, 2);
	/* What the controller alone uses stays with it. */
	assert_int_equal(cfg.n_domains, 2);
	assert_int_equal(back->cfg.n_domains, 0);
	assert_string_equal(back->cfg.path, "");
	assert_string_equal(back->cfg.pin_dir, "");
	assert_string_equal(back->cfg.control_socket, "");
	assert_int_equal(back->cfg.n_self, 0);
	close(fd);
	config_free(&back->cfg);
	free(back);
	free(s);
}

static void test_unsealed_or_short_blob_is_refused(void **state)
{
	struct rsp_start *s = start_of(&cfg), *back = calloc(1, sizeof(*back));
	char err[256], *buf;
	struct stat st;
	size_t cut;
	int fd, copy;

	assert_non_null(back);
	fd = responder_start_write(s, err, sizeof(err));
	assert_true(fd >= 0);
	/* The same bytes, cut short, in a memfd sealed like the real one. */
	copy = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(copy >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	cut = (size_t)st.st_size - 64; /* the end of the packed config */
	buf = malloc(cut);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, cut, 0), (ssize_t)cut);
	assert_int_equal(write(copy, buf, cut), (ssize_t)cut);
	free(buf);
	assert_int_equal(responder_start_read(copy, back, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a sealed start blob"));
	assert_int_equal(
	    fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
	assert_int_equal(responder_start_read(copy, back, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "malformed"));
	close(copy);
	close(fd);
	free(back);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blob_round_trip_with_the_subset_only),
	    cmocka_unit_test(test_unsealed_or_short_blob_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
