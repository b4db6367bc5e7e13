// SPDX-License-Identifier: GPL-2.0-only
/* The control socket server: one request line, one answer, then close;
 * overlong requests refused; a stale socket replaced, a live one kept;
 * the socket is 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

struct fx {
	char dir[64];
	char path[108];
	struct ev_loop *loop;
	struct control *ctl;
	int calls;
};

static void handler(void *arg, const char *req, struct sbuf *out)
{
	struct fx *f = arg;

	f->calls++;
	if (!strcmp(req, "status"))
		sbuf_printf(out, "all good\n");
	else if (!strcmp(req, "half")) {
		sbuf_printf(out, "half");
		out->failed = true; /* as when memory or the bound runs out */
	} else
		sbuf_printf(out, "error: unknown request\n");
}

static int setup(void **state)
{
	static struct fx f;
	char err[256];

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/mxg-ctl.XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.path, sizeof(f.path), "%s/run/control.sock", f.dir);
	f.loop = ev_loop_new();
	assert_int_equal(control_open(&f.ctl, f.loop, f.path, handler, &f, err, sizeof(err)), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char d[128];

	control_close(f->ctl);
	ev_loop_free(f->loop);
	snprintf(d, sizeof(d), "%s/run", f->dir);
	rmdir(d);
	rmdir(f->dir);
	return 0;
}

static int client(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Run the loop until the server closes fd; returns what it sent. */
static char *exchange(struct fx *f, int fd, const char *req, size_t reqlen)
{
	static char buf[4096];
	size_t len = 0;

	assert_int_equal(send(fd, req, reqlen, 0), (ssize_t)reqlen);
	for (int i = 0; i < 200; i++) {
		ssize_t n;

		ev_run_once(f->loop, 10);
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static void test_status_request_is_answered_then_closed(void **state)
{
	struct fx *f = *state;

	assert_string_equal(exchange(f, client(f->path), "status\n", 7), "all good\n");
	assert_string_equal(exchange(f, client(f->path), "status\r\n", 8), "all good\n");
	assert_string_equal(exchange(f, client(f->path), "bogus\n", 6), "error: unknown request\n");
	assert_int_equal(f->calls, 3);
}

/* An answer that could not be made whole says so at its end. */
static void test_truncated_answer_says_so(void **state)
{
	struct fx *f = *state;

	assert_string_equal(exchange(f, client(f->path), "half\n", 5),
			    "half\nerror: answer truncated\n");
}

static void test_overlong_request_is_refused(void **state)
{
	struct fx *f = *state;
	char big[CONTROL_MAX_REQUEST + 100];

	memset(big, 'a', sizeof(big));
	assert_non_null(
	    strstr(exchange(f, client(f->path), big, sizeof(big)), "error: request longer than"));
	assert_int_equal(f->calls, 0);
}

static void test_socket_mode_and_directory(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char d[128];

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(d, sizeof(d), "%s/run", f->dir);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_live_socket_is_not_taken_over(void **state)
{
	struct fx *f = *state;
	struct control *other = NULL;
	char err[256];

	assert_int_equal(control_open(&other, f->loop, f->path, handler, f, err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "another mxgated is running"));
}

static void test_stale_socket_is_replaced(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct ev_loop *loop = ev_loop_new();
	struct control *c = NULL;
	char path[] = "/tmp/mxg-stale.sock";
	char err[256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd); /* a socket file nobody listens on: a crash's leftover */
	assert_int_equal(control_open(&c, loop, path, handler, NULL, err, sizeof(err)), 0);
	control_close(c);
	assert_int_equal(access(path, F_OK), -1);
	ev_loop_free(loop);
}

/* Someone removed our socket file and another server bound the path:
 * closing ours must not remove theirs. */
static void test_close_keeps_a_socket_that_is_not_ours(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(unlink(f->path), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	control_close(f->ctl);
	f->ctl = NULL;
	assert_int_equal(access(f->path, F_OK), 0);
	close(fd);
	unlink(f->path);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_status_request_is_answered_then_closed),
	    T(test_truncated_answer_says_so),
	    T(test_overlong_request_is_refused),
	    T(test_socket_mode_and_directory),
	    T(test_live_socket_is_not_taken_over),
	    T(test_close_keeps_a_socket_that_is_not_ours),
	    cmocka_unit_test(test_stale_socket_is_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
